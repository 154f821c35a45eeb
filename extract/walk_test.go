package extract

import (
	"archive/tar"
	"bytes"
	stdgzip "compress/gzip"
	"context"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"os/exec"
	"path"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"testing"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/layout"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/static"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
	"github.com/google/go-containerregistry/pkg/v1/types"
	"github.com/klauspost/compress/gzip"
	"github.com/klauspost/compress/zstd"

	"github.com/seshat-dev/seshat/internal/fixtures"
)

// ent is one tar entry of a test layer. typ defaults to a regular file;
// a trailing "/" on name makes a directory.
type ent struct {
	name, body, link string
	typ              byte
	size             int64 // declared size when body is produced by zeros
}

func reg(name, body string) ent      { return ent{name: name, body: body} }
func dir(name string) ent            { return ent{name: name, typ: tar.TypeDir} }
func symlink(name, to string) ent    { return ent{name: name, link: to, typ: tar.TypeSymlink} }
func hardlink(name, to string) ent   { return ent{name: name, link: to, typ: tar.TypeLink} }
func whiteout(name string) ent       { return reg(path.Join(path.Dir(name), ".wh."+path.Base(name)), "") }
func opaqueMarker(dir string) ent    { return reg(path.Join(dir, ".wh..wh..opq"), "") }
func zeros(name string, n int64) ent { return ent{name: name, size: n} }

// writeTar writes entries as a tar stream; zero-filled bodies stream from
// a reader so that gigabyte files cost no memory.
func writeTar(t testing.TB, w io.Writer, ents ...ent) {
	t.Helper()
	tw := tar.NewWriter(w)
	for _, e := range ents {
		h := &tar.Header{Name: e.name, Linkname: e.link, Typeflag: e.typ, Mode: 0o644, Format: tar.FormatPAX}
		var body io.Reader = strings.NewReader(e.body)
		switch {
		case e.typ == 0 && e.size > 0:
			h.Typeflag, h.Size, body = tar.TypeReg, e.size, io.LimitReader(zeroReader{}, e.size)
		case e.typ == 0:
			h.Typeflag, h.Size = tar.TypeReg, int64(len(e.body))
		case e.typ == tar.TypeDir:
			h.Mode = 0o755
		}
		if err := tw.WriteHeader(h); err != nil {
			t.Fatal(err)
		}
		if _, err := io.Copy(tw, body); err != nil {
			t.Fatal(err)
		}
	}
	if err := tw.Close(); err != nil {
		t.Fatal(err)
	}
}

type zeroReader struct{}

func (zeroReader) Read(p []byte) (int, error) {
	clear(p)
	return len(p), nil
}

func tarBytes(t testing.TB, ents ...ent) []byte {
	var buf bytes.Buffer
	writeTar(t, &buf, ents...)
	return buf.Bytes()
}

func gzipBytes(t testing.TB, b []byte) []byte {
	var buf bytes.Buffer
	zw := stdgzip.NewWriter(&buf)
	if _, err := zw.Write(b); err != nil {
		t.Fatal(err)
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// gzLayer is a layer as go-containerregistry builds one from a tar.
func gzLayer(t testing.TB, ents ...ent) v1.Layer {
	t.Helper()
	b := tarBytes(t, ents...)
	l, err := tarball.LayerFromOpener(func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(b)), nil })
	if err != nil {
		t.Fatal(err)
	}
	return l
}

// imageLayers assembles an image from layers (base first) and returns
// them as v1.Image.Layers does.
func imageLayers(t testing.TB, layers ...v1.Layer) []v1.Layer {
	t.Helper()
	img, err := mutate.AppendLayers(empty.Image, layers...)
	if err != nil {
		t.Fatal(err)
	}
	ls, err := img.Layers()
	if err != nil {
		t.Fatal(err)
	}
	return ls
}

// keepEx keeps the bytes of every file matching one of its patterns.
type keepEx struct{ patterns []string }

func (keepEx) Name() string { return "keep" }
func (k keepEx) Wants(p string, _ int64) bool {
	for _, pat := range k.patterns {
		if ok, _ := path.Match(pat, p); ok {
			return true
		}
	}
	return false
}
func (keepEx) Extract(context.Context, *FileIndex, *Analysis) error { return nil }

// streamEx reads streamed files: the first limit bytes (all if limit < 0),
// recording a sha256 of what it read, or panicking when told to.
type streamEx struct {
	name    string
	pattern string
	limit   int64
	panics  bool
	mu      sync.Mutex
	seen    map[string]string
}

func (s *streamEx) Name() string                                         { return s.name }
func (s *streamEx) Wants(string, int64) bool                             { return false }
func (s *streamEx) Extract(context.Context, *FileIndex, *Analysis) error { return nil }
func (s *streamEx) WantsStream(p string, _ int64) bool {
	ok, _ := path.Match(s.pattern, p)
	return ok
}
func (s *streamEx) Stream(p string, size int64, r io.Reader) error {
	if s.panics {
		panic("boom on " + p)
	}
	if s.limit >= 0 {
		r = io.LimitReader(r, s.limit)
	}
	h := sha256.New()
	if _, err := io.Copy(h, r); err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.seen == nil {
		s.seen = map[string]string{}
	}
	s.seen[p] = fmt.Sprintf("%x", h.Sum(nil))
	return nil
}

var keepAll = keepEx{patterns: []string{"/*", "/*/*", "/*/*/*", "/*/*/*/*"}}

func walk(t testing.TB, layers []v1.Layer, exs []Extractor, opt WalkOptions) (*FileIndex, []Warning) {
	t.Helper()
	ix, warns, err := WalkLayers(context.Background(), layers, exs, opt)
	if err != nil {
		t.Fatalf("WalkLayers: %v", err)
	}
	return ix, warns
}

func readString(t testing.TB, ix *FileIndex, p string) string {
	t.Helper()
	b, err := ix.ReadFile(p)
	if err != nil {
		t.Fatalf("ReadFile(%s): %v", p, err)
	}
	return string(b)
}

func TestWalkLayersSquash(t *testing.T) {
	tests := []struct {
		name    string
		layers  [][]ent // base first
		files   map[string]string
		dirs    []string
		absent  []string
		resolve map[string]string
	}{
		{
			name:   "upper file hides lower",
			layers: [][]ent{{dir("etc/"), reg("etc/a", "old"), reg("etc/b", "kept")}, {reg("etc/a", "new")}},
			files:  map[string]string{"/etc/a": "new", "/etc/b": "kept"},
			dirs:   []string{"/etc"},
		},
		{
			name:   "whiteout of a file",
			layers: [][]ent{{reg("a/x", "x"), reg("a/y", "y")}, {whiteout("a/x")}},
			files:  map[string]string{"/a/y": "y"},
			absent: []string{"/a/x", "/a/.wh.x"},
		},
		{
			name:   "whiteout of a directory hides all below it",
			layers: [][]ent{{dir("d/"), reg("d/f", "f"), reg("d/sub/g", "g"), reg("dd", "sibling")}, {whiteout("d")}},
			files:  map[string]string{"/dd": "sibling"},
			absent: []string{"/d", "/d/f", "/d/sub/g", "/.wh.d"},
		},
		{
			name: "opaque directory hides lower contents, not its own layer",
			layers: [][]ent{
				{dir("d/"), reg("d/old", "old"), reg("d/sub/older", "older"), reg("e/keep", "e")},
				{dir("d/"), reg("d/before", "b"), opaqueMarker("d"), reg("d/new", "new")},
			},
			files:  map[string]string{"/d/before": "b", "/d/new": "new", "/e/keep": "e"},
			dirs:   []string{"/d"},
			absent: []string{"/d/old", "/d/sub/older", "/d/sub", "/d/.wh..wh..opq"},
		},
		{
			name: "opaque directory in the middle layer hides only below it",
			layers: [][]ent{
				{reg("d/a", "a")},
				{opaqueMarker("d"), reg("d/b", "b")},
				{reg("d/c", "c")},
			},
			files:  map[string]string{"/d/b": "b", "/d/c": "c"},
			absent: []string{"/d/a"},
		},
		{
			name:   "parent replaced by a file",
			layers: [][]ent{{dir("lib/"), reg("lib/x", "x")}, {reg("lib", "now a file")}},
			files:  map[string]string{"/lib": "now a file"},
			absent: []string{"/lib/x"},
		},
		{
			name:    "parent replaced by a symlink",
			layers:  [][]ent{{reg("lib/x", "old x"), reg("usr/lib/x", "usr x")}, {symlink("lib", "usr/lib")}},
			files:   map[string]string{"/lib/x": "usr x"},
			resolve: map[string]string{"/lib/x": "/usr/lib/x"},
		},
		{
			name:   "a lower whiteout does not hide an upper file",
			layers: [][]ent{{reg("a", "base")}, {whiteout("a")}, {reg("a", "again")}},
			files:  map[string]string{"/a": "again"},
		},
		{
			name:   "a whiteout hides only lower layers, not a file of its own layer",
			layers: [][]ent{{reg("x", "base")}, {whiteout("x"), reg("x", "new")}},
			files:  map[string]string{"/x": "new"},
		},
		{
			name:   "a repeated path within one layer: the later entry wins",
			layers: [][]ent{{reg("r", "first"), reg("r", "second")}},
			files:  map[string]string{"/r": "second"},
		},
		{
			name:   "names with ./ and / prefixes meet",
			layers: [][]ent{{reg("./p/q", "lower")}, {reg("/p/q", "upper")}},
			files:  map[string]string{"/p/q": "upper"},
		},
		{
			name:    "absolute symlink out of root resolves inside it",
			layers:  [][]ent{{reg("etc/passwd", "image passwd"), symlink("app/abs", "/etc/passwd"), symlink("app/rel", "../../../../../etc/passwd")}},
			files:   map[string]string{"/app/abs": "image passwd", "/app/rel": "image passwd"},
			resolve: map[string]string{"/app/abs": "/etc/passwd", "/app/rel": "/etc/passwd"},
		},
		{
			name:    "hardlink to a wanted file earlier in the same layer",
			layers:  [][]ent{{reg("usr/bin/python3.11", "ELF python"), hardlink("usr/bin/python3", "usr/bin/python3.11"), symlink("bin", "usr/bin"), symlink("usr/bin/py", "python3")}},
			files:   map[string]string{"/usr/bin/python3": "ELF python", "/usr/bin/python3.11": "ELF python", "/bin/py": "ELF python"},
			resolve: map[string]string{"/usr/bin/python3": "/usr/bin/python3.11"},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var ls []v1.Layer
			for _, l := range tc.layers {
				ls = append(ls, gzLayer(t, l...))
			}
			ix, _ := walk(t, imageLayers(t, ls...), []Extractor{keepAll}, WalkOptions{})
			for p, want := range tc.files {
				if got := readString(t, ix, p); got != want {
					t.Errorf("ReadFile(%s) = %q, want %q", p, got, want)
				}
			}
			for _, p := range tc.dirs {
				if m, ok := ix.Lookup(p); !ok || m.Type != TypeDir {
					t.Errorf("Lookup(%s) = %+v, %v; want a directory", p, m, ok)
				}
			}
			for _, p := range tc.absent {
				if m, ok := ix.Lookup(p); ok {
					t.Errorf("%s is visible (%+v), want hidden", p, m)
				}
			}
			for p, want := range tc.resolve {
				if got, err := ix.Resolve(p); err != nil || got != want {
					t.Errorf("Resolve(%s) = %q, %v; want %q", p, got, err, want)
				}
			}
			for _, p := range ix.Paths() {
				if strings.Contains(p, ".wh.") {
					t.Errorf("whiteout entry %s indexed", p)
				}
			}
		})
	}
}

func TestWalkLayersHostileNames(t *testing.T) {
	ls := imageLayers(t, gzLayer(t,
		reg("../../etc/x", "climbed"),
		reg("a/../../../etc/y", "climbed too"),
		hardlink("hl", "../../etc/shadow"),
		symlink("loop1", "loop2"),
		symlink("loop2", "/loop1"),
	))
	ix, warns := walk(t, ls, []Extractor{keepAll}, WalkOptions{})
	if got := readString(t, ix, "/etc/x"); got != "climbed" {
		t.Errorf("/etc/x = %q", got)
	}
	if got := readString(t, ix, "/etc/y"); got != "climbed too" {
		t.Errorf("/etc/y = %q", got)
	}
	for _, p := range ix.Paths() {
		if strings.Contains(p, "..") || !strings.HasPrefix(p, "/") {
			t.Errorf("indexed path %q is not clean and absolute", p)
		}
	}
	m, ok := ix.Lookup("/hl")
	if !ok || m.Type != TypeHardlink || m.Linkname != "/etc/shadow" {
		t.Errorf("hardlink /hl = %+v, want a hardlink to /etc/shadow", m)
	}
	// The image has no /etc/shadow; the host's must never be read.
	if _, err := ix.ReadFile("/hl"); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("ReadFile(/hl) error = %v, want not exist", err)
	}
	if _, err := ix.Resolve("/loop1"); err == nil || !strings.Contains(err.Error(), "too many levels") {
		t.Errorf("Resolve(/loop1) error = %v, want a loop error", err)
	}
	if _, err := ix.ReadFile("/loop2/x"); err == nil {
		t.Error("ReadFile through a symlink loop succeeded")
	}
	for _, name := range []string{"../../etc/x", "a/../../../etc/y", "../../etc/shadow"} {
		if !hasWarning(warns, name) {
			t.Errorf("no warning names %q; warnings: %v", name, warns)
		}
	}
}

func hasWarning(warns []Warning, substr string) bool {
	for _, w := range warns {
		if strings.Contains(w.Path+" "+w.Message, substr) {
			return true
		}
	}
	return false
}

func TestWalkLayersHardlinkTargetReplacedAbove(t *testing.T) {
	ls := imageLayers(t,
		gzLayer(t, reg("bin/t", "original"), hardlink("bin/l", "bin/t")),
		gzLayer(t, reg("bin/t", "replaced")),
	)
	ix, warns := walk(t, ls, []Extractor{keepAll}, WalkOptions{})
	if got := readString(t, ix, "/bin/t"); got != "replaced" {
		t.Errorf("/bin/t = %q", got)
	}
	// The link still holds the lower bytes, which streamed past hidden:
	// not kept, and never the upper file's bytes.
	if b, err := ix.ReadFile("/bin/l"); !errors.Is(err, ErrNotKept) {
		t.Errorf("ReadFile(/bin/l) = %q, %v; want ErrNotKept", b, err)
	}
	if m, _ := ix.Lookup("/bin/l"); m == nil || m.Size != int64(len("original")) {
		t.Errorf("Lookup(/bin/l) = %+v, want the size of the original", m)
	}
	if !hasWarning(warns, "upper layer replaces") {
		t.Errorf("no warning about /bin/l: %v", warns)
	}
}

func TestWalkLayersHardlinkTargetNotKept(t *testing.T) {
	ls := imageLayers(t, gzLayer(t, reg("bin/real", "bytes"), hardlink("etc/wanted", "bin/real")))
	ix, warns := walk(t, ls, []Extractor{keepEx{patterns: []string{"/etc/*"}}}, WalkOptions{})
	if m, ok := ix.Lookup("/etc/wanted"); !ok || m.Size != 5 {
		t.Errorf("Lookup(/etc/wanted) = %+v; want a hardlink of size 5", m)
	}
	if !hasWarning(warns, "/etc/wanted") {
		t.Errorf("no warning about /etc/wanted: %v", warns)
	}
}

// ggcrTestdata is go-containerregistry's mutate testdata, from the module
// cache (`go mod download` fetches it through the Go module proxy).
func ggcrTestdata(t *testing.T) string {
	t.Helper()
	out, err := exec.Command("go", "mod", "download", "-json", "github.com/google/go-containerregistry@v0.22.1").Output()
	if err != nil {
		t.Fatalf("go mod download go-containerregistry: %v", err)
	}
	var mod struct{ Dir string }
	if err := json.Unmarshal(out, &mod); err != nil || mod.Dir == "" {
		t.Fatalf("go mod download printed no Dir: %v %s", err, out)
	}
	return filepath.Join(mod.Dir, "pkg", "v1", "mutate", "testdata")
}

func TestWalkLayersGGCRWhiteoutImages(t *testing.T) {
	td := ggcrTestdata(t)
	tests := []struct {
		image   string
		files   map[string]string
		present []string
		absent  []string
	}{
		{image: "whiteout_image.tar", files: map[string]string{"/bar.txt": "bar\n"}, absent: []string{"/foo.txt", "/.wh.foo.txt"}},
		{image: "whiteout_dir.tar", present: []string{"/a", "/a/baz", "/b/bar"}, absent: []string{"/a/foo", "/.wh.a"}},
		{image: "overwritten_file.tar", files: map[string]string{"/foo.txt": "bar\n"}},
	}
	for _, tc := range tests {
		t.Run(tc.image, func(t *testing.T) {
			img, err := tarball.ImageFromPath(filepath.Join(td, tc.image), nil)
			if err != nil {
				t.Fatal(err)
			}
			ls, err := img.Layers()
			if err != nil {
				t.Fatal(err)
			}
			ix, _ := walk(t, ls, []Extractor{keepAll}, WalkOptions{})
			for p, want := range tc.files {
				if got := readString(t, ix, p); got != want {
					t.Errorf("ReadFile(%s) = %q, want %q", p, got, want)
				}
			}
			for _, p := range tc.present {
				if _, ok := ix.Lookup(p); !ok {
					t.Errorf("%s missing; index: %v", p, ix.Paths())
				}
			}
			for _, p := range tc.absent {
				if _, ok := ix.Lookup(p); ok {
					t.Errorf("%s visible, want hidden", p)
				}
			}
		})
	}
}

func TestWalkLayersCompressions(t *testing.T) {
	raw := tarBytes(t, dir("etc/"), reg("etc/os-release", "ID=test\n"))
	var zbuf bytes.Buffer
	zw, err := zstd.NewWriter(&zbuf)
	if err != nil {
		t.Fatal(err)
	}
	zw.Write(raw)
	zw.Close()
	tests := []struct {
		name  string
		layer v1.Layer
	}{
		{"gzip", static.NewLayer(gzipBytes(t, raw), types.OCILayer)},
		{"zstd", static.NewLayer(zbuf.Bytes(), types.OCILayerZStd)},
		{"uncompressed", static.NewLayer(raw, types.OCIUncompressedLayer)},
		{"uncompressed labelled gzip", static.NewLayer(raw, types.DockerLayer)},
		{"gzip of two members", static.NewLayer(append(gzipBytes(t, raw[:1024]), gzipBytes(t, raw[1024:])...), types.OCILayer)},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			ix, _ := walk(t, imageLayers(t, tc.layer), []Extractor{keepAll}, WalkOptions{})
			if got := readString(t, ix, "/etc/os-release"); got != "ID=test\n" {
				t.Errorf("os-release = %q", got)
			}
		})
	}
}

// ociLayout writes layers as an image in an OCI layout under a temp dir and
// returns the layout path and the layers read back from it.
func ociLayout(t *testing.T, layers ...v1.Layer) (layout.Path, v1.Image) {
	t.Helper()
	img, err := mutate.AppendLayers(empty.Image, layers...)
	if err != nil {
		t.Fatal(err)
	}
	p, err := layout.Write(t.TempDir(), empty.Index)
	if err != nil {
		t.Fatal(err)
	}
	if err := p.AppendImage(img); err != nil {
		t.Fatal(err)
	}
	idx, err := p.ImageIndex()
	if err != nil {
		t.Fatal(err)
	}
	m, err := idx.IndexManifest()
	if err != nil {
		t.Fatal(err)
	}
	back, err := idx.Image(m.Manifests[0].Digest)
	if err != nil {
		t.Fatal(err)
	}
	return p, back
}

func TestWalkLayersCorrupt(t *testing.T) {
	good := tarBytes(t, reg("etc/os-release", "ID=test\n"), reg("usr/lib/x", strings.Repeat("x", 4000)))
	gz := gzipBytes(t, good)
	notTar := []byte(strings.Repeat("this is a text file, not a tar archive\n", 40))
	badCRC := bytes.Clone(gz)
	badCRC[len(badCRC)-6] ^= 0xff
	var zbuf bytes.Buffer
	zw, _ := zstd.NewWriter(&zbuf)
	zw.Write(good)
	zw.Close()

	tests := []struct {
		name  string
		layer func(t *testing.T) v1.Layer
		opt   WalkOptions
		want  string // in the error text
	}{
		{"truncated gzip", func(*testing.T) v1.Layer { return static.NewLayer(gz[:len(gz)/2], types.OCILayer) }, WalkOptions{}, "unexpected EOF"},
		{"gzip checksum wrong", func(*testing.T) v1.Layer { return static.NewLayer(badCRC, types.OCILayer) }, WalkOptions{}, "checksum"},
		{"truncated zstd", func(*testing.T) v1.Layer {
			return static.NewLayer(zbuf.Bytes()[:zbuf.Len()-10], types.OCILayerZStd)
		}, WalkOptions{}, "unexpected EOF"},
		{"not a tar", func(*testing.T) v1.Layer { return static.NewLayer(notTar, types.OCIUncompressedLayer) }, WalkOptions{}, "not a tar"},
		{"gzip of not a tar", func(t *testing.T) v1.Layer { return static.NewLayer(gzipBytes(t, notTar), types.OCILayer) }, WalkOptions{}, "not a tar"},
		{"xz", func(*testing.T) v1.Layer {
			return static.NewLayer([]byte("\xfd7zXZ\x00\x00\x04\xe6\xd6\xb4\x46"), types.OCILayer)
		}, WalkOptions{}, "xz"},
		{"too many entries", func(t *testing.T) v1.Layer { return static.NewLayer(gz, types.OCILayer) }, WalkOptions{MaxEntries: 1}, "more than 1 entries"},
		{"digest mismatch in an OCI layout", func(t *testing.T) v1.Layer {
			p, img := ociLayout(t, static.NewLayer(gz, types.OCILayer))
			ls, _ := img.Layers()
			d, _ := ls[0].Digest()
			other := gzipBytes(t, tarBytes(t, reg("etc/os-release", "ID=evil\n")))
			blob := filepath.Join(string(p), "blobs", d.Algorithm, d.Hex)
			if err := os.WriteFile(blob, other, 0o644); err != nil {
				t.Fatal(err)
			}
			return ls[0]
		}, WalkOptions{}, "fetch the image again"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			l := tc.layer(t)
			d, _ := l.Digest()
			// An intact lower layer shows that the error stops the walk.
			ls := []v1.Layer{static.NewLayer(gz, types.OCILayer), l}
			// Whether the damaged bytes are kept or streamed, the walk fails.
			streamAll := &streamEx{name: "all", pattern: "/*/*/*", limit: -1}
			if _, _, err := WalkLayers(context.Background(), ls, []Extractor{streamAll}, tc.opt); !errors.Is(err, ErrCorruptLayer) {
				t.Errorf("streaming: err = %v, want ErrCorruptLayer", err)
			}
			ix, _, err := WalkLayers(context.Background(), ls, []Extractor{keepAll}, tc.opt)
			if !errors.Is(err, ErrCorruptLayer) {
				t.Fatalf("err = %v, want ErrCorruptLayer", err)
			}
			if ix != nil {
				t.Error("a failed walk returned an index")
			}
			msg := err.Error()
			t.Log(msg)
			if !strings.Contains(msg, d.String()) || !strings.Contains(msg, tc.want) {
				t.Errorf("error %q should name %s and say %q", msg, d, tc.want)
			}
			if strings.Contains(msg, "\n") {
				t.Errorf("error %q is more than one line", msg)
			}
		})
	}
}

// zeroBombLayer is a real gzip blob holding one file of n zero bytes,
// made of concatenated gzip members (RFC 1952 §2.2) so that a 10 GB file
// costs one 64 MiB compression in the test, not 10 GB of it.
func zeroBombLayer(t testing.TB, name string, n int64, after ...ent) v1.Layer {
	t.Helper()
	const chunk = 64 << 20
	var hdr bytes.Buffer
	tw := tar.NewWriter(&hdr)
	if err := tw.WriteHeader(&tar.Header{Name: name, Size: n, Mode: 0o644, Typeflag: tar.TypeReg}); err != nil {
		t.Fatal(err)
	}
	tw.Flush()
	blob := gzipBytes(t, hdr.Bytes())
	member := gzipBytes(t, make([]byte, chunk))
	for left := n; left > 0; left -= chunk {
		if left >= chunk {
			blob = append(blob, member...)
		} else {
			blob = append(blob, gzipBytes(t, make([]byte, left))...)
		}
	}
	var tail bytes.Buffer
	if pad := n % 512; pad != 0 {
		tail.Write(make([]byte, 512-pad))
	}
	writeTar(t, &tail, after...)
	blob = append(blob, gzipBytes(t, tail.Bytes())...)
	return static.NewLayer(blob, types.OCILayer)
}

func TestWalkLayersZeroBomb(t *testing.T) {
	const tenGB = 10 << 30
	bomb := zeroBombLayer(t, "var/zero", tenGB, reg("etc/after", "after"))
	size, _ := bomb.Size()
	if size > 16<<20 {
		t.Fatalf("bomb blob is %d bytes, want a small gzip", size)
	}
	d, _ := bomb.Digest()

	t.Run("refused past MaxLayerBytes", func(t *testing.T) {
		_, _, err := WalkLayers(context.Background(), []v1.Layer{bomb}, []Extractor{keepAll}, WalkOptions{MaxLayerBytes: 256 << 20})
		if !errors.Is(err, ErrCorruptLayer) || !strings.Contains(err.Error(), d.String()) || !strings.Contains(err.Error(), "decompression bomb") {
			t.Fatalf("err = %v, want ErrCorruptLayer naming %s as a decompression bomb", err, d)
		}
	})
	t.Run("walked past in bounded memory under the default cap", func(t *testing.T) {
		if testing.Short() {
			t.Skip("decompresses 10 GB")
		}
		head := &streamEx{name: "elf-magic", pattern: "/var/*", limit: 4}
		before := heapInUse()
		ix, warns := walk(t, []v1.Layer{bomb}, []Extractor{keepAll, head}, WalkOptions{})
		if grew := heapInUse() - before; grew > 64<<20 {
			t.Errorf("heap grew by %d bytes walking a 10 GB file", grew)
		}
		if _, err := ix.ReadFile("/var/zero"); !errors.Is(err, ErrNotKept) {
			t.Errorf("ReadFile(/var/zero) error = %v, want ErrNotKept", err)
		}
		if m, _ := ix.Lookup("/var/zero"); m == nil || m.Size != tenGB {
			t.Errorf("Lookup(/var/zero) = %+v, want size %d", m, int64(tenGB))
		}
		if !hasWarning(warns, "/var/zero") {
			t.Errorf("no warning says /var/zero was not kept: %v", warns)
		}
		if got := readString(t, ix, "/etc/after"); got != "after" {
			t.Errorf("/etc/after = %q", got)
		}
		if head.seen["/var/zero"] == "" {
			t.Error("the stream extractor did not see /var/zero")
		}
	})
}

func heapInUse() int64 {
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	return int64(ms.HeapInuse)
}

func TestWalkLayersLargeFileNotKept(t *testing.T) {
	// 200 MiB, under the layer cap but over the 64 MiB kept-file default.
	l := zeroBombLayer(t, "opt/big.bin", 200<<20, reg("opt/small", "small"))
	ix, warns := walk(t, []v1.Layer{l}, []Extractor{keepAll}, WalkOptions{})
	if _, err := ix.ReadFile("/opt/big.bin"); !errors.Is(err, ErrNotKept) {
		t.Errorf("ReadFile(/opt/big.bin) error = %v, want ErrNotKept", err)
	}
	if !hasWarning(warns, "/opt/big.bin") || !hasWarning(warns, "limit") {
		t.Errorf("no warning says /opt/big.bin is over the limit: %v", warns)
	}
	if got := readString(t, ix, "/opt/small"); got != "small" {
		t.Errorf("/opt/small = %q", got)
	}
}

func TestWalkLayersTotalKeptBudget(t *testing.T) {
	body := strings.Repeat("k", 600)
	ls := imageLayers(t, gzLayer(t, reg("a", body), reg("b", body), reg("c", body)))
	ix, warns := walk(t, ls, []Extractor{keepAll}, WalkOptions{MaxTotalKept: 1500})
	kept := 0
	for _, p := range []string{"/a", "/b", "/c"} {
		if _, err := ix.ReadFile(p); err == nil {
			kept++
		}
	}
	if kept != 2 || !hasWarning(warns, "all kept files") {
		t.Errorf("kept %d of 3 files within a 1500-byte budget (want 2); warnings %v", kept, warns)
	}
}

func TestWalkLayersManyEntries(t *testing.T) {
	const n = 100_000
	var raw bytes.Buffer
	tw := tar.NewWriter(&raw)
	for i := range n {
		tw.WriteHeader(&tar.Header{Name: fmt.Sprintf("usr/share/many/d%03d/f%06d", i%1000, i), Typeflag: tar.TypeReg, Mode: 0o644})
	}
	tw.Close()
	l := static.NewLayer(gzipBytes(t, raw.Bytes()), types.OCILayer)
	raw = bytes.Buffer{}
	before := heapInUse()
	ix, _ := walk(t, []v1.Layer{l}, []Extractor{keepEx{patterns: []string{"/etc/*"}}}, WalkOptions{})
	if ix.Len() != n {
		t.Errorf("indexed %d paths, want %d", ix.Len(), n)
	}
	// Metadata only: well under a kilobyte per entry.
	if grew := heapInUse() - before; grew > n*1024 {
		t.Errorf("index of %d entries holds %d bytes of heap", n, grew)
	}
	runtime.KeepAlive(ix)

	_, _, err := WalkLayers(context.Background(), []v1.Layer{l}, nil, WalkOptions{MaxEntries: n - 1})
	if !errors.Is(err, ErrCorruptLayer) {
		t.Errorf("MaxEntries %d over %d entries: err = %v, want ErrCorruptLayer", n-1, n, err)
	}
}

func TestWalkLayersStreams(t *testing.T) {
	big := strings.Repeat("0123456789abcdef", 8<<10) // 128 KiB
	sum := fmt.Sprintf("%x", sha256.Sum256([]byte(big)))
	ls := imageLayers(t, gzLayer(t, reg("lib/libbig.so", big), reg("lib/libc.so.6", "ELF libc"), reg("etc/other", "x")))

	full := &streamEx{name: "full", pattern: "/lib/*", limit: -1}
	head := &streamEx{name: "head", pattern: "/lib/*", limit: 4}
	boom := &streamEx{name: "boom", pattern: "/lib/libc.so.6", panics: true}
	// A small kept-file limit sends the big file through the fan-out.
	ix, warns := walk(t, ls, []Extractor{full, head, boom, keepEx{patterns: []string{"/lib/libc.so.6"}}}, WalkOptions{MaxKeptFileSize: 1 << 10})
	if full.seen["/lib/libbig.so"] != sum {
		t.Errorf("full reader saw %s of libbig.so, want %s", full.seen["/lib/libbig.so"], sum)
	}
	if want := fmt.Sprintf("%x", sha256.Sum256([]byte("0123"))); head.seen["/lib/libbig.so"] != want {
		t.Errorf("head reader saw %s, want the first 4 bytes", head.seen["/lib/libbig.so"])
	}
	if want := fmt.Sprintf("%x", sha256.Sum256([]byte("ELF libc"))); full.seen["/lib/libc.so.6"] != want {
		t.Error("a kept file was not streamed")
	}
	if _, ok := full.seen["/etc/other"]; ok {
		t.Error("an unwanted file was streamed")
	}
	if !hasWarning(warns, "boom") {
		t.Errorf("a panicking extractor left no warning: %v", warns)
	}
	if got := readString(t, ix, "/lib/libc.so.6"); got != "ELF libc" {
		t.Errorf("libc.so.6 = %q", got)
	}
}

func TestWalkLayersProgressAndCancel(t *testing.T) {
	l1 := static.NewLayer(gzipBytes(t, tarBytes(t, reg("a", strings.Repeat("a", 1<<20)))), types.OCILayer)
	l2 := gzLayer(t, reg("b", "b"))
	ls := []v1.Layer{l1, l2}
	last := map[int][2]int64{}
	_, _, err := WalkLayers(context.Background(), ls, nil, WalkOptions{Progress: func(layer int, done, total int64) {
		if prev := last[layer]; done < prev[0] {
			t.Errorf("layer %d progress went back from %d to %d", layer, prev[0], done)
		}
		last[layer] = [2]int64{done, total}
	}})
	if err != nil {
		t.Fatal(err)
	}
	for top, l := range []v1.Layer{l2, l1} {
		size, _ := l.Size()
		if last[top] != [2]int64{size, size} {
			t.Errorf("layer %d from the top: last progress %v, want done = total = %d", top, last[top], size)
		}
	}

	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	_, _, err = WalkLayers(ctx, ls, nil, WalkOptions{})
	if !errors.Is(err, context.Canceled) || errors.Is(err, ErrCorruptLayer) {
		t.Errorf("cancelled walk: err = %v, want context.Canceled", err)
	}
}

// benchLayer is ~8 MiB of a typical layer: many small files, a few wanted.
func benchLayer(b *testing.B) (raw, gz []byte) {
	var ents []ent
	for i := range 4000 {
		ents = append(ents, reg(fmt.Sprintf("usr/lib/python3/dist-packages/p%d/m%d.py", i/20, i), strings.Repeat(fmt.Sprintf("line %d\n", i), 256)))
	}
	ents = append(ents, reg("etc/os-release", "ID=debian\n"))
	raw = tarBytes(b, ents...)
	return raw, gzipBytes(b, raw)
}

func BenchmarkWalkLayers(b *testing.B) {
	raw, gz := benchLayer(b)
	l := static.NewLayer(gz, types.OCILayer)
	exs := []Extractor{keepEx{patterns: []string{"/etc/os-release", "/usr/lib/python3/dist-packages/p1/*"}}}
	b.SetBytes(int64(len(raw)))
	b.ReportAllocs()
	for b.Loop() {
		if _, _, err := WalkLayers(context.Background(), []v1.Layer{l}, exs, WalkOptions{}); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkGunzipFloor only decompresses the same blob: the floor that
// BenchmarkWalkLayers is measured against.
func BenchmarkGunzipFloor(b *testing.B) {
	raw, gz := benchLayer(b)
	b.SetBytes(int64(len(raw)))
	for b.Loop() {
		zr, err := gzip.NewReader(bytes.NewReader(gz))
		if err != nil {
			b.Fatal(err)
		}
		if _, err := io.Copy(io.Discard, zr); err != nil {
			b.Fatal(err)
		}
	}
}

// debian12Layers opens the mmdebstrap Debian 12 image that `make fixtures`
// builds (testdata/fixtures.d/11-debian.sh) as an OCI layout.
func debian12Layers(b *testing.B) []v1.Layer {
	ls, err := fixtures.LayoutImage(b, fixtures.Path(b, "images/debian12")).Layers()
	if err != nil {
		b.Fatal(err)
	}
	return ls
}

// BenchmarkWalkLayersDebian12 walks a real Debian image, keeping what the
// os and packages extractors ask for; compare BenchmarkGunzipDebian12Floor.
func BenchmarkWalkLayersDebian12(b *testing.B) {
	ls := debian12Layers(b)
	exs := []Extractor{keepEx{patterns: []string{"/etc/os-release", "/var/lib/dpkg/status", "/usr/lib/python3/dist-packages/*/METADATA"}}}
	for b.Loop() {
		if _, _, err := WalkLayers(context.Background(), ls, exs, WalkOptions{}); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkGunzipDebian12Floor(b *testing.B) {
	ls := debian12Layers(b)
	for b.Loop() {
		for _, l := range ls {
			rc, err := l.Compressed()
			if err != nil {
				b.Fatal(err)
			}
			zr, err := gzip.NewReader(rc)
			if err != nil {
				b.Fatal(err)
			}
			if _, err := io.Copy(io.Discard, zr); err != nil {
				b.Fatal(err)
			}
			rc.Close()
		}
	}
}
