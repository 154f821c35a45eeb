package advise_test

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/layout"
	"github.com/google/go-containerregistry/pkg/v1/tarball"

	"github.com/seshat-dev/seshat/advise"
	"github.com/seshat-dev/seshat/advise/lock"
	"github.com/seshat-dev/seshat/advise/reqfile"
	"github.com/seshat-dev/seshat/extract"
	"github.com/seshat-dev/seshat/internal/fixtures"
	"github.com/seshat-dev/seshat/internal/imagebuild"
	"github.com/seshat-dev/seshat/internal/pyindex"
)

var analyses sync.Map // ref → *extract.Analysis: each fixture is analyzed once per test binary

// analyze runs seshat's real analysis (every extractor) over ref.
func analyze(t *testing.T, ref string) *extract.Analysis {
	t.Helper()
	if a, ok := analyses.Load(ref); ok {
		return a.(*extract.Analysis)
	}
	ctx := context.Background()
	src, err := extract.Open(ctx, ref)
	if err != nil {
		t.Fatal(err)
	}
	exs := []extract.Extractor{extract.NewOSExtractor(), extract.NewPackagesExtractor(), extract.NewPythonExtractor(), extract.NewABIExtractor(), extract.NewCUDAExtractor()}
	a, err := extract.Analyze(ctx, src, exs, extract.WalkOptions{})
	if err != nil {
		t.Fatalf("analyzing %s: %v", ref, err)
	}
	analyses.Store(ref, a)
	return a
}

// imageSpec describes a small test image: an optional real base image, the
// Python interpreter of the Debian 12 fixture root, and extra files.
type imageSpec struct {
	base     string            // docker-archive (*.tar) or OCI layout under $SESHAT_FIXTURES, or ""
	fromRoot []string          // paths (files or trees) copied from rootfs/debian12
	files    map[string]string // path → content
	env      []string
}

// debianPython is what makes Debian 12's CPython 3.11 recognizable without
// running it: the binary, its python3 link and its sysconfig data.
var debianPython = []string{"usr/bin/python3.11", "usr/bin/python3", "usr/lib/python3.11/_sysconfigdata__x86_64-linux-gnu.py"}

// buildImage writes spec as an OCI layout and returns its reference.
func buildImage(t *testing.T, spec imageSpec) string {
	t.Helper()
	root := fixtures.Path(t, "rootfs/debian12")
	var layers []v1.Layer
	if spec.base != "" {
		var img v1.Image
		var err error
		if strings.HasSuffix(spec.base, ".tar") {
			img, err = tarball.ImageFromPath(fixtures.Path(t, spec.base), nil)
		} else {
			img, err = ociImage(fixtures.Path(t, spec.base))
		}
		if err != nil {
			t.Fatal(err)
		}
		base, err := img.Layers()
		if err != nil {
			t.Fatal(err)
		}
		layers = append(layers, base...)
	}
	tmp := t.TempDir()
	mtime := time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)
	w, err := imagebuild.NewLayerWriter(tmp, imagebuild.Gzip, mtime)
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range spec.fromRoot {
		fi, err := os.Lstat(filepath.Join(root, p))
		if err != nil {
			t.Fatal(err)
		}
		if fi.IsDir() {
			err = w.AddTree(root, p)
		} else {
			err = w.AddFromDisk(root, p)
		}
		if err != nil {
			t.Fatal(err)
		}
	}
	var names []string
	for p := range spec.files {
		names = append(names, p)
	}
	slices.Sort(names)
	for _, p := range names {
		if err := w.AddBytes(p, []byte(spec.files[p]), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	l, err := w.Close()
	if err != nil {
		t.Fatal(err)
	}
	layers = append(layers, l)
	comments := make([]string, len(layers))
	img, err := imagebuild.Build(layers, comments, imagebuild.Config{OS: "linux", Architecture: "amd64", Env: spec.env}, mtime)
	if err != nil {
		t.Fatal(err)
	}
	dir := filepath.Join(tmp, "oci")
	if err := imagebuild.WriteOCI(dir, img, "latest"); err != nil {
		t.Fatal(err)
	}
	return "oci:" + dir
}

func readInput(t *testing.T, reqs string) *reqfile.Input {
	t.Helper()
	path := filepath.Join(t.TempDir(), "requirements.txt")
	if err := os.WriteFile(path, []byte(reqs), 0o644); err != nil {
		t.Fatal(err)
	}
	in, err := reqfile.ParseRequirementsFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return in
}

func resolveImage(t *testing.T, srv *pyindex.Server, env *advise.ImageEnvironment, reqs string, s advise.ImageSettings) (*advise.Result, *advise.Report, error) {
	t.Helper()
	return advise.ResolveImage(context.Background(), readInput(t, reqs), env, env.Target, client(t, srv), s,
		advise.WithIndexes(lock.Index{Name: "local", URL: srv.URL + "/simple", VerifySSL: true}))
}

// The Debian 12 fixture image: the interpreter is the venv's python3 that
// PATH finds first, the target comes from it and the image's glibc, and
// the lock installs with pip for exactly the image's tags.
func TestImageDebian12FlaskApp(t *testing.T) {
	a := analyze(t, "oci:"+fixtures.Path(t, "images/debian12"))
	env, err := advise.NewImageEnvironment(a, "")
	if err != nil {
		t.Fatal(err)
	}
	if env.Invoked != "/opt/app-root/bin/python3" || env.Interpreter.Path != "/usr/bin/python3.11" {
		t.Errorf("interpreter %s invoked as %s, want /usr/bin/python3.11 as /opt/app-root/bin/python3 (PATH starts with the venv)", env.Interpreter.Path, env.Invoked)
	}
	tg := env.Target
	if tg.PythonVersion != "3.11.2" || tg.Implementation != "cp" || tg.MachineName() != "x86_64" || tg.Platforms[0] != "manylinux_2_36_x86_64" {
		t.Errorf("target %+v, want CPython 3.11.2 on x86_64 with manylinux_2_36_x86_64 first", tg)
	}
	if !slices.Equal(env.Environments, []string{"/opt/app-root"}) {
		t.Errorf("environments %v, want the venv alone", env.Environments)
	}
	if _, ok := env.Installed["pip"]; !ok || len(env.Installed) != 3 {
		t.Errorf("installed %v, want the venv's pip, setuptools, wheel", env.Installed)
	}

	srv := corpus(t)
	res, rep, err := resolveImage(t, srv, env, "flask\n", advise.ImageSettings{})
	if err != nil {
		t.Fatal(err)
	}
	got := pins(res.Lock)
	want := map[string]string{"flask": "3.1.1", "werkzeug": "3.1.3", "jinja2": "3.1.6", "markupsafe": "2.1.2",
		"itsdangerous": "2.2.0", "click": "8.1.8", "blinker": "1.9.0"}
	diffPins(t, "expected", got, want)
	diffPins(t, "pip install", pipInstall(t, srv, res.Lock, tg), got)
	if rep.Environment.InstalledCount != 3 || rep.Environment.Invoked != "/opt/app-root/bin/python3" {
		t.Errorf("report environment %+v", rep.Environment)
	}
}

func TestImageInterpreterChoice(t *testing.T) {
	a := analyze(t, "oci:"+fixtures.Path(t, "images/debian12"))

	env, err := advise.NewImageEnvironment(a, "/usr/bin/python3")
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Contains(env.Environments, "/usr/lib/python3/dist-packages") || slices.Contains(env.Environments, "/opt/app-root") {
		t.Errorf("--python /usr/bin/python3: environments %v, want the system dist-packages and not the venv", env.Environments)
	}
	if _, ok := env.Installed["flask"]; ok {
		t.Errorf("flask counted as installed, but the image's last layers purge it")
	}
	if _, ok := env.Installed["werkzeug"]; !ok {
		t.Errorf("werkzeug missing from installed: %v", env.Installed)
	}

	if _, err := advise.NewImageEnvironment(a, "/usr/bin/python2"); err == nil || !strings.Contains(err.Error(), "/usr/bin/python3.11") {
		t.Errorf("unknown --python: %v, want an error listing /usr/bin/python3.11", err)
	}

	// Two interpreters and no python3 on PATH: the user must choose.
	b := *a
	py := *a.Python
	b.Python = &py
	other := py.Interpreters[0]
	other.Path, other.Links, other.Version = "/usr/local/bin/python3.12", nil, "3.12.1"
	first := py.Interpreters[0]
	first.Links = nil
	py.Interpreters = []extract.Interpreter{first, other}
	_, err = advise.NewImageEnvironment(&b, "")
	var amb *advise.AmbiguousPythonError
	if !errors.As(err, &amb) || !strings.Contains(err.Error(), "/usr/bin/python3.11 (3.11.2)") || !strings.Contains(err.Error(), "/usr/local/bin/python3.12 (3.12.1)") || !strings.Contains(err.Error(), "--python") {
		t.Errorf("two interpreters: %v, want an error listing both and naming --python", err)
	}
}

func TestImageWithoutPython(t *testing.T) {
	a := analyze(t, "docker-archive:"+fixtures.Path(t, "images/distroless-debian9.tar"))
	_, err := advise.NewImageEnvironment(a, "")
	var np *advise.NoPythonError
	if !errors.As(err, &np) {
		t.Fatalf("got %v, want a NoPythonError", err)
	}
	for _, want := range []string{"Distroless", "6 OS packages", "glibc 2.24"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not say %q", err, want)
		}
	}
}

// explainText renders the report as --explain prints it.
func explainText(r *advise.Report) string {
	var b bytes.Buffer
	r.Explain(&b)
	return b.String()
}

// Extending a prebuilt image: the Debian 12 root has requests 2.28.1 and
// its dependencies installed by dpkg (read through dir:, as --root reads a
// build's own root).
func TestInstalledKeepPreferIgnore(t *testing.T) {
	a := analyze(t, "dir:"+fixtures.Path(t, "rootfs/debian12"))
	env, err := advise.NewImageEnvironment(a, "")
	if err != nil {
		t.Fatal(err)
	}
	if env.Invoked != "/usr/bin/python3" || env.Installed["requests"].Version != "2.28.1" {
		t.Fatalf("interpreter %s, installed %v: want /usr/bin/python3 (the root has no PATH config) with requests 2.28.1", env.Invoked, env.Installed)
	}
	srv := corpus(t)

	t.Run("keep: what the image has stays out of the lock", func(t *testing.T) {
		res, rep, err := resolveImage(t, srv, env, "rich\nrequests\n", advise.ImageSettings{})
		if err != nil {
			t.Fatal(err)
		}
		got := pins(res.Lock)
		diffPins(t, "expected", got, map[string]string{"rich": "13.9.4", "pygments": "2.18.0", "markdown-it-py": "3.0.0", "mdurl": "0.1.2"})
		if !slices.ContainsFunc(rep.Kept, func(k advise.ReportKept) bool { return k.Name == "requests" && k.Version == "2.28.1" }) {
			t.Errorf("report kept %v, want requests 2.28.1", rep.Kept)
		}
		diffPins(t, "pip install", pipInstall(t, srv, res.Lock, env.Target), got)
	})

	t.Run("keep: a requirement the installed version fails puts it in the lock and says so", func(t *testing.T) {
		res, rep, err := resolveImage(t, srv, env, "rich\nrequests>=2.32\n", advise.ImageSettings{})
		if err != nil {
			t.Fatal(err)
		}
		got := pins(res.Lock)
		if got["requests"] != "2.32.3" || got["urllib3"] != "" || got["idna"] != "" {
			t.Errorf("lock %v: want requests 2.32.3, its installed dependencies (urllib3, idna, …) kept", got)
		}
		if len(rep.Changed) != 1 || rep.Changed[0].Name != "requests" || rep.Changed[0].Installed != "2.28.1" || rep.Changed[0].Locked != "2.32.3" {
			t.Errorf("report changed %+v, want requests 2.28.1 → 2.32.3", rep.Changed)
		}
		if !slices.ContainsFunc(res.Warnings, func(w string) bool {
			return strings.Contains(w, "requests: the image has 2.28.1, the lock installs 2.32.3")
		}) {
			t.Errorf("warnings %q do not name the change", res.Warnings)
		}
		if !strings.Contains(explainText(rep), "changed requests: installed 2.28.1, locked 2.32.3") {
			t.Errorf("--explain:\n%s", explainText(rep))
		}
		diffPins(t, "pip install", pipInstall(t, srv, res.Lock, env.Target), got)
	})

	t.Run("prefer: the installed version first, locked", func(t *testing.T) {
		res, rep, err := resolveImage(t, srv, env, "requests\n", advise.ImageSettings{Installed: advise.InstalledPrefer})
		if err != nil {
			t.Fatal(err)
		}
		if got := pins(res.Lock); got["requests"] != "2.28.1" {
			t.Errorf("lock %v, want requests 2.28.1 (installed)", got)
		}
		if i := slices.IndexFunc(rep.Pins, func(p advise.ReportPin) bool { return p.Name == "requests" }); i < 0 || !strings.Contains(rep.Pins[i].Why, "installed in the image") {
			t.Errorf("pins %+v: requests should say it is the installed version", rep.Pins)
		}
	})

	t.Run("ignore: resolved as if nothing were installed", func(t *testing.T) {
		res, _, err := resolveImage(t, srv, env, "requests\n", advise.ImageSettings{Installed: advise.InstalledIgnore})
		if err != nil {
			t.Fatal(err)
		}
		diffPins(t, "pip", pins(res.Lock), pipResolve(t, srv, "requests\n", env.Target))
	})
}

// ociImage opens the first image of an OCI layout.
func ociImage(dir string) (v1.Image, error) {
	idx, err := layout.ImageIndexFromPath(dir)
	if err != nil {
		return nil, err
	}
	m, err := idx.IndexManifest()
	if err != nil {
		return nil, err
	}
	if len(m.Manifests) == 0 {
		return nil, errors.New(dir + ": no image in the layout")
	}
	return idx.Image(m.Manifests[0].Digest)
}

// Extending an image with x 2.0 and y (which needs x<3) installed as
// dist-info directories: w, which accepts x 2.0, leaves x out of the lock;
// z, which needs x>=3, puts x 3.0 in, and the report names the change and
// the installed y it breaks.
func TestInstalledChangeReported(t *testing.T) {
	site := "usr/lib/python3/dist-packages/"
	ref := buildImage(t, imageSpec{fromRoot: debianPython, files: map[string]string{
		site + "x-2.0.dist-info/METADATA":  "Metadata-Version: 2.1\nName: x\nVersion: 2.0\n\n",
		site + "x-2.0.dist-info/INSTALLER": "pip\n",
		site + "y-1.0.dist-info/METADATA":  "Metadata-Version: 2.1\nName: y\nVersion: 1.0\nRequires-Dist: x<3\n\n",
		site + "y-1.0.dist-info/INSTALLER": "pip\n",
	}})
	env, err := advise.NewImageEnvironment(analyze(t, ref), "")
	if err != nil {
		t.Fatal(err)
	}
	if env.Installed["x"].Version != "2.0" || env.Installed["y"].Version != "1.0" {
		t.Fatalf("installed %v, want x 2.0 and y 1.0", env.Installed)
	}
	srv := pyindex.Start(t, writeDists(t,
		dist{name: "x", version: "2.0"}, dist{name: "x", version: "3.0"},
		dist{name: "w", version: "1.0", requires: []string{"x>=1"}},
		dist{name: "z", version: "1.0", requires: []string{"x>=3"}},
	))

	res, rep, err := resolveImage(t, srv, env, "w\n", advise.ImageSettings{})
	if err != nil {
		t.Fatal(err)
	}
	diffPins(t, "expected", pins(res.Lock), map[string]string{"w": "1.0"})
	if len(rep.Kept) != 1 || rep.Kept[0].Name != "x" || len(rep.Changed) != 0 {
		t.Errorf("w: kept %+v, changed %+v; want x kept", rep.Kept, rep.Changed)
	}

	res, rep, err = resolveImage(t, srv, env, "z\n", advise.ImageSettings{})
	if err != nil {
		t.Fatal(err)
	}
	diffPins(t, "expected", pins(res.Lock), map[string]string{"z": "1.0", "x": "3.0"})
	if len(rep.Changed) != 1 || rep.Changed[0].Name != "x" || rep.Changed[0].Installed != "2.0" || rep.Changed[0].Locked != "3.0" {
		t.Errorf("z: changed %+v, want x 2.0 → 3.0", rep.Changed)
	}
	if !slices.ContainsFunc(rep.Warnings, func(w string) bool {
		return strings.Contains(w, "the lock's x 3.0 breaks y 1.0") && strings.Contains(w, "requires x<3")
	}) {
		t.Errorf("z: warnings %q do not name the broken y", rep.Warnings)
	}
	diffPins(t, "pip install", pipInstall(t, srv, res.Lock, env.Target), pins(res.Lock))
}
