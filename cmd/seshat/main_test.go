package main

import (
	"bytes"
	"os"
	"strings"
	"testing"
)

func TestVersionPrintsBuildVersion(t *testing.T) {
	root := newRootCmd()
	var out bytes.Buffer
	root.SetOut(&out)
	root.SetArgs([]string{"version"})
	if err := root.Execute(); err != nil {
		t.Fatal(err)
	}
	if got := strings.TrimSpace(out.String()); got != version {
		t.Fatalf("version printed %q, want %q", got, version)
	}
}

func TestUnknownFlagIsUsageError(t *testing.T) {
	root := newRootCmd()
	root.SetArgs([]string{"version", "--no-such-flag"})
	root.SetErr(&bytes.Buffer{})
	err := root.Execute()
	if err == nil || exitCode(err) != 2 {
		t.Fatalf("err %v exit %d, want a usage error with exit 2", err, exitCode(err))
	}
}

// TestMain points the user cache directory (analyses, index pages, wheel
// ABI facts, prescriptions) at a temporary one, so that the tests neither
// read what earlier runs cached nor leave anything in the user's.
func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "seshat-cmd-cache-")
	if err != nil {
		panic(err)
	}
	os.Setenv("XDG_CACHE_HOME", dir)
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}
