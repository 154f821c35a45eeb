// Package buildah runs Debian's buildah for tests that build images from
// seshat's Containerfile examples for real: chroot isolation and vfs
// storage (no daemon, nothing beyond root on this machine), each test on
// its own storage so parallel tests never share images or locks.
package buildah

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// Buildah is buildah on one test's private storage.
type Buildah struct {
	t     *testing.T
	store string
}

// New skips the test when not root (buildah's chroot isolation and vfs
// storage need it here) and fails it when buildah is missing.
func New(t *testing.T) *Buildah {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("buildah with chroot isolation and vfs storage needs root here")
	}
	if _, err := exec.LookPath("buildah"); err != nil {
		t.Fatal("buildah missing: run `make deps` (Debian's buildah)")
	}
	return &Buildah{t: t, store: t.TempDir()}
}

// Run runs buildah with args and returns its combined output, failing the
// test with that output when it fails.
func (b *Buildah) Run(args ...string) string {
	b.t.Helper()
	out, err := b.Try(args...)
	if err != nil {
		b.t.Fatalf("buildah %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return out
}

// Try runs buildah with args and returns its combined output and error.
func (b *Buildah) Try(args ...string) (string, error) {
	global := []string{"--storage-driver", "vfs", "--root", filepath.Join(b.store, "root"), "--runroot", filepath.Join(b.store, "run")}
	cmd := exec.Command("buildah", append(global, args...)...)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	err := cmd.Run()
	return out.String(), err
}

// Build builds the Containerfile text in a context holding files (name →
// content; mode 0755 for names under bin/ or ending in "assemble") and
// tags the image.
func (b *Buildah) Build(tag, containerfile string, files map[string][]byte) {
	b.t.Helper()
	dir := b.t.TempDir()
	files["Containerfile"] = []byte(containerfile)
	for name, data := range files {
		mode := os.FileMode(0o644)
		if strings.HasPrefix(name, "bin/") || strings.HasSuffix(name, "assemble") || name == "seshat" {
			mode = 0o755
		}
		p := filepath.Join(dir, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			b.t.Fatal(err)
		}
		if err := os.WriteFile(p, data, mode); err != nil {
			b.t.Fatal(err)
		}
	}
	b.Run("bud", "--isolation", "chroot", "-t", tag, "-f", filepath.Join(dir, "Containerfile"), dir)
}

// LayoutRef names the OCI layout at dir as buildah's oci: transport wants
// it: buildah parses the path as an image name, which must be lowercase,
// and the layout may live anywhere, so it is reached through a lowercase
// link made for the test.
func LayoutRef(t *testing.T, dir, tag string) string {
	t.Helper()
	linkDir, err := os.MkdirTemp("", "seshat-buildah-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(linkDir) })
	link := filepath.Join(linkDir, "layout")
	if err := os.Symlink(dir, link); err != nil {
		t.Fatal(err)
	}
	return "oci:" + link + ":" + tag
}
