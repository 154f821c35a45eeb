package lock

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/BurntSushi/toml"
)

// debianWheels are real wheels Debian ships (python3-pip-whl,
// python3-setuptools-whl, python3-wheel-whl); make deps installs them.
const debianWheels = "/usr/share/python-wheels"

// realLock pins the wheels in debianWheels with their real digests.
func realLock(t *testing.T) *Lock {
	t.Helper()
	entries, err := filepath.Glob(filepath.Join(debianWheels, "*.whl"))
	if err != nil || len(entries) < 2 {
		t.Fatalf("want Debian's wheels in %s (make deps): %v", debianWheels, entries)
	}
	l := &Lock{Target: "CPython 3.11 on linux_x86_64", RequiresPython: ">=3.7"}
	for _, p := range entries {
		data, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		sum := sha256.Sum256(data)
		parts := strings.Split(filepath.Base(p), "-")
		l.Packages = append(l.Packages, Package{
			Name: parts[0], Version: parts[1], Via: []string{"requirements.in"},
			Marker: mustMarker(`python_version >= "3"`),
			Artifacts: []Artifact{{
				Filename: filepath.Base(p), URL: "file://" + p, SHA256: hex.EncodeToString(sum[:]),
				Size: int64(len(data)), Kind: Wheel,
			}},
		})
	}
	return l
}

func pipInstall(t *testing.T, reqs []byte) ([]byte, string, error) {
	t.Helper()
	py, err := exec.LookPath("python3")
	if err != nil {
		t.Fatal("python3 with pip is needed")
	}
	dir := t.TempDir()
	req := filepath.Join(dir, "requirements.txt")
	if err := os.WriteFile(req, reqs, 0o644); err != nil {
		t.Fatal(err)
	}
	target := filepath.Join(dir, "target")
	cmd := exec.Command(py, "-m", "pip", "install", "--require-hashes", "--no-deps", "--no-index",
		"--find-links", debianWheels, "--target", target, "--no-cache-dir", "--disable-pip-version-check",
		"--no-compile", "-r", req)
	cmd.Env = append(os.Environ(), "PIP_CONFIG_FILE=/dev/null", "HOME="+dir)
	out, err := cmd.CombinedOutput()
	return out, target, err
}

// TestRequirementsInstallWithPip has pip install exactly the pinned
// wheels with --require-hashes, and refuse a lock whose hash is wrong.
func TestRequirementsInstallWithPip(t *testing.T) {
	t.Parallel() // waits on Python tools
	l := realLock(t)
	var b bytes.Buffer
	if err := WriteRequirements(&b, l, RequirementsOptions{}); err != nil {
		t.Fatal(err)
	}
	out, target, err := pipInstall(t, b.Bytes())
	if err != nil {
		t.Fatalf("pip install --require-hashes: %v\n%s\n%s", err, out, b.Bytes())
	}
	for _, p := range l.Packages {
		if _, err := os.Stat(filepath.Join(target, p.Name+"-"+p.Version+".dist-info")); err != nil {
			t.Errorf("pip did not install %s %s: %v\n%s", p.Name, p.Version, err, out)
		}
	}

	// One wrong digest: pip must refuse the whole install.
	bad := realLock(t)
	for i := range bad.Packages {
		if bad.Packages[i].Name == "wheel" {
			bad.Packages[i].Artifacts[0].SHA256 = strings.Repeat("0", 64)
		}
	}
	b.Reset()
	if err := WriteRequirements(&b, bad, RequirementsOptions{}); err != nil {
		t.Fatal(err)
	}
	out, _, err = pipInstall(t, b.Bytes())
	if err == nil || !strings.Contains(string(out), "DO NOT MATCH THE HASHES") {
		t.Errorf("pip accepted a wrong hash: %v\n%s", err, out)
	}
}

// TestPylockReadByTomllib has Python's tomllib read our pylock.toml and
// checks the fields an installer uses.
func TestPylockReadByTomllib(t *testing.T) {
	py, err := exec.LookPath("python3")
	if err != nil {
		t.Fatal("python3 is needed")
	}
	var b bytes.Buffer
	if err := WritePylock(&b, sampleLock()); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(py, "-c", `
import json, sys, tomllib
d = tomllib.loads(sys.stdin.read())
out = {"lock-version": d["lock-version"], "created-by": d["created-by"], "requires-python": d["requires-python"], "packages": []}
for p in d["packages"]:
    files = p.get("wheels", []) + ([p["sdist"]] if "sdist" in p else [])
    out["packages"].append({
        "name": p["name"], "version": p["version"], "marker": p.get("marker", ""), "index": p["index"],
        "files": sorted(f["name"] + "=" + f["hashes"]["sha256"] + "@" + (f["upload-time"].isoformat() if "upload-time" in f else "") for f in files),
    })
print(json.dumps(out))
`)
	cmd.Stdin = bytes.NewReader(b.Bytes())
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("tomllib: %v\n%s", err, b.Bytes())
	}
	var got struct {
		LockVersion    string `json:"lock-version"`
		CreatedBy      string `json:"created-by"`
		RequiresPython string `json:"requires-python"`
		Packages       []struct {
			Name, Version, Marker, Index string
			Files                        []string
		}
	}
	if err := json.Unmarshal(out, &got); err != nil {
		t.Fatal(err)
	}
	if got.LockVersion != "1.0" || got.CreatedBy != "seshat" || got.RequiresPython != "==3.11.*" || len(got.Packages) != 6 {
		t.Fatalf("tomllib read %+v", got)
	}
	flask := got.Packages[1]
	wantFiles := []string{
		"flask-3.0.0-py3-none-any.whl=" + sha('c') + "@2023-09-30T14:36:12.345678+00:00",
		"flask-3.0.0.tar.gz=" + sha('d') + "@2023-09-30T14:36:12.345678+00:00",
	}
	if flask.Name != "flask" || flask.Index != "https://pypi.org/simple" || strings.Join(flask.Files, " ") != strings.Join(wantFiles, " ") {
		t.Errorf("flask as tomllib reads it: %+v", flask)
	}
	if req := got.Packages[4]; req.Name != "requests" || req.Marker != "python_version >= '3.8'" {
		t.Errorf("requests as tomllib reads it: %+v", req)
	}

	// BurntSushi/toml must agree that it is TOML.
	var doc map[string]any
	if _, err := toml.Decode(b.String(), &doc); err != nil {
		t.Errorf("BurntSushi/toml: %v", err)
	}
}

// TestPylockEscapesStrings puts hostile text where index data lands.
func TestPylockEscapesStrings(t *testing.T) {
	l := sampleLock()
	l.Packages[0].Artifacts[0].URL = "https://x/\"quoted\"\\path\n[[packages]]\x7f"
	var b bytes.Buffer
	if err := WritePylock(&b, l); err != nil {
		t.Fatal(err)
	}
	var doc struct {
		Packages []struct {
			Wheels []struct{ URL string }
		}
	}
	if _, err := toml.Decode(b.String(), &doc); err != nil {
		t.Fatalf("decoding: %v\n%s", err, b.String())
	}
	if got := doc.Packages[5].Wheels[0].URL; got != l.Packages[0].Artifacts[0].URL {
		t.Errorf("URL came back as %q", got)
	}
	l.Packages[0].Artifacts[0].URL = "https://x/\xff"
	if err := WritePylock(&b, l); err == nil || !strings.Contains(err.Error(), "not valid UTF-8") {
		t.Errorf("invalid UTF-8: %v", err)
	}
}
