package prescription

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

const excerpt = "testdata/thoth-excerpt/prescriptions"

// The excerpt keeps the real repository's shapes and YAML features: an
// anchor and merge key (yaml.v3 path), a double-quoted message over two
// lines, `not: [null]`, labels, a legacy non-PEP 440 pin.
func TestThothExcerpt(t *testing.T) {
	set := mustLoad(t, excerpt)
	if set.Len() != 14 || len(set.Warnings) != 0 {
		t.Fatalf("%d units, warnings %v; want 14 units and no warning", set.Len(), set.Warnings)
	}
	pypi := "https://pypi.org/simple"

	// The step.Group: Pillow 8.3.0 from PyPI with NumPy, whichever comes first.
	numpy := Candidate{Name: "numpy", Version: "1.21.0", IndexURL: pypi}
	pillow := Candidate{Name: "pillow", Version: "8.3.0", IndexURL: pypi}
	anywhere := set.For(Context{})
	if r := anywhere.Step(pillow, State{Resolved: map[string]Candidate{"numpy": numpy}}); !r.NotAcceptable || r.Fired[0].Message != "Pillow 8.3.0 breaks with NumPy arrays" {
		t.Errorf("pillow 8.3.0 next to numpy: %+v, want refused", r)
	}
	if r := anywhere.Step(numpy, State{Resolved: map[string]Candidate{"pillow": pillow}}); !r.NotAcceptable {
		t.Errorf("numpy next to pillow 8.3.0: %+v, want refused", r)
	}
	if r := anywhere.Step(Candidate{Name: "pillow", Version: "8.3.1", IndexURL: pypi}, State{Resolved: map[string]Candidate{"numpy": numpy}}); r.NotAcceptable {
		t.Errorf("pillow 8.3.1 next to numpy refused: %+v", r)
	}

	// The sieve's stack_info came through `<<: *twotothree`.
	appRoot := set.For(Context{PythonPackages: []InstalledPackage{{Name: "setuptools", Version: "65.5.1", Location: "/opt/app-root/lib/python3.9/site-packages"}}})
	keep, fired := appRoot.Sieve(Candidate{Name: "flask-openid", Version: "1.2.5", IndexURL: pypi})
	if keep || len(fired) != 1 || len(fired[0].StackInfo) != 1 || !strings.Contains(fired[0].StackInfo[0].Message, "needs 2to3") {
		t.Fatalf("flask-openid sieve with setuptools in /opt/app-root: keep=%v fired=%+v", keep, fired)
	}
	system := set.For(Context{PythonPackages: []InstalledPackage{{Name: "setuptools", Version: "65.5.1", Location: "/usr/lib/python3.9/site-packages"}}})
	if keep, _ := system.Sieve(Candidate{Name: "flask-openid", Version: "1.2.5", IndexURL: pypi}); !keep {
		t.Errorf("location ^/opt/app-root/.* matched /usr/lib")
	}
	// The step needs setuptools>=58 resolved alongside.
	st := State{Resolved: map[string]Candidate{"setuptools": {Name: "setuptools", Version: "69.0.0", IndexURL: pypi}}}
	if r := system.Step(Candidate{Name: "flask-openid", Version: "1.2.5", IndexURL: pypi}, st); !r.NotAcceptable {
		t.Errorf("flask-openid 1.2.5 with setuptools 69 resolved: %+v", r)
	}

	// Real GitPython unit: a sieve that removes GitPython on RPM images
	// without git.
	if keep, _ := set.For(Context{RPMPackages: rpms("bash")}).Sieve(Candidate{Name: "GitPython", Version: "3.1.43"}); keep {
		t.Errorf("GitPython kept on an image without git")
	}
	if keep, _ := set.For(Context{RPMPackages: rpms("bash", "git")}).Sieve(Candidate{Name: "GitPython", Version: "3.1.43"}); !keep {
		t.Errorf("GitPython removed on an image with git")
	}

	// Two-line double-quoted message folded to one line.
	skip, fired := set.For(Context{PythonVersion: "3.9"}).SkipPackage("importlib_metadata")
	if !skip || fired[0].Message != "Dependency ''importlib-metadata'' dropped: the standard library has importlib.metadata from Python 3.8" {
		t.Errorf("importlib-metadata skip = %v %+v", skip, fired)
	}
	if skip, _ := set.For(Context{PythonVersion: "3.11"}).SkipPackage("importlib-metadata"); skip {
		t.Errorf("importlib-metadata skipped on 3.11")
	}

	// A GPU without CUDA: gpu_models not: [null] needs a known GPU.
	names := func(ctx Context) string {
		fired, err := set.For(ctx).Boot(nil)
		var s []string
		for _, f := range fired {
			s = append(s, f.Unit)
		}
		if err != nil {
			s = append(s, "error: "+err.Error())
		}
		return strings.Join(s, ",")
	}
	if got := names(Context{Hardware: HardwareInfo{GPUModel: "NVIDIA A100"}}); got != "thoth.GPUWithoutCUDABoot" {
		t.Errorf("GPU, no CUDA: boots %q", got)
	}
	if got := names(Context{}); got != "" {
		t.Errorf("no GPU: boots %q", got)
	}
	got := names(Context{RecommendationType: "security", BaseImage: "quay.io/thoth-station/s2i-thoth-ubi8-py38:v0.29.0"})
	if !strings.Contains(got, "error: prescription thoth.S2iPy38v0290Vuln0QuaySecurityErrorBoot") || !strings.Contains(got, "RHSA-2021:3075") {
		t.Errorf("vulnerable base image under security: %q", got)
	}

	// Labels gate the index sieve.
	cu111 := set.For(Context{Labels: map[string]string{"pytorch-cu111-index": "solely"}})
	if keep, _ := cu111.Sieve(Candidate{Name: "torch", Version: "1.9.0", IndexURL: pypi}); keep {
		t.Errorf("torch from PyPI kept although the cu111 index is the only one")
	}
	if keep, _ := set.For(Context{}).Sieve(Candidate{Name: "torch", Version: "1.9.0", IndexURL: pypi}); !keep {
		t.Errorf("index sieve applied without its label")
	}

	// Wrap with advised_manifest_changes, and the legacy pin.
	lock := State{Resolved: map[string]Candidate{
		"torch":  {Name: "torch", Version: "2.3.1", IndexURL: pypi},
		"pillow": {Name: "pillow", Version: "2.0.0-legacy", IndexURL: pypi},
	}}
	var sawTorch, sawPillow bool
	for _, f := range set.For(Context{}).Wrap(lock) {
		switch f.Unit {
		case "thoth.TorchOMPThreadsWrap":
			sawTorch = true
			changes, _ := f.AdvisedManifestChanges.([]any)
			if len(changes) != 1 || f.Link != "https://thoth-station.ninja/j/mkl_threads" {
				t.Errorf("torch wrap = %+v", f)
			}
		case "thoth.Pillow2PyPIArtifactSizeWrap":
			sawPillow = true
		}
	}
	if !sawTorch || !sawPillow {
		t.Errorf("wraps fired: torch %v, pillow (legacy ==2.0.0-legacy) %v", sawTorch, sawPillow)
	}

	// wrap.GHReleaseNotes links the release of the version locked.
	notes := func(version string) []string {
		var links []string
		st := State{Resolved: map[string]Candidate{"gitpython": {Name: "gitpython", Version: version, IndexURL: pypi}}}
		for _, f := range set.For(Context{}).Wrap(st) {
			if f.Kind == KindGHReleaseNotes {
				links = append(links, f.Link)
			}
		}
		return links
	}
	if got := notes("3.1.43"); len(got) != 1 || got[0] != "https://github.com/gitpython-developers/GitPython/releases/tag/3.1.43" {
		t.Errorf("GitPython release notes: %q", got)
	}
	if got := set.For(Context{}).Wrap(lock); slices.ContainsFunc(got, func(f Fired) bool { return f.Kind == KindGHReleaseNotes }) {
		t.Errorf("release notes without GitPython in the lock: %+v", got)
	}
}

// TestLoadRealRepository loads a checkout of the public repository
// (SESHAT_PRESCRIPTIONS_REPO=/path/to/prescriptions): no problems, every
// unit of a kind seshat evaluates.
func TestLoadRealRepository(t *testing.T) {
	dir := filepath.Join(realRepo(t), "prescriptions")
	if _, err := os.Stat(dir); err != nil {
		t.Fatal(err)
	}
	set, err := Load(dir)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("%d files, %d units; warnings: %v", set.Files, set.Len(), set.Warnings)
	if set.Files < 60000 || len(set.Warnings) != 0 {
		t.Errorf("%d files, warnings %v", set.Files, set.Warnings)
	}
}
