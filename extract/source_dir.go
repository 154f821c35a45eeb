package extract

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
)

// dirSource is a root filesystem on disk: what runs inside a build, or an
// unpacked image. It has no manifest, so no digest and no image config.
type dirSource struct {
	ref  string
	root string
}

// openDir opens dir:PATH.
func openDir(ref, p string) (Source, error) {
	if p == "" {
		return nil, badRef(ref, "no path after dir:")
	}
	root, err := filepath.Abs(p)
	if err != nil {
		return nil, badRef(ref, "%v", err)
	}
	fi, err := os.Stat(root)
	if err != nil {
		return nil, fileError(ref, err)
	}
	if !fi.IsDir() {
		return nil, &SourceError{Ref: ref, Kind: ErrImageNotFound, Err: fmt.Errorf("%s is not a directory", p)}
	}
	return &dirSource{ref: ref, root: root}, nil
}

func (d *dirSource) Reference() string { return d.ref }
func (d *dirSource) Digest() string    { return "" }

func (d *dirSource) Info(ctx context.Context) (ImageInfo, error) {
	if err := ctx.Err(); err != nil {
		return ImageInfo{}, err
	}
	info := newInfo(d.ref, "", "", nil, nil)
	info.Platform = hostPlatform()
	return info, nil
}

func (d *dirSource) Walk(ctx context.Context, exs []Extractor, opt WalkOptions) (*FileIndex, []Warning, error) {
	ix, warns, err := WalkDir(ctx, d.root, exs, opt)
	if err != nil {
		return nil, warns, fileError(d.ref, err)
	}
	return ix, warns, nil
}
