package extract

import (
	"context"
	"encoding/json"
	"fmt"
	"io/fs"

	v1 "github.com/google/go-containerregistry/pkg/v1"
)

// fsSource is an image's root filesystem reached through an fs.FS — the
// files of an image that some other program (a BuildKit frontend, say)
// already holds — with the image's metadata given alongside.
type fsSource struct {
	fsys fs.FS
	info ImageInfo
}

// OpenFS returns a Source over the root filesystem fsys, "." being the
// image's "/", described by info (Reference, Digest, Platform and Config
// are what an Analysis reports; InfoFromConfig builds it from an image
// config). Walk lists fsys with ReadDir and never follows a symlink:
// symlinks are recorded with fs.ReadLink (fsys should implement
// fs.ReadLinkFS; else their targets are warnings), and Open is called only
// for entries listed as regular files. fsys must keep Open inside the tree,
// as os.Root.FS does; names that could leave their directory are skipped.
func OpenFS(fsys fs.FS, info ImageInfo) Source {
	if info.Config.Env == nil {
		info.Config.Env = []string{}
	}
	if info.Config.Labels == nil {
		info.Config.Labels = map[string]string{}
	}
	if info.Config.Entrypoint == nil {
		info.Config.Entrypoint = []string{}
	}
	if info.Config.Cmd == nil {
		info.Config.Cmd = []string{}
	}
	if info.Layers == nil {
		info.Layers = []Layer{}
	}
	return &fsSource{fsys: fsys, info: info}
}

// InfoFromConfig describes the image ref (manifest digest "sha256:…", may
// be "") from its config JSON (the OCI image config, or Docker's): its
// platform, creation time, environment, labels, user, entrypoint and cmd.
// It knows no layers: an fs.FS has them merged already.
func InfoFromConfig(ref, digest string, config []byte) (ImageInfo, error) {
	var cf v1.ConfigFile
	if err := json.Unmarshal(config, &cf); err != nil {
		return ImageInfo{}, fmt.Errorf("reading the image config of %s: %w", ref, err)
	}
	return newInfo(ref, digest, "", &cf, nil), nil
}

func (s *fsSource) Reference() string { return s.info.Reference }
func (s *fsSource) Digest() string    { return s.info.Digest }

func (s *fsSource) Info(ctx context.Context) (ImageInfo, error) {
	if err := ctx.Err(); err != nil {
		return ImageInfo{}, err
	}
	return s.info, nil
}

func (s *fsSource) Walk(ctx context.Context, exs []Extractor, opt WalkOptions) (*FileIndex, []Warning, error) {
	return walkFS(ctx, s.fsys, s.info.Reference, false, exs, opt)
}
