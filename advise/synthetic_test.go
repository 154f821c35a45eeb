package advise_test

import (
	"archive/tar"
	"archive/zip"
	"compress/gzip"
	"context"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/seshat-dev/seshat/advise"
	"github.com/seshat-dev/seshat/advise/index"
	"github.com/seshat-dev/seshat/advise/lock"
	"github.com/seshat-dev/seshat/advise/reqfile"
	"github.com/seshat-dev/seshat/internal/fixtures"
	"github.com/seshat-dev/seshat/internal/pyindex"
)

// dist describes a synthetic distribution, for cases the real corpus lacks:
// many versions, pre-releases, yanked files, cycles, sdists.
type dist struct {
	name, version string
	tag           string // wheel tag, "py3-none-any" when empty; "sdist" for an sdist
	requires      []string
	requiresPy    string
	extras        []string
	metadataVer   string // "2.1" when empty
	yanked        string // yank reason; "" for not yanked
}

func (d dist) metadata() string {
	mv := d.metadataVer
	if mv == "" {
		mv = "2.1"
	}
	var b strings.Builder
	fmt.Fprintf(&b, "Metadata-Version: %s\nName: %s\nVersion: %s\n", mv, d.name, d.version)
	if d.requiresPy != "" {
		fmt.Fprintf(&b, "Requires-Python: %s\n", d.requiresPy)
	}
	for _, e := range d.extras {
		fmt.Fprintf(&b, "Provides-Extra: %s\n", e)
	}
	for _, r := range d.requires {
		fmt.Fprintf(&b, "Requires-Dist: %s\n", r)
	}
	b.WriteString("\nA synthetic test package.\n")
	return b.String()
}

// writeDists writes the distributions as real wheel and sdist files into a
// new directory, for pyindex to serve.
func writeDists(t *testing.T, dists ...dist) string {
	t.Helper()
	dir := t.TempDir()
	for _, d := range dists {
		stem := strings.ReplaceAll(d.name, "-", "_") + "-" + d.version
		var file string
		if d.tag == "sdist" {
			file = filepath.Join(dir, stem+".tar.gz")
			writeSdist(t, file, stem, d.metadata())
		} else {
			tag := d.tag
			if tag == "" {
				tag = "py3-none-any"
			}
			file = filepath.Join(dir, stem+"-"+tag+".whl")
			writeWheel(t, file, stem, tag, d.metadata())
		}
		if d.yanked != "" {
			if err := os.WriteFile(file+".yanked", []byte(d.yanked), 0o644); err != nil {
				t.Fatal(err)
			}
		}
	}
	return dir
}

func writeWheel(t *testing.T, path, stem, tag, metadata string) {
	t.Helper()
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	zw := zip.NewWriter(f)
	info := stem + ".dist-info/"
	files := [][2]string{
		{strings.SplitN(stem, "-", 2)[0] + "/__init__.py", "# synthetic\n"},
		{info + "METADATA", metadata},
		{info + "WHEEL", "Wheel-Version: 1.0\nGenerator: seshat-test\nRoot-Is-Purelib: true\nTag: " + tag + "\n"},
	}
	writeWheelEntries(t, zw, info, files)
}

func writeSdist(t *testing.T, path, stem, metadata string) {
	t.Helper()
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	gz := gzip.NewWriter(f)
	tw := tar.NewWriter(gz)
	for _, e := range [][2]string{{stem + "/PKG-INFO", metadata}, {stem + "/setup.py", "raise SystemExit('synthetic')\n"}} {
		tw.WriteHeader(&tar.Header{Name: e[0], Mode: 0o644, Size: int64(len(e[1])), Typeflag: tar.TypeReg})
		tw.Write([]byte(e[1]))
	}
	tw.Close()
	gz.Close()
}

func synthetic() []dist {
	var ds []dist
	// Pre-releases: alpha has a final 1.0 and a beta 2.0b1; onlypre has only an alpha.
	ds = append(ds, dist{name: "alpha", version: "1.0"}, dist{name: "alpha", version: "2.0b1"}, dist{name: "onlypre", version: "1.0a1"})
	// Yanked: yanky 1.1 is yanked.
	ds = append(ds, dist{name: "yanky", version: "1.0"}, dist{name: "yanky", version: "1.1", yanked: "broken build"})
	// A dependency cycle.
	ds = append(ds, dist{name: "cyc-a", version: "1.0", requires: []string{"cyc-b>=1"}}, dist{name: "cyc-b", version: "1.0", requires: []string{"cyc-a"}})
	// Backtracking: app needs lib and tool; every lib from 2 to 9 needs a
	// base newer than tool allows, so the solver walks lib down to 1.
	ds = append(ds, dist{name: "app", version: "1.0", requires: []string{"lib", "tool"}}, dist{name: "tool", version: "1.0", requires: []string{"base<2"}})
	for i := 1; i <= 9; i++ {
		req := fmt.Sprintf("base>=%d", i)
		if i == 1 {
			req = "base"
		}
		ds = append(ds, dist{name: "lib", version: fmt.Sprintf("%d.0", i), requires: []string{req}}, dist{name: "base", version: fmt.Sprintf("%d.0", i)})
	}
	// requires-python: newpy 2.0 needs Python 3.12.
	ds = append(ds, dist{name: "newpy", version: "1.0"}, dist{name: "newpy", version: "2.0", requiresPy: ">=3.12"})
	// Extras, one of which asks for another extra of the same package.
	ds = append(ds, dist{name: "extra-host", version: "1.0", extras: []string{"one", "two"},
		requires: []string{"alpha; extra == 'one'", "extra-host[one]; extra == 'two'", "yanky; extra == 'two'"}})
	// Sdists: static metadata (2.2) counts; dynamic (2.1) needs a build.
	ds = append(ds, dist{name: "sdstatic", version: "1.0", tag: "sdist", metadataVer: "2.2", requires: []string{"alpha"}},
		dist{name: "sddynamic", version: "1.0", tag: "sdist"}, dist{name: "sddynamic", version: "0.9"})
	return ds
}

func TestSyntheticCases(t *testing.T) {
	srv := pyindex.Start(t, writeDists(t, synthetic()...))
	tg := debian12()
	for _, c := range []struct {
		name, reqs string
		opts       []advise.Option
		want       map[string]string
		pip        bool // also check against pip's resolver
	}{
		{"final over pre-release", "alpha\n", nil, map[string]string{"alpha": "1.0"}, true},
		{"pre-release named", "alpha>=2.0b1\n", nil, map[string]string{"alpha": "2.0b1"}, true},
		// PEP 440 and pip >= 24.1 take the pre-release when no final release
		// matches; pip 23.2 (packaging 21.3) does so only for an empty
		// specifier, so it is not the reference here.
		{"pre-release when no final matches", "alpha>1.0\n", nil, map[string]string{"alpha": "2.0b1"}, false},
		{"--pre", "alpha\n", []advise.Option{advise.WithPrereleases()}, map[string]string{"alpha": "2.0b1"}, false},
		{"only pre-releases", "onlypre\n", nil, map[string]string{"onlypre": "1.0a1"}, true},
		{"yanked skipped", "yanky\n", nil, map[string]string{"yanky": "1.0"}, true},
		{"yanked pinned", "yanky==1.1\n", nil, map[string]string{"yanky": "1.1"}, true},
		{"yanked pinned with ===", "yanky===1.1\n", nil, map[string]string{"yanky": "1.1"}, false},
		{"cycle", "cyc-a\n", nil, map[string]string{"cyc-a": "1.0", "cyc-b": "1.0"}, true},
		{"backtracking", "app\n", nil, map[string]string{"app": "1.0", "tool": "1.0", "lib": "1.0", "base": "1.0"}, true},
		{"requires-python", "newpy\n", nil, map[string]string{"newpy": "1.0"}, true},
		{"extra needing another extra", "extra-host[two]\n", nil, map[string]string{"extra-host": "1.0", "alpha": "1.0", "yanky": "1.0"}, true},
		{"unknown extra", "alpha[nope]\n", nil, map[string]string{"alpha": "1.0"}, true},
		{"static sdist", "sdstatic\n", nil, map[string]string{"sdstatic": "1.0", "alpha": "1.0"}, false},
		{"dynamic sdist skipped", "sddynamic\n", nil, map[string]string{"sddynamic": "0.9"}, false},
	} {
		t.Run(c.name, func(t *testing.T) {
			res, err := resolveText(t, srv, c.reqs, tg, c.opts...)
			if err != nil {
				t.Fatal(err)
			}
			diffPins(t, "expected", pins(res.Lock), c.want)
			if c.pip {
				diffPins(t, "pip", pins(res.Lock), pipResolve(t, srv, c.reqs, tg))
			}
		})
	}
}

func TestSyntheticExplanations(t *testing.T) {
	srv := pyindex.Start(t, writeDists(t, synthetic()...))
	tg := debian12()
	for _, c := range []struct {
		name, reqs string
		opts       []advise.Option
		want       []string
	}{
		{"requires-python", "newpy>=2\n", nil, []string{"newpy>=2", "2.0: requires Python >=3.12, the target has 3.11"}},
		{"yanked", "yanky>1.0\n", nil, []string{"1.1: yanked (broken build)"}},
		{"sdist refused", "sdstatic\n", []advise.Option{advise.WithOnlyBinary()}, []string{"only an sdist", "--only-binary"}},
		{"dynamic sdist", "sddynamic>=1\n", nil, []string{"sddynamic", "seshat runs no build backend"}},
	} {
		t.Run(c.name, func(t *testing.T) {
			_, err := resolveText(t, srv, c.reqs, tg, c.opts...)
			var nse *advise.NoSolutionError
			if !errors.As(err, &nse) {
				t.Fatalf("err = %v, want a NoSolutionError", err)
			}
			for _, w := range c.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("explanation lacks %q:\n%v", w, err)
				}
			}
		})
	}
}

// TestSdistHashedBesideWheel checks that a version with a wheel and an
// sdist locks both hashes, and only the wheel with WithOnlyBinary.
func TestSdistHashedBesideWheel(t *testing.T) {
	srv := pyindex.Start(t, writeDists(t,
		dist{name: "both", version: "1.0"}, dist{name: "both", version: "1.0", tag: "sdist", metadataVer: "2.2"},
		dist{name: "both", version: "1.0", tag: "cp313-cp313-manylinux_2_17_x86_64"}))
	for _, c := range []struct {
		opts []advise.Option
		want string
	}{{nil, "both-1.0-py3-none-any.whl both-1.0.tar.gz"}, {[]advise.Option{advise.WithOnlyBinary()}, "both-1.0-py3-none-any.whl"}} {
		res, err := resolveText(t, srv, "both\n", debian12(), c.opts...)
		if err != nil {
			t.Fatal(err)
		}
		var files []string
		for _, a := range res.Lock.Packages[0].Artifacts {
			files = append(files, a.Filename)
		}
		if got := strings.Join(files, " "); got != c.want {
			t.Errorf("artifacts = %s, want %s (never the cp313 wheel on cp311)", got, c.want)
		}
	}
}

// TestRangeReads resolves against an index without PEP 658 files, so
// metadata comes from range reads of the wheels, and expects the same pins.
func TestRangeReads(t *testing.T) {
	srv := pyindex.Start(t, fixtures.Path(t, "wheels"), pyindex.WithoutMetadata())
	res, err := resolveText(t, srv, "flask\nrequests\n", debian12())
	if err != nil {
		t.Fatal(err)
	}
	got := pins(res.Lock)
	if got["flask"] != "3.1.1" || got["requests"] != "2.32.3" || got["charset-normalizer"] != "3.0.1" {
		t.Errorf("pins = %v", got)
	}
	ranges := 0
	for _, r := range srv.Requests() {
		if r.Range != "" {
			ranges++
		}
	}
	if ranges == 0 {
		t.Errorf("no range request reached the index; metadata came from elsewhere")
	}
}

// TestConstraints checks that pip -c lines limit versions without adding
// packages, as pip does.
func TestConstraints(t *testing.T) {
	srv := pyindex.Start(t, writeDists(t, synthetic()...))
	dir := t.TempDir()
	reqs := "lib\n-c constraints.txt\n"
	write := func(name, text string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	write("constraints.txt", "base<5\ncyc-a==1.0\n")
	in, err := reqfile.ParseRequirementsFile(write("requirements.txt", reqs))
	if err != nil {
		t.Fatal(err)
	}
	res, err := advise.Resolve(context.Background(), in, debian12(), client(t, srv))
	if err != nil {
		t.Fatal(err)
	}
	got := pins(res.Lock)
	diffPins(t, "expected", got, map[string]string{"lib": "4.0", "base": "4.0"})
	pipReqs := "lib\n-c " + filepath.Join(dir, "constraints.txt") + "\n"
	diffPins(t, "pip", got, pipResolve(t, srv, pipReqs, debian12()))
	var why string
	for _, p := range res.Pins {
		if p.Name == "base" {
			why = strings.Join(p.Details, "\n")
		}
	}
	if !strings.Contains(why, "5.0 skipped: excluded by the constraint base<5 (") {
		t.Errorf("base details = %q, want the constraint named", why)
	}
}

// TestFirstIndexWins puts a newer "flask" on a second index: it must not be
// taken, because the first index has flask (no dependency confusion); a
// package pinned to the second index comes from there.
func TestFirstIndexWins(t *testing.T) {
	real := corpus(t)
	evil := pyindex.Start(t, writeDists(t, dist{name: "flask", version: "9.0"}, dist{name: "only-there", version: "1.0"}, dist{name: "alpha", version: "1.0"}))
	c, err := index.New([]index.IndexURL{{Name: "corpus", URL: real.URL + "/simple"}, {Name: "other", URL: evil.URL + "/simple"}},
		index.WithCacheDir(t.TempDir()), index.WithNetrc(""), index.WithPin("alpha", "other"))
	if err != nil {
		t.Fatal(err)
	}
	in, err := reqfile.ParseRequirements("requirements.txt", []byte("flask\nonly-there\nalpha\n"))
	if err != nil {
		t.Fatal(err)
	}
	res, err := advise.Resolve(context.Background(), in, debian12(), c,
		advise.WithIndexes(lock.Index{Name: "corpus", URL: real.URL + "/simple"}, lock.Index{Name: "other", URL: evil.URL + "/simple"}))
	if err != nil {
		t.Fatal(err)
	}
	from := map[string]string{}
	for _, p := range res.Lock.Packages {
		from[p.Name] = p.Version + " from " + p.Index
	}
	for name, want := range map[string]string{"flask": "3.1.1 from corpus", "only-there": "1.0 from other", "alpha": "1.0 from other", "werkzeug": "3.1.3 from corpus"} {
		if from[name] != want {
			t.Errorf("%s: %q, want %q", name, from[name], want)
		}
	}
}

// TestHTMLOnlyIndex resolves against an index that predates PEP 691 (and so
// gives neither sizes nor upload times) and expects the same pins as JSON.
func TestHTMLOnlyIndex(t *testing.T) {
	srv := pyindex.Start(t, fixtures.Path(t, "wheels"), pyindex.WithHTMLOnly())
	res, err := resolveText(t, srv, "flask\nrequests\n", debian12())
	if err != nil {
		t.Fatal(err)
	}
	got := pins(res.Lock)
	if got["flask"] != "3.1.1" || got["requests"] != "2.32.3" || got["charset-normalizer"] != "3.0.1" || len(got) != 12 {
		t.Errorf("pins = %v", got)
	}
}

// TestInputHashes checks that --hash values in the input limit the files,
// and so the versions, that may be locked.
func TestInputHashes(t *testing.T) {
	srv := pyindex.Start(t, writeDists(t, dist{name: "alpha", version: "1.0"}, dist{name: "alpha", version: "0.9"}))
	old := srv.Artifacts("alpha")[0]
	if old.Version != "0.9" {
		t.Fatalf("artifacts not oldest first: %+v", old)
	}
	res, err := resolveText(t, srv, "alpha --hash=sha256:"+old.SHA256+"\n", debian12())
	if err != nil {
		t.Fatal(err)
	}
	if got := pins(res.Lock)["alpha"]; got != "0.9" {
		t.Errorf("alpha = %s, want 0.9, the only version whose file has the given hash", got)
	}
	why := strings.Join(res.Pins[0].Details, "\n")
	if !strings.Contains(why, "1.0 skipped: no file with a --hash given at ") {
		t.Errorf("details = %q", why)
	}
}

func TestUnknownExtraWarns(t *testing.T) {
	srv := pyindex.Start(t, writeDists(t, dist{name: "alpha", version: "1.0"}))
	res, err := resolveText(t, srv, "alpha[nope]\n", debian12())
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Contains(res.Warnings, `alpha 1.0 does not provide the extra "nope"`) {
		t.Errorf("warnings = %q", res.Warnings)
	}
}

// writeWheelEntries writes files and the RECORD that lists their hashes (as
// a wheel must, for pip to install it) into zw, then closes it.
func writeWheelEntries(t *testing.T, zw *zip.Writer, info string, files [][2]string) {
	t.Helper()
	var record strings.Builder
	for _, e := range files {
		sum := sha256.Sum256([]byte(e[1]))
		fmt.Fprintf(&record, "%s,sha256=%s,%d\n", e[0], base64.RawURLEncoding.EncodeToString(sum[:]), len(e[1]))
	}
	fmt.Fprintf(&record, "%sRECORD,,\n", info)
	files = append(files, [2]string{info + "RECORD", record.String()})
	for _, e := range files {
		w, err := zw.Create(e[0])
		if err != nil {
			t.Fatal(err)
		}
		w.Write([]byte(e[1]))
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
}
