package s2i_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/seshat-dev/seshat/internal/buildah"
	"github.com/seshat-dev/seshat/internal/fixtures"
	"github.com/seshat-dev/seshat/internal/pyindex"
)

// Containerfile.example built for real with buildah, builder-wide: an
// sclorg-shaped builder (the Debian 12 image, its venv /opt/app-root owned
// by user 1001, the stock assemble in /usr/libexec/s2i) gets seshat, and an
// application built on it the way `s2i build` does — sources copied to
// /tmp/src, then the builder's assemble run as 1001 — installs the lock
// seshat advised, offline, from the local index.
func TestContainerfileExampleBuilderWide(t *testing.T) {
	b := buildah.New(t)
	hook := mustRead(t, filepath.Join(fixtures.RepoRoot(), "s2i", "bin", "assemble"))

	// seshat's image as the Containerfile's final stage has it: the static
	// binary and the hook.
	b.Build("localhost/seshat-s2i:latest", "FROM scratch\n"+
		"COPY seshat /usr/local/bin/seshat\n"+
		"COPY assemble /usr/libexec/seshat/s2i/assemble\n",
		map[string][]byte{"seshat": mustRead(t, staticSeshat(t)), "assemble": hook})

	base := buildah.LayoutRef(t, fixtures.Path(t, "images/debian12"), "latest")
	b.Build("localhost/builder:latest", "FROM "+base+"\n"+
		"ENV STI_SCRIPTS_PATH=/usr/libexec/s2i\n"+
		"COPY assemble /usr/libexec/s2i/assemble\n"+
		"RUN chown -R 1001:0 /opt/app-root && mkdir -p /tmp/src && chown 1001:0 /tmp/src\n"+
		"USER 1001\n",
		map[string][]byte{"assemble": []byte(stockAssemble)})

	b.Run("bud", "--isolation", "chroot",
		"--build-arg", "BUILDER=localhost/builder:latest",
		"--build-arg", "SESHAT_IMAGE=localhost/seshat-s2i:latest",
		"--build-arg", "SESHAT_BUILDER_WIDE=1",
		"-f", filepath.Join(fixtures.RepoRoot(), "s2i", "Containerfile.example"),
		"-t", "localhost/python-seshat:latest", t.TempDir())

	// What `s2i build` does with the application.
	app := t.TempDir()
	for name, text := range map[string]string{"requirements.txt": "flask\n", "app.py": "import flask\n"} {
		if err := os.WriteFile(filepath.Join(app, name), []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	index := pyindex.Start(t, fixtures.Path(t, "wheels"))
	ctr := strings.TrimSpace(b.Run("from", "--pull-never", "localhost/python-seshat:latest"))
	b.Run("copy", "--chown", "1001:0", ctr, app, "/tmp/src")
	out := b.Run("run", "--isolation", "chroot", "--network", "host", "--user", "1001",
		"--env", "PIP_INDEX_URL="+index.URL+"/simple", ctr, "--", "/usr/libexec/s2i/assemble")
	t.Logf("assemble:\n%s", out)
	for _, want := range []string{"stock assemble: pip install -r requirements.txt", "Successfully installed"} {
		if !strings.Contains(out, want) {
			t.Errorf("assemble output lacks %q", want)
		}
	}

	got := b.Run("run", "--isolation", "chroot", "--user", "1001", ctr, "--", "python3", "-c", `from importlib import metadata
for n in ("flask", "werkzeug", "markupsafe", "click"): print(n, metadata.version(n))
print("hashed:", "--hash=sha256:" in open("/tmp/src/requirements.txt").read())`)
	// Click is in the base's system site-packages, not in the venv: the lock
	// pins it, as pip's hash-checking mode needs.
	for _, want := range []string{"flask 3.1.1", "werkzeug 3.1.3", "markupsafe 2.1.2", "click 8.1.8", "hashed: True"} {
		if !strings.Contains(got, want) {
			t.Errorf("built application: want %q in\n%s", want, got)
		}
	}
}
