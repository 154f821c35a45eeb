package prescription

import (
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"
)

// loadBothWays loads paths with the io_uring reader and with the plain one
// (ringEnv=0),
// each into a cache directory of its own when caching.
func loadBothWays(t *testing.T, cached bool, paths ...string) (ring, plain *Set, ringErr, plainErr error) {
	t.Helper()
	for _, way := range []bool{true, false} {
		t.Setenv(ringEnv, map[bool]string{true: "1", false: "0"}[way])
		cacheDir := ""
		if cached {
			cacheDir = filepath.Join(t.TempDir(), "cache")
		}
		set, err := LoadCached(cacheDir, paths...)
		if cached { // the second load, from the cache its reader wrote
			set, err = LoadCached(cacheDir, paths...)
			if set.Cached == 0 {
				t.Errorf("io_uring %v: the second load took nothing from the cache", way)
			}
		}
		if way {
			ring, ringErr = set, err
		} else {
			plain, plainErr = set, err
		}
	}
	return ring, plain, ringErr, plainErr
}

// The io_uring reader loads what the plain one does, problems and their
// messages included: batches cut in the middle of a directory, files larger
// than a ring slot, symbolic links good, dangling and to a directory, empty
// and malformed files.
func TestRingLoadsAsThePlainPath(t *testing.T) {
	r := newReader()
	defer r.close()
	if r.batchRing() == nil {
		t.Skip("io_uring is refused here: the plain path is the only one")
	}
	tree := t.TempDir()
	generateTree(t, tree, 400)
	flat := filepath.Join(tree, "fl_", "flat")
	const flatFiles = 2*fileBatch + 7
	for i := 0; i < flatFiles; i++ {
		writeFile(t, filepath.Join(flat, fmt.Sprintf("w%03d.yaml", i)), fmt.Sprintf("units:\n  wraps:\n  - name: Flat%dWrap\n    type: wrap\n    should_include:\n      adviser_pipeline: true\n    run:\n      justification:\n      - type: INFO\n        message: flat %d\n        link: https://example.com/%d\n", i, i, i))
	}
	var big strings.Builder
	big.WriteString("units:\n  wraps:\n")
	bigUnits := 0
	for ; big.Len() < 3*ringSlotSize; bigUnits++ {
		fmt.Fprintf(&big, "  - name: Big%dWrap\n    type: wrap\n    should_include:\n      adviser_pipeline: true\n    run:\n      stack_info:\n      - type: INFO\n        message: big %d\n        link: https://example.com/big\n", bigUnits, bigUnits)
	}
	writeFile(t, filepath.Join(flat, "w050-big.yaml"), big.String())
	odd := filepath.Join(tree, "zz_", "odd")
	writeFile(t, filepath.Join(odd, "empty.yaml"), "")
	writeFile(t, filepath.Join(odd, "syntax.yaml"), "units:\n  wraps:\n  - name: [unclosed\n")
	writeFile(t, filepath.Join(odd, "target.yaml"), "units:\n  wraps:\n  - name: TargetWrap\n    type: wrap\n    should_include:\n      adviser_pipeline: true\n    run:\n      stack_info:\n      - type: INFO\n        message: m\n        link: https://example.com\n")
	os.Symlink("target.yaml", filepath.Join(odd, "link.yaml"))
	os.Symlink("nowhere.yaml", filepath.Join(odd, "dangling.yaml"))
	os.Symlink("..", filepath.Join(odd, "dir.yaml"))
	time.Sleep(racyWindow + 100*time.Millisecond) // old enough to be cached

	for _, cached := range []bool{false, true} {
		ring, plain, ringErr, plainErr := loadBothWays(t, cached, tree)
		if ringErr == nil || plainErr == nil || ringErr.Error() != plainErr.Error() {
			t.Errorf("cached %v: io_uring load's error\n%v\nplain load's\n%v", cached, ringErr, plainErr)
		}
		for _, want := range []string{"dangling.yaml", "dir.yaml", "syntax.yaml"} {
			if ringErr == nil || !strings.Contains(ringErr.Error(), filepath.Join(odd, want)) {
				t.Errorf("cached %v: no problem names %s", cached, want)
			}
		}
		if ring.Files != plain.Files || ring.Cached != plain.Cached || ring.Len() != plain.Len() {
			t.Errorf("cached %v: io_uring load %d files (%d cached), %d units; plain %d (%d), %d", cached, ring.Files, ring.Cached, ring.Len(), plain.Files, plain.Cached, plain.Len())
		}
		got, want := unitsByName(ring), unitsByName(plain)
		if !reflect.DeepEqual(got, want) || !reflect.DeepEqual(ring.Warnings, plain.Warnings) {
			t.Errorf("cached %v: the io_uring load's units differ from the plain load's", cached)
		}
		for _, name := range []string{fmt.Sprintf("thoth.Flat%dWrap", flatFiles-1), fmt.Sprintf("thoth.Big%dWrap", bigUnits-1), "thoth.TargetWrap"} {
			if got[name] == nil {
				t.Errorf("cached %v: unit %s not loaded", cached, name)
			}
		}
	}
}

// A cache written by one reader serves the other: both take a file's
// identity from statx the same way.
func TestRingAndPlainShareTheCache(t *testing.T) {
	r := newReader()
	defer r.close()
	if r.batchRing() == nil {
		t.Skip("io_uring is refused here: the plain path is the only one")
	}
	tree, cache := t.TempDir(), t.TempDir()
	generateTree(t, tree, 150)
	time.Sleep(racyWindow + 100*time.Millisecond)
	for i, way := range []bool{true, false, true, false} {
		t.Setenv(ringEnv, map[bool]string{true: "1", false: "0"}[way])
		set := mustLoadCached(t, cache, tree)
		if i == 0 { // writes the cache
			continue
		}
		if set.Cached != set.Files {
			t.Errorf("io_uring %v: %d of %d files from the cache another reader wrote", way, set.Cached, set.Files)
		}
	}
}

func mustLoadCached(t *testing.T, cacheDir string, paths ...string) *Set {
	t.Helper()
	set, err := LoadCached(cacheDir, paths...)
	if err != nil {
		t.Fatal(err)
	}
	return set
}

func TestRingEnvTurnsTheRingOff(t *testing.T) {
	t.Setenv(ringEnv, "0")
	r := newReader()
	defer r.close()
	if r.batchRing() != nil {
		t.Errorf("%s=0: the reader set up an io_uring", ringEnv)
	}
}
