package extract

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"slices"
	"strings"
	"testing"

	"github.com/seshat-dev/seshat/internal/fixtures"
)

// treeEntry is one file of a test root: copied from a real file (from),
// written (data), or a symlink (link).
type treeEntry struct {
	path, from, data, link string
}

// buildRoot assembles a root filesystem in a temp dir from real files.
func buildRoot(t *testing.T, entries []treeEntry) string {
	t.Helper()
	root := t.TempDir()
	for _, e := range entries {
		dst := filepath.Join(root, e.path)
		if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
			t.Fatal(err)
		}
		switch {
		case e.link != "":
			if err := os.Symlink(e.link, dst); err != nil {
				t.Fatal(err)
			}
		case e.from != "":
			b, err := os.ReadFile(e.from)
			if err != nil {
				t.Fatalf("real input %s: %v", e.from, err)
			}
			if err := os.WriteFile(dst, b, 0o755); err != nil {
				t.Fatal(err)
			}
		default:
			if err := os.WriteFile(dst, []byte(e.data), 0o644); err != nil {
				t.Fatal(err)
			}
		}
	}
	return root
}

// analyzeRootForTest walks root with exs, as `seshat analyze dir:ROOT`
// does, and runs their Extract.
func analyzeRootForTest(t *testing.T, root, arch string, env []string, exs ...Extractor) *Analysis {
	t.Helper()
	ctx := context.Background()
	ix, warns, err := WalkDir(ctx, root, exs, WalkOptions{})
	if err != nil {
		t.Fatalf("walking %s: %v", root, err)
	}
	a := &Analysis{Schema: SchemaV1, Warnings: warns}
	a.Image.Platform.Architecture = arch
	a.Image.Config.Env = env
	for _, ex := range exs {
		if err := ex.Extract(ctx, ix, a); err != nil {
			t.Fatalf("%s.Extract: %v", ex.Name(), err)
		}
	}
	return a
}

func readelfDefs(t *testing.T, path string) []string {
	t.Helper()
	out, err := exec.Command("readelf", "-V", "--wide", path).Output()
	if err != nil {
		t.Fatalf("readelf -V %s: %v", path, err)
	}
	re := regexp.MustCompile(`(?m)^\s*0?x?[0-9a-f]+: Rev: \d+\s+Flags: (\S+)\s+Index: \d+\s+Cnt: \d+\s+Name: (\S+)`)
	var defs []string
	for _, m := range re.FindAllStringSubmatch(string(out), -1) {
		if !strings.Contains(m[1], "BASE") {
			defs = append(defs, m[2])
		}
	}
	return defs
}

func hostUpstreamVersion(t *testing.T, pkg string) string {
	t.Helper()
	out, err := exec.Command("dpkg-query", "-W", "-f=${Version}", pkg).Output()
	if err != nil {
		t.Fatalf("dpkg-query %s: %v", pkg, err)
	}
	v := string(out)
	if i := strings.IndexByte(v, ':'); i >= 0 {
		v = v[i+1:]
	}
	if i := strings.LastIndexByte(v, '-'); i >= 0 {
		v = v[:i]
	}
	return v
}

func TestABIExtractorGlibcMergedUsr(t *testing.T) {
	const hostLib = "/lib/x86_64-linux-gnu"
	libtiff := filepath.Join(runtime.GOROOT(), "src/debug/elf/testdata/libtiffxx.so_")
	libc, _ := os.ReadFile(hostLib + "/libc.so.6")
	root := buildRoot(t, []treeEntry{
		{path: "lib", link: "usr/lib"},
		{path: "lib64", link: "usr/lib64"},
		{path: "usr/lib64/ld-linux-x86-64.so.2", link: "/lib/x86_64-linux-gnu/ld-linux-x86-64.so.2"},
		{path: "usr/lib/x86_64-linux-gnu/libc.so.6", from: hostLib + "/libc.so.6"},
		{path: "usr/lib/x86_64-linux-gnu/ld-linux-x86-64.so.2", from: "/lib64/ld-linux-x86-64.so.2"},
		{path: "usr/lib/x86_64-linux-gnu/libstdc++.so.6.0.30", from: hostLib + "/libstdc++.so.6.0.30"},
		{path: "usr/lib/x86_64-linux-gnu/libstdc++.so.6", link: "libstdc++.so.6.0.30"},
		// A GNU ld script named like a library: legitimate, no warning.
		{path: "usr/lib/x86_64-linux-gnu/libc.so", data: "/* GNU ld script\n   Use the shared library.  */\nGROUP ( /lib/x86_64-linux-gnu/libc.so.6 )\n"},
		// Named like a library, but text: a warning naming it.
		{path: "usr/lib/x86_64-linux-gnu/libfake.so.1", data: "this is not a library\n"},
		// A truncated ELF: a warning naming it, the rest goes on.
		{path: "usr/lib/x86_64-linux-gnu/libcut.so.1", data: string(libc[:200])},
		// On the loader path only through ld.so.conf's include.
		{path: "etc/ld.so.conf", data: "# comment\ninclude /etc/ld.so.conf.d/*.conf\n"},
		{path: "etc/ld.so.conf.d/vendor.conf", data: "/opt/vendor/lib64\n"},
		{path: "opt/vendor/lib64/libtiffxx.so.6", from: libtiff},
		// Not on the loader path.
		{path: "opt/elsewhere/lib/libtiffxx.so.6", from: libtiff},
		{path: "usr/lib/python3/dist-packages/_ext.cpython-311-x86_64-linux-gnu.so", from: libtiff},
	})
	a := analyzeRootForTest(t, root, "amd64", nil, NewABIExtractor())
	rep := a.ABI
	if rep == nil {
		t.Fatal("no abi section")
	}
	glibc := hostUpstreamVersion(t, "libc6")
	if rep.Libc == nil || rep.Libc.Family != "glibc" || rep.Libc.Version != glibc || rep.Libc.Path != "/usr/lib/x86_64-linux-gnu/libc.so.6" {
		t.Errorf("libc = %+v, want glibc %s at /usr/lib/x86_64-linux-gnu/libc.so.6", rep.Libc, glibc)
	}
	var libPaths []string
	for _, l := range rep.Libraries {
		libPaths = append(libPaths, l.Path)
	}
	wantPaths := []string{
		"/opt/vendor/lib64/libtiffxx.so.6",
		"/usr/lib/x86_64-linux-gnu/ld-linux-x86-64.so.2",
		"/usr/lib/x86_64-linux-gnu/libc.so.6",
		"/usr/lib/x86_64-linux-gnu/libstdc++.so.6.0.30",
	}
	if !slices.Equal(libPaths, wantPaths) {
		t.Errorf("libraries = %q, want %q", libPaths, wantPaths)
	}
	for _, l := range rep.Libraries {
		if l.Path == "/opt/vendor/lib64/libtiffxx.so.6" {
			if l.Soname != "libtiffxx.so.6" || !slices.Equal(l.Needed, []string{"libtiff.so.6", "libstdc++.so.6", "libc.so.6"}) {
				t.Errorf("libtiffxx = %+v", l)
			}
		}
	}
	// Every definition readelf lists for libc, ld.so and libstdc++ is in
	// symbols, under its family.
	for _, f := range []string{hostLib + "/libc.so.6", "/lib64/ld-linux-x86-64.so.2", hostLib + "/libstdc++.so.6.0.30"} {
		for _, d := range readelfDefs(t, f) {
			fam := d[:strings.IndexByte(d, '_')]
			if strings.HasPrefix(d, "CXXABI_TM") {
				fam = "CXXABI_TM"
			}
			if !slices.Contains(rep.Symbols[fam], d) {
				t.Errorf("symbols[%s] lacks %s (defined by %s)", fam, d, f)
			}
		}
	}
	if g := rep.Symbols["GLIBC"]; !slices.Contains(g, "GLIBC_"+glibc) || !slices.Contains(g, "GLIBC_2.2.5") {
		t.Errorf("symbols[GLIBC] = %q", g)
	}
	if len(rep.PlatformTags) == 0 || rep.PlatformTags[0] != "manylinux_"+strings.ReplaceAll(glibc, ".", "_")+"_x86_64" ||
		rep.PlatformTags[len(rep.PlatformTags)-1] != "linux_x86_64" || !slices.Contains(rep.PlatformTags, "manylinux2014_x86_64") {
		t.Errorf("platform tags = %q", rep.PlatformTags)
	}
	wantWarn := map[string]bool{"/usr/lib/x86_64-linux-gnu/libfake.so.1": false, "/usr/lib/x86_64-linux-gnu/libcut.so.1": false}
	for _, w := range a.Warnings {
		if _, ok := wantWarn[w.Path]; ok {
			wantWarn[w.Path] = true
		} else {
			t.Errorf("unexpected warning %+v", w)
		}
	}
	for p, seen := range wantWarn {
		if !seen {
			t.Errorf("no warning names %s; warnings: %+v", p, a.Warnings)
		}
	}
}

func TestABIExtractorLibcFamilies(t *testing.T) {
	debVersion, err := os.ReadFile(fixtures.Path(t, "elf/debian12-musl/VERSION"))
	if err != nil {
		t.Fatal(err)
	}
	muslDeb := strings.SplitN(strings.TrimSpace(string(debVersion)), "-", 2)[0]
	tests := []struct {
		name      string
		arch      string // image config architecture; "" → from the libc's ELF machine
		entries   []treeEntry
		family    string
		version   string
		path      string
		firstTags []string
	}{
		{
			name: "distroless debian 9", arch: "",
			entries: []treeEntry{
				{path: "lib/x86_64-linux-gnu/libc-2.24.so", from: fixtures.Path(t, "elf/debian9/libc-2.24.so")},
				{path: "lib/x86_64-linux-gnu/libc.so.6", link: "libc-2.24.so"},
				{path: "lib/x86_64-linux-gnu/ld-2.24.so", from: fixtures.Path(t, "elf/debian9/ld-2.24.so")},
				{path: "lib64/ld-linux-x86-64.so.2", link: "/lib/x86_64-linux-gnu/ld-2.24.so"},
			},
			family: "glibc", version: "2.24", path: "/lib/x86_64-linux-gnu/libc-2.24.so",
			firstTags: []string{"manylinux_2_24_x86_64", "manylinux_2_23_x86_64"},
		},
		{
			name: "alpine 3.11", arch: "amd64",
			entries: []treeEntry{
				{path: "lib/ld-musl-x86_64.so.1", from: fixtures.Path(t, "elf/alpine311/ld-musl-x86_64.so.1")},
				{path: "lib/libc.musl-x86_64.so.1", link: "ld-musl-x86_64.so.1"},
			},
			family: "musl", version: "1.1.24", path: "/lib/ld-musl-x86_64.so.1",
			firstTags: []string{"musllinux_1_1_x86_64", "musllinux_1_0_x86_64", "linux_x86_64"},
		},
		{
			name: "debian musl package", arch: "amd64",
			entries: []treeEntry{
				{path: "lib/x86_64-linux-musl/libc.so", from: fixtures.Path(t, "elf/debian12-musl/libc.so")},
				{path: "lib/ld-musl-x86_64.so.1", link: "x86_64-linux-musl/libc.so"},
				{path: "etc/ld-musl-x86_64.path", data: "/lib/x86_64-linux-musl\n/usr/lib/x86_64-linux-musl\n"},
			},
			family: "musl", version: muslDeb, path: "/lib/x86_64-linux-musl/libc.so",
			firstTags: []string{"musllinux_1_2_x86_64", "musllinux_1_1_x86_64", "musllinux_1_0_x86_64", "linux_x86_64"},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			a := analyzeRootForTest(t, buildRoot(t, tc.entries), tc.arch, nil, NewABIExtractor())
			if a.ABI == nil || a.ABI.Libc == nil {
				t.Fatalf("no libc found: %+v", a.ABI)
			}
			l := a.ABI.Libc
			if l.Family != tc.family || l.Version != tc.version || l.Path != tc.path {
				t.Errorf("libc = %+v, want %s %s at %s", l, tc.family, tc.version, tc.path)
			}
			tags := a.ABI.PlatformTags
			if len(tags) < len(tc.firstTags) || !slices.Equal(tags[:len(tc.firstTags)], tc.firstTags) {
				t.Errorf("platform tags = %q, want them to start %q", tags, tc.firstTags)
			}
			if len(a.Warnings) != 0 {
				t.Errorf("warnings: %+v", a.Warnings)
			}
		})
	}
}

func TestABIExtractorNoLibraries(t *testing.T) {
	a := analyzeRootForTest(t, buildRoot(t, []treeEntry{{path: "etc/hostname", data: "x\n"}}), "amd64", nil, NewABIExtractor())
	if a.ABI != nil {
		t.Errorf("abi = %+v, want nil for an image without shared objects", a.ABI)
	}
}

func TestABIExtractorLdSoConfLoop(t *testing.T) {
	libtiff := filepath.Join(runtime.GOROOT(), "src/debug/elf/testdata/libtiffxx.so_")
	root := buildRoot(t, []treeEntry{
		{path: "etc/ld.so.conf", data: "include ld.so.conf.d/*.conf\n"},
		{path: "etc/ld.so.conf.d/a.conf", data: "include /etc/ld.so.conf\n/opt/x/lib\n"},
		{path: "opt/x/lib/libtiffxx.so.6", from: libtiff},
	})
	a := analyzeRootForTest(t, root, "amd64", nil, NewABIExtractor())
	if a.ABI == nil || len(a.ABI.Libraries) != 1 || a.ABI.Libraries[0].Path != "/opt/x/lib/libtiffxx.so.6" {
		t.Fatalf("abi = %+v", a.ABI)
	}
	if a.ABI.Libc != nil || !slices.Equal(a.ABI.PlatformTags, []string{"linux_x86_64"}) {
		t.Errorf("without a libc: libc = %+v, tags = %q", a.ABI.Libc, a.ABI.PlatformTags)
	}
}
