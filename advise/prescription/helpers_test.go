package prescription

import (
	"os"
	"path/filepath"
	"testing"
)

func writeFile(t testing.TB, path, content string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
}

func mustLoad(t testing.TB, dirs ...string) *Set {
	t.Helper()
	set, err := Load(dirs...)
	if err != nil {
		t.Fatal(err)
	}
	return set
}
