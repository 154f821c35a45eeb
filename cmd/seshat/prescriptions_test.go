package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestPrescriptionsValidateClean(t *testing.T) {
	dir := filepath.Join("..", "..", "advise", "prescription", "testdata", "prescriptions")
	out, errOut, code := runSeshat(t, "prescriptions", "validate", dir)
	if code != 0 || out != "" {
		t.Fatalf("exit %d, stdout %q, stderr %q; want exit 0 and nothing on stdout", code, out, errOut)
	}
	if strings.Contains(errOut, "not implemented") || !strings.Contains(errOut, "15 units in 6 files are valid") {
		t.Errorf("stderr = %q", errOut)
	}
}

func TestPrescriptionsValidateProblems(t *testing.T) {
	dir := filepath.Join("..", "..", "advise", "prescription", "testdata", "malformed")
	out, errOut, code := runSeshat(t, "prescriptions", "validate", dir)
	if code != 8 {
		t.Fatalf("exit %d, want 8 (stderr %q)", code, errOut)
	}
	lines := strings.Split(strings.TrimSpace(out), "\n")
	if len(lines) != 18 {
		t.Errorf("%d problems printed, want 18:\n%s", len(lines), out)
	}
	want := filepath.Join(dir, "units", "schema.yaml") + `:14: operating system version must be a string, got the number 34; quote it: "34"`
	if !strings.Contains(out, want+"\n") {
		t.Errorf("stdout lacks %q:\n%s", want, out)
	}
	if !strings.Contains(errOut, "18 problem(s) in 3 prescription file(s)") {
		t.Errorf("stderr = %q", errOut)
	}
}

func TestPrescriptionsValidateMissingDir(t *testing.T) {
	_, errOut, code := runSeshat(t, "prescriptions", "validate", "no-such-dir")
	if code != 1 || !strings.Contains(errOut, "no-such-dir") {
		t.Fatalf("exit %d, stderr %q; want exit 1 naming the directory", code, errOut)
	}
	if _, _, code := runSeshat(t, "prescriptions", "validate"); code != 2 {
		t.Errorf("no DIR: exit %d, want 2", code)
	}
}

// A second validate of an unchanged tree reads it from the cache, in
// --cache-dir's prescriptions/; --no-cache reads every file.
func TestPrescriptionsValidateCache(t *testing.T) {
	tree, cache := t.TempDir(), t.TempDir()
	if err := os.CopyFS(tree, os.DirFS(filepath.Join("..", "..", "advise", "prescription", "testdata", "prescriptions"))); err != nil {
		t.Fatal(err)
	}
	time.Sleep(1100 * time.Millisecond) // files changed in the last second are not cached
	for i, want := range []string{"15 units in 6 files are valid (", "6 files unchanged since the last run, from the cache)"} {
		if _, errOut, code := runSeshat(t, "prescriptions", "validate", "--cache-dir", cache, tree); code != 0 || !strings.Contains(errOut, want) {
			t.Fatalf("run %d: exit %d, stderr %q; want %q", i+1, code, errOut, want)
		}
	}
	if ents, err := os.ReadDir(filepath.Join(cache, "prescriptions")); err != nil || len(ents) != 1 {
		t.Errorf("cache directory: %v, %v; want one cache file in prescriptions/", ents, err)
	}
	if _, errOut, _ := runSeshat(t, "prescriptions", "validate", "--no-cache", "--cache-dir", cache, tree); strings.Contains(errOut, "from the cache") {
		t.Errorf("--no-cache: %q", errOut)
	}
}
