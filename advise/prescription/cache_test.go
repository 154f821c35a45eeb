package prescription

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/seshat-dev/seshat/advise/pep440"
)

// fill sets every field reachable from v to a non-zero value, so a round
// trip that drops a field shows.
func fill(t *testing.T, v reflect.Value, depth int) {
	t.Helper()
	if depth > 12 {
		return
	}
	switch v.Kind() {
	case reflect.String:
		v.SetString("s" + v.Type().Name())
	case reflect.Bool:
		v.SetBool(true)
	case reflect.Int, reflect.Int64:
		v.SetInt(7)
	case reflect.Float64:
		v.SetFloat(0.5)
	case reflect.Pointer:
		if v.Type() == reflect.TypeFor[*Spec]() {
			set, err := pep440.ParseSpecifiers(">=1.0,<2")
			if err != nil {
				t.Fatal(err)
			}
			v.Set(reflect.ValueOf(&Spec{Raw: ">=1.0,<2", Set: set}))
			return
		}
		v.Set(reflect.New(v.Type().Elem()))
		fill(t, v.Elem(), depth+1)
	case reflect.Slice:
		s := reflect.MakeSlice(v.Type(), 2, 2)
		for i := range 2 {
			fill(t, s.Index(i), depth+1)
		}
		v.Set(s)
	case reflect.Map:
		m := reflect.MakeMap(v.Type())
		k, e := reflect.New(v.Type().Key()).Elem(), reflect.New(v.Type().Elem()).Elem()
		fill(t, k, depth+1)
		fill(t, e, depth+1)
		m.SetMapIndex(k, e)
		v.Set(m)
	case reflect.Struct:
		if v.Type() == reflect.TypeFor[pep440.SpecifierSet]() {
			return // set with its Spec
		}
		for i := range v.NumField() {
			fill(t, v.Field(i), depth+1)
		}
	case reflect.Interface:
		v.Set(reflect.ValueOf(map[string]any{"k": []any{int64(-3), 2.5, "x", true, nil, map[string]any{}}}))
	default:
		t.Fatalf("fill: no value for %s", v.Type())
	}
}

// A field added to Unit (or anything below it) and not to the codec makes
// this fail: every field is set, and the decoded unit must equal it.
func TestCodecRoundTripsEveryField(t *testing.T) {
	u := &Unit{}
	fill(t, reflect.ValueOf(u).Elem(), 0)
	u.File = "f.yaml" // not encoded: the walk supplies it
	// A legacy "==" pin has no parsed set.
	u.Include.Runtime.PythonVersion = &Spec{Raw: "==0.9j", Legacy: "0.9j"}
	units := []*Unit{u, {Name: "bare", Kind: KindWrap, File: "f.yaml", Line: 3}}
	problems := []Problem{{File: "f.yaml", Line: 4, Message: "m"}}
	var e encoder
	e.result(units, problems)
	out, err := (&decoder{b: e.b}).result("f.yaml")
	if err != nil {
		t.Fatal(err)
	}
	if got := setOf(out).Units(); !reflect.DeepEqual(got, units) || !reflect.DeepEqual(out.problems, problems) {
		t.Errorf("round trip changed the result:\n got %+v\nwant %+v", got[0], units[0])
	}
	// What the engine indexes by is decoded without the body.
	if l := &out.units[0]; l.Name != u.Name || l.Kind != u.Kind || l.Line != u.Line || !reflect.DeepEqual(*l.Include, u.Include) || !reflect.DeepEqual(l.keys, indexKeys(u)) {
		t.Errorf("header %+v does not match the unit", l)
	}
}

// Whatever a damaged cache holds, decoding it fails cleanly or yields a
// result; it never panics (FuzzDecodeResult explores further).
func TestCodecRejectsDamage(t *testing.T) {
	set := mustLoad(t, "testdata/prescriptions")
	var e encoder
	e.result(set.Units(), nil)
	for cut := 0; cut < len(e.b); cut += 7 {
		if _, err := (&decoder{b: e.b[:cut]}).result("f"); err == nil {
			t.Fatalf("a result cut to %d of %d bytes decoded without error", cut, len(e.b))
		}
	}
	for i := 0; i < len(e.b); i += 5 {
		b := append([]byte(nil), e.b...)
		b[i] ^= 0xA5
		if r, err := (&decoder{b: b}).result("f"); err == nil {
			setOf(r).Units() // bodies decode, or stop, without panicking
		}
	}
}

func FuzzDecodeResult(f *testing.F) {
	set, err := Load("testdata/prescriptions")
	if err != nil {
		f.Fatal(err)
	}
	for _, u := range set.Units() {
		var e encoder
		e.result([]*Unit{u}, nil)
		f.Add(e.b)
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		r, err := (&decoder{b: b}).result("f")
		if err != nil {
			return
		}
		units := make([]*Unit, len(r.units))
		for i := range r.units {
			if units[i], err = r.units[i].decode(); err != nil {
				return
			}
		}
		// What decodes, encodes to something that decodes to the same.
		var e encoder
		e.result(units, r.problems)
		r2, err := (&decoder{b: e.b}).result("f")
		if err != nil {
			t.Fatalf("re-encoded result does not decode: %v", err)
		}
		// Compared encoded: a decoded NaN score is not DeepEqual to itself.
		var e2 encoder
		e2.result(setOf(r2).Units(), r2.problems)
		if !bytes.Equal(e2.b, e.b) {
			t.Fatalf("re-encoded units differ:\n%q\n%q", e2.b, e.b)
		}
	})
}

// unitsByName is a load's units keyed by name, for comparing loads.
func unitsByName(set *Set) map[string]*Unit {
	m := make(map[string]*Unit, set.Len())
	for _, u := range set.Units() {
		m[u.Name] = u
	}
	return m
}

// The cache serves unchanged files and only them: a load from it equals a
// load without it, problems included, and a file edited in place — same
// size, same inode — is read again.
func TestLoadCached(t *testing.T) {
	tree, cache := t.TempDir(), t.TempDir()
	generateTree(t, tree, 300)
	bad := filepath.Join(tree, "zz_", "bad", "schema.yaml")
	writeFile(t, bad, "units:\n  wraps:\n  - name: Bad\n    type: wrap\n    should_include:\n      adviser_pipeline: yes please\n    run: {}\n")
	edited := filepath.Join(tree, "pk01_", "pkg00000-python", "u00.yaml")
	// Files changed within racyWindow of a load are not cached.
	time.Sleep(racyWindow + 100*time.Millisecond)

	want, wantErr := Load(tree)
	var pe *ProblemsError
	if !errors.As(wantErr, &pe) || len(pe.Problems) == 0 || pe.Problems[0].File != bad {
		t.Fatalf("uncached load: %v, want problems in %s", wantErr, bad)
	}
	for round := 1; round <= 2; round++ {
		got, err := LoadCached(cache, tree)
		if err == nil || err.Error() != wantErr.Error() {
			t.Errorf("load %d: error\n%v\nwant\n%v", round, err, wantErr)
		}
		if wantCached := (round - 1) * want.Files; got.Files != want.Files || got.Cached != wantCached {
			t.Errorf("load %d: %d files, %d from the cache; want %d, %d", round, got.Files, got.Cached, want.Files, wantCached)
		}
		if !reflect.DeepEqual(unitsByName(got), unitsByName(want)) || !reflect.DeepEqual(got.Warnings, want.Warnings) {
			t.Errorf("load %d from the cache differs from a load without it", round)
		}
	}

	data, err := os.ReadFile(edited)
	if err != nil {
		t.Fatal(err)
	}
	before, _ := os.Stat(edited)
	changed := strings.Replace(string(data), "GitHubURLWrap", "GitHubURLWrqp", 1)
	if changed == string(data) {
		t.Fatal("the edited file has no GitHubURLWrap unit")
	}
	f, err := os.OpenFile(edited, os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.WriteAt([]byte(changed), 0); err != nil {
		t.Fatal(err)
	}
	f.Close()
	if after, _ := os.Stat(edited); !os.SameFile(before, after) || after.Size() != before.Size() {
		t.Fatal("the edit was meant to keep the inode and size")
	}
	got, _ := LoadCached(cache, tree)
	if got.Cached != want.Files-1 {
		t.Errorf("after editing one file, %d of %d files came from the cache, want all but it", got.Cached, got.Files)
	}
	names := unitsByName(got)
	if names["thoth.Pkg00000PythonU0GitHubURLWrqp"] == nil || names["thoth.Pkg00000PythonU0GitHubURLWrap"] != nil {
		t.Errorf("the edited unit's new name is not what was loaded")
	}

	// A corrupt cache is an empty one.
	ents, _ := os.ReadDir(cache)
	if len(ents) != 1 {
		t.Fatalf("cache directory holds %d files, want 1", len(ents))
	}
	cacheFile := filepath.Join(cache, ents[0].Name())
	raw, _ := os.ReadFile(cacheFile)
	flipped := append([]byte(nil), raw...)
	flipped[len(flipped)/2] ^= 0x10
	for name, damaged := range map[string][]byte{"truncated": raw[:len(raw)/2], "bit-flipped": flipped} {
		os.WriteFile(cacheFile, damaged, 0o600)
		got, _ := LoadCached(cache, tree)
		if got.Cached != 0 || !reflect.DeepEqual(unitsByName(got), names) {
			t.Errorf("a %s cache served %d files", name, got.Cached)
		}
	}
}

// Renaming the prescription (its metadata file) renames every unit, so
// nothing cached under the old name is served.
func TestLoadCachedFollowsTheNamespace(t *testing.T) {
	tree, cache := t.TempDir(), t.TempDir()
	generateTree(t, tree, 20)
	time.Sleep(racyWindow + 100*time.Millisecond)
	if _, err := LoadCached(cache, tree); err != nil {
		t.Fatal(err)
	}
	writeFile(t, filepath.Join(tree, MetadataFile), "prescription:\n  name: other\n  release: dev\n")
	got, err := LoadCached(cache, tree)
	if err != nil {
		t.Fatal(err)
	}
	if got.Cached != 0 {
		t.Errorf("%d files served from the cache under the old namespace", got.Cached)
	}
	for _, u := range got.Units() {
		if !strings.HasPrefix(u.Name, "other.") {
			t.Fatalf("unit %s not in the new namespace", u.Name)
		}
	}
}

// mappedCaches counts this process's mappings of files under dir.
func mappedCaches(t *testing.T, dir string) int {
	maps, err := os.ReadFile("/proc/self/maps")
	if err != nil {
		t.Skip("no /proc/self/maps to see the mapping")
	}
	return strings.Count(string(maps), dir)
}

// Units loaded from the cache file are decoded out of a mapping of it. The
// mapping lives while an engine may still decode a unit from it, and goes
// once nothing can; what was decoded is the engine's own, and stays.
func TestCacheMappingOutlivesNoUnit(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Skip("the cache file is mapped on Linux only")
	}
	tree, cache := t.TempDir(), t.TempDir()
	generateTree(t, tree, 60)
	time.Sleep(racyWindow + 100*time.Millisecond)
	if _, err := LoadCached(cache, tree); err != nil {
		t.Fatal(err)
	}
	set, err := LoadCached(cache, tree)
	if err != nil || set.Cached != set.Files {
		t.Fatalf("second load: %v, %d of %d files from the cache", err, set.Cached, set.Files)
	}
	eng := set.For(Context{})
	set = nil
	gcAll()
	if mappedCaches(t, cache) == 0 {
		t.Fatal("the cache file was unmapped while an engine could still decode units from it")
	}
	fired := eng.Wrap(State{Resolved: map[string]Candidate{"pkg00001-python": {Name: "pkg00001-python", Version: "1.1.0"}}})
	if len(fired) == 0 {
		t.Fatal("no wrap fired for pkg00001-python")
	}
	want := fmt.Sprintf("%+v", fired)
	eng = nil
	gcAll()
	if n := mappedCaches(t, cache); n != 0 {
		t.Fatalf("the cache file is still mapped %d time(s) with no unit left to decode", n)
	}
	if got := fmt.Sprintf("%+v", fired); got != want {
		t.Errorf("what fired changed once the mapping went:\n%s\n%s", got, want)
	}
}

func gcAll() {
	for range 4 {
		runtime.GC()
		time.Sleep(10 * time.Millisecond) // cleanups run in their own goroutine
	}
}

// setOf is a Set of one file's result.
func setOf(r result) *Set {
	s := &Set{}
	for i := range r.units {
		s.units = append(s.units, &r.units[i])
	}
	return s
}

// Units share the should_include sections that are only flags; one with any
// other field set keeps its own. Each field is set alone, so a field added
// to Include and not to shareInclude fails this.
func TestShareIncludeKeepsEveryField(t *testing.T) {
	typ := reflect.TypeFor[Include]()
	for i := range typ.NumField() {
		var in Include
		fill(t, reflect.ValueOf(&in).Elem().Field(i), 0)
		if got := shareInclude(in); !reflect.DeepEqual(*got, in) {
			t.Errorf("with only %s set, the shared section is %+v", typ.Field(i).Name, *got)
		}
	}
	if a, b := shareInclude(Include{AdviserPipeline: true}), shareInclude(Include{AdviserPipeline: true}); a != b {
		t.Error("two units with adviser_pipeline: true alone do not share their section")
	}
}

// The cache is best effort: a cache directory that cannot be created (here
// a file is in its way) makes a load read every file, never fail.
func TestLoadCachedWithoutUsableCacheDir(t *testing.T) {
	blocker := filepath.Join(t.TempDir(), "not-a-dir")
	writeFile(t, blocker, "")
	for range 2 {
		set, err := LoadCached(blocker, "testdata/prescriptions")
		if err != nil || set.Len() != 15 || set.Cached != 0 {
			t.Fatalf("load with an unusable cache directory: %v, %d units, %d cached", err, set.Len(), set.Cached)
		}
	}
}
