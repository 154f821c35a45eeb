package main

import (
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/seshat-dev/seshat/internal/fixtures"
	"github.com/seshat-dev/seshat/internal/pyindex"
)

// The Debian 12 fixture image, named as an OCI layout and as a saved
// Analysis: the lock fits its CPython 3.11 and glibc 2.36, pip installs it
// for exactly the image's platform tags, and the report says what was used.
func TestAdviseImageFlaskApp(t *testing.T) {
	srv := pyindex.Start(t, fixtures.Path(t, "wheels"))
	dir := t.TempDir()
	req := write(t, filepath.Join(dir, "requirements.txt"), "flask\n")
	image := "oci:" + fixtures.Path(t, "images/debian12")
	lockFile := filepath.Join(dir, "requirements.lock")
	reportFile := filepath.Join(dir, "report.json")
	out, errOut, code := runSeshat(t, "advise", "--image", image, "-r", req, "--index-url", srv.URL+"/simple",
		"--cache-dir", filepath.Join(dir, "cache"), "-o", lockFile, "--report", reportFile, "--explain")
	if code != 0 {
		t.Fatalf("exit %d\n%s", code, errOut)
	}
	for _, want := range []string{"interpreter: /usr/bin/python3.11 (as /opt/app-root/bin/python3)", "glibc 2.36", "CUDA: none", "flask==3.1.1:"} {
		if !strings.Contains(out, want) {
			t.Errorf("--explain does not say %q:\n%s", want, out)
		}
	}
	var rep struct {
		Environment struct {
			PythonVersion  string
			Platforms      []string
			InstalledCount int
		}
		Pins []struct{ Name, Version, Why string }
	}
	b, err := os.ReadFile(reportFile)
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(b, &rep); err != nil {
		t.Fatal(err)
	}
	if rep.Environment.PythonVersion != "3.11.2" || len(rep.Environment.Platforms) == 0 || rep.Environment.InstalledCount != 3 || len(rep.Pins) != 7 {
		t.Errorf("report: %s", b)
	}

	// pip installs the lock for the image's target: its Python and every one of its tags.
	args := []string{"-m", "pip", "install", "--require-hashes", "--no-deps", "--only-binary=:all:", "--python-version", "3.11",
		"--target", filepath.Join(dir, "site"), "--index-url", srv.URL + "/simple", "-r", lockFile}
	for _, p := range rep.Environment.Platforms {
		args = append(args, "--platform", p)
	}
	pip := exec.Command("python3", args...)
	pip.Env = append(os.Environ(), "PIP_NO_CACHE_DIR=1", "PIP_DISABLE_PIP_VERSION_CHECK=1", "PIP_CONFIG_FILE=/dev/null")
	if b, err := pip.CombinedOutput(); err != nil {
		t.Fatalf("pip install: %v\n%s", err, b)
	}
	if got := distInfos(t, filepath.Join(dir, "site")); got["flask"] != "3.1.1" || got["markupsafe"] != "2.1.2" || len(got) != 7 {
		t.Errorf("pip installed %v", got)
	}

	// The same image as a saved Analysis gives the same lock.
	analysis := filepath.Join(dir, "analysis.json")
	if _, errOut, code := runSeshat(t, "analyze", "--no-cache", image, "-o", analysis); code != 0 {
		t.Fatalf("analyze: exit %d\n%s", code, errOut)
	}
	lock2 := filepath.Join(dir, "requirements2.lock")
	if _, errOut, code := runSeshat(t, "advise", "--analysis", analysis, "-r", req, "--index-url", srv.URL+"/simple",
		"--cache-dir", filepath.Join(dir, "cache"), "-o", lock2); code != 0 {
		t.Fatalf("--analysis: exit %d\n%s", code, errOut)
	}
	a, _ := os.ReadFile(lockFile)
	c, _ := os.ReadFile(lock2)
	if string(a) != string(c) {
		t.Errorf("--analysis lock differs from --image lock:\n%s\n---\n%s", a, c)
	}

	// Flags override what the image says.
	out, errOut, code = runSeshat(t, "advise", "--analysis", analysis, "-r", req, "--index-url", srv.URL+"/simple",
		"--cache-dir", filepath.Join(dir, "cache"), "--python-version", "3.13", "--explain")
	if code != 0 {
		t.Fatalf("override: exit %d\n%s", code, errOut)
	}
	if !strings.Contains(out, "markupsafe==2.1.5") {
		t.Errorf("--python-version 3.13 over the image's 3.11 should lock the cp313 markupsafe:\n%s", out)
	}
}

func TestAdviseImageUsageErrors(t *testing.T) {
	dir := t.TempDir()
	req := write(t, filepath.Join(dir, "requirements.txt"), "flask\n")
	image := "oci:" + fixtures.Path(t, "images/debian12")
	for _, c := range []struct {
		args []string
		code int
		want string
	}{
		{[]string{"--image", image, "--recommendation-type", "fastest"}, 2, "want one of latest, stable, security, performance"},
		{[]string{"--image", image, "--installed", "maybe"}, 2, "want keep, prefer or ignore"},
		{[]string{"--image", image, "--analysis", "x.json"}, 2, "only one of --image, --analysis and --root"},
		{[]string{"--python", "/usr/bin/python3", "--python-version", "3.11", "--platform", "linux_x86_64"}, 2, "--python needs --image"},
		{[]string{"--image", image, "--recommendation-type", "security"}, 2, "needs --advisories"},
		{[]string{"--image", "docker-archive:" + fixtures.Path(t, "images/distroless-debian9.tar")}, 8, "has no Python interpreter (found Distroless"},
	} {
		args := append([]string{"advise", "-r", req, "--index-url", "http://127.0.0.1:9/simple"}, c.args...)
		_, errOut, code := runSeshat(t, args...)
		if code != c.code || !strings.Contains(errOut, c.want) {
			t.Errorf("%v: exit %d, %q; want exit %d saying %q", c.args, code, errOut, c.code, c.want)
		}
	}
}

// --root reads a root filesystem in place (as inside a build): the Debian
// 12 root's dpkg-installed requests stays out of the lock.
func TestAdviseRootKeepsInstalled(t *testing.T) {
	srv := pyindex.Start(t, fixtures.Path(t, "wheels"))
	dir := t.TempDir()
	req := write(t, filepath.Join(dir, "requirements.txt"), "requests\nrich\n")
	lockFile := filepath.Join(dir, "requirements.lock")
	out, errOut, code := runSeshat(t, "advise", "--root", fixtures.Path(t, "rootfs/debian12"), "-r", req,
		"--index-url", srv.URL+"/simple", "--cache-dir", filepath.Join(dir, "cache"), "-o", lockFile, "--explain")
	if code != 0 {
		t.Fatalf("exit %d\n%s", code, errOut)
	}
	if !strings.Contains(out, "kept requests==2.28.1") || !strings.Contains(out, "interpreter: /usr/bin/python3.11 (as /usr/bin/python3)") {
		t.Errorf("--explain:\n%s", out)
	}
	b, err := os.ReadFile(lockFile)
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(string(b), "requests==") || !strings.Contains(string(b), "rich==13.9.4") {
		t.Errorf("lock:\n%s", b)
	}
}
