package lock

import (
	"bytes"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/seshat-dev/seshat/advise/reqfile"
)

// pipfiles exercise what pipenv's hash depends on: sources present or
// not, unexpanded variables, inline tables, custom package categories,
// non-ASCII text, numbers and sections the hash leaves out.
var pipfiles = map[string]string{
	"minimal": "[packages]\nrequests = \"*\"\n",
	"empty":   "",
	"full": `[[source]]
url = "https://pypi.org/simple"
verify_ssl = true
name = "pypi"

[[source]]
url = "http://${SESHAT_INDEX_HOST}/simple"
verify_ssl = false
name = "local"

[packages]
Flask = ">=2.0"
requests = {version = ">=2.8", extras = ["socks", "security"], index = "local"}
pywin32 = {version = "*", sys_platform = "== 'win32'"}

[dev-packages]
pytest = "*"

[requires]
python_version = "3.11"

[scripts]
serve = "flask run"

[pipenv]
allow_prereleases = false
`,
	"custom-category": `[packages]
flask = "*"

[docs]
sphinx = {version = ">=7", markers = "python_version >= '3.9'"}
`,
	"unicode-and-numbers": `[[source]]
url = "https://example.org/simple"
verify_ssl = true
name = "café–index 🐍"

[packages]
"zope.interface" = "*"
thing = {version = "==1.0", markers = "platform_version == 'naïve \"quoted\" \\ back'"}

[weird]
numbers = {version = "*", answer = 42, pi = 3.14159, big = 1e20, small = 0.00001, whole = 2.0, neg = -7, flag = true, list = [1, "two", 3.5]}
`,
	"toml-forms": `[[source]]
url = 'https://pypi.org/simple'
verify_ssl = true
name = "pypi"

[packages.requests]
version = ">=2"
extras = ["socks"]

[packages]
"Jinja2" = '''>=3'''

[odd]
x = {version = "*", hex = 0xff, oct = 0o17, bin = 0b101, under = 1_000, inf = inf, ninf = -inf, nzero = -0.0, exp = 6.02e23, tiny = 1e-7, text = """
two
lines\u00e9\t""", nested = [[1, 2], ["a"]], tbl = {a = {b = true}}}
`,
	"http-source": `[[source]]
url = "http://127.0.0.1:8080/simple"
verify_ssl = false
name = "local"

[packages]
click = "==8.1.7"

[requires]
python_full_version = "3.11.7"
`,
}

// plette computes hashes with pipenv's own code (pipenv's vendored
// plette), for several Pipfiles in one run: importing pipenv is slow.
func plette(t *testing.T, paths []string) map[string]string {
	t.Helper()
	out, err := exec.Command("/usr/bin/python3", append([]string{"-c", `
import sys
from pipenv.vendor import plette
for path in sys.argv[1:]:
    with open(path) as f:
        print(plette.Pipfile.load(f).get_hash().value)
`}, paths...)...).Output()
	if err != nil {
		if ee, ok := err.(*exec.ExitError); ok {
			t.Fatalf("plette on %s: %v\n%s", paths, err, ee.Stderr)
		}
		t.Fatalf("running pipenv's plette (install Debian's pipenv: make deps): %v", err)
	}
	lines := strings.Fields(string(out))
	if len(lines) != len(paths) {
		t.Fatalf("plette printed %q for %d Pipfiles", out, len(paths))
	}
	hashes := map[string]string{}
	for i, p := range paths {
		hashes[p] = lines[i]
	}
	return hashes
}

func loadPipfile(t *testing.T, name, content string) (string, *reqfile.Input) {
	t.Helper()
	dir := filepath.Join(t.TempDir(), name)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(dir, "Pipfile")
	if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
	in, err := reqfile.ParsePipfile(path)
	if err != nil {
		t.Fatalf("ParsePipfile %s: %v", name, err)
	}
	return path, in
}

func TestPipfileHashMatchesPipenv(t *testing.T) {
	t.Parallel() // waits on Python tools
	var paths []string
	ours := map[string]string{}
	for name, content := range pipfiles {
		path, in := loadPipfile(t, name, content)
		h, err := PipfileHash(in.Pipfile)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		paths = append(paths, path)
		ours[path] = h
	}
	for path, want := range plette(t, paths) {
		if ours[path] != want {
			t.Errorf("%s: PipfileHash = %s, pipenv says %s", filepath.Base(filepath.Dir(path)), ours[path], want)
		}
	}
}

func TestPipfileHashRefusesDates(t *testing.T) {
	_, in := loadPipfile(t, "dated", "[custom]\nwhen = 2024-01-01T00:00:00Z\n")
	if _, err := PipfileHash(in.Pipfile); err == nil || !strings.Contains(err.Error(), "no JSON form") {
		t.Errorf("PipfileHash with a TOML date: %v", err)
	}
}

// TestPipfileLockIsPipenvJSON re-encodes our output with pipenv's own
// JSON settings; the bytes must not change.
func TestPipfileLockIsPipenvJSON(t *testing.T) {
	_, in := loadPipfile(t, "full", pipfiles["full"])
	var buf bytes.Buffer
	if err := WritePipfileLock(&buf, sampleLock(), in.Pipfile); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command("/usr/bin/python3", "-c", `
import json, sys
from pipenv.project import _LockFileEncoder
data = sys.stdin.read()
out = _LockFileEncoder().encode(json.loads(data)) + "\n"
sys.stdout.write(out)
`)
	cmd.Stdin = bytes.NewReader(buf.Bytes())
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("pipenv's encoder: %v", err)
	}
	if !bytes.Equal(out, buf.Bytes()) {
		t.Errorf("pipenv re-encodes our Pipfile.lock differently:\nours:\n%s\npipenv:\n%s", buf.Bytes(), out)
	}
	var doc map[string]any
	if err := json.Unmarshal(buf.Bytes(), &doc); err != nil {
		t.Fatal(err)
	}
	meta := doc["_meta"].(map[string]any)
	srcs := meta["sources"].([]any)
	if u := srcs[1].(map[string]any)["url"]; u != "http://${SESHAT_INDEX_HOST}/simple" {
		t.Errorf("source url = %v, want it as written in the Pipfile", u)
	}
}

// TestPipenvVerify runs Debian's pipenv on a project holding the Pipfile
// and the Pipfile.lock we wrote: pipenv must find the lock up to date.
func TestPipenvVerify(t *testing.T) {
	t.Parallel() // waits on Python tools
	pipenv, err := exec.LookPath("pipenv")
	if err != nil {
		t.Fatal("pipenv not installed: run make deps")
	}
	for _, name := range []string{"full", "http-source"} {
		t.Run(name, func(t *testing.T) {
			path, in := loadPipfile(t, name, pipfiles[name])
			dir := filepath.Dir(path)
			var buf bytes.Buffer
			if err := WritePipfileLock(&buf, sampleLock(), in.Pipfile); err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(filepath.Join(dir, "Pipfile.lock"), buf.Bytes(), 0o644); err != nil {
				t.Fatal(err)
			}
			verify := func() ([]byte, error) {
				cmd := exec.Command(pipenv, "verify")
				cmd.Dir = dir
				cmd.Env = append(os.Environ(), "HOME="+dir, "PIPENV_VENV_IN_PROJECT=1", "PIPENV_IGNORE_VIRTUALENVS=1",
					"PIPENV_PIPFILE="+path, "PIPENV_NOSPIN=1", "PIPENV_YES=1", "NO_COLOR=1")
				return cmd.CombinedOutput()
			}
			out, err := verify()
			if err != nil || !strings.Contains(string(out), "up-to-date") {
				t.Errorf("pipenv verify: %v\n%s", err, out)
			}
			if name != "full" {
				return // pipenv is slow to start; one staleness check is enough
			}
			// And a Pipfile edit must make pipenv see the lock as stale.
			if err := os.WriteFile(path, []byte(pipfiles[name]+"\n[packages-extra]\nx = \"*\"\n"), 0o644); err != nil {
				t.Fatal(err)
			}
			out, err = verify()
			if err == nil {
				t.Errorf("pipenv verify accepted a stale lock:\n%s", out)
			}
		})
	}
}

// loadPipfileNoT parses Pipfile text for table-driven writers.
func loadPipfileNoT(content string) (string, *reqfile.Pipfile) {
	in, err := reqfile.ParsePipfileData("Pipfile", []byte(content))
	if err != nil {
		panic(err)
	}
	return "Pipfile", in.Pipfile
}
