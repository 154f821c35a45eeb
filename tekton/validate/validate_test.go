// Package validate checks seshat's Tekton Task with Tekton's own Go types and
// validation, as the Tekton webhook would on `kubectl apply`. It is a module
// of its own because tektoncd/pipeline brings Kubernetes and Knative along,
// which would lengthen every build of seshat; `make test` runs it.
package validate

import (
	"context"
	"os"
	"strings"
	"testing"

	v1 "github.com/tektoncd/pipeline/pkg/apis/pipeline/v1"
	"sigs.k8s.io/yaml"
)

func TestTaskValidates(t *testing.T) {
	data, err := os.ReadFile("../seshat-advise.yaml")
	if err != nil {
		t.Fatal(err)
	}
	var task v1.Task
	// Strict: a misspelt field is an error here, where Kubernetes would drop it.
	if err := yaml.UnmarshalStrict(data, &task); err != nil {
		t.Fatalf("seshat-advise.yaml does not decode as a tekton.dev/v1 Task: %v", err)
	}
	if task.APIVersion != "tekton.dev/v1" || task.Kind != "Task" {
		t.Fatalf("apiVersion %q kind %q", task.APIVersion, task.Kind)
	}
	ctx := context.Background()
	task.SetDefaults(ctx)
	if fe := task.Validate(ctx); fe != nil {
		t.Fatalf("Tekton rejects the Task: %v", fe)
	}
	for _, s := range task.Spec.Steps {
		if strings.Contains(s.Script, "$(params.") {
			t.Errorf("step %s uses $(params.…) in its script; the catalog asks for env", s.Name)
		}
	}
}

// A broken copy must be refused, so the test above is known to check something.
func TestBrokenTaskIsRefused(t *testing.T) {
	data, err := os.ReadFile("../seshat-advise.yaml")
	if err != nil {
		t.Fatal(err)
	}
	broken := strings.Replace(string(data), "$(params.SESHAT_IMAGE)", "$(params.NO_SUCH_PARAM)", 1)
	var task v1.Task
	if err := yaml.Unmarshal([]byte(broken), &task); err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	task.SetDefaults(ctx)
	if fe := task.Validate(ctx); fe == nil || !strings.Contains(fe.Error(), "NO_SUCH_PARAM") {
		t.Errorf("a step image naming an undeclared param passed validation: %v", fe)
	}
}
