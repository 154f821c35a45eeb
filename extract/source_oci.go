package extract

import (
	"fmt"
	"os"
	"sort"
	"strings"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/layout"
)

// Annotations by which tools name the images of an OCI layout: the OCI
// spec's (skopeo, buildah, crane) and containerd's export.
const (
	annotationRefName       = "org.opencontainers.image.ref.name"
	annotationContainerdRef = "io.containerd.image.name"
)

// openOCI opens oci:DIR[:tag|@digest].
func openOCI(ref, spec string, o *options) (Source, error) {
	dir, tag, dig := splitLocal(spec, isDir)
	if dir == "" {
		return nil, badRef(ref, "no directory after oci:")
	}
	p, err := layout.FromPath(dir)
	if err != nil {
		if os.IsNotExist(err) {
			return nil, &SourceError{Ref: ref, Kind: ErrImageNotFound,
				Err: fmt.Errorf("%s is not an OCI image layout (no index.json)", dir)}
		}
		return nil, fileError(ref, err)
	}
	idx, err := p.ImageIndex()
	if err != nil {
		return nil, fileError(ref, fmt.Errorf("reading %s/index.json: %w", dir, err))
	}
	parent, desc, err := pickOCI(ref, dir, idx, tag, dig)
	if err != nil {
		return nil, err
	}
	var img v1.Image
	var digest string
	switch {
	case desc.MediaType.IsIndex() || desc.MediaType.IsImage():
		img, digest, err = openImage(ref, desc.MediaType.IsIndex(),
			func() (v1.ImageIndex, error) { return parent.ImageIndex(desc.Digest) },
			func() (v1.Image, error) { return parent.Image(desc.Digest) }, o.platform)
	default:
		err = fmt.Errorf("%w (media type %s)", errNoImage, desc.MediaType)
	}
	if err != nil {
		return nil, fileError(ref, err)
	}
	return &imageSource{ref: ref, digest: digest, img: img, progress: o.progress, classify: fileError}, nil
}

// pickOCI finds the descriptor the reference names, and the index holding it.
func pickOCI(ref, dir string, idx v1.ImageIndex, tag, dig string) (v1.ImageIndex, v1.Descriptor, error) {
	im, err := idx.IndexManifest()
	if err != nil {
		return nil, v1.Descriptor{}, fileError(ref, fmt.Errorf("reading %s/index.json: %w", dir, err))
	}
	switch {
	case dig != "":
		h, err := v1.NewHash(dig)
		if err != nil {
			return nil, v1.Descriptor{}, badRef(ref, "%v", err)
		}
		if parent, d, ok := findDigest(idx, h, 0); ok {
			return parent, d, nil
		}
		return nil, v1.Descriptor{}, &SourceError{Ref: ref, Kind: ErrImageNotFound,
			Err: fmt.Errorf("no manifest %s in %s", dig, dir)}
	case tag != "":
		for _, d := range im.Manifests {
			for _, key := range []string{annotationRefName, annotationContainerdRef} {
				if n := d.Annotations[key]; n == tag || strings.HasSuffix(n, ":"+tag) {
					return idx, d, nil
				}
			}
		}
		return nil, v1.Descriptor{}, &SourceError{Ref: ref, Kind: ErrImageNotFound,
			Err: fmt.Errorf("no image tagged %q in %s; it has %s", tag, dir, listOrNone(refNames(im)))}
	case len(im.Manifests) == 1:
		return idx, im.Manifests[0], nil
	case len(im.Manifests) == 0:
		return nil, v1.Descriptor{}, &SourceError{Ref: ref, Kind: ErrImageNotFound,
			Err: fmt.Errorf("%s holds no image", dir)}
	}
	return nil, v1.Descriptor{}, badRef(ref, "%s holds %d images; name one as oci:%s:TAG or oci:%s@DIGEST (tags: %s)",
		dir, len(im.Manifests), dir, dir, listOrNone(refNames(im)))
}

// findDigest searches idx and the indexes it holds, a few levels deep.
func findDigest(idx v1.ImageIndex, h v1.Hash, depth int) (v1.ImageIndex, v1.Descriptor, bool) {
	im, err := idx.IndexManifest()
	if err != nil || depth > 3 {
		return nil, v1.Descriptor{}, false
	}
	for _, d := range im.Manifests {
		if d.Digest == h {
			return idx, d, true
		}
	}
	for _, d := range im.Manifests {
		if !d.MediaType.IsIndex() {
			continue
		}
		child, err := idx.ImageIndex(d.Digest)
		if err != nil {
			continue
		}
		if p, found, ok := findDigest(child, h, depth+1); ok {
			return p, found, true
		}
	}
	return nil, v1.Descriptor{}, false
}

func refNames(im *v1.IndexManifest) []string {
	var out []string
	for _, d := range im.Manifests {
		if n := d.Annotations[annotationRefName]; n != "" {
			out = append(out, n)
		} else if n := d.Annotations[annotationContainerdRef]; n != "" {
			out = append(out, n)
		}
	}
	sort.Strings(out)
	return out
}

// splitLocal splits PATH[:tag|@digest]. A path may itself hold ':', so the
// longest existing prefix wins; when nothing exists, the last ':' splits.
func splitLocal(spec string, exists func(string) bool) (path, tag, digest string) {
	if i := strings.LastIndex(spec, "@"); i >= 0 && strings.Contains(spec[i:], ":") && !exists(spec) {
		return spec[:i], "", spec[i+1:]
	}
	if exists(spec) {
		return spec, "", ""
	}
	for i := len(spec) - 1; i >= 0; i-- {
		if spec[i] == ':' && exists(spec[:i]) {
			return spec[:i], spec[i+1:], ""
		}
	}
	// Nothing exists; for the error message, take the part before the first
	// ':' as the path (a tag like repo:tag holds ':' too).
	if i := strings.Index(spec, ":"); i >= 0 {
		return spec[:i], spec[i+1:], ""
	}
	return spec, "", ""
}

func isDir(p string) bool {
	fi, err := os.Stat(p)
	return err == nil && fi.IsDir()
}

func isFile(p string) bool {
	fi, err := os.Stat(p)
	return err == nil && fi.Mode().IsRegular()
}
