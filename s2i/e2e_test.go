package s2i_test

import (
	"bytes"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/seshat-dev/seshat/internal/fixtures"
	"github.com/seshat-dev/seshat/internal/pyindex"
)

// stockAssemble is a minimal sclorg-like assemble: what
// sclorg/s2i-python-container's assemble does with the application's
// dependencies, installing into the builder's venv /opt/app-root. pip enters
// hash-checking mode by itself when requirements.txt carries hashes, as with
// the real script. For Pipfile.lock it does what micropipenv does (no pipenv
// wheel is in the offline index): turn the lock into hashed requirements and
// install them with --require-hashes.
const stockAssemble = `#!/bin/bash
set -e
echo "---> stock assemble: installing the application's dependencies"
cd /tmp/src
if [ -n "$ENABLE_PIPENV" ] || [ -n "$ENABLE_MICROPIPENV" ]; then
  echo "---> stock assemble: installing Pipfile.lock"
  python3 - <<'PY' > /tmp/lock-requirements.txt
import json
lock = json.load(open("Pipfile.lock"))
for name, p in sorted(lock["default"].items()):
    print(name + p["version"] + "".join(" --hash=" + h for h in p["hashes"]))
PY
  pip install --no-cache-dir --require-hashes -r /tmp/lock-requirements.txt
elif [ -f requirements.txt ]; then
  echo "---> stock assemble: pip install -r requirements.txt"
  pip install --no-cache-dir -r requirements.txt
fi
echo "---> stock assemble: done"
`

// builder is an S2I-shaped builder: the real Debian 12 root (python3.11,
// the venv /opt/app-root) as the lower layer of an overlay, so the fixture
// is never written, with seshat, the stock assemble and an application in
// the upper layer.
type builder struct {
	t                    *testing.T
	lower, upper, work   string
	mnt                  string
	indexURL, hookSource string
}

// TestMain removes the seshat binary the tests built, once all are done.
func TestMain(m *testing.M) {
	code := m.Run()
	fixtures.RemoveBuilt()
	os.Exit(code)
}

// staticSeshat is seshat as the Containerfile builds it: the builder image
// has no Go and may have another libc.
func staticSeshat(t *testing.T) string { return fixtures.StaticSeshat(t) }

func newBuilder(t *testing.T, app map[string]string) *builder {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("needs root for overlay mounts and chroot (the S2I step runs as root in CI)")
	}
	for _, tool := range []string{"unshare", "chroot", "mount"} {
		if _, err := exec.LookPath(tool); err != nil {
			t.Fatalf("%s missing (util-linux/coreutils): %v", tool, err)
		}
	}
	tmp := t.TempDir()
	b := &builder{t: t, lower: fixtures.Path(t, "rootfs/debian12"),
		upper: filepath.Join(tmp, "upper"), work: filepath.Join(tmp, "work"), mnt: filepath.Join(tmp, "mnt")}
	for _, d := range []string{b.upper, b.work, b.mnt} {
		if err := os.Mkdir(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	b.put("usr/local/bin/seshat", string(mustRead(t, staticSeshat(t))), 0o755)
	b.put("usr/libexec/s2i/assemble", stockAssemble, 0o755)
	// The application uses seshat's hook as its .s2i/bin/assemble, as the
	// README tells users to.
	hook := mustRead(t, filepath.Join(fixtures.RepoRoot(), "s2i", "bin", "assemble"))
	b.put("tmp/src/.s2i/bin/assemble", string(hook), 0o755)
	b.put("tmp/src/app.py", "import flask\napp = flask.Flask(__name__)\n", 0o644)
	for name, text := range app {
		b.put("tmp/src/"+name, text, 0o644)
	}
	b.indexURL = pyindex.Start(t, fixtures.Path(t, "wheels")).URL + "/simple"
	return b
}

func (b *builder) put(rel, text string, mode os.FileMode) {
	b.t.Helper()
	p := filepath.Join(b.upper, rel)
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		b.t.Fatal(err)
	}
	if err := os.WriteFile(p, []byte(text), mode); err != nil {
		b.t.Fatal(err)
	}
}

// run runs argv inside the builder's root with only env set (as s2i runs
// assemble: the image's environment plus the build's), in a private mount
// namespace so the overlay and /proc vanish with the process. chroot shares
// the host's network namespace: the index on 127.0.0.1 is reachable and
// nothing else is configured.
func (b *builder) run(env []string, argv ...string) (string, int) {
	b.t.Helper()
	script := `set -e
mount -t overlay overlay -o "lowerdir=$1,upperdir=$2,workdir=$3" "$4"
mount -t proc proc "$4/proc"
root=$4; shift 4
exec chroot "$root" /usr/bin/env -i "$@"`
	args := []string{"--mount", "--propagation", "private", "--fork", "--pid", "sh", "-c", script, "sh", b.lower, b.upper, b.work, b.mnt}
	base := []string{"PATH=/opt/app-root/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
		"HOME=/opt/app-root/src", "STI_SCRIPTS_PATH=/usr/libexec/s2i", "PIP_INDEX_URL=" + b.indexURL,
		"PIP_DISABLE_PIP_VERSION_CHECK=1", "PIP_NO_INPUT=1", "LANG=C.UTF-8"}
	args = append(args, append(base, env...)...)
	args = append(args, argv...)
	cmd := exec.Command("unshare", args...)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	err := cmd.Run()
	code := 0
	if ee, ok := err.(*exec.ExitError); ok {
		code = ee.ExitCode()
	} else if err != nil {
		b.t.Fatalf("running %v in the builder: %v", argv, err)
	}
	return out.String(), code
}

// assemble runs the application's .s2i/bin/assemble as s2i does.
func (b *builder) assemble(env ...string) (string, int) {
	return b.run(env, "/tmp/src/.s2i/bin/assemble")
}

// versions reads the venv's distributions with its own Python.
func (b *builder) versions(names ...string) map[string]string {
	b.t.Helper()
	argv := append([]string{"/opt/app-root/bin/python3", "-c", `import json, sys
from importlib import metadata
v = {}
for n in sys.argv[1:]:
    try: v[n] = metadata.version(n)
    except metadata.PackageNotFoundError: v[n] = ""
print(json.dumps(v))`}, names...)
	out, code := b.run(nil, argv...)
	if code != 0 {
		b.t.Fatalf("reading the venv's distributions: exit %d\n%s", code, out)
	}
	got := map[string]string{}
	lines := strings.Split(strings.TrimSpace(out), "\n")
	if err := json.Unmarshal([]byte(lines[len(lines)-1]), &got); err != nil {
		b.t.Fatalf("reading the venv's distributions: %v\n%s", err, out)
	}
	return got
}

// srcFile reads a file of /tmp/src as the build left it.
func (b *builder) srcFile(name string) string {
	b.t.Helper()
	data, err := os.ReadFile(filepath.Join(b.upper, "tmp/src", name))
	if err != nil {
		b.t.Fatalf("reading /tmp/src/%s after the build: %v", name, err)
	}
	return string(data)
}

func mustRead(t *testing.T, p string) []byte {
	t.Helper()
	data, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	return data
}

var pinRE = regexp.MustCompile(`(?m)^([A-Za-z0-9_.-]+)==([^ \\\n]+)`)

// pins reads name==version lines of a requirements lock.
func pins(text string) map[string]string {
	m := map[string]string{}
	for _, g := range pinRE.FindAllStringSubmatch(text, -1) {
		m[strings.ToLower(g[1])] = g[2]
	}
	return m
}

func TestAssembleRequirementsInChroot(t *testing.T) {
	t.Parallel()
	b := newBuilder(t, map[string]string{"requirements.txt": "flask>=2\n"})
	out, code := b.assemble()
	if code != 0 {
		t.Fatalf("assemble exited %d:\n%s", code, out)
	}
	if !strings.Contains(out, "---> stock assemble: pip install -r requirements.txt") {
		t.Errorf("the stock assemble did not install requirements.txt:\n%s", out)
	}
	lock := b.srcFile("requirements.txt")
	if !strings.Contains(lock, "--hash=sha256:") {
		t.Fatalf("requirements.txt is not the advised lock:\n%s", lock)
	}
	p := pins(lock)
	// The venv has no Flask; the index's newest for Python 3.11 is 3.1.1.
	if p["flask"] != "3.1.1" || p["werkzeug"] == "" || p["markupsafe"] == "" {
		t.Fatalf("lock pins %v, want flask 3.1.1 and its dependencies:\n%s", p, lock)
	}
	got := b.versions("flask", "werkzeug", "jinja2", "markupsafe", "itsdangerous", "click", "blinker")
	for name, v := range got {
		if p[name] != v {
			t.Errorf("%s: the venv has %q, the lock pins %q", name, v, p[name])
		}
	}
}

func TestAssemblePipfileLockWithMicropipenvInChroot(t *testing.T) {
	t.Parallel()
	b := newBuilder(t, map[string]string{"Pipfile": `[packages]
requests = "*"

[requires]
python_version = "3.11"
`})
	out, code := b.assemble("ENABLE_MICROPIPENV=1")
	if code != 0 {
		t.Fatalf("assemble exited %d:\n%s", code, out)
	}
	var lock struct {
		Default map[string]struct {
			Version string   `json:"version"`
			Hashes  []string `json:"hashes"`
		} `json:"default"`
	}
	if err := json.Unmarshal([]byte(b.srcFile("Pipfile.lock")), &lock); err != nil {
		t.Fatalf("Pipfile.lock: %v", err)
	}
	req, ok := lock.Default["requests"]
	if !ok || len(req.Hashes) == 0 {
		t.Fatalf("Pipfile.lock has no hashed requests pin: %+v", lock.Default)
	}
	got := b.versions("requests", "urllib3", "idna")
	if "=="+got["requests"] != req.Version || "=="+got["urllib3"] != lock.Default["urllib3"].Version {
		t.Errorf("the venv has %v, the lock pins requests %s, urllib3 %s", got, req.Version, lock.Default["urllib3"].Version)
	}
}

func TestAssembleDryRunKeepsTheAppsFiles(t *testing.T) {
	t.Parallel()
	own := "flask==2.2.2\nwerkzeug==2.2.2\n"
	b := newBuilder(t, map[string]string{"requirements.txt": own})
	out, code := b.assemble("SESHAT_DRY_RUN=1")
	if code != 0 {
		t.Fatalf("assemble exited %d:\n%s", code, out)
	}
	if !strings.Contains(out, "flask==2.2.2 \\") || !strings.Contains(out, "--hash=sha256:") {
		t.Errorf("the dry run did not print the advised lock:\n%s", out)
	}
	if got := b.srcFile("requirements.txt"); got != own {
		t.Errorf("requirements.txt changed in a dry run:\n%s", got)
	}
	if got := b.versions("flask", "werkzeug"); got["flask"] != "2.2.2" || got["werkzeug"] != "2.2.2" {
		t.Errorf("the venv has %v, want the app's own flask 2.2.2, werkzeug 2.2.2", got)
	}
}

func TestAssembleFailedAdvise(t *testing.T) {
	t.Parallel()
	// Nothing in the index satisfies this: the advise fails, and so would pip.
	own := "flask>=99\n"
	b := newBuilder(t, map[string]string{"requirements.txt": own})

	out, code := b.assemble()
	if code == 0 || strings.Contains(out, "---> stock assemble") {
		t.Fatalf("a failed advise must stop the build before the stock assemble (exit %d):\n%s", code, out)
	}
	if !strings.Contains(out, "SESHAT_ERROR_FALLBACK=1") || !strings.Contains(strings.ToLower(out), "flask") {
		t.Errorf("the failure does not name the package and the way out:\n%s", out)
	}

	out, code = b.assemble("SESHAT_ERROR_FALLBACK=1")
	if !strings.Contains(out, "seshat: warning:") || !strings.Contains(out, "---> stock assemble: pip install -r requirements.txt") {
		t.Fatalf("with SESHAT_ERROR_FALLBACK=1 the stock assemble must run after a warning:\n%s", out)
	}
	if code == 0 {
		t.Errorf("pip installed an unsatisfiable requirement?\n%s", out)
	}
	if got := b.srcFile("requirements.txt"); got != own {
		t.Errorf("requirements.txt changed by a failed advise:\n%s", got)
	}
}

func TestAssembleAdviseOff(t *testing.T) {
	t.Parallel()
	own := "six==1.16.0\n"
	b := newBuilder(t, map[string]string{"requirements.txt": own})
	out, code := b.assemble("SESHAT_ADVISE=0")
	if code != 0 {
		t.Fatalf("assemble exited %d:\n%s", code, out)
	}
	if strings.Contains(out, "seshat: advising") {
		t.Errorf("SESHAT_ADVISE=0 still advised:\n%s", out)
	}
	if got := b.srcFile("requirements.txt"); got != own {
		t.Errorf("requirements.txt changed:\n%s", got)
	}
	if got := b.versions("six"); got["six"] != "1.16.0" {
		t.Errorf("the venv has six %q, want the app's 1.16.0", got["six"])
	}
}

func TestHookWithoutSeshatRunsTheStockAssemble(t *testing.T) {
	t.Parallel()
	b := newBuilder(t, map[string]string{"requirements.txt": "six==1.17.0\n"})
	if err := os.Remove(filepath.Join(b.upper, "usr/local/bin/seshat")); err != nil {
		t.Fatal(err)
	}
	out, code := b.assemble()
	if code != 0 {
		t.Fatalf("assemble exited %d:\n%s", code, out)
	}
	if !strings.Contains(out, "seshat: not found on PATH") || !strings.Contains(out, "---> stock assemble: done") {
		t.Errorf("the hook did not fall back to the stock assemble with a message:\n%s", out)
	}
	if got := b.versions("six"); got["six"] != "1.17.0" {
		t.Errorf("the venv has six %q, want 1.17.0", got["six"])
	}
}
