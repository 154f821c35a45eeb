package frontend

import (
	"archive/tar"
	"bytes"
	"context"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/tarball"

	"github.com/seshat-dev/seshat/internal/fixtures"
	"github.com/seshat-dev/seshat/internal/pyindex"
	"github.com/seshat-dev/seshat/internal/testregistry"
)

// buildkitBinaries builds buildkitd and buildctl at the version this
// module requires, from its own module (its go.mod excludes versions, so
// `go install …@version` refuses it), once per machine: they are kept under
// the fixtures directory, keyed by version.
func buildkitBinaries(t *testing.T) (buildkitd, buildctl string) {
	t.Helper()
	out, err := exec.Command("go", "list", "-m", "-f", "{{.Dir}} {{.Version}}", "github.com/moby/buildkit").Output()
	if err != nil {
		t.Fatalf("locating github.com/moby/buildkit: %v", err)
	}
	dir, version, _ := strings.Cut(strings.TrimSpace(string(out)), " ")
	bin := filepath.Join(fixtures.Root(), "bin", "buildkit-"+version)
	buildkitd, buildctl = filepath.Join(bin, "buildkitd"), filepath.Join(bin, "buildctl")
	if _, err := os.Stat(buildctl); err == nil {
		return buildkitd, buildctl
	}
	start := time.Now()
	tmp := bin + ".tmp"
	os.RemoveAll(tmp)
	cmd := exec.Command("go", "build", "-trimpath", "-o", tmp+"/", "./cmd/buildkitd", "./cmd/buildctl")
	cmd.Dir = dir
	if b, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("building buildkitd and buildctl %s: %v\n%s", version, err, b)
	}
	if err := os.Rename(tmp, bin); err != nil {
		t.Fatal(err)
	}
	t.Logf("built buildkitd and buildctl %s in %s", version, time.Since(start).Round(time.Second))
	return buildkitd, buildctl
}

// frontendImage is the frontend's image: the static binary in one layer,
// with a /tmp to work in and the machine's CA bundle for HTTPS indexes.
func frontendImage(t *testing.T) v1.Image {
	t.Helper()
	dir := t.TempDir()
	cmd := exec.Command("go", "build", "-trimpath", "-o", filepath.Join(dir, "seshat-frontend"), "./cmd/seshat-frontend")
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
	if b, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("building seshat-frontend: %v\n%s", err, b)
	}
	bin, err := os.ReadFile(filepath.Join(dir, "seshat-frontend"))
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	for _, d := range []string{"bin/", "tmp/"} {
		mode := int64(0o755)
		if d == "tmp/" {
			mode = 0o1777
		}
		tw.WriteHeader(&tar.Header{Name: d, Typeflag: tar.TypeDir, Mode: mode})
	}
	tw.WriteHeader(&tar.Header{Name: "bin/seshat-frontend", Typeflag: tar.TypeReg, Mode: 0o755, Size: int64(len(bin))})
	tw.Write(bin)
	if err := tw.Close(); err != nil {
		t.Fatal(err)
	}
	layer, err := tarball.LayerFromOpener(func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(buf.Bytes())), nil })
	if err != nil {
		t.Fatal(err)
	}
	img, err := mutate.AppendLayers(empty.Image, layer)
	if err != nil {
		t.Fatal(err)
	}
	cf, err := img.ConfigFile()
	if err != nil {
		t.Fatal(err)
	}
	cf = cf.DeepCopy()
	cf.OS, cf.Architecture = "linux", "amd64"
	cf.Config.Entrypoint = []string{"/bin/seshat-frontend"}
	cf.Config.Env = []string{"TMPDIR=/tmp"}
	cf.Config.Labels = map[string]string{"moby.buildkit.frontend.caps": frontendCaps(t)}
	img, err = mutate.ConfigFile(img, cf)
	if err != nil {
		t.Fatal(err)
	}
	return img
}

// frontendCaps is the caps label of the shipped Containerfile, so the test
// image claims what the real one does.
func frontendCaps(t *testing.T) string {
	t.Helper()
	b, err := os.ReadFile("Containerfile")
	if err != nil {
		t.Fatal(err)
	}
	for _, line := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, `LABEL moby.buildkit.frontend.caps="`); ok {
			return strings.TrimSuffix(v, `"`)
		}
	}
	t.Fatal("Containerfile has no moby.buildkit.frontend.caps label")
	return ""
}

func push(t *testing.T, img v1.Image, ref string) {
	t.Helper()
	r, err := name.ParseReference(ref, name.Insecure)
	if err != nil {
		t.Fatal(err)
	}
	if err := remote.Write(r, img); err != nil {
		t.Fatalf("pushing %s: %v", ref, err)
	}
}

// TestBuildkitd builds a Dockerfile whose `# syntax=` names the frontend,
// for real: buildkitd (OCI worker: runc from Debian, overlayfs snapshots,
// host network — everything it reaches is on 127.0.0.1) pulls the frontend
// and the Debian 12 image from a local registry, the frontend advises from
// the image's files read through the gateway, and the Dockerfile's pip
// installs the lock. The image it pushes back must hold the advised
// versions in the base image's venv, and no copy of the lock.
func TestBuildkitd(t *testing.T) {
	if testing.Short() {
		t.Skip("-short: the real buildkitd build takes minutes")
	}
	if os.Geteuid() != 0 {
		t.Skip("buildkitd's OCI worker (runc, overlayfs mounts, namespaces) needs root here; rootless mode needs newuidmap and user namespaces, not set up")
	}
	if _, err := exec.LookPath("runc"); err != nil {
		t.Fatal("runc missing: run `make deps` (Debian's runc)")
	}
	buildkitd, buildctl := buildkitBinaries(t)

	reg := testregistry.Start(t)
	push(t, fixtures.LayoutImage(t, fixtures.Path(t, "images/debian12")), reg.Ref("debian12:latest"))
	push(t, frontendImage(t), reg.Ref("seshat-frontend:latest"))
	index := pyindex.Start(t, fixtures.Path(t, "wheels"))

	// buildkitd's state lives under the test's directory, short enough for
	// a unix socket path.
	state, err := os.MkdirTemp("", "bk-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		unmountUnder(t, state)
		os.RemoveAll(state)
	})
	sock := "unix://" + filepath.Join(state, "buildkitd.sock")
	conf := filepath.Join(state, "buildkitd.toml")
	if err := os.WriteFile(conf, []byte(`[registry."`+reg.Host()+`"]
  http = true
  insecure = true
[worker.oci]
  enabled = true
  gc = false
[worker.containerd]
  enabled = false
`), 0o644); err != nil {
		t.Fatal(err)
	}
	var dlog bytes.Buffer
	daemon := exec.Command(buildkitd, "--root", filepath.Join(state, "root"), "--addr", sock, "--config", conf,
		"--oci-worker-net", "host", "--oci-worker-snapshotter", "overlayfs")
	daemon.Stdout, daemon.Stderr = &dlog, &dlog
	// Its temporary mounts go under state too, where the cleanup finds any
	// left behind.
	daemon.Env = append(os.Environ(), "TMPDIR="+state)
	if err := daemon.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan error, 1)
	go func() { exited <- daemon.Wait() }()
	t.Cleanup(func() {
		daemon.Process.Signal(os.Interrupt)
		select {
		case <-exited:
		case <-time.After(20 * time.Second):
			daemon.Process.Kill()
			<-exited
		}
		if t.Failed() {
			t.Logf("buildkitd log:\n%s", dlog.String())
		}
	})
	waitForSocket(t, strings.TrimPrefix(sock, "unix://"), exited, &dlog)

	app := writeFiles(t, map[string]string{
		"Dockerfile": `# syntax=` + reg.Ref("seshat-frontend:latest") + `
ARG BASE=` + reg.Ref("debian12:latest") + `
FROM ${BASE}
ARG PIP_INDEX_URL
RUN --mount=type=bind,from=seshat-lock,target=/tmp/seshat \
    pip install --no-cache-dir --require-hashes -r /tmp/seshat/requirements.lock
COPY app.py /opt/app-root/src/app.py
`,
		"requirements.txt": "flask\n",
		"app.py":           "import flask\n",
	})
	built := reg.Ref("app:built")
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	start := time.Now()
	// The result goes to the registry: buildctl's local exporter stalls
	// here on a whole root filesystem (fsutil's receiver waits for file
	// data the daemon never sends), the image exporter does not.
	build := exec.CommandContext(ctx, buildctl, "--addr", sock, "build", "--progress", "plain",
		"--frontend", "dockerfile.v0", "--local", "context="+app, "--local", "dockerfile="+app,
		"--opt", "build-arg:PIP_INDEX_URL="+index.URL+"/simple",
		"--output", "type=image,name="+built+",push=true,registry.insecure=true")
	var bout bytes.Buffer
	build.Stdout, build.Stderr = &bout, &bout
	if testing.Verbose() {
		// Progress as it happens: a build takes minutes.
		build.Stdout = io.MultiWriter(&bout, os.Stderr)
		build.Stderr = build.Stdout
	}
	err = build.Run()
	t.Logf("buildctl build (%s):\n%s", time.Since(start).Round(time.Second), bout.String())
	if err != nil {
		t.Fatalf("buildctl build: %v", err)
	}
	if !strings.Contains(bout.String(), "[seshat] requirements.lock: ") {
		t.Error("the build log does not show the frontend writing the lock")
	}

	// What the built image holds: its venv's distributions, its files.
	r, err := name.ParseReference(built, name.Insecure)
	if err != nil {
		t.Fatal(err)
	}
	img, err := remote.Image(r)
	if err != nil {
		t.Fatalf("reading %s: %v", built, err)
	}
	files := map[string]bool{}
	tr := tar.NewReader(mutate.Extract(img))
	for {
		h, err := tr.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatalf("reading the layers of %s: %v", built, err)
		}
		files[strings.TrimSuffix(strings.TrimPrefix(h.Name, "./"), "/")] = true
	}
	site := "opt/app-root/lib/python3.11/site-packages/"
	for _, want := range []string{"flask-3.1.1.dist-info", "werkzeug-3.1.3.dist-info", "click-8.1.8.dist-info", "markupsafe-2.1.2.dist-info"} {
		if !files[site+want] {
			t.Errorf("%s not installed in the built image's venv", want)
		}
	}
	if !files["opt/app-root/src/app.py"] {
		t.Error("the rest of the Dockerfile did not run: no /opt/app-root/src/app.py")
	}
	// The lock was mounted, not copied: no layer keeps it.
	if files["tmp/seshat/requirements.lock"] {
		t.Error("the lock is in the built image")
	}
}

// unmountUnder unmounts what buildkitd left mounted under dir, deepest first.
func unmountUnder(t *testing.T, dir string) {
	b, err := os.ReadFile("/proc/self/mountinfo")
	if err != nil {
		return
	}
	var mounts []string
	for _, line := range strings.Split(string(b), "\n") {
		f := strings.Fields(line)
		if len(f) > 4 && strings.HasPrefix(f[4], dir+"/") {
			mounts = append(mounts, f[4])
		}
	}
	for i := len(mounts) - 1; i >= 0; i-- {
		if err := exec.Command("umount", mounts[i]).Run(); err != nil {
			t.Logf("unmounting %s: %v", mounts[i], err)
		}
	}
}

// waitForSocket waits until buildkitd listens, failing with its log if it
// exits first.
func waitForSocket(t *testing.T, path string, exited <-chan error, log *bytes.Buffer) {
	t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	for time.Now().Before(deadline) {
		select {
		case err := <-exited:
			t.Fatalf("buildkitd exited: %v\n%s", err, log.String())
		default:
		}
		if c, err := net.Dial("unix", path); err == nil {
			c.Close()
			return
		}
		time.Sleep(200 * time.Millisecond)
	}
	t.Fatalf("buildkitd did not listen on %s within 60s:\n%s", path, log.String())
}
