// Package buildkit holds seshat's build-time patterns for BuildKit-style
// builders (Containerfile.example). The test builds the pattern for real
// with Debian's buildah (chroot isolation, vfs storage: no daemon, no
// privileges beyond root in this machine) from the Debian 12 fixture image
// and the local index, offline.
package buildkit

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

// buildah runs buildah on the test's own storage, so parallel tests and
// other users of the machine never share images or locks.
type buildah struct {
	t     *testing.T
	store string
}

func (b buildah) run(args ...string) string {
	b.t.Helper()
	global := []string{"--storage-driver", "vfs", "--root", filepath.Join(b.store, "root"), "--runroot", filepath.Join(b.store, "run")}
	cmd := exec.Command("buildah", append(global, args...)...)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Run(); err != nil {
		b.t.Fatalf("buildah %s: %v\n%s", strings.Join(args, " "), err, out.String())
	}
	return out.String()
}

func TestContainerfileExampleWithBuildah(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("buildah with chroot isolation and vfs storage needs root here")
	}
	if _, err := exec.LookPath("buildah"); err != nil {
		t.Fatal("buildah missing: run `make deps` (Debian's buildah)")
	}
	b := buildah{t: t, store: t.TempDir()}

	// The seshat image: the static binary alone, as the Containerfile's
	// final stage has it.
	sctx := t.TempDir()
	bin := filepath.Join(sctx, "seshat")
	build := exec.Command("go", "build", "-o", bin, "./cmd/seshat")
	build.Dir = fixtures.RepoRoot()
	build.Env = append(os.Environ(), "CGO_ENABLED=0")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("building seshat: %v\n%s", err, out)
	}
	if err := os.WriteFile(filepath.Join(sctx, "Containerfile"), []byte("FROM scratch\nCOPY seshat /usr/local/bin/seshat\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	b.run("bud", "--isolation", "chroot", "-t", "localhost/seshat-test:latest", "-f", filepath.Join(sctx, "Containerfile"), sctx)

	// The application: an unpinned requirement the base's venv lacks.
	app := t.TempDir()
	for name, text := range map[string]string{"requirements.txt": "flask\n", "app.py": "import flask\n"} {
		if err := os.WriteFile(filepath.Join(app, name), []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	index := pyindex.Start(t, fixtures.Path(t, "wheels"))
	// buildah parses an oci: path as an image name, which must be lowercase,
	// and the checkout may live anywhere: reach the layout through a
	// lowercase link.
	linkDir, err := os.MkdirTemp("", "seshat-buildah-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(linkDir) })
	layoutLink := filepath.Join(linkDir, "debian12")
	if err := os.Symlink(fixtures.Path(t, "images/debian12"), layoutLink); err != nil {
		t.Fatal(err)
	}
	base := "oci:" + layoutLink + ":latest"
	// Host network: the index listens on the host's loopback; nothing else
	// is reachable or configured.
	out := b.run("bud", "--isolation", "chroot", "--network", "host",
		"--build-arg", "BASE="+base,
		"--build-arg", "SESHAT_IMAGE=localhost/seshat-test:latest",
		"--build-arg", "PIP_INDEX_URL="+index.URL+"/simple",
		"-f", filepath.Join(fixtures.RepoRoot(), "buildkit", "Containerfile.example"),
		"-t", "localhost/app:latest", app)
	t.Logf("build:\n%s", out)
	if !strings.Contains(out, "Successfully installed") {
		t.Errorf("pip installed nothing in the final stage:\n%s", out)
	}

	// Read the result with the image's own Python.
	ctr := strings.TrimSpace(b.run("from", "--pull-never", "localhost/app:latest"))
	got := b.run("run", "--isolation", "chroot", ctr, "--", "python3", "-c", `from importlib import metadata
import os
for n in ("flask", "werkzeug", "markupsafe", "click"): print(n, metadata.version(n))
lock = "/tmp/requirements.lock"
print("seshat in image:", os.path.exists("/tmp/seshat-bin/seshat"))
print("lock bytes in image:", os.path.getsize(lock) if os.path.exists(lock) else 0)`)
	// Click is what the base's system site-packages has (python3-click) and
	// its venv lacks: the lock must pin it, or pip --require-hashes refuses.
	// A bind mount may leave its empty mount point behind, never the content.
	for _, want := range []string{"flask 3.1.1", "werkzeug 3.1.3", "markupsafe 2.1.2", "click 8.1.8", "seshat in image: False", "lock bytes in image: 0"} {
		if !strings.Contains(got, want) {
			t.Errorf("built image: want %q in\n%s", want, got)
		}
	}
}
