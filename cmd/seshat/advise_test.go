package main

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/seshat-dev/seshat/internal/fixtures"
	"github.com/seshat-dev/seshat/internal/pyindex"
)

// runSeshat runs the command in-process and returns stdout, stderr and the exit code.
func runSeshat(t *testing.T, args ...string) (string, string, int) {
	t.Helper()
	root := newRootCmd()
	var out, errOut bytes.Buffer
	root.SetOut(&out)
	root.SetErr(&errOut)
	root.SetArgs(args)
	if err := root.Execute(); err != nil {
		errOut.WriteString("seshat: " + err.Error() + "\n")
		return out.String(), errOut.String(), exitCode(err)
	}
	return out.String(), errOut.String(), 0
}

func write(t *testing.T, path, text string) string {
	t.Helper()
	if err := os.WriteFile(path, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

// cp311 is the machine's interpreter on Debian 12's glibc, which pipenv and pip here install for.
var cp311 = []string{"--python-version", "3.11", "--glibc", "2.36", "--arch", "x86_64"}

func TestAdvisePipfileLockInstallsWithPipenv(t *testing.T) {
	if _, err := exec.LookPath("pipenv"); err != nil {
		t.Fatal("pipenv missing: run `make deps`")
	}
	srv := pyindex.Start(t, fixtures.Path(t, "wheels"))
	dir := t.TempDir()
	write(t, filepath.Join(dir, "Pipfile"), `[[source]]
url = "`+srv.URL+`/simple"
verify_ssl = false
name = "local"

[packages]
flask = "*"
requests = {version = ">=2.28", extras = ["use-chardet-on-py3"]}

[dev-packages]
rich = "*"

[requires]
python_version = "3.11"
`)
	lockPath := filepath.Join(dir, "Pipfile.lock")
	args := append([]string{"advise", "--pipfile", filepath.Join(dir, "Pipfile"), "--format", "pipfile-lock", "-o", lockPath,
		"--cache-dir", t.TempDir()}, cp311...)
	if _, errOut, code := runSeshat(t, args...); code != 0 {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	lockText, _ := os.ReadFile(lockPath)
	for _, want := range []string{`"develop": {`, `"rich": {`, `"extras": [`, `"use-chardet-on-py3"`, `"index": "local"`} {
		if !strings.Contains(string(lockText), want) {
			t.Errorf("Pipfile.lock lacks %s:\n%s", want, lockText)
		}
	}

	// pipenv install --deploy refuses a lock whose hash does not match the
	// Pipfile, and installs with hash checking; the index is the only source.
	cmd := exec.Command("pipenv", "install", "--deploy", "--dev")
	cmd.Dir = dir
	var env []string
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "PIP_FIND_LINKS=") && !strings.HasPrefix(kv, "PIP_EXTRA_INDEX_URL=") {
			env = append(env, kv) // the local index is the only source
		}
	}
	cmd.Env = append(env, "PIPENV_VENV_IN_PROJECT=1", "PIPENV_IGNORE_VIRTUALENVS=1", "PIPENV_YES=1",
		"PIPENV_NOSPIN=1", "PIP_NO_CACHE_DIR=1", "PIP_DISABLE_PIP_VERSION_CHECK=1", "PIP_INDEX_URL="+srv.URL+"/simple",
		"HOME="+t.TempDir(), "VIRTUALENV_OVERRIDE_APP_DATA="+t.TempDir())
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("pipenv install --deploy: %v\n%s", err, out)
	}
	sites, _ := filepath.Glob(filepath.Join(dir, ".venv", "lib", "python3*", "site-packages"))
	if len(sites) != 1 {
		t.Fatalf("no site-packages in the pipenv venv: %v", sites)
	}
	got := distInfos(t, sites[0])
	for _, seed := range []string{"pip", "setuptools", "wheel", "_virtualenv"} {
		delete(got, seed) // the venv's own seed packages
	}
	want := map[string]string{}
	out, _, _ := runSeshat(t, append([]string{"advise", "--pipfile", filepath.Join(dir, "Pipfile"), "--format", "requirements", "--dev", "--cache-dir", t.TempDir()}, cp311...)...)
	for _, line := range strings.Split(out, "\n") {
		if name, ver, ok := strings.Cut(strings.Fields(line + " x")[0], "=="); ok {
			name, _, _ = strings.Cut(name, "[")
			want[name] = ver
		}
	}
	if len(want) < 10 || !sameMap(got, want) {
		t.Errorf("pipenv installed %v\nthe lock pins %v", got, want)
	}

	// Without --dev a requirements lock leaves out what only [dev-packages] needs.
	out, _, _ = runSeshat(t, append([]string{"advise", "--pipfile", filepath.Join(dir, "Pipfile"), "--format", "requirements", "--cache-dir", t.TempDir()}, cp311...)...)
	if strings.Contains(out, "rich==") || strings.Contains(out, "pygments==") || !strings.Contains(out, "flask==") {
		t.Errorf("requirements without --dev:\n%s\nwant flask and no rich or pygments", out)
	}
}

func distInfos(t *testing.T, dir string) map[string]string {
	t.Helper()
	ents, _ := filepath.Glob(filepath.Join(dir, "*.dist-info"))
	m := map[string]string{}
	for _, e := range ents {
		name, ver, _ := strings.Cut(strings.TrimSuffix(filepath.Base(e), ".dist-info"), "-")
		m[strings.ReplaceAll(strings.ToLower(name), "_", "-")] = ver
	}
	return m
}

func sameMap(a, b map[string]string) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if b[k] != v {
			return false
		}
	}
	return true
}

func TestAdviseUnsatisfiableExplainsAndExits6(t *testing.T) {
	srv := pyindex.Start(t, fixtures.Path(t, "wheels"))
	req := write(t, filepath.Join(t.TempDir(), "requirements.txt"), "flask>=3\nwerkzeug<3\n")
	_, errOut, code := runSeshat(t, append([]string{"advise", "-r", req, "--index-url", srv.URL + "/simple", "--cache-dir", t.TempDir()}, cp311...)...)
	if code != 6 {
		t.Fatalf("exit %d, want 6\n%s", code, errOut)
	}
	for _, want := range []string{"Because", "flask>=3", "werkzeug<3", "werkzeug>=3.1.0"} {
		if !strings.Contains(errOut, want) {
			t.Errorf("stderr lacks %q:\n%s", want, errOut)
		}
	}
}

func TestAdviseMalformedLineExits8(t *testing.T) {
	req := write(t, filepath.Join(t.TempDir(), "requirements.txt"), "flask\nrequests>=2.0,<\n")
	_, errOut, code := runSeshat(t, append([]string{"advise", "-r", req, "--index-url", "http://127.0.0.1:1/simple"}, cp311...)...)
	if code != 8 || !strings.Contains(errOut, "requirements.txt:2:") {
		t.Fatalf("exit %d, stderr %q; want 8 and requirements.txt:2:COLUMN", code, errOut)
	}
}

func TestAdviseUnreachableIndexExits7(t *testing.T) {
	req := write(t, filepath.Join(t.TempDir(), "requirements.txt"), "flask\n")
	// Port 1 on loopback refuses connections.
	_, errOut, code := runSeshat(t, append([]string{"advise", "-r", req, "--index-url", "http://127.0.0.1:1/simple", "--cache-dir", t.TempDir()}, cp311...)...)
	if code != 7 || !strings.Contains(errOut, "flask") {
		t.Fatalf("exit %d, stderr %q; want 7 naming flask", code, errOut)
	}
}

func TestAdviseUsageErrors(t *testing.T) {
	req := write(t, filepath.Join(t.TempDir(), "requirements.txt"), "flask\n")
	for _, args := range [][]string{
		{"advise", "-r", req, "--glibc", "2.36", "--arch", "x86_64"},                                     // no python
		{"advise", "-r", req, "--python-version", "3.11"},                                                // no platform
		{"advise", "-r", req, "--python-version", "3.11", "--glibc", "2.36"},                             // no arch
		{"advise", "-r", req, "--python-version", "3.11", "--platform", "linux_x86_64", "--format", "x"}, // bad format
	} {
		if _, errOut, code := runSeshat(t, args...); code != 2 {
			t.Errorf("%v: exit %d (%s), want 2", args[3:], code, errOut)
		}
	}
}

// TestAdviseDeterministicAndOffline writes each format twice — cold cache
// and then offline from the warm cache — and compares the bytes.
func TestAdviseDeterministicAndOffline(t *testing.T) {
	srv := pyindex.Start(t, fixtures.Path(t, "wheels"))
	dir := t.TempDir()
	req := write(t, filepath.Join(dir, "requirements.txt"), "flask\nrequests\nrich\n")
	cache := t.TempDir()
	for _, format := range []string{"requirements", "pylock", "pipfile-lock"} {
		var outs []string
		for _, extra := range [][]string{nil, {"--offline"}} {
			args := append([]string{"advise", "-r", req, "--index-url", srv.URL + "/simple", "--cache-dir", cache, "--format", format}, cp311...)
			out, errOut, code := runSeshat(t, append(args, extra...)...)
			if code != 0 {
				t.Fatalf("%s %v: exit %d: %s", format, extra, code, errOut)
			}
			outs = append(outs, out)
		}
		if outs[0] != outs[1] || !strings.Contains(outs[0], "2.32.3") {
			t.Errorf("%s: online and offline runs differ or lack requests 2.32.3:\n%s\n---\n%s", format, outs[0], outs[1])
		}
	}
}

// TestAdviseExplain checks that --explain says, per pin, why that version.
func TestAdviseExplain(t *testing.T) {
	srv := pyindex.Start(t, fixtures.Path(t, "wheels"))
	dir := t.TempDir()
	req := write(t, filepath.Join(dir, "requirements.txt"), "flask\nwerkzeug<3\nmarkupsafe\n")
	out, errOut, code := runSeshat(t, append([]string{"advise", "-r", req, "--index-url", srv.URL + "/simple", "--cache-dir", t.TempDir(),
		"-o", filepath.Join(dir, "requirements.lock"), "--explain"}, cp311...)...)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	for _, want := range []string{
		"flask==2.2.2: held down: flask==3.1.1 depends on werkzeug>=3.1.0",
		"werkzeug==2.2.2: held down by werkzeug<3 from -r requirements.txt",
		"markupsafe==2.1.2: the newest version with a file that installs on CPython 3.11 (cp311)",
		"2.1.5 skipped: no wheel for CPython 3.11 (cp311) on manylinux_2_36_x86_64 (offers cp313-cp313-manylinux_2_17_x86_64)",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("--explain output lacks %q:\n%s", want, out)
		}
	}
}
