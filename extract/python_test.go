package extract

import (
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// hostDistPackages copies the metadata files (METADATA, PKG-INFO,
// INSTALLER, requires.txt, egg-info files) of Debian's python3-*
// packages installed on this machine into entries under the same paths,
// and returns the Debian package owning each .dist-info/.egg-info.
func hostDistPackages(t *testing.T) ([]treeEntry, map[string]string) {
	t.Helper()
	const site = "/usr/lib/python3/dist-packages"
	infos, _ := filepath.Glob(site + "/*.dist-info")
	eggs, _ := filepath.Glob(site + "/*.egg-info")
	infos = append(infos, eggs...)
	if len(infos) < 5 {
		t.Fatalf("want Debian's python3 packages in %s (python3-pip, python3-yaml…): run `make deps`", site)
	}
	var entries []treeEntry
	owner := map[string]string{}
	for _, info := range infos {
		out, err := exec.Command("dpkg-query", "-S", info).Output()
		if err != nil {
			continue // not from a Debian package
		}
		owner[info] = strings.TrimSpace(strings.SplitN(string(out), ":", 2)[0])
		if fi, err := os.Stat(info); err == nil && !fi.IsDir() {
			entries = append(entries, treeEntry{path: strings.TrimPrefix(info, "/"), from: info})
			continue
		}
		for _, f := range []string{"METADATA", "PKG-INFO", "INSTALLER", "requires.txt"} {
			if _, err := os.Stat(filepath.Join(info, f)); err == nil {
				entries = append(entries, treeEntry{path: strings.TrimPrefix(filepath.Join(info, f), "/"), from: filepath.Join(info, f)})
			}
		}
	}
	return entries, owner
}

// debianUpstream returns the upstream part of a Debian version, without
// the repack suffixes (+dfsg, +ds) Debian adds to it.
func debianUpstream(t *testing.T, pkg string) string {
	v := hostUpstreamVersion(t, pkg)
	for _, suffix := range []string{"+dfsg", "+ds"} {
		if i := strings.Index(v, suffix); i >= 0 {
			v = v[:i]
		}
	}
	return v
}

func TestPythonExtractorDebianHost(t *testing.T) {
	const py = "/usr/bin/python3.11"
	pyVersion := hostUpstreamVersion(t, "python3.11")
	sysconfigs, _ := filepath.Glob("/usr/lib/python3.11/_sysconfigdata_*.py")
	if len(sysconfigs) == 0 {
		t.Fatal("no /usr/lib/python3.11/_sysconfigdata_*.py on this machine")
	}
	base := []treeEntry{
		{path: "usr/bin/python3.11", from: py},
		{path: "usr/bin/python3", link: "python3.11"},
		{path: "usr/lib/python3.11/os.py", from: "/usr/lib/python3.11/os.py"},
		{path: "usr/local/lib/python3.11/dist-packages/.keep", data: ""},
		// A wrapper script named like an interpreter is not one.
		{path: "usr/local/bin/python", data: "#!/bin/sh\nexec /usr/bin/python3 \"$@\"\n"},
		// A symlink loop must cost a warning, not a hang.
		{path: "usr/local/bin/python3", link: "python3.12"},
		{path: "usr/local/bin/python3.12", link: "python3"},
		// A venv's dangling link to a removed interpreter.
		{path: "opt/old/bin/python3", link: "/usr/bin/python3.9"},
	}
	for _, sc := range sysconfigs {
		base = append(base, treeEntry{path: strings.TrimPrefix(sc, "/"), from: sc})
	}
	dists, owner := hostDistPackages(t)
	base = append(base, dists...)

	for _, withHeader := range []bool{false, true} {
		name := "version from the binary"
		entries := slices.Clone(base)
		if withHeader {
			name = "version from patchlevel.h"
			entries = append(entries, treeEntry{path: "usr/include/python3.11/patchlevel.h", from: "/usr/include/python3.11/patchlevel.h"})
		}
		t.Run(name, func(t *testing.T) {
			root := buildRoot(t, entries)
			// A real venv made by this machine's python3 -m venv, with pip
			// from Debian's python3-pip-whl (ensurepip, offline).
			cmd := exec.Command(py, "-m", "venv", filepath.Join(root, "opt/app-root"))
			if out, err := cmd.CombinedOutput(); err != nil {
				t.Fatalf("python3 -m venv: %v\n%s", err, out)
			}
			a := analyzeRootForTest(t, root, "amd64", nil, NewPythonExtractor())
			if a.Python == nil {
				t.Fatal("no python section")
			}
			if len(a.Python.Interpreters) != 1 {
				t.Fatalf("interpreters = %+v, want one", a.Python.Interpreters)
			}
			in := a.Python.Interpreters[0]
			want := Interpreter{
				Path:           py,
				Links:          []string{"/opt/app-root/bin/python", "/opt/app-root/bin/python3", "/opt/app-root/bin/python3.11", "/usr/bin/python3"},
				Version:        pyVersion,
				Implementation: "cpython",
				SOABI:          "cpython-311-x86_64-linux-gnu",
				ABIFlags:       "",
				Prefix:         "/usr",
			}
			if in.Path != want.Path || !slices.Equal(in.Links, want.Links) || in.Version != want.Version ||
				in.Implementation != want.Implementation || in.SOABI != want.SOABI || in.ABIFlags != want.ABIFlags || in.Prefix != want.Prefix {
				t.Errorf("interpreter =\n%+v\nwant\n%+v", in, want)
			}

			envs := map[string]Environment{}
			for _, e := range a.Python.Environments {
				envs[e.Path] = e
			}
			for _, p := range []string{"/opt/app-root", "/usr/lib/python3/dist-packages", "/usr/local/lib/python3.11/dist-packages"} {
				e, ok := envs[p]
				if !ok {
					t.Errorf("environment %s missing; have %+v", p, a.Python.Environments)
					continue
				}
				if e.Interpreter != py {
					t.Errorf("environment %s: interpreter %q, want %s", p, e.Interpreter, py)
				}
			}
			// The venv holds pip, installed by ensurepip from Debian's wheel.
			venv := envs["/opt/app-root"]
			pipWheel, _ := filepath.Glob("/usr/share/python-wheels/pip-*.whl")
			if len(pipWheel) != 1 {
				t.Fatalf("want one pip wheel in /usr/share/python-wheels, have %q", pipWheel)
			}
			pipVersion := strings.SplitN(strings.TrimPrefix(filepath.Base(pipWheel[0]), "pip-"), "-", 2)[0]
			var pip *Distribution
			for i, d := range venv.Distributions {
				if d.Name == "pip" {
					pip = &venv.Distributions[i]
				}
			}
			if pip == nil || pip.Version != pipVersion || pip.Installer != "pip" || pip.Location != "/opt/app-root/lib/python3.11/site-packages" {
				t.Errorf("venv pip = %+v, want %s installed by pip in the venv's site-packages", pip, pipVersion)
			}

			// Every Debian python3-* distribution, at the Debian package's
			// upstream version.
			sys := envs["/usr/lib/python3/dist-packages"]
			byInfo := map[string]Distribution{}
			for _, d := range sys.Distributions {
				if d.Location != "/usr/lib/python3/dist-packages" {
					t.Errorf("%s: location %s", d.Name, d.Location)
				}
				byInfo[normalizeDistName(d.Name)] = d
			}
			checked := 0
			for info, pkg := range owner {
				if !strings.HasPrefix(pkg, "python3-") {
					continue
				}
				stem := strings.TrimSuffix(strings.TrimSuffix(filepath.Base(info), ".dist-info"), ".egg-info")
				distName, _, hasVersion := strings.Cut(stem, "-")
				if !hasVersion {
					continue // a version-less egg-info name
				}
				d, ok := byInfo[normalizeDistName(distName)]
				if !ok {
					t.Errorf("distribution %s (from %s) missing", distName, pkg)
					continue
				}
				if up := debianUpstream(t, pkg); d.Version != up && strings.Split(d.Version, "+")[0] != up {
					t.Errorf("%s: version %s, Debian package %s has upstream %s", d.Name, d.Version, pkg, up)
				}
				checked++
			}
			if checked < 5 {
				t.Errorf("checked only %d distributions against dpkg", checked)
			}
			if y, ok := byInfo[normalizeDistName("PyYAML")]; !ok || y.Name != "PyYAML" {
				t.Errorf("PyYAML's name must be as in METADATA, got %+v", y)
			}

			// Warnings: the loop and the dangling link, each named.
			var warned []string
			for _, w := range a.Warnings {
				warned = append(warned, w.Path)
			}
			for _, p := range []string{"/usr/local/bin/python3", "/opt/old/bin/python3"} {
				if !slices.Contains(warned, p) {
					t.Errorf("no warning names %s; warnings: %+v", p, a.Warnings)
				}
			}
		})
	}
}

// normalizeDistName is PEP 503's name normalization: egg-info directory
// names spell python-apt as python_apt.
func normalizeDistName(n string) string {
	return strings.Join(strings.FieldsFunc(strings.ToLower(n), func(r rune) bool { return r == '-' || r == '_' || r == '.' }), "-")
}

func TestParseSysconfigVars(t *testing.T) {
	src := `# system configuration generated and used by the sysconfig module
build_time_vars = {'ABIFLAGS': 't',
 'CONFIG_ARGS': "'--enable-shared' "
                "'--disable-gil'",
 'SOABI': 'cpython-313t-x86_64-linux-gnu',
 'VERSION': '3.13',
 'WITH_DOC_STRINGS': 1,
 'prefix': '/usr/local',
 'weird': 'it\'s',
 'SOABI_DUP': 'no'}
`
	got := parseSysconfigVars([]byte(src), "ABIFLAGS", "SOABI", "VERSION", "prefix", "CONFIG_ARGS", "weird", "WITH_DOC_STRINGS")
	want := map[string]string{
		"ABIFLAGS": "t", "SOABI": "cpython-313t-x86_64-linux-gnu", "VERSION": "3.13", "prefix": "/usr/local",
		"CONFIG_ARGS": "'--enable-shared' '--disable-gil'", "weird": "it's",
	}
	if len(got) != len(want) {
		t.Errorf("got %q, want %q", got, want)
	}
	for k, v := range want {
		if got[k] != v {
			t.Errorf("%s = %q, want %q", k, got[k], v)
		}
	}
	// A file of another shape yields nothing, not a failure.
	if got := parseSysconfigVars([]byte("def f():\n    return {}\n"), "SOABI"); len(got) != 0 {
		t.Errorf("unexpected %q", got)
	}
}

// pyenv builds CPython as python.org images do: a small bin/python3.X
// linked to a shared libpython in PREFIX/lib, sysconfigdata under
// PREFIX/lib/python3.X. This machine's pyenv versions are real ones.
func TestPythonExtractorSharedLibpython(t *testing.T) {
	const v3, v2 = "/root/.pyenv/versions/3.12.1", "/root/.pyenv/versions/2.7.18"
	for _, d := range []string{v3, v2} {
		if _, err := os.Stat(d); err != nil {
			// pyenv's builds are this machine's, not provisioned by
			// testdata/deps.sh: without them there is no real shared-
			// libpython CPython to read.
			t.Skipf("real CPython build %s (pyenv) not on this machine: %v", d, err)
		}
	}
	sc3, _ := filepath.Glob(v3 + "/lib/python3.12/_sysconfigdata_*.py")
	rel := func(p string) string { return strings.TrimPrefix(p, "/") }
	entries := []treeEntry{
		{path: rel(v3 + "/bin/python3.12"), from: v3 + "/bin/python3.12"},
		{path: rel(v3 + "/bin/python3"), link: "python3.12"},
		{path: rel(v3 + "/bin/python"), link: "python3.12"},
		{path: rel(v3 + "/lib/libpython3.12.so.1.0"), from: v3 + "/lib/libpython3.12.so.1.0"},
		{path: rel(v3 + "/lib/python3.12/os.py"), from: v3 + "/lib/python3.12/os.py"},
		{path: rel(v3 + "/include/python3.12/patchlevel.h"), from: v3 + "/include/python3.12/patchlevel.h"},
		{path: rel(v3 + "/lib/python3.12/site-packages/.keep"), data: ""},
		// Python 2.7: no SOABI, and no header: the version comes from the
		// bytes of libpython2.7.
		{path: rel(v2 + "/bin/python2.7"), from: v2 + "/bin/python2.7"},
		{path: rel(v2 + "/bin/python2"), link: "python2.7"},
		{path: rel(v2 + "/lib/libpython2.7.so.1.0"), from: v2 + "/lib/libpython2.7.so.1.0"},
		{path: rel(v2 + "/lib/python2.7/_sysconfigdata.py"), from: v2 + "/lib/python2.7/_sysconfigdata.py"},
		// A sysconfigdata of an unexpected shape (read first: it sorts
		// before the real one): a warning naming it, and the real one used.
		{path: rel(v3 + "/lib/python3.12/_sysconfigdata__linux_aarch64-linux-gnu.py"), data: "from _x import *\nbuild_time_vars = make()\n"},
	}
	for _, sc := range sc3 {
		entries = append(entries, treeEntry{path: rel(sc), from: sc})
	}
	a := analyzeRootForTest(t, buildRoot(t, entries), "amd64", nil, NewPythonExtractor())
	if a.Python == nil {
		t.Fatal("no python section")
	}
	want := []Interpreter{
		{Path: v2 + "/bin/python2.7", Links: []string{v2 + "/bin/python2"}, Version: "2.7.18", Implementation: "cpython", Prefix: v2},
		{Path: v3 + "/bin/python3.12", Links: []string{v3 + "/bin/python", v3 + "/bin/python3"}, Version: "3.12.1", Implementation: "cpython",
			SOABI: "cpython-312-x86_64-linux-gnu", Prefix: v3},
	}
	got := a.Python.Interpreters
	if len(got) != len(want) {
		t.Fatalf("interpreters = %+v, want %+v", got, want)
	}
	for i := range want {
		g, w := got[i], want[i]
		if g.Path != w.Path || !slices.Equal(g.Links, w.Links) || g.Version != w.Version || g.Implementation != w.Implementation ||
			g.SOABI != w.SOABI || g.ABIFlags != w.ABIFlags || g.Prefix != w.Prefix {
			t.Errorf("interpreter %d =\n%+v\nwant\n%+v", i, g, w)
		}
	}
	if len(a.Python.Environments) != 1 || a.Python.Environments[0].Interpreter != v3+"/bin/python3.12" {
		t.Errorf("environments = %+v", a.Python.Environments)
	}
	if len(a.Warnings) != 1 || a.Warnings[0].Path != v3+"/lib/python3.12/_sysconfigdata__linux_aarch64-linux-gnu.py" {
		t.Errorf("warnings: %+v, want one naming the odd sysconfigdata", a.Warnings)
	}
}

func TestPyVersionScanner(t *testing.T) {
	in := []byte("junk\x003.11.2\x00/opt/py/3.12.1\x00GCC 12.2.0\x003.13.0rc1\x00Python-3.9.1\x00v2.7.18+\x001.2.3\x003.10\x00113.1.1\x00")
	want := []string{"3.11.2", "3.12.1", "3.13.0rc1", "3.9.1", "2.7.18+"}
	// Write a byte at a time: versions split across writes are found too.
	s := &pyVersionScanner{}
	for i := range in {
		s.Write(in[i : i+1])
	}
	if !slices.Equal(s.found, want) {
		t.Errorf("found %q, want %q", s.found, want)
	}
}
