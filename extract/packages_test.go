package extract_test

import (
	"context"
	"fmt"
	"go/ast"
	"go/parser"
	"go/token"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"sort"
	"strconv"
	"strings"
	"testing"

	"github.com/seshat-dev/seshat/extract"
	"github.com/seshat-dev/seshat/internal/fixtures"
)

// pkRPMCases are go-rpmdb's TestPackageList cases (pkg/rpmdb_test.go): the
// database, the function in rpmdb_testcase_test.go holding what `rpm -qa`
// printed for it, and the path the distribution keeps it at.
var pkRPMCases = []struct {
	dir, file, list, at string
	partial             bool // go-rpmdb's test checks only the first packages of this list
}{
	{"centos5-plain", "Packages", "CentOS5Plain", "/var/lib/rpm/Packages", false},
	{"centos6-plain", "Packages", "CentOS6Plain", "/var/lib/rpm/Packages", false},
	{"centos6-devtools", "Packages", "CentOS6DevTools", "/var/lib/rpm/Packages", false},
	{"centos6-many", "Packages", "CentOS6Many", "/var/lib/rpm/Packages", true},
	{"centos7-plain", "Packages", "CentOS7Plain", "/var/lib/rpm/Packages", false},
	{"centos7-devtools", "Packages", "CentOS7DevTools", "/var/lib/rpm/Packages", false},
	{"centos7-many", "Packages", "CentOS7Many", "/var/lib/rpm/Packages", false},
	{"centos7-python35", "Packages", "CentOS7Python35", "/var/lib/rpm/Packages", false},
	{"centos7-httpd24", "Packages", "CentOS7Httpd24", "/var/lib/rpm/Packages", false},
	{"centos8-modularitylabel", "Packages", "CentOS8Modularitylabel", "/var/lib/rpm/Packages", false},
	{"ubi8-s390x", "Packages", "UBI8s390x", "/var/lib/rpm/Packages", false},
	{"sle15-bci", "Packages.db", "SLE15WithNDB", "/usr/lib/sysimage/rpm/Packages.db", false},
	{"fedora35", "rpmdb.sqlite", "Fedora35WithSQLite3", "/var/lib/rpm/rpmdb.sqlite", false},
	{"fedora35-plus-mongo", "rpmdb.sqlite", "Fedora35PlusMongoDBWithSQLite3", "/usr/lib/sysimage/rpm/rpmdb.sqlite", false},
}

// pkExpectedRPMs reads go-rpmdb's rpmdb_testcase_test.go with go/parser and
// returns, per list name, "name epoch:version-release.arch source" lines.
func pkExpectedRPMs(t *testing.T) map[string][]string {
	t.Helper()
	src := fixtures.Path(t, "rpmdb/rpmdb_testcase_test.go")
	f, err := parser.ParseFile(token.NewFileSet(), src, nil, 0)
	if err != nil {
		t.Fatalf("parsing %s: %v", src, err)
	}
	out := map[string][]string{}
	for _, d := range f.Decls {
		gd, ok := d.(*ast.GenDecl)
		if !ok || gd.Tok != token.VAR {
			continue
		}
		for _, spec := range gd.Specs {
			vs := spec.(*ast.ValueSpec)
			for i, name := range vs.Names {
				if i >= len(vs.Values) {
					continue
				}
				fl, ok := vs.Values[i].(*ast.FuncLit)
				if !ok {
					continue
				}
				ast.Inspect(fl, func(n ast.Node) bool {
					cl, ok := n.(*ast.CompositeLit)
					if !ok {
						return true
					}
					at, ok := cl.Type.(*ast.ArrayType)
					if !ok {
						return true
					}
					if se, ok := at.Elt.(*ast.StarExpr); !ok || fmt.Sprint(se.X) != "commonPackageInfo" {
						return true
					}
					for _, e := range cl.Elts {
						out[name.Name] = append(out[name.Name], pkRPMLine(t, e.(*ast.CompositeLit)))
					}
					return false
				})
			}
		}
	}
	return out
}

func pkRPMLine(t *testing.T, cl *ast.CompositeLit) string {
	t.Helper()
	str := func(i int) string {
		s, err := strconv.Unquote(cl.Elts[i].(*ast.BasicLit).Value)
		if err != nil {
			t.Fatal(err)
		}
		return s
	}
	epoch := "-"
	if call := cl.Elts[0].(*ast.CallExpr); len(call.Args) == 1 {
		epoch = call.Args[0].(*ast.BasicLit).Value
	}
	return fmt.Sprintf("%s %s:%s-%s.%s %s", str(1), epoch, str(2), str(3), str(4), str(5))
}

// pkOnly keeps the lines of got that want has, after checking got has more.
func pkOnly(got, want []string) []string {
	in := map[string]bool{}
	for _, w := range want {
		in[w] = true
	}
	var out []string
	for _, g := range got {
		if in[g] {
			out = append(out, g)
		}
	}
	return out
}

func pkRPMLines(ps []extract.Package) []string {
	var out []string
	for _, p := range ps {
		epoch := "-"
		if p.Epoch != nil {
			epoch = strconv.Itoa(*p.Epoch)
		}
		if p.Type != "rpm" {
			epoch = "not an rpm: " + p.Type
		}
		out = append(out, fmt.Sprintf("%s %s:%s-%s.%s %s", p.Name, epoch, p.Version, p.Release, p.Arch, p.Source))
	}
	return out
}

func pkSameSet(t *testing.T, what string, got, want []string) {
	t.Helper()
	got, want = append([]string(nil), got...), append([]string(nil), want...)
	sort.Strings(got)
	sort.Strings(want)
	if reflect.DeepEqual(got, want) {
		return
	}
	gm, wm := map[string]int{}, map[string]int{}
	for _, g := range got {
		gm[g]++
	}
	for _, w := range want {
		wm[w]++
	}
	var missing, extra []string
	for w, n := range wm {
		if gm[w] < n {
			missing = append(missing, w)
		}
	}
	for g, n := range gm {
		if wm[g] < n {
			extra = append(extra, g)
		}
	}
	sort.Strings(missing)
	sort.Strings(extra)
	t.Errorf("%s: got %d packages, want %d\nmissing: %q\nunexpected: %q", what, len(got), len(want), missing, extra)
}

// pkExtract runs the packages extractor over ix.
func pkExtract(t *testing.T, ix *extract.FileIndex) *extract.Analysis {
	t.Helper()
	a := &extract.Analysis{Packages: []extract.Package{}, Warnings: []extract.Warning{}}
	if err := extract.NewPackagesExtractor().Extract(context.Background(), ix, a); err != nil {
		t.Fatal(err)
	}
	return a
}

func pkAddFile(t *testing.T, ix *extract.FileIndex, at, hostPath string) {
	t.Helper()
	b, err := os.ReadFile(hostPath)
	if err != nil {
		t.Fatal(err)
	}
	ix.Add(extract.FileMeta{Path: at, Type: extract.TypeRegular, Mode: 0o644, Size: int64(len(b))}, b)
}

// TestPackagesRPMDatabases: every rpmdb of go-rpmdb's package-list test, in
// all three formats, put at its usual path; name, epoch, version, release,
// arch and source rpm of every package must equal what rpm -qa recorded.
func TestPackagesRPMDatabases(t *testing.T) {
	want := pkExpectedRPMs(t)
	for _, c := range pkRPMCases {
		t.Run(c.dir, func(t *testing.T) {
			if len(want[c.list]) == 0 {
				t.Fatalf("no expected list %s in rpmdb_testcase_test.go", c.list)
			}
			ix := extract.NewFileIndex()
			pkAddFile(t, ix, c.at, fixtures.Path(t, filepath.Join("rpmdb", c.dir, c.file)))
			a := pkExtract(t, ix)
			got := pkRPMLines(a.Packages)
			if c.partial {
				got = pkOnly(got, want[c.list])
			}
			pkSameSet(t, c.dir, got, want[c.list])
			if !sort.SliceIsSorted(a.Packages, func(i, j int) bool { return a.Packages[i].Name < a.Packages[j].Name }) {
				t.Errorf("packages not sorted by name")
			}
		})
	}
}

// TestPackagesRPMImages goes end to end: OCI layouts holding one rpmdb each
// (Berkeley DB, ndb behind SLE's /var/lib/rpm symlink, sqlite), opened and
// walked like any image.
func TestPackagesRPMImages(t *testing.T) {
	want := pkExpectedRPMs(t)
	for _, c := range []struct{ dir, list, osID string }{
		{"centos7-plain", "CentOS7Plain", ""},
		{"sle15-bci", "SLE15WithNDB", ""},
		{"fedora35-plus-mongo", "Fedora35PlusMongoDBWithSQLite3", ""},
	} {
		t.Run(c.dir, func(t *testing.T) {
			a := pkAnalyze(t, "oci:"+fixtures.Path(t, "images/rpmdb-"+c.dir))
			pkSameSet(t, c.dir, pkRPMLines(a.Packages), want[c.list])
		})
	}
}

func pkAnalyze(t *testing.T, ref string) *extract.Analysis {
	t.Helper()
	ctx := context.Background()
	src, err := extract.Open(ctx, ref)
	if err != nil {
		t.Fatal(err)
	}
	a, err := extract.Analyze(ctx, src, []extract.Extractor{extract.NewOSExtractor(), extract.NewPackagesExtractor()}, extract.WalkOptions{})
	if err != nil {
		t.Fatal(err)
	}
	for _, w := range a.Warnings {
		t.Logf("warning: %s: %s", w.Path, w.Message)
	}
	return a
}

// TestPackagesHostDpkg reads this machine's real dpkg database and compares
// it with what dpkg-query itself reports.
func TestPackagesHostDpkg(t *testing.T) {
	const status = "/var/lib/dpkg/status"
	if _, err := os.Stat(status); err != nil {
		t.Skipf("no dpkg database on this host: %v", err)
	}
	out, err := exec.Command("dpkg-query", "-W", "-f", "${db:Status-Abbrev}|${Package}|${Version}|${Architecture}|${source:Package}\n").Output()
	if err != nil {
		t.Fatalf("dpkg-query: %v", err)
	}
	var want []string
	for _, line := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		f := strings.Split(line, "|")
		// Present in the database and not being removed: wanted install or
		// hold, in any state but not-installed or config-files (syft's rule).
		if len(f) != 5 || len(f[0]) < 2 || !strings.ContainsAny(f[0][:1], "ih") || strings.ContainsAny(f[0][1:2], "nc") {
			continue
		}
		want = append(want, strings.Join(f[1:], " "))
	}
	ix := extract.NewFileIndex()
	pkAddFile(t, ix, status, status)
	a := pkExtract(t, ix)
	var got []string
	for _, p := range a.Packages {
		if p.Type != "deb" {
			t.Errorf("%s: type %q, want deb", p.Name, p.Type)
		}
		got = append(got, fmt.Sprintf("%s %s %s %s", p.Name, p.FullVersion(), p.Arch, p.Source))
	}
	if len(want) < 50 {
		t.Fatalf("dpkg-query listed only %d installed packages", len(want))
	}
	pkSameSet(t, "host dpkg", got, want)
}

// pkWalk opens ref and walks it with the packages extractor, returning the
// index (to read the databases' bytes) and the analysis.
func pkWalk(t *testing.T, ref string) (*extract.FileIndex, *extract.Analysis) {
	t.Helper()
	ctx := context.Background()
	src, err := extract.Open(ctx, ref)
	if err != nil {
		t.Fatal(err)
	}
	ix, _, err := src.Walk(ctx, []extract.Extractor{extract.NewPackagesExtractor()}, extract.WalkOptions{})
	if err != nil {
		t.Fatal(err)
	}
	return ix, pkExtract(t, ix)
}

func pkLines(ps []extract.Package) []string {
	var out []string
	for _, p := range ps {
		out = append(out, fmt.Sprintf("%s %s %s %s %s", p.Type, p.Name, p.FullVersion(), p.Arch, p.Source))
	}
	return out
}

// TestPackagesDistrolessStatusD: distroless Debian 9 keeps one status file
// per package under /var/lib/dpkg/status.d, spread over two layers. Real
// dpkg reads the same stanzas (joined into one status file) as the oracle.
func TestPackagesDistrolessStatusD(t *testing.T) {
	ix, a := pkWalk(t, "docker-archive:"+fixtures.Path(t, "images/distroless-debian9.tar.gz"))
	admin := t.TempDir()
	var status []byte
	n := 0
	for _, p := range ix.Paths() {
		if !strings.HasPrefix(p, "/var/lib/dpkg/status.d/") {
			continue
		}
		b, err := ix.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		stanza := strings.TrimRight(string(b), "\n")
		if !strings.Contains(stanza, "\nStatus:") {
			// distroless writes no Status: a file in status.d means installed.
			stanza += "\nStatus: install ok installed"
		}
		status = append(append(status, stanza...), "\n\n"...)
		n++
	}
	if n < 2 {
		t.Fatalf("only %d status.d files in the image", n)
	}
	if err := os.WriteFile(filepath.Join(admin, "status"), status, 0o644); err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command("dpkg-query", "--admindir="+admin, "-W", "-f", "deb ${Package} ${Version} ${Architecture} ${source:Package}\n").Output()
	if err != nil {
		t.Fatalf("dpkg-query: %v", err)
	}
	want := strings.Split(strings.TrimSpace(string(out)), "\n")
	pkSameSet(t, "distroless status.d", pkLines(a.Packages), want)
}

// TestPackagesAlpine: alpine 3.10's apk database, compared with the P:, V:,
// A: and o: fields of its records read plainly (apk(8)'s installed format).
func TestPackagesAlpine(t *testing.T) {
	ix, a := pkWalk(t, "docker-archive:"+fixtures.Path(t, "images/alpine-3.10.tar"))
	db, err := ix.ReadFile("/lib/apk/db/installed")
	if err != nil {
		t.Fatal(err)
	}
	var want []string
	for _, rec := range strings.Split(strings.TrimSpace(string(db)), "\n\n") {
		f := map[string]string{}
		for _, line := range strings.Split(rec, "\n") {
			if k, v, ok := strings.Cut(line, ":"); ok && len(k) == 1 {
				f[k] = v
			}
		}
		want = append(want, fmt.Sprintf("apk %s %s %s %s", f["P"], f["V"], f["A"], f["o"]))
	}
	if len(want) < 10 {
		t.Fatalf("only %d records in the apk database", len(want))
	}
	pkSameSet(t, "alpine 3.10", pkLines(a.Packages), want)
	for _, p := range a.Packages {
		if p.Release == "" || strings.Contains(p.Version, "-r") {
			t.Errorf("%s: version %q release %q, want the -rN suffix as the release", p.Name, p.Version, p.Release)
		}
	}
}

func TestSplitDebianVersion(t *testing.T) {
	tests := []struct {
		in                 string
		epoch              int // -1: none
		upstream, revision string
		bad                bool
	}{
		{"2.36-9+deb12u4", -1, "2.36", "9+deb12u4", false},
		{"1:2.38.1-5+deb12u3", 1, "2.38.1", "5+deb12u3", false},
		{"5.4", -1, "5.4", "", false},
		{"1.1.0k-1~deb9u1", -1, "1.1.0k", "1~deb9u1", false},
		{"2:8.2.3995-1+deb12u2", 2, "8.2.3995", "1+deb12u2", false},
		{"1.0-beta-3", -1, "1.0-beta", "3", false},
		{"x:1.0-1", 0, "", "", true},
		{"abc-1", 0, "", "", true},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			e, u, r, err := extract.SplitDebianVersion(tt.in)
			if (err != nil) != tt.bad {
				t.Fatalf("err = %v, want error %v", err, tt.bad)
			}
			if tt.bad {
				return
			}
			ge := -1
			if e != nil {
				ge = *e
			}
			if ge != tt.epoch || u != tt.upstream || r != tt.revision {
				t.Errorf("= %d %q %q, want %d %q %q", ge, u, r, tt.epoch, tt.upstream, tt.revision)
			}
		})
	}
}

func TestSplitApkVersion(t *testing.T) {
	tests := []struct{ in, upstream, release string }{
		{"3.1.2-r0", "3.1.2", "r0"},
		{"1.30.1-r2", "1.30.1", "r2"},
		{"20190108-r0", "20190108", "r0"},
		{"2.10.4", "2.10.4", ""},
		{"1.0-rc1", "1.0-rc1", ""},
	}
	for _, tt := range tests {
		u, r := extract.SplitApkVersion(tt.in)
		if u != tt.upstream || r != tt.release {
			t.Errorf("SplitApkVersion(%q) = %q %q, want %q %q", tt.in, u, r, tt.upstream, tt.release)
		}
	}
}

// TestPackagesNoDatabase: an image without a package database has an empty
// (not null) package list and an empty SBOM.
func TestPackagesNoDatabase(t *testing.T) {
	ix := extract.NewFileIndex()
	ix.Add(extract.FileMeta{Path: "/bin/sh", Type: extract.TypeRegular, Size: 3}, []byte("elf"))
	ex := extract.NewPackagesExtractor()
	a := &extract.Analysis{}
	if err := ex.Extract(context.Background(), ix, a); err != nil {
		t.Fatal(err)
	}
	if a.Packages == nil || len(a.Packages) != 0 {
		t.Errorf("packages = %#v, want []", a.Packages)
	}
	if n := ex.SBOM().Artifacts.Packages.PackageCount(); n != 0 {
		t.Errorf("sbom has %d packages, want 0", n)
	}
}

// TestPackagesDatabaseNotKept: a database too large to keep is reported.
func TestPackagesDatabaseNotKept(t *testing.T) {
	ix := extract.NewFileIndex()
	ix.Add(extract.FileMeta{Path: "/var/lib/rpm/Packages", Type: extract.TypeRegular, Size: 1 << 40}, nil)
	a := pkExtract(t, ix)
	if len(a.Warnings) != 1 || a.Warnings[0].Path != "/var/lib/rpm/Packages" || !strings.Contains(a.Warnings[0].Message, "not read") {
		t.Errorf("warnings = %+v, want one naming /var/lib/rpm/Packages", a.Warnings)
	}
}

// TestPackagesCorruptDatabase: garbage where a database should be is a
// warning or an error naming it, never a panic.
func TestPackagesCorruptDatabase(t *testing.T) {
	for _, p := range []string{"/var/lib/rpm/Packages", "/var/lib/rpm/rpmdb.sqlite", "/usr/lib/sysimage/rpm/Packages.db", "/var/lib/dpkg/status", "/lib/apk/db/installed"} {
		t.Run(p, func(t *testing.T) {
			ix := extract.NewFileIndex()
			junk := []byte(strings.Repeat("\x00\xffnot a database\n", 300))
			ix.Add(extract.FileMeta{Path: p, Type: extract.TypeRegular, Size: int64(len(junk))}, junk)
			a := &extract.Analysis{}
			err := extract.NewPackagesExtractor().Extract(context.Background(), ix, a)
			if err != nil && !strings.Contains(err.Error(), "package databases") {
				t.Errorf("error %v does not say what failed", err)
			}
			if len(a.Packages) != 0 {
				t.Errorf("packages from junk: %+v", a.Packages)
			}
		})
	}
}

// BenchmarkPackagesExtract measures syft's catalogers over the host's real
// dpkg database (~700 packages), the license scanner already built.
func BenchmarkPackagesExtract(b *testing.B) {
	const status = "/var/lib/dpkg/status"
	data, err := os.ReadFile(status)
	if err != nil {
		b.Skip(err)
	}
	ix := extract.NewFileIndex()
	ix.Add(extract.FileMeta{Path: status, Type: extract.TypeRegular, Size: int64(len(data))}, data)
	for b.Loop() {
		a := &extract.Analysis{}
		if err := extract.NewPackagesExtractor().Extract(context.Background(), ix, a); err != nil {
			b.Fatal(err)
		}
	}
}
