package extract

import (
	"archive/tar"
	"bufio"
	"bytes"
	"context"
	"crypto/sha256"
	"crypto/sha512"
	"errors"
	"fmt"
	"hash"
	"io"
	"io/fs"
	"net"
	"path"
	"strings"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/klauspost/compress/zstd"
	"github.com/klauspost/pgzip"
)

// ErrCorruptLayer (errors.Is-able) wraps every failure caused by layer content: not a tar, truncated,
// bad gzip/zstd, digest mismatch, decompression bomb, too many entries. The error text names the layer
// digest and what the user can do.
var ErrCorruptLayer = errors.New("corrupt layer")

const (
	whiteoutPrefix = ".wh."
	whiteoutOpaque = ".wh..wh..opq"
	// progressStep is how many compressed bytes pass between Progress calls.
	progressStep = 256 << 10
)

// errFormat marks a blob in a compression seshat does not read.
var errFormat = errors.New("not a layer format seshat reads (gzip, zstd or plain tar)")

// errLayerTooLarge marks the decompressed stream passing MaxLayerBytes.
var errLayerTooLarge = errors.New("layer expands past its size limit")

// WalkLayers reads each layer once, as a stream, top layer first (layers are given base-first, as
// v1.Image.Layers returns them), verifying each layer's compressed digest while reading, and returns the
// squashed index. Extractors are asked Wants/WantsStream for every visible regular file.
func WalkLayers(ctx context.Context, layers []v1.Layer, exs []Extractor, opt WalkOptions) (*FileIndex, []Warning, error) {
	w := newWalker(ctx, exs, opt)
	for top := 0; top < len(layers); top++ {
		i := len(layers) - 1 - top
		if err := ctx.Err(); err != nil {
			return nil, w.warns.result(), err
		}
		if err := w.walkLayer(i, top, len(layers), layers[i]); err != nil {
			return nil, w.warns.result(), err
		}
	}
	return w.ix, w.warns.result(), nil
}

// walker holds the state of one squashing walk: what upper layers have
// claimed, whited out or made opaque, and the budgets left.
type walker struct {
	ctx       context.Context
	opt       WalkOptions
	exs       []Extractor
	ix        *FileIndex
	whiteouts map[string]int // path → layer whose .wh. entry hides it below
	opaque    map[string]int // dir → layer whose opaque marker hides its lower contents
	warns     warnings
	keep      keeper
	entries   int
	memo      dirMemo
	// shadowed holds the sizes of this layer's regular files that upper
	// layers hide, for the hardlinks of this layer that still point at them.
	shadowed map[string]int64
}

// dirMemo is hidden's answer for the last directory it was asked about.
type dirMemo struct {
	layer  int
	dir    string
	hidden bool
}

func newWalker(ctx context.Context, exs []Extractor, opt WalkOptions) *walker {
	opt = opt.withDefaults()
	return &walker{
		ctx:       ctx,
		opt:       opt,
		exs:       exs,
		ix:        NewFileIndex(),
		whiteouts: map[string]int{},
		opaque:    map[string]int{},
		keep:      keeper{maxFile: opt.MaxKeptFileSize, maxTotal: opt.MaxTotalKept},
		memo:      dirMemo{layer: -1},
	}
}

// layerRead is one layer's stream stack and what went wrong in it, so that
// a failure can be blamed on the right cause whatever error surfaced.
type layerRead struct {
	digest v1.Hash
	top, n int
	src    *sourceReader
	bound  *boundedReader
}

func (w *walker) walkLayer(i, top, n int, layer v1.Layer) error {
	digest, err := layer.Digest()
	if err != nil {
		return fmt.Errorf("reading the digest of layer %d of %d from the top: %w", top+1, n, err)
	}
	var h hash.Hash
	switch digest.Algorithm {
	case "sha256":
		h = sha256.New()
	case "sha512":
		h = sha512.New()
	default:
		return fmt.Errorf("%w %s: digest algorithm %q is not supported (sha256 or sha512 are)", ErrCorruptLayer, digest, digest.Algorithm)
	}
	total, err := layer.Size()
	if err != nil {
		total = -1
	}
	rc, err := layer.Compressed()
	if err != nil {
		return fmt.Errorf("opening layer %s: %w", digest, err)
	}
	defer rc.Close()

	w.shadowed = map[string]int64{}
	lr := &layerRead{digest: digest, top: top, n: n}
	lr.src = &sourceReader{ctx: w.ctx, r: rc}
	if p := w.opt.Progress; p != nil {
		lr.src.progress = func(done int64) { p(top, done, total) }
	}
	br := bufio.NewReaderSize(io.TeeReader(lr.src, h), 64<<10)
	dec, closeDec, err := decompressor(br)
	if err != nil {
		return w.fail(lr, "reading the compressed stream", err)
	}
	closed := false
	closeOnce := func() {
		if !closed {
			closed = true
			closeDec()
		}
	}
	defer closeOnce()
	lr.bound = &boundedReader{r: dec, max: w.opt.MaxLayerBytes}
	tr := tar.NewReader(lr.bound)

	for {
		if err := w.ctx.Err(); err != nil {
			return fmt.Errorf("reading layer %s: %w", digest, err)
		}
		hdr, err := tr.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			return w.fail(lr, "reading the tar stream", err)
		}
		w.entries++
		if w.entries > w.opt.MaxEntries {
			return w.corrupt(lr, fmt.Sprintf("more than %d entries in the image", w.opt.MaxEntries), nil,
				"a hostile image? If it is genuine, raise the entry limit")
		}
		if err := w.entry(i, hdr, tr); err != nil {
			return w.fail(lr, "reading "+CleanPath(hdr.Name), err)
		}
	}
	// The tar end marker is not the end of the blob: read the rest so the
	// gzip checksum and the digest cover every byte.
	if _, err := io.Copy(io.Discard, lr.bound); err != nil {
		return w.fail(lr, "reading past the end of the tar stream", err)
	}
	closeOnce()
	if _, err := io.Copy(io.Discard, br); err != nil {
		return w.fail(lr, "reading the end of the blob", err)
	}
	lr.src.report()
	if got := hex(h.Sum(nil)); got != digest.Hex {
		return w.corrupt(lr, fmt.Sprintf("its content has digest %s:%s, not the one the manifest names", digest.Algorithm, got), nil,
			"the blob is damaged, truncated or was tampered with; fetch the image again")
	}
	return nil
}

// decompressor picks gzip, zstd or plain tar by the stream's magic bytes,
// whatever the media type claims, so a mislabelled layer still reads.
func decompressor(br *bufio.Reader) (io.Reader, func(), error) {
	magic, _ := br.Peek(6)
	nop := func() {}
	switch {
	case bytes.HasPrefix(magic, []byte{0x1f, 0x8b}):
		// pgzip inflates (and reads and hashes the blob) in its own
		// goroutine, up to 4 MiB ahead, while this one parses tar and feeds
		// the extractors: on two cores that takes a quarter off the walk
		// (BENCHMARKS.md), and the read-ahead is bounded.
		zr, err := pgzip.NewReaderN(br, 1<<20, 4)
		if err != nil {
			return nil, nop, fmt.Errorf("gzip: %w", err)
		}
		return zr, func() { zr.Close() }, nil
	case bytes.HasPrefix(magic, []byte{0x28, 0xb5, 0x2f, 0xfd}):
		zr, err := zstd.NewReader(br, zstd.WithDecoderConcurrency(1), zstd.WithDecoderMaxWindow(zstdMaxWindow))
		if err != nil {
			return nil, nop, fmt.Errorf("zstd: %w", err)
		}
		return zr, zr.Close, nil
	case bytes.HasPrefix(magic, []byte{0xfd, '7', 'z', 'X', 'Z', 0}):
		return nil, nop, fmt.Errorf("xz-compressed, %w", errFormat)
	case bytes.HasPrefix(magic, []byte("BZh")):
		return nil, nop, fmt.Errorf("bzip2-compressed, %w", errFormat)
	}
	return br, nop, nil
}

// fail turns an error met while reading a layer into the error the user
// sees: the context's, the source's (network, disk), or ErrCorruptLayer.
func (w *walker) fail(lr *layerRead, step string, err error) error {
	if cerr := w.ctx.Err(); cerr != nil {
		return fmt.Errorf("reading layer %s: %w", lr.digest, cerr)
	}
	if lr.src.err != nil && isTransport(lr.src.err) {
		return fmt.Errorf("reading layer %s: %w", lr.digest, lr.src.err)
	}
	if lr.bound != nil && lr.bound.exceeded {
		return w.corrupt(lr, fmt.Sprintf("it expands to more than %d bytes", w.opt.MaxLayerBytes), nil,
			"a decompression bomb? If the image is genuine, raise the layer size limit")
	}
	if lr.src.err != nil {
		err = lr.src.err
	}
	hint := "the blob is damaged or incomplete; fetch the image again, or check where it came from"
	switch {
	case errors.Is(err, tar.ErrHeader):
		hint = "the blob is not a tar archive (or a damaged one); check the image's source"
	case errors.Is(err, errFormat):
		hint = "recompress the layer with gzip or zstd"
	}
	return w.corrupt(lr, step, err, hint)
}

func (w *walker) corrupt(lr *layerRead, what string, err error, hint string) error {
	msg := fmt.Sprintf("%s %s (layer %d of %d from the top): %s", ErrCorruptLayer, lr.digest, lr.top+1, lr.n, what)
	if err != nil {
		msg += ": " + err.Error()
	}
	return &corruptError{msg: msg + "; " + hint, cause: err}
}

// corruptError is an ErrCorruptLayer that also unwraps to its cause.
type corruptError struct {
	msg   string
	cause error
}

func (e *corruptError) Error() string { return e.msg }
func (e *corruptError) Unwrap() []error {
	if e.cause == nil {
		return []error{ErrCorruptLayer}
	}
	return []error{ErrCorruptLayer, e.cause}
}

// isTransport reports whether err came from the network or the disk rather
// than from the bytes of the layer.
func isTransport(err error) bool {
	var ne net.Error
	var pe *fs.PathError
	return errors.As(err, &ne) || errors.As(err, &pe)
}

// entry indexes one tar entry of layer i, unless an upper layer hides it.
func (w *walker) entry(i int, hdr *tar.Header, r io.Reader) error {
	if len(hdr.Name) > maxPathLen || len(hdr.Linkname) > maxPathLen {
		w.warns.add(CleanPath(truncate(hdr.Name)), "skipped: entry name or link target longer than %d bytes", maxPathLen)
		return nil
	}
	p := CleanPath(hdr.Name)
	if escapes(hdr.Name) {
		w.warns.add(p, "entry name %q points outside the image root; read as %s", hdr.Name, p)
	}
	base := path.Base(p)
	if base == whiteoutOpaque {
		d := path.Dir(p)
		if _, ok := w.opaque[d]; !ok {
			w.opaque[d] = i
		}
		return nil
	}
	if name, ok := strings.CutPrefix(base, whiteoutPrefix); ok {
		// .wh..wh.* other than the opaque marker is aufs bookkeeping.
		if name == "" || name == "." || name == ".." || strings.HasPrefix(name, whiteoutPrefix) {
			return nil
		}
		t := path.Join(path.Dir(p), name)
		if _, ok := w.whiteouts[t]; !ok {
			w.whiteouts[t] = i
		}
		return nil
	}
	if w.hidden(p, i) {
		if hdr.Typeflag == tar.TypeReg {
			w.shadowed[p] = hdr.Size
		}
		return nil
	}
	meta := FileMeta{Path: p, Mode: hdr.FileInfo().Mode(), Size: hdr.Size, Layer: i}
	switch hdr.Typeflag {
	case tar.TypeReg, tar.TypeGNUSparse, tar.TypeCont:
		meta.Type = TypeRegular
	case tar.TypeDir:
		meta.Type, meta.Size = TypeDir, 0
	case tar.TypeSymlink:
		meta.Type, meta.Size, meta.Linkname = TypeSymlink, 0, hdr.Linkname
	case tar.TypeLink:
		meta.Type, meta.Size, meta.Linkname = TypeHardlink, 0, CleanPath(hdr.Linkname)
		if escapes(hdr.Linkname) {
			w.warns.add(p, "hardlink target %q points outside the image root; read as %s", hdr.Linkname, meta.Linkname)
		}
	default:
		meta.Type, meta.Size = TypeOther, 0
	}
	if p == "/" && meta.Type != TypeDir {
		w.warns.add(p, "skipped: the image root must be a directory")
		return nil
	}
	if old, ok := w.ix.files[p]; ok && old.Layer == i {
		// A path repeated within one layer: the later entry wins, as when
		// the tar is unpacked.
		w.forget(p)
	}
	switch meta.Type {
	case TypeRegular:
		w.ix.files[p] = &meta
		return w.offer(p, meta.Size, r)
	case TypeHardlink:
		w.ix.files[p] = &meta
		w.hardlink(i, &meta)
	default:
		w.ix.files[p] = &meta
	}
	return nil
}

// hidden reports whether an upper layer (one above i) hides p: by an
// entry at p itself, a whiteout of p or of a parent, an opaque parent, or
// a parent that became a file or symlink.
func (w *walker) hidden(p string, i int) bool {
	if m, ok := w.ix.files[p]; ok && m.Layer > i {
		return true
	}
	if l, ok := w.whiteouts[p]; ok && l > i {
		return true
	}
	// Whether a directory's contents are hidden depends on upper layers
	// only, so it holds for the whole of layer i; tars list a directory's
	// entries together, so remembering the last answer saves most walks
	// up the path.
	d := parent(p)
	if w.memo.layer == i && w.memo.dir == d {
		return w.memo.hidden
	}
	h := w.dirHidden(d, i)
	w.memo = dirMemo{layer: i, dir: d, hidden: h}
	return h
}

// dirHidden reports whether an upper layer hides the contents of d.
func (w *walker) dirHidden(d string, i int) bool {
	for a := d; ; a = parent(a) {
		if l, ok := w.whiteouts[a]; ok && l > i {
			return true
		}
		if l, ok := w.opaque[a]; ok && l > i {
			return true
		}
		if m, ok := w.ix.files[a]; ok && m.Layer > i && m.Type != TypeDir {
			return true
		}
		if a == "/" {
			return false
		}
	}
}

// forget drops the kept bytes of p before a later entry replaces it.
func (w *walker) forget(p string) {
	if b, ok := w.ix.contents[p]; ok {
		delete(w.ix.contents, p)
		if m := w.ix.files[p]; m != nil && m.Type == TypeRegular {
			w.keep.total -= int64(len(b))
		}
	}
}

// hardlink gives a link the size and, when kept, the bytes of its target.
// A tar hardlink names an earlier entry of the same layer, whose bytes have
// already streamed past: they are at hand only if some extractor kept them.
func (w *walker) hardlink(i int, meta *FileMeta) {
	t, ok := w.ix.files[meta.Linkname]
	if !ok || t.Layer != i || t.Type != TypeRegular {
		size, shadowed := w.shadowed[meta.Linkname]
		if shadowed {
			meta.Size = size
		}
		if !w.wanted(meta.Path, meta.Size) {
			return
		}
		if shadowed {
			w.warns.add(meta.Path, "contents not kept: hardlink to %s, which an upper layer replaces", meta.Linkname)
		} else {
			w.warns.add(meta.Path, "contents not kept: hardlink to %s, which is not a file of the same layer", meta.Linkname)
		}
		return
	}
	meta.Size = t.Size
	keep, streams := w.wants(meta.Path, meta.Size)
	if !keep && len(streams) == 0 {
		return
	}
	b, kept := w.ix.contents[t.Path]
	if !kept {
		w.warns.add(meta.Path, "contents not kept: hardlink to %s, whose bytes were read before anything asked for them", t.Path)
		return
	}
	if keep {
		w.ix.contents[meta.Path] = b // shared with the target: no new budget
	}
	for _, s := range streams {
		w.stream(s, meta.Path, meta.Size, bytes.NewReader(b))
	}
}

// wanted reports whether any extractor asks for p's bytes at all.
func (w *walker) wanted(p string, size int64) bool {
	keep, streams := w.wants(p, size)
	return keep || len(streams) > 0
}

// wants asks every extractor about the regular file p.
func (w *walker) wants(p string, size int64) (keep bool, streams []StreamExtractor) {
	for _, e := range w.exs {
		if !keep && e.Wants(p, size) {
			keep = true
		}
		if s, ok := e.(StreamExtractor); ok && s.WantsStream(p, size) {
			streams = append(streams, s)
		}
	}
	return keep, streams
}

// offer hands the regular file p (size bytes from r) to the extractors
// that want it: kept in the index within budget, and streamed. An error
// is a failure to read r; extractor failures become warnings.
func (w *walker) offer(p string, size int64, r io.Reader) error {
	keep, streams := w.wants(p, size)
	return w.give(p, size, r, keep, streams)
}

// give does offer's work once the extractors have said what they want.
func (w *walker) give(p string, size int64, r io.Reader, keep bool, streams []StreamExtractor) error {
	if keep {
		if ok, why := w.keep.admit(size); !ok {
			w.warns.add(p, "%s", why)
			keep = false
		}
	}
	if keep {
		b, err := readN(r, size)
		if err != nil {
			return err
		}
		w.ix.contents[p] = b
		w.keep.total += size
		for _, s := range streams {
			w.stream(s, p, size, bytes.NewReader(b))
		}
		return nil
	}
	switch len(streams) {
	case 0:
		return nil
	case 1:
		w.stream(streams[0], p, size, io.LimitReader(r, size))
		return nil
	}
	if size <= w.opt.MaxKeptFileSize {
		// Several readers of one modest file: a short-lived copy is
		// simpler and cheaper than a fan-out.
		b, err := readN(r, size)
		if err != nil {
			return err
		}
		for _, s := range streams {
			w.stream(s, p, size, bytes.NewReader(b))
		}
		return nil
	}
	for i, err := range fanOut(p, size, io.LimitReader(r, size), streams) {
		if err != nil {
			w.warns.add(p, "%s: %v", streams[i].Name(), err)
		}
	}
	return nil
}

// stream calls s.Stream and turns its failure, even a panic, into a warning.
func (w *walker) stream(s StreamExtractor, p string, size int64, r io.Reader) {
	if err := callStream(s, p, size, r); err != nil {
		w.warns.add(p, "%s: %v", s.Name(), err)
	}
}

func callStream(s StreamExtractor, p string, size int64, r io.Reader) (err error) {
	defer func() {
		if v := recover(); v != nil {
			err = fmt.Errorf("extractor failed on this file: %v", v)
		}
	}()
	return s.Stream(p, size, r)
}

// fanOut streams one large file to several extractors at once through
// pipes, each drained to the end so that one that stops early never
// blocks the others.
func fanOut(p string, size int64, r io.Reader, streams []StreamExtractor) []error {
	errs := make([]error, len(streams))
	pws := make([]*io.PipeWriter, len(streams))
	ws := make([]io.Writer, len(streams))
	done := make(chan struct{}, len(streams))
	for i, s := range streams {
		pr, pw := io.Pipe()
		pws[i], ws[i] = pw, pw
		go func() {
			errs[i] = callStream(s, p, size, pr)
			io.Copy(io.Discard, pr)
			done <- struct{}{}
		}()
	}
	_, err := io.Copy(io.MultiWriter(ws...), r)
	for _, pw := range pws {
		pw.CloseWithError(err)
	}
	for range streams {
		<-done
	}
	return errs
}

// readN reads exactly size bytes, growing the buffer as bytes arrive so a
// lying header cannot make it allocate more than the stream holds.
func readN(r io.Reader, size int64) ([]byte, error) {
	var buf bytes.Buffer
	buf.Grow(int(min(size, 1<<20)))
	n, err := buf.ReadFrom(io.LimitReader(r, size))
	if err != nil {
		return nil, err
	}
	if n != size {
		return nil, io.ErrUnexpectedEOF
	}
	return buf.Bytes(), nil
}

// escapes reports whether name, taken relative to the root, climbs above it.
func escapes(name string) bool {
	if !strings.Contains(name, "..") {
		return false
	}
	c := path.Clean(strings.TrimLeft(name, "/"))
	return c == ".." || strings.HasPrefix(c, "../")
}

func parent(p string) string {
	i := strings.LastIndexByte(p, '/')
	if i <= 0 {
		return "/"
	}
	return p[:i]
}

func truncate(s string) string {
	if len(s) > 200 {
		return s[:200] + "…"
	}
	return s
}

func hex(b []byte) string { return fmt.Sprintf("%x", b) }

// sourceReader reads the compressed blob, counting bytes for Progress,
// honouring ctx between reads, and remembering the source's own error.
type sourceReader struct {
	ctx       context.Context
	r         io.Reader
	err       error
	n, last   int64
	progress  func(done int64)
	reportedN bool
}

func (s *sourceReader) Read(p []byte) (int, error) {
	if err := s.ctx.Err(); err != nil {
		return 0, err
	}
	n, err := s.r.Read(p)
	s.n += int64(n)
	if s.progress != nil && s.n-s.last >= progressStep {
		s.report()
	}
	if err != nil && err != io.EOF && s.err == nil {
		s.err = err
	}
	return n, err
}

func (s *sourceReader) report() {
	if s.progress != nil && (s.n != s.last || !s.reportedN) {
		s.last, s.reportedN = s.n, true
		s.progress(s.n)
	}
}

// boundedReader refuses to read past max decompressed bytes.
type boundedReader struct {
	r        io.Reader
	n, max   int64
	exceeded bool
}

func (b *boundedReader) Read(p []byte) (int, error) {
	if b.n >= b.max {
		// One byte past the limit tells a stream of exactly max bytes,
		// which is fine, from a longer one.
		var one [1]byte
		n, err := b.r.Read(one[:])
		if n > 0 {
			b.exceeded = true
			return 0, errLayerTooLarge
		}
		return 0, err
	}
	if rem := b.max - b.n; int64(len(p)) > rem {
		p = p[:rem]
	}
	n, err := b.r.Read(p)
	b.n += int64(n)
	return n, err
}
