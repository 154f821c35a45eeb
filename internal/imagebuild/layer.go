// Package imagebuild assembles container images for tests and benchmarks
// from real files: a root filesystem split into layers, layers that delete
// (`.wh.NAME`) and replace files or make a directory opaque, written as an
// OCI layout or a docker-archive. Output is deterministic: every entry gets
// the same mtime, entries are sorted, and compressors run single-threaded.
//
// It is a fixture builder, not part of seshat's analysis path.
package imagebuild

import (
	"archive/tar"
	"crypto/sha256"
	"errors"
	"fmt"
	"hash"
	"io"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"github.com/klauspost/compress/gzip"
	"github.com/klauspost/compress/zstd"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/types"
)

// Compression is how a layer blob is compressed.
type Compression string

// Layer compressions.
const (
	Gzip Compression = "gzip"
	Zstd Compression = "zstd"
	None Compression = "none"
)

// mediaType is the OCI media type of a layer compressed with c.
func (c Compression) mediaType() (types.MediaType, error) {
	switch c {
	case Gzip, "":
		return types.OCILayer, nil
	case Zstd:
		return types.OCILayerZStd, nil
	case None:
		return types.OCIUncompressedLayer, nil
	}
	return "", fmt.Errorf("unknown compression %q (gzip, zstd or none)", c)
}

// LayerWriter writes one layer: a tar stream, compressed into a blob file,
// hashed on the way (digest of the blob, diffID of the tar).
type LayerWriter struct {
	mtime   time.Time
	comp    Compression
	file    *os.File
	blobSum hash.Hash
	tarSum  hash.Hash
	zw      io.WriteCloser
	tw      *tar.Writer
	size    *countWriter
	root    string            // where parent directories take their metadata from
	dirs    map[string]bool   // directories already written in this layer
	inodes  map[uint64]string // inode -> first path written, for hardlinks
	closed  bool
}

type countWriter struct {
	w io.Writer
	n int64
}

func (c *countWriter) Write(p []byte) (int, error) {
	n, err := c.w.Write(p)
	c.n += int64(n)
	return n, err
}

// NewLayerWriter starts a layer whose blob is written into dir.
func NewLayerWriter(dir string, comp Compression, mtime time.Time) (*LayerWriter, error) {
	if _, err := comp.mediaType(); err != nil {
		return nil, err
	}
	f, err := os.CreateTemp(dir, "layer-*.blob")
	if err != nil {
		return nil, fmt.Errorf("creating layer blob: %w", err)
	}
	w := &LayerWriter{
		mtime:   mtime.UTC().Truncate(time.Second),
		comp:    comp,
		file:    f,
		blobSum: sha256.New(),
		tarSum:  sha256.New(),
		dirs:    map[string]bool{},
		inodes:  map[uint64]string{},
	}
	w.size = &countWriter{w: io.MultiWriter(f, w.blobSum)}
	switch comp {
	case Gzip, "":
		gz, err := gzip.NewWriterLevel(w.size, gzip.DefaultCompression)
		if err != nil {
			return nil, err
		}
		w.zw = gz
	case Zstd:
		zw, err := zstd.NewWriter(w.size, zstd.WithEncoderConcurrency(1))
		if err != nil {
			return nil, err
		}
		w.zw = zw
	case None:
		w.zw = nopCloser{w.size}
	}
	w.tw = tar.NewWriter(io.MultiWriter(w.zw, w.tarSum))
	return w, nil
}

type nopCloser struct{ io.Writer }

func (nopCloser) Close() error { return nil }

// clean turns p into a relative slash path inside the image root.
func clean(p string) (string, error) {
	c := path.Clean("/" + filepath.ToSlash(p))
	if c == "/" {
		return "", fmt.Errorf("path %q names the root", p)
	}
	return strings.TrimPrefix(c, "/"), nil
}

// header is a tar header with the layer's fixed mtime and no user names.
func (w *LayerWriter) header(name string, typ byte, mode int64) *tar.Header {
	return &tar.Header{
		Name:     name,
		Typeflag: typ,
		Mode:     mode,
		ModTime:  w.mtime,
		Format:   tar.FormatPAX,
	}
}

// parents writes the directories above rel that this layer has not written
// yet, with their metadata from root (or 0755 root:root when root is "").
func (w *LayerWriter) parents(root, rel string) error {
	dir := path.Dir(rel)
	if dir == "." || w.dirs[dir] {
		return nil
	}
	if err := w.parents(root, dir); err != nil {
		return err
	}
	return w.dir(root, dir)
}

func (w *LayerWriter) dir(root, rel string) error {
	if w.dirs[rel] {
		return nil
	}
	if root == "" {
		root = w.root
	}
	h := w.header(rel+"/", tar.TypeDir, 0o755)
	if root != "" {
		if fi, err := os.Lstat(filepath.Join(root, rel)); err == nil && fi.IsDir() {
			fillOwner(h, fi)
			h.Mode = tarMode(fi.Mode())
		}
	}
	w.dirs[rel] = true
	return w.tw.WriteHeader(h)
}

// tarMode turns Go file mode bits into the tar mode bits.
func tarMode(m fs.FileMode) int64 {
	mode := int64(m.Perm())
	if m&fs.ModeSetuid != 0 {
		mode |= 0o4000
	}
	if m&fs.ModeSetgid != 0 {
		mode |= 0o2000
	}
	if m&fs.ModeSticky != 0 {
		mode |= 0o1000
	}
	return mode
}

func fillOwner(h *tar.Header, fi fs.FileInfo) {
	if st, ok := fi.Sys().(*syscall.Stat_t); ok {
		h.Uid, h.Gid = int(st.Uid), int(st.Gid)
	}
}

// SetRoot names the root filesystem that directories written implicitly
// (parents of an entry) take their mode and owner from when the call that
// writes them has none.
func (w *LayerWriter) SetRoot(root string) { w.root = root }

// ErrSkipped reports an entry of a kind a layer does not carry (device,
// fifo, socket); callers usually ignore it.
var ErrSkipped = errors.New("not a file, directory or symlink")

// AddFromDisk writes root/rel (one entry, not its children) at rel, with
// its parent directories. A second path of an inode already written in this
// layer becomes a hardlink.
func (w *LayerWriter) AddFromDisk(root, rel string) error {
	return w.AddFromDiskAs(filepath.Join(root, rel), root, rel)
}

// AddFromDiskAs writes the file at src as rel; parent directories take their
// metadata from root when it has them.
func (w *LayerWriter) AddFromDiskAs(src, root, rel string) error {
	rel, err := clean(rel)
	if err != nil {
		return err
	}
	fi, err := os.Lstat(src)
	if err != nil {
		return err
	}
	if err := w.parents(root, rel); err != nil {
		return err
	}
	switch {
	case fi.IsDir():
		if w.dirs[rel] {
			return nil
		}
		h := w.header(rel+"/", tar.TypeDir, tarMode(fi.Mode()))
		fillOwner(h, fi)
		w.dirs[rel] = true
		return w.tw.WriteHeader(h)
	case fi.Mode()&fs.ModeSymlink != 0:
		target, err := os.Readlink(src)
		if err != nil {
			return err
		}
		h := w.header(rel, tar.TypeSymlink, tarMode(fi.Mode()))
		h.Linkname = target
		fillOwner(h, fi)
		return w.tw.WriteHeader(h)
	case fi.Mode().IsRegular():
		if st, ok := fi.Sys().(*syscall.Stat_t); ok && st.Nlink > 1 {
			if first, ok := w.inodes[st.Ino]; ok {
				h := w.header(rel, tar.TypeLink, tarMode(fi.Mode()))
				h.Linkname = first
				fillOwner(h, fi)
				return w.tw.WriteHeader(h)
			}
			w.inodes[st.Ino] = rel
		}
		h := w.header(rel, tar.TypeReg, tarMode(fi.Mode()))
		h.Size = fi.Size()
		fillOwner(h, fi)
		f, err := os.Open(src)
		if err != nil {
			return err
		}
		defer f.Close()
		if err := w.tw.WriteHeader(h); err != nil {
			return err
		}
		if _, err := io.CopyN(w.tw, f, fi.Size()); err != nil {
			return fmt.Errorf("copying %s: %w", src, err)
		}
		return nil
	}
	return fmt.Errorf("%s: %w", src, ErrSkipped)
}

// AddTree writes root/rel and everything below it, in lexical order.
func (w *LayerWriter) AddTree(root, rel string) error {
	return w.AddTreeAs(filepath.Join(root, rel), root, rel)
}

// AddTreeAs writes the tree at src under rel.
func (w *LayerWriter) AddTreeAs(src, root, rel string) error {
	return filepath.WalkDir(src, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		sub, _ := filepath.Rel(src, p)
		err = w.AddFromDiskAs(p, root, path.Join(rel, filepath.ToSlash(sub)))
		if errors.Is(err, ErrSkipped) {
			return nil
		}
		return err
	})
}

// AddBytes writes a regular file with the given content and mode.
func (w *LayerWriter) AddBytes(rel string, data []byte, mode int64) error {
	rel, err := clean(rel)
	if err != nil {
		return err
	}
	if err := w.parents("", rel); err != nil {
		return err
	}
	h := w.header(rel, tar.TypeReg, mode)
	h.Size = int64(len(data))
	if err := w.tw.WriteHeader(h); err != nil {
		return err
	}
	_, err = w.tw.Write(data)
	return err
}

// AddSymlink writes a symlink rel -> target.
func (w *LayerWriter) AddSymlink(rel, target string) error {
	rel, err := clean(rel)
	if err != nil {
		return err
	}
	if err := w.parents("", rel); err != nil {
		return err
	}
	h := w.header(rel, tar.TypeSymlink, 0o777)
	h.Linkname = target
	return w.tw.WriteHeader(h)
}

// AddDir writes a directory entry (metadata from root when it has it).
func (w *LayerWriter) AddDir(root, rel string) error {
	rel, err := clean(rel)
	if err != nil {
		return err
	}
	if err := w.parents(root, rel); err != nil {
		return err
	}
	return w.dir(root, rel)
}

// Whiteout deletes rel (a file or a whole directory) from the layers below:
// it writes the empty file `.wh.NAME` beside it.
func (w *LayerWriter) Whiteout(rel string) error {
	rel, err := clean(rel)
	if err != nil {
		return err
	}
	wh := path.Join(path.Dir(rel), ".wh."+path.Base(rel))
	if err := w.parents("", wh); err != nil {
		return err
	}
	return w.tw.WriteHeader(w.header(wh, tar.TypeReg, 0o644))
}

// Opaque hides everything the layers below have in directory rel: it writes
// the directory and `rel/.wh..wh..opq`. Entries this layer adds to rel stay.
func (w *LayerWriter) Opaque(root, rel string) error {
	rel, err := clean(rel)
	if err != nil {
		return err
	}
	if err := w.AddDir(root, rel); err != nil {
		return err
	}
	return w.tw.WriteHeader(w.header(path.Join(rel, ".wh..wh..opq"), tar.TypeReg, 0o644))
}

// Close finishes the tar stream and the blob, and returns the layer.
func (w *LayerWriter) Close() (*Layer, error) {
	if w.closed {
		return nil, errors.New("layer already closed")
	}
	w.closed = true
	if err := w.tw.Close(); err != nil {
		return nil, err
	}
	if err := w.zw.Close(); err != nil {
		return nil, err
	}
	if err := w.file.Close(); err != nil {
		return nil, err
	}
	mt, _ := w.comp.mediaType()
	return &Layer{
		path:      w.file.Name(),
		comp:      w.comp,
		digest:    v1.Hash{Algorithm: "sha256", Hex: fmt.Sprintf("%x", w.blobSum.Sum(nil))},
		diffID:    v1.Hash{Algorithm: "sha256", Hex: fmt.Sprintf("%x", w.tarSum.Sum(nil))},
		size:      w.size.n,
		mediaType: mt,
	}, nil
}

// Layer is a finished layer blob on disk; it implements v1.Layer.
type Layer struct {
	path      string
	comp      Compression
	digest    v1.Hash
	diffID    v1.Hash
	size      int64
	mediaType types.MediaType
}

var _ v1.Layer = (*Layer)(nil)

// Digest is the sha256 of the compressed blob.
func (l *Layer) Digest() (v1.Hash, error) { return l.digest, nil }

// DiffID is the sha256 of the uncompressed tar.
func (l *Layer) DiffID() (v1.Hash, error) { return l.diffID, nil }

// Compressed opens the blob.
func (l *Layer) Compressed() (io.ReadCloser, error) { return os.Open(l.path) }

// Uncompressed opens the tar stream.
func (l *Layer) Uncompressed() (io.ReadCloser, error) {
	f, err := os.Open(l.path)
	if err != nil {
		return nil, err
	}
	switch l.comp {
	case Zstd:
		d, err := zstd.NewReader(f)
		if err != nil {
			f.Close()
			return nil, err
		}
		return readCloser{d.IOReadCloser(), f}, nil
	case None:
		return f, nil
	}
	gz, err := gzip.NewReader(f)
	if err != nil {
		f.Close()
		return nil, err
	}
	return readCloser{gz, f}, nil
}

type readCloser struct {
	io.ReadCloser
	f *os.File
}

func (r readCloser) Close() error {
	r.ReadCloser.Close()
	return r.f.Close()
}

// Size is the blob's size in bytes.
func (l *Layer) Size() (int64, error) { return l.size, nil }

// MediaType is the OCI layer media type matching the compression.
func (l *Layer) MediaType() (types.MediaType, error) { return l.mediaType, nil }

// Remove deletes the blob file once the image has been written.
func (l *Layer) Remove() error { return os.Remove(l.path) }
