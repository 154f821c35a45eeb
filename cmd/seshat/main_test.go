package main

import (
	"bytes"
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
