package extract

import (
	"context"
	"slices"
	"testing"
)

// Inside a build (`--root /`) the image's config has become the process's
// environment: dir:/ reports the variables that locate Python and CUDA,
// and leaves out everything else, secrets included.
func TestDirRunningRootEnv(t *testing.T) {
	t.Setenv("PATH", "/opt/app-root/bin:/usr/bin")
	t.Setenv("VIRTUAL_ENV", "/opt/app-root")
	t.Setenv("CUDA_VERSION", "12.1.1")
	t.Setenv("REGISTRY_TOKEN", "s3cret")
	src, err := Open(context.Background(), "dir:/")
	if err != nil {
		t.Fatal(err)
	}
	info, err := src.Info(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"PATH=/opt/app-root/bin:/usr/bin", "VIRTUAL_ENV=/opt/app-root", "CUDA_VERSION=12.1.1"} {
		if !slices.Contains(info.Config.Env, want) {
			t.Errorf("env %q lacks %s", info.Config.Env, want)
		}
	}
	for _, kv := range info.Config.Env {
		if kv == "REGISTRY_TOKEN=s3cret" {
			t.Errorf("env %q carries a variable that says nothing about the image", info.Config.Env)
		}
	}

	// Any other directory is an unpacked image: no environment is made up.
	other, err := Open(context.Background(), "dir:"+t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	info, err = other.Info(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if len(info.Config.Env) != 0 {
		t.Errorf("dir: of an unpacked tree has env %q, want none", info.Config.Env)
	}
}
