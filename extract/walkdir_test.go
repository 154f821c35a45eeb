package extract

import (
	"context"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
)

// mkroot builds a small root filesystem: files (path → body), symlinks
// (path → target) and fifos.
func mkroot(t *testing.T, files, links map[string]string, fifos ...string) string {
	t.Helper()
	root := t.TempDir()
	for p, body := range files {
		f := filepath.Join(root, p)
		if err := os.MkdirAll(filepath.Dir(f), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(f, []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	for p, target := range links {
		f := filepath.Join(root, p)
		os.MkdirAll(filepath.Dir(f), 0o755)
		if err := os.Symlink(target, f); err != nil {
			t.Fatal(err)
		}
	}
	for _, p := range fifos {
		if err := syscall.Mkfifo(filepath.Join(root, p), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return root
}

func TestWalkDirStaysInRoot(t *testing.T) {
	host, err := os.ReadFile("/etc/passwd")
	if err != nil || len(host) == 0 {
		t.Fatalf("this test needs the host's /etc/passwd: %v", err)
	}
	root := mkroot(t,
		map[string]string{"etc/os-release": "ID=test\n", "usr/lib/os-release": "ID=lib\n", "srv/data": "d"},
		map[string]string{
			"srv/abs-passwd": "/etc/passwd",            // the root's own /etc/passwd: absent
			"srv/up-passwd":  "../../../../etc/passwd", // climbs out, lands on the same
			"srv/hostetc":    "/etc",                   // a directory outside, never walked
			"srv/osr":        "/usr/lib/os-release",
			"srv/loop":       "loop",
		},
		"srv/fifo",
	)
	ix, _, err := WalkDir(context.Background(), root, []Extractor{keepAll}, WalkOptions{})
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range []string{"/srv/abs-passwd", "/srv/up-passwd", "/srv/hostetc/passwd"} {
		b, err := ix.ReadFile(p)
		if !errors.Is(err, fs.ErrNotExist) {
			t.Errorf("ReadFile(%s) = %q, %v; want not exist", p, b, err)
		}
	}
	for _, p := range ix.Paths() {
		if strings.HasPrefix(p, "/srv/hostetc/") {
			t.Errorf("walked %s through a symlink out of the root", p)
		}
		if b, err := ix.ReadFile(p); err == nil && string(b) == string(host) {
			t.Errorf("%s holds the host's /etc/passwd", p)
		}
	}
	if got := readString(t, ix, "/srv/osr"); got != "ID=lib\n" {
		t.Errorf("/srv/osr = %q", got)
	}
	if got := readString(t, ix, "/etc/os-release"); got != "ID=test\n" {
		t.Errorf("/etc/os-release = %q", got)
	}
	if m, ok := ix.Lookup("/srv/abs-passwd"); !ok || m.Type != TypeSymlink || m.Linkname != "/etc/passwd" || m.Layer != -1 {
		t.Errorf("Lookup(/srv/abs-passwd) = %+v", m)
	}
	if m, ok := ix.Lookup("/srv/fifo"); !ok || m.Type != TypeOther {
		t.Errorf("Lookup(/srv/fifo) = %+v, want TypeOther", m)
	}
	if _, err := ix.Resolve("/srv/loop"); err == nil {
		t.Error("Resolve(/srv/loop) succeeded")
	}
}

func TestWalkDirHostRootSkipsPseudoFS(t *testing.T) {
	root := mkroot(t, map[string]string{
		"proc/self/status": "x", "sys/kernel/x": "x", "dev/null": "x",
		"etc/os-release": "ID=test\n", "usr/proc/keep": "kept",
	}, nil)
	r, err := os.OpenRoot(root)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	ix, _, err := walkFS(context.Background(), r.FS(), root, true, []Extractor{keepAll}, WalkOptions{})
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range ix.Paths() {
		for _, skip := range []string{"/proc", "/sys", "/dev"} {
			if p == skip || strings.HasPrefix(p, skip+"/") {
				t.Errorf("%s indexed on a host root", p)
			}
		}
	}
	if got := readString(t, ix, "/usr/proc/keep"); got != "kept" {
		t.Errorf("/usr/proc/keep = %q", got)
	}
	// The same tree as an ordinary dir: source keeps its /proc.
	ix, _, err = WalkDir(context.Background(), root, nil, WalkOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := ix.Lookup("/proc/self/status"); !ok {
		t.Error("a non-host root lost its /proc")
	}
}

func TestWalkDirLimitsAndErrors(t *testing.T) {
	root := mkroot(t, map[string]string{"a": "1234567890", "b": "x", "c/d": "y"}, nil)
	ix, warns, err := WalkDir(context.Background(), root, []Extractor{keepAll}, WalkOptions{MaxKeptFileSize: 5})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := ix.ReadFile("/a"); !errors.Is(err, ErrNotKept) || !hasWarning(warns, "/a") {
		t.Errorf("a 10-byte file over a 5-byte limit: err %v, warnings %v", err, warns)
	}
	if _, _, err := WalkDir(context.Background(), root, nil, WalkOptions{MaxEntries: 2}); err == nil || !strings.Contains(err.Error(), "more than 2 files") {
		t.Errorf("MaxEntries 2: err = %v", err)
	}
	missing := filepath.Join(root, "nope")
	if _, _, err := WalkDir(context.Background(), missing, nil, WalkOptions{}); !errors.Is(err, fs.ErrNotExist) || !strings.Contains(err.Error(), missing) {
		t.Errorf("missing root: err = %v", err)
	}
	if _, _, err := WalkDir(context.Background(), filepath.Join(root, "a"), nil, WalkOptions{}); err == nil || !strings.Contains(err.Error(), "not a directory") {
		t.Errorf("file as root: err = %v", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, _, err := WalkDir(ctx, root, nil, WalkOptions{}); !errors.Is(err, context.Canceled) {
		t.Errorf("cancelled: err = %v", err)
	}
}

func TestWalkDirStreams(t *testing.T) {
	root := mkroot(t, map[string]string{"lib/libc.so.6": "ELF libc"}, map[string]string{"lib/libc.so": "libc.so.6"})
	s := &streamEx{name: "elf", pattern: "/lib/*", limit: -1}
	if _, _, err := WalkDir(context.Background(), root, []Extractor{s}, WalkOptions{}); err != nil {
		t.Fatal(err)
	}
	if len(s.seen) != 1 || s.seen["/lib/libc.so.6"] == "" {
		t.Errorf("streamed %v, want only the regular file /lib/libc.so.6", s.seen)
	}
}
