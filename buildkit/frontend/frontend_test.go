package frontend

import (
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/opencontainers/go-digest"

	"github.com/seshat-dev/seshat/internal/fixtures"
	"github.com/seshat-dev/seshat/internal/pyindex"
)

func TestMain(m *testing.M) {
	code := m.Run()
	fixtures.RemoveBuilt()
	os.Exit(code)
}

// debian12 is the Debian 12 fixture as the fake serves it: the config and
// manifest digest of the OCI image images/debian12, and its merged root
// filesystem (rootfs/debian12-slim, the same files).
func debian12(t *testing.T) fakeImage {
	t.Helper()
	img := fixtures.LayoutImage(t, fixtures.Path(t, "images/debian12"))
	cfg, err := img.RawConfigFile()
	if err != nil {
		t.Fatal(err)
	}
	h, err := img.Digest()
	if err != nil {
		t.Fatal(err)
	}
	return fakeImage{digest: digest.Digest(h.String()), config: cfg, root: fixtures.Path(t, "rootfs/debian12-slim")}
}

func writeFiles(t *testing.T, files map[string]string) string {
	t.Helper()
	dir := t.TempDir()
	for name, text := range files {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

const appDockerfile = `# syntax=seshat.test/seshat-frontend
ARG BASE=seshat.test/nothing:latest
FROM ${BASE} AS base
FROM base
RUN --mount=type=bind,from=seshat-lock,target=/tmp/seshat \
    pip install --no-cache-dir --require-hashes -r /tmp/seshat/requirements.lock
COPY . /opt/app-root/src
`

// TestBuildReadsImageThroughGateway runs the frontend against the fake
// gateway client: the base image comes from the Dockerfile (an ARG
// overridden by a build-arg, through a named stage), its files through
// the gateway's file requests, the index is the build-arg PIP_INDEX_URL
// (a real local PEP 691 index), and the lock handed to dockerfile.v0 must
// be byte for byte what `seshat advise --root` writes for the same root,
// interpreter and requirements.
func TestBuildReadsImageThroughGateway(t *testing.T) {
	index := pyindex.Start(t, fixtures.Path(t, "wheels"))
	app := writeFiles(t, map[string]string{
		"Dockerfile":       appDockerfile,
		"requirements.txt": "flask\n",
		"app.py":           "import flask\n",
	})
	img := debian12(t)
	opts := map[string]string{
		"build-arg:BASE":          "seshat.test/debian12:latest",
		"build-arg:PIP_INDEX_URL": index.URL + "/simple",
		"cmdline":                 "seshat.test/seshat-frontend",
		"source":                  "seshat.test/seshat-frontend",
	}
	c := &fakeClient{
		opts:      opts,
		images:    map[string]fakeImage{"seshat.test/debian12": img},
		localDirs: map[string]string{"context": app, "dockerfile": app},
	}
	if _, err := Build(context.Background(), c); err != nil {
		t.Fatal(err)
	}
	h := c.handed
	if h == nil {
		t.Fatal("nothing was handed to dockerfile.v0")
	}
	if got := h.FrontendOpt["context:seshat-lock"]; got != "input:seshat-lock" {
		t.Errorf("context:seshat-lock = %q", got)
	}
	for k, want := range map[string]string{"build-arg:BASE": opts["build-arg:BASE"], "build-arg:PIP_INDEX_URL": opts["build-arg:PIP_INDEX_URL"], "cmdline": opts["cmdline"], "source": ""} {
		if h.FrontendOpt[k] != want {
			t.Errorf("handed option %s = %q, want %q", k, h.FrontendOpt[k], want)
		}
	}
	files, err := mkfiles(h.FrontendInputs["seshat-lock"])
	if err != nil {
		t.Fatal(err)
	}
	got := files["/requirements.lock"]
	if got == "" {
		t.Fatalf("no /requirements.lock in the lock context (it has %v)", keys(files))
	}
	var rep struct {
		Environment struct {
			Image       string `json:"image"`
			Interpreter string `json:"interpreter"`
		} `json:"environment"`
	}
	if err := json.Unmarshal([]byte(files["/seshat-report.json"]), &rep); err != nil {
		t.Errorf("seshat-report.json: %v", err)
	}
	t.Logf("report environment: %+v; %d gateway file requests; solved %v", rep.Environment, c.readOps, c.solved)
	if !slices.Contains(c.solved, "docker-image://seshat.test/debian12@"+img.digest.String()) {
		t.Errorf("the image was not read at the digest it resolved to: %v", c.solved)
	}

	// The same inputs through the command line: the root's files, the
	// interpreter the image's PATH finds (the venv's python3), the index.
	seshat := fixtures.StaticSeshat(t)
	out := filepath.Join(t.TempDir(), "requirements.lock")
	cmd := exec.Command(seshat, "advise", "--root", img.root, "--python", "/opt/app-root/bin/python3",
		"-r", filepath.Join(app, "requirements.txt"), "--index-url", index.URL+"/simple",
		"--cache-dir", t.TempDir(), "--format", "requirements", "-o", out)
	cmd.Env = append(os.Environ(), "PIP_INDEX_URL=")
	if b, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("seshat advise --root: %v\n%s", err, b)
	}
	want, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	if got != string(want) {
		t.Errorf("the frontend's lock differs from seshat advise --root's\nfrontend:\n%s\nseshat advise --root:\n%s", got, want)
	}
	// What the base's venv lacks: flask and its dependencies, click among
	// them (the system site-packages' python3-click does not count).
	for _, pin := range []string{"flask==3.1.1", "werkzeug==3.1.3", "click==8.1.8"} {
		if !strings.Contains(strings.ToLower(got), pin) {
			t.Errorf("lock lacks %s:\n%s", pin, got)
		}
	}
}

func keys(m map[string]string) []string {
	var ks []string
	for k := range m {
		ks = append(ks, k)
	}
	return ks
}

func TestFinalBase(t *testing.T) {
	for _, tc := range []struct {
		name, dockerfile, target string
		args                     map[string]string
		want, err                string
	}{
		{name: "single", dockerfile: "FROM python:3.12\n", want: "python:3.12"},
		{name: "last stage", dockerfile: "FROM golang AS build\nFROM python:3.11-slim\n", want: "python:3.11-slim"},
		{name: "through stages", dockerfile: "FROM ubi9/python-311 AS base\nFROM base AS deps\nFROM deps\n", want: "ubi9/python-311"},
		{name: "stage names ignore case", dockerfile: "FROM img AS Base\nFROM base\n", want: "img"},
		{name: "target", dockerfile: "FROM a AS one\nFROM b AS two\nFROM c\n", target: "two", want: "b"},
		{name: "arg default", dockerfile: "ARG BASE=reg.test/py:1\nFROM ${BASE}\n", want: "reg.test/py:1"},
		{name: "arg overridden", dockerfile: "ARG BASE=reg.test/py:1\nFROM $BASE\n", args: map[string]string{"BASE": "other:2"}, want: "other:2"},
		{name: "build-arg not declared is not expanded", dockerfile: "FROM py${TAG}\n", args: map[string]string{"TAG": ":3"}, want: "py"},
		{name: "scratch", dockerfile: "FROM python AS b\nFROM scratch\nCOPY --from=b / /\n", err: "FROM scratch"},
		{name: "unknown target", dockerfile: "FROM a\n", target: "nope", err: `no stage "nope"`},
		{name: "empty", dockerfile: "ARG X\nFROM ${X}\n", err: "expands to nothing"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := finalBase([]byte(tc.dockerfile), tc.args, tc.target)
			if tc.err != "" {
				if err == nil || !strings.Contains(err.Error(), tc.err) {
					t.Fatalf("err = %v, want %q", err, tc.err)
				}
				return
			}
			if err != nil || got != tc.want {
				t.Fatalf("finalBase = %q, %v; want %q", got, err, tc.want)
			}
		})
	}
}

// TestSubrequestSkipsAdvice: --print/--call subrequests go straight to
// dockerfile.v0, reading no image and writing no lock.
func TestSubrequestSkipsAdvice(t *testing.T) {
	c := &fakeClient{opts: map[string]string{"requestid": "frontend.outline", "source": "seshat.test/seshat-frontend"}}
	if _, err := Build(context.Background(), c); err != nil {
		t.Fatal(err)
	}
	if c.handed == nil || len(c.solved) != 0 || c.handed.FrontendInputs["seshat-lock"] != nil || c.handed.FrontendOpt["requestid"] != "frontend.outline" {
		t.Errorf("solved %v, handed %+v", c.solved, c.handed)
	}
}
