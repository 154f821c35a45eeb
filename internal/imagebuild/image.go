package imagebuild

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/layout"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
	"github.com/google/go-containerregistry/pkg/v1/types"
)

// entry is one path of a root filesystem with the bytes it adds to a layer.
type entry struct {
	rel  string
	size int64
}

// listTree walks root in lexical order and returns every path below it
// except those under an excluded prefix. Devices, fifos and sockets are left
// out: image layers do not carry them.
func listTree(root string, exclude []string) ([]entry, error) {
	return listTreeNames(root, exclude, nil)
}

// listTreeNames is listTree that also leaves out every entry (and subtree)
// whose base name is in names, e.g. "__pycache__".
func listTreeNames(root string, exclude, names []string) ([]entry, error) {
	var out []entry
	ex := map[string]bool{}
	for _, e := range exclude {
		c, err := clean(e)
		if err != nil {
			return nil, err
		}
		ex[c] = true
	}
	err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(root, p)
		if rel == "." {
			return nil
		}
		rel = filepath.ToSlash(rel)
		if ex[rel] || slices.Contains(names, d.Name()) {
			if d.IsDir() {
				return filepath.SkipDir
			}
			return nil
		}
		t := d.Type()
		if !(t.IsRegular() || t.IsDir() || t&fs.ModeSymlink != 0) {
			return nil
		}
		var size int64 = 512
		if t.IsRegular() {
			fi, err := d.Info()
			if err != nil {
				return err
			}
			size += fi.Size()
		}
		out = append(out, entry{rel: rel, size: size})
		return nil
	})
	return out, err
}

// Split cuts the tree at root into n contiguous runs (in lexical order) of
// about equal size, as a build would add them step by step.
func Split(root string, n int, exclude []string) ([][]string, error) {
	return SplitNames(root, n, exclude, nil)
}

// SplitNames is Split that also leaves out entries whose base name is in
// names (as slim images drop __pycache__).
func SplitNames(root string, n int, exclude, names []string) ([][]string, error) {
	if n < 1 {
		return nil, fmt.Errorf("split into %d layers", n)
	}
	entries, err := listTreeNames(root, exclude, names)
	if err != nil {
		return nil, fmt.Errorf("walking %s: %w", root, err)
	}
	var total int64
	for _, e := range entries {
		total += e.size
	}
	parts := make([][]string, n)
	var acc int64
	for _, e := range entries {
		i := int(acc * int64(n) / max(total, 1))
		if i >= n {
			i = n - 1
		}
		parts[i] = append(parts[i], e.rel)
		acc += e.size
	}
	return parts, nil
}

// WriteFromDisk writes the listed paths of root (each one entry, not its
// children) into w, skipping devices and the like.
func WriteFromDisk(w *LayerWriter, root string, rels []string) error {
	for _, rel := range rels {
		if err := w.AddFromDisk(root, rel); err != nil && !errors.Is(err, ErrSkipped) {
			return fmt.Errorf("adding %s: %w", rel, err)
		}
	}
	return nil
}

// Config is the part of the image configuration a plan sets.
type Config struct {
	Architecture string            `json:"architecture,omitempty"`
	OS           string            `json:"os,omitempty"`
	Variant      string            `json:"variant,omitempty"`
	Env          []string          `json:"env,omitempty"`
	Labels       map[string]string `json:"labels,omitempty"`
	User         string            `json:"user,omitempty"`
	WorkingDir   string            `json:"workingDir,omitempty"`
	Entrypoint   []string          `json:"entrypoint,omitempty"`
	Cmd          []string          `json:"cmd,omitempty"`
}

// Build stacks the layers (bottom first) into an OCI image with cfg, created
// at created; comments become the history's created_by lines.
func Build(layers []v1.Layer, comments []string, cfg Config, created time.Time) (v1.Image, error) {
	arch, osName := cfg.Architecture, cfg.OS
	if arch == "" {
		arch = "amd64"
	}
	if osName == "" {
		osName = "linux"
	}
	ct := v1.Time{Time: created.UTC()}
	adds := make([]mutate.Addendum, len(layers))
	for i, l := range layers {
		by := "seshat imagebuild"
		if i < len(comments) && comments[i] != "" {
			by = comments[i]
		}
		adds[i] = mutate.Addendum{Layer: l, History: v1.History{Created: ct, CreatedBy: by}}
	}
	base := mutate.MediaType(empty.Image, types.OCIManifestSchema1)
	base = mutate.ConfigMediaType(base, types.OCIConfigJSON)
	img, err := mutate.Append(base, adds...)
	if err != nil {
		return nil, err
	}
	cf, err := img.ConfigFile()
	if err != nil {
		return nil, err
	}
	cf = cf.DeepCopy()
	cf.Architecture, cf.OS, cf.Variant = arch, osName, cfg.Variant
	cf.Created = ct
	cf.Config.Env = cfg.Env
	cf.Config.Labels = cfg.Labels
	cf.Config.User = cfg.User
	cf.Config.WorkingDir = cfg.WorkingDir
	cf.Config.Entrypoint = cfg.Entrypoint
	cf.Config.Cmd = cfg.Cmd
	return mutate.ConfigFile(img, cf)
}

// WriteOCI writes img as an OCI image layout at dir (replacing it), with the
// tag as the org.opencontainers.image.ref.name annotation when not empty.
func WriteOCI(dir string, img v1.Image, tag string) error {
	tmp := dir + ".tmp"
	if err := os.RemoveAll(tmp); err != nil {
		return err
	}
	p, err := layout.Write(tmp, empty.Index)
	if err != nil {
		return fmt.Errorf("writing layout %s: %w", tmp, err)
	}
	var opts []layout.Option
	if tag != "" {
		opts = append(opts, layout.WithAnnotations(map[string]string{"org.opencontainers.image.ref.name": tag}))
	}
	if err := p.AppendImage(img, opts...); err != nil {
		return fmt.Errorf("writing image to %s: %w", tmp, err)
	}
	// ggcr writes blobs 0600 and index.json 0777; give the layout the modes
	// a checkout would have.
	err = filepath.WalkDir(tmp, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() {
			return os.Chmod(p, 0o755)
		}
		return os.Chmod(p, 0o644)
	})
	if err != nil {
		return err
	}
	if err := os.RemoveAll(dir); err != nil {
		return err
	}
	return os.Rename(tmp, dir)
}

// WriteDockerArchive writes img as a `docker save` tarball at file, tagged
// ref (e.g. "seshat.test/debian12:latest").
func WriteDockerArchive(file string, img v1.Image, ref string) error {
	if ref == "" {
		ref = "seshat.test/image:latest"
	}
	tag, err := name.NewTag(ref)
	if err != nil {
		return fmt.Errorf("parsing tag %s: %w", ref, err)
	}
	tmp := file + ".tmp"
	if err := tarball.WriteToFile(tmp, tag, img); err != nil {
		return fmt.Errorf("writing %s: %w", tmp, err)
	}
	return os.Rename(tmp, file)
}
