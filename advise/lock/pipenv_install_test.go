package lock

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/seshat-dev/seshat/advise/reqfile"
	"github.com/seshat-dev/seshat/internal/fixtures"
)

// fileIndex lays out a PEP 503 simple index under dir for the given
// fixture wheels and returns its file:// URL and each wheel's artifact.
func fileIndex(t *testing.T, dir string, wheels ...string) (string, map[string]Artifact) {
	t.Helper()
	arts := map[string]Artifact{}
	for _, w := range wheels {
		data, err := os.ReadFile(fixtures.Path(t, "wheels/"+w))
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, w), data, 0o644); err != nil {
			t.Fatal(err)
		}
		sum := sha256.Sum256(data)
		h := hex.EncodeToString(sum[:])
		project := strings.ReplaceAll(strings.Split(w, "-")[0], "_", "-")
		pdir := filepath.Join(dir, "simple", project)
		if err := os.MkdirAll(pdir, 0o755); err != nil {
			t.Fatal(err)
		}
		page := fmt.Sprintf("<!DOCTYPE html><html><body><a href=\"../../%s#sha256=%s\">%s</a></body></html>\n", w, h, w)
		if err := os.WriteFile(filepath.Join(pdir, "index.html"), []byte(page), 0o644); err != nil {
			t.Fatal(err)
		}
		arts[project] = Artifact{Filename: w, URL: "file://" + filepath.Join(dir, w), SHA256: h, Size: int64(len(data)), Kind: Wheel}
	}
	return "file://" + filepath.Join(dir, "simple"), arts
}

// TestPipenvInstallDeploy has Debian's pipenv install our Pipfile.lock
// with --deploy (which refuses a stale lock) from a local index: the
// pinned default and develop packages land in the virtualenv, a package
// whose marker is false on this machine does not, and a wrong hash fails
// the install.
func TestPipenvInstallDeploy(t *testing.T) {
	t.Parallel() // waits on Python tools
	pipenv, err := exec.LookPath("pipenv")
	if err != nil {
		t.Fatal("pipenv not installed: run make deps")
	}
	dir := t.TempDir()
	indexURL, arts := fileIndex(t, dir, "itsdangerous-2.2.0-py3-none-any.whl", "six-1.17.0-py3-none-any.whl", "mdurl-0.1.2-py3-none-any.whl")
	pipfile := fmt.Sprintf(`[[source]]
url = %q
verify_ssl = false
name = "local"

[packages]
itsdangerous = "==2.2.0"
mdurl = {version = "*", sys_platform = "== 'win32'"}

[dev-packages]
six = "*"

[requires]
python_version = "3.11"
`, indexURL)
	l := &Lock{Packages: []Package{
		{Name: "itsdangerous", Version: "2.2.0", Index: "local", Artifacts: []Artifact{arts["itsdangerous"]}},
		{Name: "mdurl", Version: "0.1.2", Index: "local", Marker: mustMarker(`sys_platform == "win32"`), Artifacts: []Artifact{arts["mdurl"]}},
		{Name: "six", Version: "1.17.0", Index: "local", Develop: true, Artifacts: []Artifact{arts["six"]}},
	}}

	install := func(l *Lock) (string, []byte, error) {
		proj := filepath.Join(t.TempDir(), "proj")
		if err := os.MkdirAll(proj, 0o755); err != nil {
			t.Fatal(err)
		}
		pfPath := filepath.Join(proj, "Pipfile")
		if err := os.WriteFile(pfPath, []byte(pipfile), 0o644); err != nil {
			t.Fatal(err)
		}
		in, err := reqfile.ParsePipfile(pfPath)
		if err != nil {
			t.Fatal(err)
		}
		var b bytes.Buffer
		if err := WritePipfileLock(&b, l, in.Pipfile); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(proj, "Pipfile.lock"), b.Bytes(), 0o644); err != nil {
			t.Fatal(err)
		}
		cmd := exec.Command(pipenv, "install", "--deploy", "--dev", "--python", "/usr/bin/python3")
		cmd.Dir = proj
		cmd.Env = append(os.Environ(), "HOME="+proj, "PIPENV_VENV_IN_PROJECT=1", "PIPENV_IGNORE_VIRTUALENVS=1",
			"PIPENV_PIPFILE="+pfPath, "PIPENV_NOSPIN=1", "PIPENV_YES=1", "NO_COLOR=1", "PIP_NO_CACHE_DIR=1",
			"PIP_CONFIG_FILE=/dev/null", "VIRTUALENV_NO_DOWNLOAD=1", "PIP_DISABLE_PIP_VERSION_CHECK=1")
		out, err := cmd.CombinedOutput()
		return filepath.Join(proj, ".venv", "lib", "python3.11", "site-packages"), out, err
	}

	site, out, err := install(l)
	if err != nil {
		t.Fatalf("pipenv install --deploy: %v\n%s", err, out)
	}
	for _, want := range []string{"itsdangerous-2.2.0.dist-info", "six-1.17.0.dist-info"} {
		if _, err := os.Stat(filepath.Join(site, want)); err != nil {
			t.Errorf("pipenv did not install %s: %v\n%s", want, err, out)
		}
	}
	if m, _ := filepath.Glob(filepath.Join(site, "mdurl*")); len(m) > 0 {
		t.Errorf("pipenv installed mdurl although its marker is false here: %v", m)
	}

	bad := *l
	bad.Packages = append([]Package(nil), l.Packages...)
	a := arts["itsdangerous"]
	a.SHA256 = strings.Repeat("0", 64)
	bad.Packages[0].Artifacts = []Artifact{a}
	if _, out, err := install(&bad); err == nil || !strings.Contains(strings.ToUpper(string(out)), "HASH") {
		t.Errorf("pipenv installed a package whose hash is wrong, or failed for another reason (%v):\n%s", err, out)
	}
}
