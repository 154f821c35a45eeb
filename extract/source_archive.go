package extract

import (
	"archive/tar"
	"bufio"
	"bytes"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
	"github.com/google/go-containerregistry/pkg/v1/types"
	"github.com/klauspost/compress/gzip"
)

// openArchive opens docker-archive:FILE[:repo:tag], a `docker save` tar,
// plain or gzip-compressed.
func openArchive(ref, spec string, o *options) (Source, error) {
	file, tag, dig := splitLocal(spec, isFile)
	if dig != "" {
		return nil, badRef(ref, "docker-archive: takes FILE[:repo:tag], not a digest")
	}
	if file == "" {
		return nil, badRef(ref, "no file after docker-archive:")
	}
	if _, err := os.Stat(file); err != nil {
		return nil, fileError(ref, err)
	}
	opener := archiveOpener(file)
	// One pass over the headers first, so that no document is read whole
	// before its size is known.
	scan, err := scanArchive(opener)
	if err != nil {
		return nil, fileError(ref, fmt.Errorf("%s is not a docker save archive: %w", file, err))
	}
	if err := scan.small("manifest.json"); err != nil {
		return nil, fileError(ref, fmt.Errorf("%s is not a docker save archive: %w", file, err))
	}
	mf, err := tarball.LoadManifest(opener)
	if err != nil {
		return nil, fileError(ref, fmt.Errorf("%s is not a docker save archive (reading manifest.json): %w", file, err))
	}
	if len(mf) == 0 {
		return nil, &SourceError{Ref: ref, Kind: ErrImageNotFound, Err: fmt.Errorf("%s holds no image", file)}
	}
	desc, t, err := pickArchive(ref, file, mf, tag)
	if err != nil {
		return nil, err
	}
	if err := scan.small(desc.Config); err != nil {
		return nil, fileError(ref, fmt.Errorf("reading %s: %w", file, err))
	}
	sizes := map[string]int64{}
	for _, l := range desc.Layers {
		if sizes[l], err = scan.size(l); err != nil {
			return nil, fileError(ref, fmt.Errorf("reading %s: %w", file, err))
		}
	}
	img, err := tarball.Image(opener, t)
	if err != nil {
		return nil, fileError(ref, fmt.Errorf("reading %s: %w", file, err))
	}
	s := &imageSource{ref: ref, img: img, progress: o.progress, classify: fileError}
	compressed := len(desc.Layers) > 0 && scan.compressed(desc.Layers[0])
	if compressed {
		h, err := img.Digest()
		if err != nil {
			return nil, fileError(ref, fmt.Errorf("reading %s: %w", file, err))
		}
		s.digest = h.String()
		return s, nil
	}
	// `docker save` stores layers uncompressed. go-containerregistry would
	// gzip every layer just to name it, so seshat names each by its diffID
	// and its manifest as skopeo does for this format: the layers as the
	// uncompressed tars they are.
	layers, info, err := uncompressedArchive(ref, sizes, desc, img)
	if err != nil {
		return nil, fileError(ref, fmt.Errorf("reading %s: %w", file, err))
	}
	s.digest = info.Digest
	s.info = func() (ImageInfo, error) { return info, nil }
	s.layers = func() ([]v1.Layer, error) { return layers, nil }
	return s, nil
}

// archiveOpener opens file for each read of go-containerregistry's
// tarball package, transparently gunzipping a compressed archive. A plain
// archive is returned as the *os.File so that archive/tar seeks past
// entries instead of reading them.
func archiveOpener(file string) tarball.Opener {
	return func() (io.ReadCloser, error) {
		f, err := os.Open(file)
		if err != nil {
			return nil, err
		}
		var magic [2]byte
		n, _ := io.ReadFull(f, magic[:])
		if _, err := f.Seek(0, io.SeekStart); err != nil {
			f.Close()
			return nil, err
		}
		if n < 2 || magic != [2]byte{0x1f, 0x8b} {
			return f, nil
		}
		zr, err := gzip.NewReader(bufio.NewReaderSize(f, 1<<20))
		if err != nil {
			f.Close()
			return nil, fmt.Errorf("gunzipping %s: %w", file, err)
		}
		return gzipFile{zr, f}, nil
	}
}

type gzipFile struct {
	*gzip.Reader
	f *os.File
}

func (g gzipFile) Close() error {
	g.Reader.Close()
	return g.f.Close()
}

// pickArchive selects the manifest.json entry for tag, or the first one.
func pickArchive(ref, file string, mf tarball.Manifest, tag string) (tarball.Descriptor, *name.Tag, error) {
	var all []string
	for _, d := range mf {
		all = append(all, d.RepoTags...)
	}
	if tag == "" {
		d := mf[0]
		if len(mf) == 1 {
			return d, nil, nil
		}
		if len(d.RepoTags) == 0 {
			return d, nil, badRef(ref, "%s holds %d images and the first has no tag; name one as docker-archive:%s:REPO:TAG (tags: %s)",
				file, len(mf), file, listOrNone(all))
		}
		t, err := name.NewTag(d.RepoTags[0])
		if err != nil {
			return d, nil, fileError(ref, fmt.Errorf("%s: tag %q in manifest.json: %w", file, d.RepoTags[0], err))
		}
		return d, &t, nil
	}
	want, err := name.NewTag(tag)
	if err != nil {
		return tarball.Descriptor{}, nil, badRef(ref, "tag %q: %v", tag, err)
	}
	for _, d := range mf {
		for _, rt := range d.RepoTags {
			if t, err := name.NewTag(rt); err == nil && t.Name() == want.Name() {
				return d, &want, nil
			}
		}
	}
	return tarball.Descriptor{}, nil, &SourceError{Ref: ref, Kind: ErrImageNotFound,
		Err: fmt.Errorf("no image tagged %s in %s; it has %s", tag, file, listOrNone(all))}
}

// uncompressedArchive lists the layers as stored, with their sizes from one
// pass over the tar headers, and builds ImageInfo with the digest of the
// manifest that describes them.
func uncompressedArchive(ref string, sizes map[string]int64, desc tarball.Descriptor, img v1.Image) ([]v1.Layer, ImageInfo, error) {
	raw, err := img.RawConfigFile()
	if err != nil {
		return nil, ImageInfo{}, err
	}
	cf, err := img.ConfigFile()
	if err != nil {
		return nil, ImageInfo{}, err
	}
	if len(cf.RootFS.DiffIDs) != len(desc.Layers) {
		return nil, ImageInfo{}, fmt.Errorf("the config lists %d layers, manifest.json %d", len(cf.RootFS.DiffIDs), len(desc.Layers))
	}
	m := v1.Manifest{
		SchemaVersion: 2,
		MediaType:     types.DockerManifestSchema2,
		Config: v1.Descriptor{MediaType: types.DockerConfigJSON, Size: int64(len(raw)),
			Digest: v1.Hash{Algorithm: "sha256", Hex: sha256Hex(raw)}},
	}
	var layers []v1.Layer
	var infoLayers []Layer
	for i, diffID := range cf.RootFS.DiffIDs {
		size := sizes[desc.Layers[i]]
		l, err := img.LayerByDiffID(diffID)
		if err != nil {
			return nil, ImageInfo{}, err
		}
		layers = append(layers, plainLayer{Layer: l, diffID: diffID, size: size})
		m.Layers = append(m.Layers, v1.Descriptor{MediaType: types.DockerUncompressedLayer, Size: size, Digest: diffID})
		infoLayers = append(infoLayers, Layer{Digest: diffID.String(), Size: size, MediaType: string(types.DockerUncompressedLayer)})
	}
	mb, err := json.Marshal(m)
	if err != nil {
		return nil, ImageInfo{}, err
	}
	info := newInfo(ref, "sha256:"+sha256Hex(mb), string(types.DockerManifestSchema2), cf, infoLayers)
	return layers, info, nil
}

func sha256Hex(b []byte) string {
	s := sha256.Sum256(b)
	return fmt.Sprintf("%x", s[:])
}

// maxArchiveDoc bounds manifest.json and the image config, which are read
// whole: real ones are a few kilobytes.
const maxArchiveDoc = 16 << 20

// archiveScan is what one pass over the archive's tar headers tells: each
// regular entry's size and first bytes, and the links between entries
// (docker save links layers that two images share).
type archiveScan struct {
	sizes map[string]int64
	magic map[string][]byte
	links map[string]string
}

func scanArchive(opener tarball.Opener) (*archiveScan, error) {
	rc, err := opener()
	if err != nil {
		return nil, err
	}
	defer rc.Close()
	s := &archiveScan{sizes: map[string]int64{}, magic: map[string][]byte{}, links: map[string]string{}}
	tr := tar.NewReader(rc)
	for {
		h, err := tr.Next()
		if errors.Is(err, io.EOF) {
			return s, nil
		}
		if err != nil {
			return nil, err
		}
		if len(s.sizes)+len(s.links) >= maxArchiveEntries {
			return nil, fmt.Errorf("more than %d entries, which no docker save archive has", maxArchiveEntries)
		}
		p := path.Clean(h.Name)
		switch h.Typeflag {
		case tar.TypeSymlink:
			s.links[p] = path.Join(path.Dir(p), h.Linkname)
		case tar.TypeLink:
			s.links[p] = path.Clean(h.Linkname)
		case tar.TypeReg:
			s.sizes[p] = h.Size
			var b [4]byte
			n, _ := io.ReadFull(tr, b[:])
			s.magic[p] = b[:n]
		}
	}
}

// maxArchiveEntries bounds the scan's maps; a docker save archive holds a
// handful of entries per layer.
const maxArchiveEntries = 100_000

func (s *archiveScan) resolve(name string) (string, error) {
	p := path.Clean(name)
	for hops := 0; ; hops++ {
		t, ok := s.links[p]
		if !ok {
			break
		}
		if hops > 8 {
			return "", fmt.Errorf("%s: too many links", name)
		}
		p = t
	}
	if _, ok := s.sizes[p]; !ok {
		return "", fmt.Errorf("%s not found in the archive", name)
	}
	return p, nil
}

func (s *archiveScan) size(name string) (int64, error) {
	p, err := s.resolve(name)
	if err != nil {
		return 0, err
	}
	return s.sizes[p], nil
}

// small checks that name exists and may be read whole.
func (s *archiveScan) small(name string) error {
	n, err := s.size(name)
	if err != nil {
		return err
	}
	if n > maxArchiveDoc {
		return fmt.Errorf("%s is %d bytes, more than the %d a real one needs", name, n, maxArchiveDoc)
	}
	return nil
}

// compressed reports whether the named layer is stored gzip- or
// zstd-compressed rather than as the plain tar docker save writes.
func (s *archiveScan) compressed(name string) bool {
	p, err := s.resolve(name)
	if err != nil {
		return false
	}
	m := s.magic[p]
	return bytes.HasPrefix(m, []byte{0x1f, 0x8b}) || bytes.HasPrefix(m, []byte{0x28, 0xb5, 0x2f, 0xfd})
}

// plainLayer presents an uncompressed archive layer as the blob it is:
// its digest is its diffID and its bytes are read as stored, so nothing is
// compressed just to be decompressed again.
type plainLayer struct {
	v1.Layer
	diffID v1.Hash
	size   int64
}

func (l plainLayer) Digest() (v1.Hash, error)           { return l.diffID, nil }
func (l plainLayer) DiffID() (v1.Hash, error)           { return l.diffID, nil }
func (l plainLayer) Size() (int64, error)               { return l.size, nil }
func (l plainLayer) Compressed() (io.ReadCloser, error) { return l.Layer.Uncompressed() }
func (l plainLayer) MediaType() (types.MediaType, error) {
	return types.DockerUncompressedLayer, nil
}
