package extract

import (
	"fmt"
	"runtime"

	v1 "github.com/google/go-containerregistry/pkg/v1"
)

// imageInfo reads what `skopeo inspect` shows from an image's manifest and
// config. Both are small documents; no layer is read.
func imageInfo(ref string, img v1.Image) (ImageInfo, error) {
	digest, err := img.Digest()
	if err != nil {
		return ImageInfo{}, fmt.Errorf("computing the manifest digest: %w", err)
	}
	mt, err := img.MediaType()
	if err != nil {
		return ImageInfo{}, fmt.Errorf("reading the manifest media type: %w", err)
	}
	m, err := img.Manifest()
	if err != nil {
		return ImageInfo{}, fmt.Errorf("reading the manifest: %w", err)
	}
	cf, err := img.ConfigFile()
	if err != nil {
		return ImageInfo{}, fmt.Errorf("reading the image config: %w", err)
	}
	layers := make([]Layer, 0, len(m.Layers))
	for _, l := range m.Layers {
		layers = append(layers, Layer{Digest: l.Digest.String(), Size: l.Size, MediaType: string(l.MediaType)})
	}
	return newInfo(ref, digest.String(), string(mt), cf, layers), nil
}

// newInfo assembles ImageInfo; cf may be nil (a root filesystem has none).
// Empty lists and maps are non-nil so that JSON shows [] and {}, not null.
func newInfo(ref, digest, mediaType string, cf *v1.ConfigFile, layers []Layer) ImageInfo {
	info := ImageInfo{
		Reference: ref,
		Digest:    digest,
		MediaType: mediaType,
		Layers:    layers,
		Config: ImageConfig{
			Env:        []string{},
			Labels:     map[string]string{},
			Entrypoint: []string{},
			Cmd:        []string{},
		},
	}
	if info.Layers == nil {
		info.Layers = []Layer{}
	}
	for _, l := range info.Layers {
		info.Size += l.Size
	}
	if cf == nil {
		return info
	}
	info.Platform = Platform{OS: cf.OS, Architecture: cf.Architecture, Variant: cf.Variant}
	if !cf.Created.IsZero() {
		t := cf.Created.UTC()
		info.Created = &t
	}
	c := cf.Config
	if c.Env != nil {
		info.Config.Env = c.Env
	}
	if c.Labels != nil {
		info.Config.Labels = c.Labels
	}
	if c.Entrypoint != nil {
		info.Config.Entrypoint = c.Entrypoint
	}
	if c.Cmd != nil {
		info.Config.Cmd = c.Cmd
	}
	info.Config.User = c.User
	info.Config.WorkingDir = c.WorkingDir
	return info
}

// hostPlatform is the platform of a dir: source: the machine seshat runs on,
// since a root filesystem being analyzed is normally the one it runs in.
func hostPlatform() Platform {
	p := Platform{OS: runtime.GOOS, Architecture: runtime.GOARCH}
	if runtime.GOARCH == "arm64" {
		p.Variant = "v8"
	}
	return p
}
