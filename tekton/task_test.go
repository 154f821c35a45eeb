// Package tekton holds seshat's Tekton Task (seshat-advise.yaml). Its tests
// run the Task's step scripts as written, with the environment Tekton would
// give them, against a real registry and index on loopback; the schema check
// with Tekton's own types is the separate module in tekton/validate, whose
// dependencies (Kubernetes, Knative) would slow every build of seshat.
package tekton

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/layout"
	"gopkg.in/yaml.v3"

	"github.com/seshat-dev/seshat/internal/fixtures"
	"github.com/seshat-dev/seshat/internal/pyindex"
	"github.com/seshat-dev/seshat/internal/testregistry"
)

// task is the part of a tekton.dev/v1 Task the step test needs.
type task struct {
	APIVersion string `yaml:"apiVersion"`
	Kind       string `yaml:"kind"`
	Spec       struct {
		Params []struct {
			Name    string  `yaml:"name"`
			Default *string `yaml:"default"`
		} `yaml:"params"`
		Results []struct {
			Name string `yaml:"name"`
		} `yaml:"results"`
		Workspaces []struct {
			Name     string `yaml:"name"`
			Optional bool   `yaml:"optional"`
		} `yaml:"workspaces"`
		Steps []struct {
			Name       string `yaml:"name"`
			Image      string `yaml:"image"`
			WorkingDir string `yaml:"workingDir"`
			Env        []struct {
				Name  string `yaml:"name"`
				Value string `yaml:"value"`
			} `yaml:"env"`
			Script string `yaml:"script"`
		} `yaml:"steps"`
	} `yaml:"spec"`
}

func loadTask(t *testing.T) *task {
	t.Helper()
	data, err := os.ReadFile("seshat-advise.yaml")
	if err != nil {
		t.Fatal(err)
	}
	var tk task
	if err := yaml.Unmarshal(data, &tk); err != nil {
		t.Fatalf("seshat-advise.yaml: %v", err)
	}
	return &tk
}

// TestMain removes the seshat binary the tests built, once all are done.
func TestMain(m *testing.M) {
	code := m.Run()
	fixtures.RemoveBuilt()
	os.Exit(code)
}

// seshatOnPath is a directory holding seshat, to put on PATH as the
// SESHAT_IMAGE has it.
func seshatOnPath(t *testing.T) string { return filepath.Dir(fixtures.StaticSeshat(t)) }

// Tekton substitutes these in env values; the catalog asks that scripts see
// params only through env, never as $(params.X) pasted into the script.
var substRE = regexp.MustCompile(`\$\((params|workspaces|results)\.([A-Za-z0-9_-]+)\.?([a-z]*)\)`)

func TestTaskShape(t *testing.T) {
	tk := loadTask(t)
	if tk.APIVersion != "tekton.dev/v1" || tk.Kind != "Task" {
		t.Errorf("apiVersion %q kind %q, want tekton.dev/v1 Task", tk.APIVersion, tk.Kind)
	}
	var params, results, workspaces []string
	for _, p := range tk.Spec.Params {
		params = append(params, p.Name)
	}
	for _, r := range tk.Spec.Results {
		results = append(results, r.Name)
	}
	for _, w := range tk.Spec.Workspaces {
		workspaces = append(workspaces, w.Name)
		if w.Name == "dockerconfig" && !w.Optional {
			t.Error("the dockerconfig workspace must be optional")
		}
	}
	for _, want := range []string{"IMAGE", "CONTEXT", "FORMAT", "RECOMMENDATION_TYPE", "SESHAT_IMAGE"} {
		if !strings.Contains(" "+strings.Join(params, " ")+" ", " "+want+" ") {
			t.Errorf("no param %s (have %v)", want, params)
		}
	}
	if strings.Join(results, ",") != "LOCKFILE_PATH,LOCKFILE_SHA256,IMAGE_DIGEST" {
		t.Errorf("results %v", results)
	}
	if strings.Join(workspaces, ",") != "source,dockerconfig" {
		t.Errorf("workspaces %v", workspaces)
	}
	for _, s := range tk.Spec.Steps {
		if m := substRE.FindString(s.Script); m != "" {
			t.Errorf("step %s: %s inside the script; pass it through env", s.Name, m)
		}
	}
}

func TestTaskStepsAgainstLocalRegistry(t *testing.T) {
	tk := loadTask(t)
	bin := seshatOnPath(t)

	img, err := layoutImage(fixtures.Path(t, "images/debian12"))
	if err != nil {
		t.Fatal(err)
	}
	digest, err := img.Digest()
	if err != nil {
		t.Fatal(err)
	}
	reg := testregistry.Start(t)
	ref := reg.Push(t, reg.Ref("apps/python-base:1"), img)
	index := pyindex.Start(t, fixtures.Path(t, "wheels"))

	ws := t.TempDir()
	if err := os.MkdirAll(filepath.Join(ws, "services/web"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(ws, "services/web/requirements.txt"), []byte("flask\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	resultsDir := t.TempDir()
	params := map[string]string{
		"IMAGE":      ref,
		"CONTEXT":    "services/web",
		"INDEX_URL":  index.URL + "/simple",
		"TLS_VERIFY": "false", // the test registry is plain HTTP
	}
	for _, p := range tk.Spec.Params {
		if _, ok := params[p.Name]; !ok && p.Default != nil {
			params[p.Name] = *p.Default
		}
	}
	subst := func(s string) string {
		return substRE.ReplaceAllStringFunc(s, func(m string) string {
			g := substRE.FindStringSubmatch(m)
			switch g[1] {
			case "params":
				return params[g[2]]
			case "workspaces":
				switch {
				case g[2] == "source" && g[3] == "path":
					return ws
				case g[2] == "dockerconfig" && g[3] == "bound":
					return "false"
				case g[2] == "dockerconfig" && g[3] == "path":
					return "" // what Tekton gives an unbound optional workspace
				}
			case "results":
				return filepath.Join(resultsDir, g[2])
			}
			t.Fatalf("no substitution for %s", m)
			return ""
		})
	}

	for _, step := range tk.Spec.Steps {
		script := filepath.Join(t.TempDir(), step.Name+".sh")
		if err := os.WriteFile(script, []byte(step.Script), 0o755); err != nil {
			t.Fatal(err)
		}
		cmd := exec.Command("sh", script)
		cmd.Dir = subst(step.WorkingDir)
		// A container's environment: the image's PATH and HOME, the step's env.
		cmd.Env = []string{"PATH=" + bin + ":/usr/local/bin:/usr/bin:/bin", "HOME=" + t.TempDir()}
		for _, e := range step.Env {
			cmd.Env = append(cmd.Env, e.Name+"="+subst(e.Value))
		}
		out, err := cmd.CombinedOutput()
		if err != nil {
			t.Fatalf("step %s: %v\n%s", step.Name, err, out)
		}
		t.Logf("step %s:\n%s", step.Name, out)
	}

	read := func(name string) string {
		data, err := os.ReadFile(filepath.Join(resultsDir, name))
		if err != nil {
			t.Fatalf("result %s: %v", name, err)
		}
		return string(data)
	}
	if got := read("LOCKFILE_PATH"); got != "services/web/requirements.txt" {
		t.Errorf("LOCKFILE_PATH = %q", got)
	}
	lock, err := os.ReadFile(filepath.Join(ws, "services/web/requirements.txt"))
	if err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256(lock)
	if got := read("LOCKFILE_SHA256"); got != hex.EncodeToString(sum[:]) {
		t.Errorf("LOCKFILE_SHA256 = %q, the file's is %x", got, sum)
	}
	if got := read("IMAGE_DIGEST"); got != digest.String() {
		t.Errorf("IMAGE_DIGEST = %q, pushed %s", got, digest)
	}
	// The image's venv /opt/app-root has no Flask: the lock pins it with hashes.
	if !regexp.MustCompile(`(?m)^flask==[0-9.]+ \\$`).Match(lock) || !strings.Contains(string(lock), "--hash=sha256:") {
		t.Errorf("the lock does not pin flask with hashes:\n%s", lock)
	}
}

// layoutImage opens the first image of an OCI layout.
func layoutImage(dir string) (v1.Image, error) {
	idx, err := layout.ImageIndexFromPath(dir)
	if err != nil {
		return nil, err
	}
	m, err := idx.IndexManifest()
	if err != nil {
		return nil, err
	}
	if len(m.Manifests) == 0 {
		return nil, fmt.Errorf("%s: an empty OCI layout", dir)
	}
	return idx.Image(m.Manifests[0].Digest)
}
