package advise_test

import (
	"errors"
	"strings"
	"testing"

	"github.com/seshat-dev/seshat/advise"
	"github.com/seshat-dev/seshat/advise/prescription"
	"github.com/seshat-dev/seshat/internal/pyindex"
)

// versionJSON is /usr/local/cuda/version.json as NVIDIA's CUDA 12.1 images ship it (abridged).
const versionJSON = `{
   "cuda" : {
      "name" : "CUDA SDK",
      "version" : "12.1.1"
   },
   "cuda_cudart" : {
      "name" : "CUDA Runtime (cudart)",
      "version" : "12.1.105"
   },
   "libcublas" : {
      "name" : "CUDA cuBLAS",
      "version" : "12.1.3.1"
   }
}
`

// The same requirement on a CUDA 12.1 image and on one without CUDA,
// against an index offering torch 2.3.1 as +cpu, +cu118 and +cu121.
func TestCUDAVariants(t *testing.T) {
	withLibc := append(append([]string{}, debianPython...), "usr/lib/x86_64-linux-gnu/libc.so.6")
	cudaRef := buildImage(t, imageSpec{fromRoot: withLibc,
		files: map[string]string{"usr/local/cuda-12.1/version.json": versionJSON},
		env:   []string{"PATH=/usr/local/nvidia/bin:/usr/local/cuda/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin", "CUDA_VERSION=12.1.1"}})
	plainRef := buildImage(t, imageSpec{fromRoot: withLibc})
	cudaEnv, err := advise.NewImageEnvironment(analyze(t, cudaRef), "")
	if err != nil {
		t.Fatal(err)
	}
	plainEnv, err := advise.NewImageEnvironment(analyze(t, plainRef), "")
	if err != nil {
		t.Fatal(err)
	}
	if cudaEnv.CUDA != "12.1" || plainEnv.CUDA != "" {
		t.Fatalf("CUDA %q and %q, want 12.1 and none", cudaEnv.CUDA, plainEnv.CUDA)
	}
	srv := pyindex.Start(t, writeDists(t,
		dist{name: "torch", version: "2.3.1+cpu", requires: []string{"filelock"}},
		dist{name: "torch", version: "2.3.1+cu118", requires: []string{"filelock"}},
		dist{name: "torch", version: "2.3.1+cu121", requires: []string{"filelock"}},
		dist{name: "torch", version: "2.2.0+cu121", requires: []string{"filelock"}},
		dist{name: "filelock", version: "3.13.1"},
	))

	for _, c := range []struct {
		name string
		env  *advise.ImageEnvironment
		rec  advise.RecommendationType
		want string
	}{
		{"CUDA 12.1, performance", cudaEnv, advise.RecommendPerformance, "2.3.1+cu121"},
		{"CUDA 12.1, by default", cudaEnv, advise.RecommendLatest, "2.3.1+cu121"},
		{"no CUDA, performance", plainEnv, advise.RecommendPerformance, "2.3.1+cpu"},
		{"no CUDA, by default", plainEnv, advise.RecommendLatest, "2.3.1+cpu"},
	} {
		t.Run(c.name, func(t *testing.T) {
			res, rep, err := resolveImage(t, srv, c.env, "torch==2.3.1\n", advise.ImageSettings{Recommendation: c.rec})
			if err != nil {
				t.Fatal(err)
			}
			got := pins(res.Lock)
			if got["torch"] != c.want {
				t.Errorf("torch %s, want %s\n%s", got["torch"], c.want, explainText(rep))
			}
			diffPins(t, "pip install", pipInstall(t, srv, res.Lock, c.env.Target), got)
		})
	}

	// A pseudonym swaps tensorflow for tensorflow-gpu on the CUDA image only.
	set, err := prescription.Load("testdata/image/prescriptions")
	if err != nil {
		t.Fatal(err)
	}
	tfSrv := pyindex.Start(t, writeDists(t,
		dist{name: "tensorflow", version: "2.15.0"},
		dist{name: "tensorflow-gpu", version: "2.15.0"},
		dist{name: "tensorflow-gpu", version: "2.16.1"},
	))
	for _, c := range []struct {
		env  *advise.ImageEnvironment
		want map[string]string
	}{
		{cudaEnv, map[string]string{"tensorflow-gpu": "2.15.0"}},
		{plainEnv, map[string]string{"tensorflow": "2.15.0"}},
	} {
		res, rep, err := resolveImage(t, tfSrv, c.env, "tensorflow<2.16\n", advise.ImageSettings{Prescriptions: set})
		if err != nil {
			t.Fatal(err)
		}
		diffPins(t, "expected (CUDA "+c.env.CUDA+")", pins(res.Lock), c.want)
		swapped := strings.Contains(explainText(rep), "TensorFlowAsGPUOnCUDA")
		if swapped != (c.env.CUDA != "") {
			t.Errorf("CUDA %q: --explain names the pseudonym: %v\n%s", c.env.CUDA, swapped, explainText(rep))
		}
	}

	// A CUDA 11.2 image: no variant fits, and the error lists those that exist.
	old := *cudaEnv
	old.CUDA = "11.2"
	_, _, err = resolveImage(t, srv, &old, "torch==2.3.1\n", advise.ImageSettings{Recommendation: advise.RecommendPerformance})
	var nse *advise.NoSolutionError
	if !errors.As(err, &nse) {
		t.Fatalf("CUDA 11.2: %v, want a NoSolutionError", err)
	}
	for _, want := range []string{"+cu121", "+cu118", "+cpu", "CUDA 11.2"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("CUDA 11.2 error does not name %q:\n%v", want, err)
		}
	}
	t.Logf("CUDA 11.2: %v", err)
}
