package extract

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
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
	if runningRoot(d.root) {
		info.Config.Env = runningEnv(os.Environ())
	}
	return info, nil
}

// runningRoot says whether root is the running system's "/", perhaps named
// through a symlink or a bind mount: inside a build, where the image's
// config has become the process's environment.
func runningRoot(root string) bool {
	if root == "/" {
		return true
	}
	fi, err1 := os.Stat(root)
	sys, err2 := os.Stat("/")
	return err1 == nil && err2 == nil && os.SameFile(fi, sys)
}

// runningEnv keeps the variables of environ that describe the image as its
// config's Env would — where programs are found, which Python environment
// is active, which CUDA the image was built for — and nothing else, so no
// credential of the build reaches an Analysis.
func runningEnv(environ []string) []string {
	keep := []string{}
	for _, kv := range environ {
		k, _, ok := strings.Cut(kv, "=")
		if !ok {
			continue
		}
		switch {
		case k == "PATH", k == "VIRTUAL_ENV", k == "APP_ROOT", k == "PYTHONHOME", k == "PYTHONPATH",
			k == "CUDA_VERSION", k == "CUDNN_VERSION", k == "NV_CUDA_CUDART_VERSION",
			strings.HasPrefix(k, "NVIDIA_"):
			keep = append(keep, kv)
		}
	}
	return keep
}

func (d *dirSource) Walk(ctx context.Context, exs []Extractor, opt WalkOptions) (*FileIndex, []Warning, error) {
	ix, warns, err := WalkDir(ctx, d.root, exs, opt)
	if err != nil {
		return nil, warns, fileError(d.ref, err)
	}
	return ix, warns, nil
}
