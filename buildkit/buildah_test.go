// Package buildkit holds seshat's build-time patterns for BuildKit-style
// builders (Containerfile.example). The test builds the pattern for real
// with Debian's buildah (chroot isolation, vfs storage: no daemon, no
// privileges beyond root in this machine) from the Debian 12 fixture image
// and the local index, offline.
package buildkit

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/seshat-dev/seshat/internal/buildah"
	"github.com/seshat-dev/seshat/internal/fixtures"
	"github.com/seshat-dev/seshat/internal/pyindex"
)

// TestMain removes the seshat binary the test built.
func TestMain(m *testing.M) {
	code := m.Run()
	fixtures.RemoveBuilt()
	os.Exit(code)
}

func TestContainerfileExampleWithBuildah(t *testing.T) {
	b := buildah.New(t)

	// The seshat image: the static binary alone, as the Containerfile's
	// final stage has it.
	bin, err := os.ReadFile(fixtures.StaticSeshat(t))
	if err != nil {
		t.Fatal(err)
	}
	b.Build("localhost/seshat-test:latest", "FROM scratch\nCOPY seshat /usr/local/bin/seshat\n",
		map[string][]byte{"seshat": bin})

	// The application: an unpinned requirement the base's venv lacks.
	app := t.TempDir()
	for name, text := range map[string]string{"requirements.txt": "flask\n", "app.py": "import flask\n"} {
		if err := os.WriteFile(filepath.Join(app, name), []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	index := pyindex.Start(t, fixtures.Path(t, "wheels"))
	base := buildah.LayoutRef(t, fixtures.Path(t, "images/debian12"), "latest")
	// Host network: the index listens on the host's loopback; nothing else
	// is reachable or configured.
	out := b.Run("bud", "--isolation", "chroot", "--network", "host",
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
	ctr := strings.TrimSpace(b.Run("from", "--pull-never", "localhost/app:latest"))
	got := b.Run("run", "--isolation", "chroot", ctr, "--", "python3", "-c", `from importlib import metadata
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
