package extract

import (
	"context"
	"io/fs"
	"os"
	"slices"
	"strings"
	"testing"
	"testing/fstest"
)

// badNamesFS is an fs.FS whose root listing adds names no real directory
// has: what a buggy or hostile implementation could hand the walker.
type badNamesFS struct{ fstest.MapFS }

type fakeEntry struct {
	name string
	dir  bool
}

func (e fakeEntry) Name() string { return e.name }
func (e fakeEntry) IsDir() bool  { return e.dir }
func (e fakeEntry) Type() fs.FileMode {
	if e.dir {
		return fs.ModeDir
	}
	return 0
}
func (e fakeEntry) Info() (fs.FileInfo, error) { return nil, fs.ErrNotExist }

func (b badNamesFS) ReadDir(name string) ([]fs.DirEntry, error) {
	ents, err := b.MapFS.ReadDir(name)
	if name == "." {
		ents = append(ents, fakeEntry{"..", true}, fakeEntry{"etc/../..", true}, fakeEntry{"", false})
	}
	return ents, err
}

func TestOpenFS(t *testing.T) {
	cfg := []byte(`{"architecture":"arm64","variant":"v8","os":"linux","config":{"Env":["PATH=/opt/app-root/bin:/usr/bin"],"User":"1001"}}`)
	info, err := InfoFromConfig("registry.test/app:1", "sha256:abc", cfg)
	if err != nil {
		t.Fatal(err)
	}
	fsys := badNamesFS{fstest.MapFS{
		"etc/os-release":     {Data: []byte("ID=test\n")},
		"usr/lib/os-release": {Data: []byte("ID=lib\n")},
		"etc/passwd-link":    {Data: []byte("/etc/passwd"), Mode: fs.ModeSymlink},
		"usr/bin/python3":    {Data: []byte("python3.11"), Mode: fs.ModeSymlink},
		"dev/null":           {Mode: fs.ModeDevice},
	}}
	src := OpenFS(fsys, info)
	if src.Reference() != "registry.test/app:1" || src.Digest() != "sha256:abc" {
		t.Errorf("reference %q, digest %q", src.Reference(), src.Digest())
	}
	got, err := src.Info(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if got.Platform != (Platform{OS: "linux", Architecture: "arm64", Variant: "v8"}) || !slices.Equal(got.Config.Env, []string{"PATH=/opt/app-root/bin:/usr/bin"}) || got.Config.User != "1001" || got.Layers == nil {
		t.Errorf("info = %+v", got)
	}
	ix, warns, err := src.Walk(context.Background(), []Extractor{keepAll}, WalkOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if got := readString(t, ix, "/etc/os-release"); got != "ID=test\n" {
		t.Errorf("/etc/os-release = %q", got)
	}
	if m, ok := ix.Lookup("/usr/bin/python3"); !ok || m.Type != TypeSymlink || m.Linkname != "python3.11" {
		t.Errorf("/usr/bin/python3 = %+v", m)
	}
	// The link is recorded, never followed: the host's /etc/passwd is not
	// what the index holds for it.
	if m, ok := ix.Lookup("/etc/passwd-link"); !ok || m.Type != TypeSymlink {
		t.Errorf("/etc/passwd-link = %+v", m)
	}
	if _, err := ix.ReadFile("/etc/passwd-link"); err == nil {
		t.Error("a symlink out of the tree read as a file")
	}
	if m, ok := ix.Lookup("/dev/null"); !ok || m.Type != TypeOther {
		t.Errorf("/dev/null = %+v: an fs source is no host root, its /dev is listed but never read", m)
	}
	for _, p := range ix.Paths() {
		if strings.Contains(p, "..") {
			t.Errorf("indexed %q", p)
		}
	}
	if n := countWarnings(warns, "invalid name"); n != 3 {
		t.Errorf("%d warnings of invalid names, want 3: %v", n, warns)
	}
}

func countWarnings(warns []Warning, sub string) int {
	n := 0
	for _, w := range warns {
		if strings.Contains(w.Message, sub) {
			n++
		}
	}
	return n
}

// TestOpenFSMatchesDir: a root reached through os.Root's fs.FS indexes
// exactly what dir: does.
func TestOpenFSMatchesDir(t *testing.T) {
	root := mkroot(t,
		map[string]string{"etc/os-release": "ID=test\n", "usr/lib/libc.so.6": "ELF", "srv/data": "d"},
		map[string]string{"srv/up": "../../../../etc/passwd", "srv/hostetc": "/etc", "srv/loop": "loop"},
		"srv/fifo")
	want, _, err := WalkDir(context.Background(), root, []Extractor{keepAll}, WalkOptions{})
	if err != nil {
		t.Fatal(err)
	}
	r, err := os.OpenRoot(root)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	got, _, err := OpenFS(r.FS(), ImageInfo{Reference: "fs"}).Walk(context.Background(), []Extractor{keepAll}, WalkOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(got.Paths(), want.Paths()) {
		t.Fatalf("paths\n got %v\nwant %v", got.Paths(), want.Paths())
	}
	for _, p := range want.Paths() {
		g, _ := got.Lookup(p)
		w, _ := want.Lookup(p)
		if g.Type != w.Type || g.Linkname != w.Linkname || g.Size != w.Size {
			t.Errorf("%s: got %+v, want %+v", p, g, w)
		}
	}
}
