package uring

import (
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"testing"

	"golang.org/x/sys/unix"
)

// newRing is New, skipping the test where the kernel refuses io_uring (the
// callers' plain path is what runs there).
func newRing(t *testing.T, slots, slotSize int) *Ring {
	t.Helper()
	r, err := New(slots, slotSize)
	if err != nil {
		t.Skipf("io_uring refused here: %v", err)
	}
	t.Cleanup(func() { r.Close() })
	return r
}

func openDir(t *testing.T, dir string) int {
	t.Helper()
	fd, err := unix.Open(dir, unix.O_RDONLY|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { unix.Close(fd) })
	return fd
}

func TestReadFilesAsOSReadFile(t *testing.T) {
	const slotSize = 64
	dir := t.TempDir()
	write := func(name string, size int) {
		b := bytes.Repeat([]byte(name[:1]), size)
		if err := os.WriteFile(filepath.Join(dir, name), b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write("empty", 0)
	write("small", 10)
	write("exact", slotSize)
	write("larger", slotSize+1)
	write("unreadable", 5)
	os.Chmod(filepath.Join(dir, "unreadable"), 0)
	os.Mkdir(filepath.Join(dir, "subdir"), 0o755)
	os.Symlink("small", filepath.Join(dir, "link"))
	os.Symlink("loop", filepath.Join(dir, "loop"))
	os.Symlink("/nonexistent/x", filepath.Join(dir, "dangling"))

	names := []string{"empty", "small", "exact", "larger", "unreadable", "subdir", "link", "loop", "dangling", "missing"}
	r := newRing(t, len(names), slotSize)
	out := make([]File, len(names))
	// Twice: the second batch reuses slots whose files the first closed.
	for round := 0; round < 2; round++ {
		if err := r.ReadFiles(openDir(t, dir), names, out); err != nil {
			t.Fatal(err)
		}
		for i, name := range names {
			want, wantErr := os.ReadFile(filepath.Join(dir, name))
			got := out[i]
			switch {
			case wantErr != nil:
				var pe *os.PathError
				if !errors.As(got.Err, &pe) || pe.Path != name || !errors.Is(got.Err, errors.Unwrap(wantErr)) {
					t.Errorf("round %d, %s: error %v, want one naming it, as %v", round, name, got.Err, wantErr)
				}
			case got.Err != nil:
				t.Errorf("round %d, %s: %v", round, name, got.Err)
			case len(want) >= slotSize:
				if !got.Truncated || !bytes.Equal(got.Data, want[:slotSize]) {
					t.Errorf("round %d, %s: %d bytes, truncated %v; want the slot's %d and truncated", round, name, len(got.Data), got.Truncated, slotSize)
				}
			case got.Truncated || !bytes.Equal(got.Data, want):
				t.Errorf("round %d, %s: %q (truncated %v), want %q", round, name, got.Data, got.Truncated, want)
			}
		}
	}
}

// TestReadFilesManyBatches goes round the rings many times, with batches of
// every size up to the slots: a head or tail kept wrong shows as a file with
// another's bytes or a batch that never completes.
func TestReadFilesManyBatches(t *testing.T) {
	dir := t.TempDir()
	const n = 700
	names := make([]string, n)
	for i := range names {
		names[i] = fmt.Sprintf("f%03d.yaml", i)
		os.WriteFile(filepath.Join(dir, names[i]), []byte(fmt.Sprintf("file %d\n", i)), 0o644)
	}
	r := newRing(t, 13, 4096)
	fd := openDir(t, dir)
	out := make([]File, r.Slots())
	for start, size := 0, 1; start < n; start, size = start+size, size%r.Slots()+1 {
		batch := names[start:min(start+size, n)]
		if err := r.ReadFiles(fd, batch, out); err != nil {
			t.Fatal(err)
		}
		for i := range batch {
			if want := fmt.Sprintf("file %d\n", start+i); string(out[i].Data) != want || out[i].Err != nil {
				t.Fatalf("%s: %q, %v; want %q", batch[i], out[i].Data, out[i].Err, want)
			}
		}
	}
}

func TestStatFilesAsStatx(t *testing.T) {
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "a"), []byte("abc"), 0o644)
	os.Symlink("a", filepath.Join(dir, "link"))
	os.Mkdir(filepath.Join(dir, "d"), 0o755)
	names := []string{"a", "link", "d", "missing"}
	r := newRing(t, 4, 16)
	out := make([]Stat, len(names))
	const mask = unix.STATX_TYPE | unix.STATX_INO | unix.STATX_SIZE | unix.STATX_MTIME | unix.STATX_CTIME
	if err := r.StatFiles(openDir(t, dir), names, mask, out); err != nil {
		t.Fatal(err)
	}
	for i, name := range names {
		var want unix.Statx_t
		err := unix.Statx(unix.AT_FDCWD, filepath.Join(dir, name), 0, mask, &want)
		if err != nil {
			if !errors.Is(out[i].Err, fs.ErrNotExist) {
				t.Errorf("%s: %v, want not found", name, out[i].Err)
			}
			continue
		}
		got := out[i]
		if got.Err != nil || got.Ino != want.Ino || got.Size != want.Size || got.Mode != want.Mode || got.Mtime != want.Mtime || got.Ctime != want.Ctime || got.Dev_major != want.Dev_major || got.Dev_minor != want.Dev_minor {
			t.Errorf("%s: %+v, want %+v", name, got, want)
		}
	}
}

func TestRingRefusesWhatItCannotTake(t *testing.T) {
	r := newRing(t, 2, 16)
	out := make([]File, 3)
	if err := r.ReadFiles(unix.AT_FDCWD, []string{"a", "b", "c"}, out); err == nil {
		t.Error("three files for two slots: no error")
	}
	if err := r.ReadFiles(unix.AT_FDCWD, []string{"a\x00b"}, out); err == nil {
		t.Error("a name with a NUL: no error")
	}
	r.Close()
	if err := r.ReadFiles(unix.AT_FDCWD, []string{"a"}, out); err == nil {
		t.Error("a closed ring: no error")
	}
	if _, err := New(0, 16); err == nil {
		t.Error("no slots: no error")
	}
}
