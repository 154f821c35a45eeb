package prescription

import (
	"testing"

	"github.com/seshat-dev/seshat/abi"
	"github.com/seshat-dev/seshat/extract"
)

func TestContextFromAnalysis(t *testing.T) {
	epoch := 0
	a := &extract.Analysis{
		Image: extract.ImageInfo{Reference: "quay.io/thoth-station/s2i-thoth-ubi8-py38:v0.29.0", Platform: extract.Platform{OS: "linux", Architecture: "amd64"}},
		OS:    &extract.OSRelease{ID: "rhel", VersionID: "8.4"},
		Packages: []extract.Package{
			{Type: "rpm", Name: "git", Version: "2.27.0", Release: "1.el8", Epoch: &epoch, Arch: "x86_64"},
			{Type: "deb", Name: "curl", Version: "7.88.1"},
		},
		Python: &extract.Python{Environments: []extract.Environment{{
			Path:          "/opt/app-root/lib/python3.8/site-packages",
			Distributions: []extract.Distribution{{Name: "setuptools", Version: "58.1.0"}},
		}}},
		ABI:  &abi.Report{Symbols: map[string][]string{"libc.so.6": {"GLIBC_2.28", "GLIBC_2.17"}, "libstdc++.so.6": {"GLIBCXX_3.4.25", "GLIBC_2.17"}}},
		CUDA: &extract.CUDA{Version: "11.8", CuDNNVersion: "8.9.7"},
	}
	ctx := ContextFromAnalysis(a, "3.8.12")
	if ctx.PythonVersion != "3.8" || ctx.OS != (OS{Name: "rhel", Version: "8.4"}) || ctx.Platform != "linux-x86_64" || ctx.CUDAVersion != "11.8" || ctx.CUDNNVersion != "8.9.7" {
		t.Errorf("context = %+v", ctx)
	}
	if len(ctx.RPMPackages) != 1 || ctx.RPMPackages[0] != (RPM{Name: "git", Version: "2.27.0", Release: "1.el8", Epoch: "0", Arch: "x86_64"}) {
		t.Errorf("rpms = %+v", ctx.RPMPackages)
	}
	if got := len(ctx.ABI); got != 3 {
		t.Errorf("abi = %v, want 3 distinct versions", ctx.ABI)
	}

	// Evaluated against the excerpt: setuptools>=58 in /opt/app-root
	// sieves flask-openid<1.3, git present keeps GitPython.
	e := mustLoad(t, excerpt).For(ctx)
	if keep, _ := e.Sieve(Candidate{Name: "flask-openid", Version: "1.2.5", IndexURL: "https://pypi.org/simple"}); keep {
		t.Errorf("flask-openid 1.2.5 kept in an image with setuptools 58.1.0 in /opt/app-root")
	}
	if keep, _ := e.Sieve(Candidate{Name: "gitpython", Version: "3.1.43"}); !keep {
		t.Errorf("gitpython removed although the image has git")
	}
}
