package main

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/seshat-dev/seshat/extract"
	"github.com/seshat-dev/seshat/internal/fixtures"
	"github.com/seshat-dev/seshat/internal/testregistry"
)

// anRun runs `seshat analyze args…` in-process with its own cache dir
// unless args name one, and returns stdout, stderr and the exit code.
func anRun(t *testing.T, args ...string) (string, string, int) {
	t.Helper()
	root := newRootCmd()
	var out, errb bytes.Buffer
	root.SetOut(&out)
	root.SetErr(&errb)
	root.SetArgs(append([]string{"analyze"}, args...))
	err := root.Execute()
	code := 0
	if err != nil {
		code = exitCode(err)
		errb.WriteString("seshat: " + err.Error() + "\n")
	}
	return out.String(), errb.String(), code
}

// anSample copies the committed sample OCI layout (real Debian 12 files in
// three layers) to a temporary directory the test may damage.
func anSample(t *testing.T) string {
	t.Helper()
	src := filepath.Join(fixtures.RepoRoot(), "testdata", "sample", "oci")
	dst := filepath.Join(t.TempDir(), "oci")
	if err := os.CopyFS(dst, os.DirFS(src)); err != nil {
		t.Fatalf("copying the sample image: %v", err)
	}
	return dst
}

type anExpected struct {
	Digest      string            `json:"digest"`
	OS          extract.OSRelease `json:"os"`
	DebPackages []string          `json:"debPackages"`
}

func anExpect(t *testing.T) anExpected {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(fixtures.RepoRoot(), "testdata", "sample", "expected.json"))
	if err != nil {
		t.Fatal(err)
	}
	var e anExpected
	if err := json.Unmarshal(b, &e); err != nil {
		t.Fatal(err)
	}
	return e
}

func TestAnalyzeJSON(t *testing.T) {
	want := anExpect(t)
	ref := "oci:" + anSample(t)
	out, stderr, code := anRun(t, ref, "--cache-dir", t.TempDir())
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	if stderr != "" {
		t.Errorf("stderr not quiet without a terminal: %q", stderr)
	}
	var a extract.Analysis
	if err := json.Unmarshal([]byte(out), &a); err != nil {
		t.Fatalf("stdout is not the Analysis: %v\n%.300s", err, out)
	}
	if a.Schema != extract.SchemaV1 || a.Image.Digest != want.Digest || a.Image.Reference != ref {
		t.Errorf("schema %q digest %q reference %q", a.Schema, a.Image.Digest, a.Image.Reference)
	}
	if a.OS == nil || a.OS.PrettyName != want.OS.PrettyName || a.OS.ID != "debian" {
		t.Errorf("os = %+v, want %+v", a.OS, want.OS)
	}
	var names []string
	for _, p := range a.Packages {
		if p.Type != "deb" || p.Version == "" || p.Arch == "" {
			t.Errorf("package %+v", p)
		}
		names = append(names, p.Name)
	}
	sort.Strings(want.DebPackages)
	if strings.Join(names, " ") != strings.Join(want.DebPackages, " ") {
		t.Errorf("deb packages %v, want %v", names, want.DebPackages)
	}
}

func TestAnalyzeFormatsAndOutputFile(t *testing.T) {
	ref := "oci:" + anSample(t)
	cache := t.TempDir()
	out, stderr, code := anRun(t, ref, "--cache-dir", cache, "--format", "table")
	if code != 0 || !strings.Contains(out, "Debian GNU/Linux 12 (bookworm)") || !strings.Contains(out, "Packages: 5 (5 deb)") {
		t.Errorf("table (exit %d, %s):\n%s", code, stderr, out)
	}
	file := filepath.Join(t.TempDir(), "pe.json")
	out, stderr, code = anRun(t, ref, "--cache-dir", cache, "--format", "package-extract", "-o", file)
	if code != 0 || out != "" {
		t.Fatalf("exit %d, stdout %q, stderr %s", code, out, stderr)
	}
	b, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	var doc struct {
		Result struct {
			OS  map[string]string `json:"operating-system"`
			Deb []struct{ Name, Version, Arch string }
		}
	}
	if err := json.Unmarshal(b, &doc); err != nil {
		t.Fatal(err)
	}
	if doc.Result.OS["id"] != "debian" || doc.Result.OS["version_id"] != "12" || len(doc.Result.Deb) != 5 {
		t.Errorf("package-extract result %+v", doc.Result)
	}
}

// -o onto something that is not a regular file — /dev/null, a named pipe —
// writes through it; replacing it by renaming a temporary file over it would
// turn, as root, /dev/null into a file. A FIFO stands in for /dev/null so a
// regression cannot break the machine's.
func TestAnalyzeOutputToFIFO(t *testing.T) {
	fifo := filepath.Join(t.TempDir(), "out")
	if err := syscall.Mkfifo(fifo, 0o600); err != nil {
		t.Skipf("no named pipes here: %v", err)
	}
	got := make(chan []byte, 1)
	go func() {
		b, _ := os.ReadFile(fifo) // blocks until seshat opens the pipe for writing
		got <- b
	}()
	_, stderr, code := anRun(t, "oci:"+anSample(t), "--no-cache", "-o", fifo)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	if fi, err := os.Lstat(fifo); err != nil || fi.Mode()&os.ModeNamedPipe == 0 {
		t.Fatalf("after -o, %s is %v (%v), want the named pipe still", fifo, fi.Mode(), err)
	}
	select {
	case b := <-got:
		if !json.Valid(b) || !strings.Contains(string(b), `"debian"`) {
			t.Errorf("the pipe's reader got %q, want the analysis", b)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("nothing was written to the pipe")
	}
}

// TestAnalyzeCache: the second analysis of the same digest is answered from
// the cache — it succeeds even with every layer blob gone — and --no-cache
// neither reads nor writes it.
func TestAnalyzeCache(t *testing.T) {
	dir := anSample(t)
	ref := "oci:" + dir
	cache := t.TempDir()
	first, stderr, code := anRun(t, ref, "--cache-dir", cache)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	entries, _ := filepath.Glob(filepath.Join(cache, "sha256-*.json"))
	if len(entries) != 1 {
		t.Fatalf("cache entries %v, want one", entries)
	}
	for _, l := range anExpect(t).layers(t, dir) {
		if err := os.Remove(l); err != nil {
			t.Fatal(err)
		}
	}
	second, stderr, code := anRun(t, ref, "--cache-dir", cache)
	if code != 0 {
		t.Fatalf("cached run read a layer: exit %d: %s", code, stderr)
	}
	if second != first {
		t.Errorf("cached answer differs from the first")
	}
	noCache := t.TempDir()
	_, stderr, code = anRun(t, ref, "--cache-dir", noCache, "--no-cache")
	if code == 0 {
		t.Errorf("--no-cache answered without its layers: %s", stderr)
	}
	if ents, _ := os.ReadDir(noCache); len(ents) != 0 {
		t.Errorf("--no-cache wrote %v", ents)
	}
}

// layers lists the layer blob files of the sample layout at dir.
func (anExpected) layers(t *testing.T, dir string) []string {
	t.Helper()
	ls, err := fixtures.LayoutImage(t, dir).Layers()
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, l := range ls {
		d, _ := l.Digest()
		out = append(out, filepath.Join(dir, "blobs", d.Algorithm, d.Hex))
	}
	return out
}

func TestAnalyzeSBOM(t *testing.T) {
	ref := "oci:" + anSample(t)
	sbom := filepath.Join(t.TempDir(), "sbom.json")
	out, stderr, code := anRun(t, ref, "--cache-dir", t.TempDir(), "--sbom", "cyclonedx-json", "--sbom-file", sbom)
	if code != 0 || !strings.Contains(out, `"schema": "seshat.analysis/v1"`) {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	b, err := os.ReadFile(sbom)
	if err != nil {
		t.Fatal(err)
	}
	var doc struct {
		BOMFormat  string `json:"bomFormat"`
		Components []struct {
			Name, Version, Purl string
		}
	}
	if err := json.Unmarshal(b, &doc); err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, c := range doc.Components {
		if strings.HasPrefix(c.Purl, "pkg:deb/debian/") {
			n++
		}
	}
	if doc.BOMFormat != "CycloneDX" || n != 5 {
		t.Errorf("bomFormat %q with %d deb components, want CycloneDX and 5", doc.BOMFormat, n)
	}
}

// TestAnalyzeExitCodes: each failure ends in one line naming the input and a
// documented exit code.
func TestAnalyzeExitCodes(t *testing.T) {
	corrupt := anSample(t)
	layers := anExpected{}.layers(t, corrupt)
	if err := os.WriteFile(layers[0], bytes.Repeat([]byte("not a layer "), 1000), 0o644); err != nil {
		t.Fatal(err)
	}
	sample := "oci:" + anSample(t)
	tests := []struct {
		name    string
		args    []string
		code    int
		mention string
	}{
		{"no reference", []string{}, 2, "one image reference"},
		{"bad format", []string{sample, "--format", "yaml"}, 2, "--format"},
		{"bad sbom format", []string{sample, "--sbom", "xml", "--sbom-file", "x"}, 2, "--sbom"},
		{"sbom without file", []string{sample, "--sbom", "spdx-json"}, 2, "--sbom-file"},
		{"bad platform", []string{sample, "--platform", "linux"}, 2, "platform"},
		{"unsupported transport", []string{"containers-storage:img"}, 2, "containers-storage"},
		{"missing layout", []string{"oci:" + filepath.Join(t.TempDir(), "nope")}, 3, "nope"},
		{"missing archive", []string{"docker-archive:" + filepath.Join(t.TempDir(), "nope.tar")}, 3, "nope.tar"},
		{"corrupt layer", []string{"oci:" + corrupt, "--no-cache"}, 5, "corrupt layer"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, stderr, code := anRun(t, append(tt.args, "--cache-dir", t.TempDir())...)
			if code != tt.code || !strings.Contains(stderr, tt.mention) {
				t.Errorf("exit %d, stderr %q; want exit %d mentioning %q", code, stderr, tt.code, tt.mention)
			}
			if n := strings.Count(strings.TrimSpace(stderr), "\n"); n != 0 {
				t.Errorf("error is %d lines, want one: %q", n+1, stderr)
			}
		})
	}
}

// TestAnalyzeWrongCredentials pushes the sample to Debian's docker-registry
// behind TLS and htpasswd; wrong credentials exit 4, right ones analyze.
func TestAnalyzeWrongCredentials(t *testing.T) {
	reg := testregistry.Start(t, testregistry.WithTLSAuth("alice", "s3cret"))
	img := fixtures.LayoutImage(t, anSample(t))
	ref := reg.Ref("team/sample:1")
	reg.Push(t, ref, img)
	_, stderr, code := anRun(t, ref, "--insecure", "--creds", "alice:wrong", "--no-cache")
	if code != 4 || !strings.Contains(stderr, ref) {
		t.Errorf("wrong password: exit %d, %s", code, stderr)
	}
	out, stderr, code := anRun(t, ref, "--insecure", "--creds", "alice:s3cret", "--no-cache", "--format", "table")
	if code != 0 || !strings.Contains(out, "Debian GNU/Linux 12") {
		t.Errorf("right password: exit %d, %s\n%s", code, stderr, out)
	}
}
