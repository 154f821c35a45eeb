package s2i

import (
	"bytes"
	"context"
	"errors"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

func TestParseSettings(t *testing.T) {
	for _, tc := range []struct {
		name    string
		env     []string
		want    Settings
		wantErr string
	}{
		{name: "defaults", want: Settings{Advise: true, Format: "requirements"}},
		{name: "pipenv switches to Pipfile.lock", env: []string{"ENABLE_PIPENV=1"}, want: Settings{Advise: true, Format: "pipfile-lock"}},
		// The stock script tests for non-empty, not for 1.
		{name: "micropipenv set to anything", env: []string{"ENABLE_MICROPIPENV=no"}, want: Settings{Advise: true, Format: "pipfile-lock"}},
		{name: "explicit format wins", env: []string{"ENABLE_PIPENV=1", "SESHAT_FORMAT=requirements"}, want: Settings{Advise: true, Format: "requirements"}},
		{name: "switches", env: []string{"SESHAT_ADVISE=0", "SESHAT_DRY_RUN=true", "SESHAT_ERROR_FALLBACK=1"},
			want: Settings{Advise: false, DryRun: true, ErrorFallback: true, Format: "requirements"}},
		{name: "steering and indexes", env: []string{"SESHAT_RECOMMENDATION_TYPE=stable", "SESHAT_PRESCRIPTIONS=/p/a::/p/b",
			"PIP_INDEX_URL=http://127.0.0.1:1/simple", "PIP_EXTRA_INDEX_URL=http://a/simple  http://b/simple", "SESHAT_CACHE_DIR=/c"},
			want: Settings{Advise: true, Format: "requirements", RecommendationType: "stable", Prescriptions: []string{"/p/a", "/p/b"},
				IndexURL: "http://127.0.0.1:1/simple", ExtraIndexURLs: []string{"http://a/simple", "http://b/simple"}, CacheDir: "/c"}},
		{name: "last entry wins", env: []string{"SESHAT_DRY_RUN=1", "SESHAT_DRY_RUN=0"}, want: Settings{Advise: true, Format: "requirements"}},
		{name: "bad switch", env: []string{"SESHAT_DRY_RUN=maybe"}, wantErr: `SESHAT_DRY_RUN="maybe": want 1 or 0`},
		{name: "bad format", env: []string{"SESHAT_FORMAT=poetry-lock"}, wantErr: `SESHAT_FORMAT="poetry-lock": want requirements, pipfile-lock or pylock`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := ParseSettings(tc.env)
			if tc.wantErr != "" {
				if err == nil || err.Error() != tc.wantErr {
					t.Fatalf("error %v, want %q", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got.Advise != tc.want.Advise || got.DryRun != tc.want.DryRun || got.ErrorFallback != tc.want.ErrorFallback ||
				got.Format != tc.want.Format || got.RecommendationType != tc.want.RecommendationType || got.IndexURL != tc.want.IndexURL ||
				got.CacheDir != tc.want.CacheDir || !slices.Equal(got.Prescriptions, tc.want.Prescriptions) ||
				!slices.Equal(got.ExtraIndexURLs, tc.want.ExtraIndexURLs) {
				t.Errorf("got %+v\nwant %+v", got, tc.want)
			}
		})
	}
}

// fakeRoot is a builder root with a venv's python3 on PATH and a stock
// assemble; the application files are the test's.
func fakeRoot(t *testing.T, app map[string]string) (root, src, scripts string) {
	t.Helper()
	root = t.TempDir()
	for _, d := range []string{"opt/app-root/bin", "usr/bin", "usr/libexec/s2i", "tmp/src"} {
		if err := os.MkdirAll(filepath.Join(root, d), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.Symlink("/usr/bin/python3", filepath.Join(root, "opt/app-root/bin/python3")); err != nil {
		t.Fatal(err)
	}
	scripts = filepath.Join(root, "usr/libexec/s2i")
	if err := os.WriteFile(filepath.Join(scripts, "assemble"), []byte("#!/bin/sh\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	src = filepath.Join(root, "tmp/src")
	for name, text := range app {
		if err := os.WriteFile(filepath.Join(src, name), []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return root, src, scripts
}

// run calls Assemble with an advise that records its arguments (and fails
// when adviseErr is set) and an exec that records what would be run.
func run(t *testing.T, app map[string]string, env []string, adviseErr error) (adviseArgs []string, execd string, stderr string, err error) {
	t.Helper()
	root, src, scripts := fakeRoot(t, app)
	var errOut bytes.Buffer
	advise := func(_ context.Context, args []string, _, _ io.Writer) error {
		adviseArgs = args
		return adviseErr
	}
	exec := func(argv0 string, argv, _ []string) error { execd = argv0; return nil }
	env = append([]string{"PATH=/opt/app-root/bin:/usr/bin"}, env...)
	err = Assemble(context.Background(), advise, WithRoot(root), WithSrc(src), WithScripts(scripts),
		WithEnv(env), WithExec(exec), WithOutput(io.Discard, &errOut))
	// Paths in the recorded arguments relative to the root, for stable comparisons.
	for i, a := range adviseArgs {
		adviseArgs[i] = strings.ReplaceAll(a, root, "ROOT")
		if i > 0 && adviseArgs[i-1] == "--cache-dir" {
			adviseArgs[i] = "CACHE"
		}
	}
	return adviseArgs, strings.TrimPrefix(execd, root), errOut.String(), err
}

func TestAssembleArguments(t *testing.T) {
	for _, tc := range []struct {
		name string
		app  map[string]string
		env  []string
		want string
	}{
		{name: "requirements.txt in place", app: map[string]string{"requirements.txt": "flask\n"},
			want: "--root ROOT -r ROOT/tmp/src/requirements.txt --python /opt/app-root/bin/python3 --format requirements --cache-dir CACHE -o ROOT/tmp/src/requirements.txt"},
		{name: "requirements.in is the input", app: map[string]string{"requirements.in": "flask\n", "requirements.txt": "flask==1\n"},
			want: "--root ROOT -r ROOT/tmp/src/requirements.in --python /opt/app-root/bin/python3 --format requirements --cache-dir CACHE -o ROOT/tmp/src/requirements.txt"},
		{name: "Pipfile with pipenv", app: map[string]string{"Pipfile": "[packages]\nflask = \"*\"\n"}, env: []string{"ENABLE_PIPENV=1", "SESHAT_RECOMMENDATION_TYPE=stable", "SESHAT_PRESCRIPTIONS=/p"},
			want: "--root ROOT --pipfile ROOT/tmp/src/Pipfile --python /opt/app-root/bin/python3 --format pipfile-lock --recommendation-type stable --prescriptions /p --cache-dir CACHE -o ROOT/tmp/src/Pipfile.lock"},
		{name: "index from pip's variable", app: map[string]string{"requirements.txt": "flask\n"}, env: []string{"PIP_INDEX_URL=http://127.0.0.1:9/simple"},
			want: "--root ROOT -r ROOT/tmp/src/requirements.txt --python /opt/app-root/bin/python3 --format requirements --index-url http://127.0.0.1:9/simple --cache-dir CACHE -o ROOT/tmp/src/requirements.txt"},
		// pip lets the file's own --index-url win; so does seshat.
		{name: "the file's index wins", app: map[string]string{"requirements.txt": "--index-url http://127.0.0.1:8/simple\nflask\n"}, env: []string{"PIP_INDEX_URL=http://127.0.0.1:9/simple"},
			want: "--root ROOT -r ROOT/tmp/src/requirements.txt --python /opt/app-root/bin/python3 --format requirements --cache-dir CACHE -o ROOT/tmp/src/requirements.txt"},
		{name: "a Pipfile without sources takes pip's variable", app: map[string]string{"Pipfile": "[packages]\nflask = \"*\"\n"}, env: []string{"PIP_INDEX_URL=http://127.0.0.1:9/simple"},
			want: "--root ROOT --pipfile ROOT/tmp/src/Pipfile --python /opt/app-root/bin/python3 --format requirements --index-url http://127.0.0.1:9/simple --cache-dir CACHE -o ROOT/tmp/src/requirements.txt"},
		{name: "dry run writes nothing", app: map[string]string{"pyproject.toml": "[project]\nname = \"a\"\nversion = \"1\"\ndependencies = [\"flask\"]\n"}, env: []string{"SESHAT_DRY_RUN=1"},
			want: "--root ROOT --pyproject ROOT/tmp/src/pyproject.toml --python /opt/app-root/bin/python3 --format requirements --cache-dir CACHE"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			args, execd, stderr, err := run(t, tc.app, tc.env, nil)
			if err != nil {
				t.Fatalf("%v\n%s", err, stderr)
			}
			if got := strings.Join(args, " "); got != tc.want {
				t.Errorf("seshat advise\n got %s\nwant %s", got, tc.want)
			}
			if execd != "/usr/libexec/s2i/assemble" {
				t.Errorf("exec'd %q, want the stock assemble", execd)
			}
		})
	}
}

func TestAssembleFailures(t *testing.T) {
	app := map[string]string{"requirements.txt": "flask\n"}
	failure := errors.New("no version of flask fits")

	_, execd, _, err := run(t, app, nil, failure)
	if !errors.Is(err, failure) || execd != "" || !strings.Contains(err.Error(), "SESHAT_ERROR_FALLBACK=1") {
		t.Errorf("failed advise: err %v, exec'd %q; want the advise error with the way out, and no build", err, execd)
	}

	_, execd, stderr, err := run(t, app, []string{"SESHAT_ERROR_FALLBACK=1"}, failure)
	if err != nil || execd == "" || !strings.Contains(stderr, "warning: advising") {
		t.Errorf("fallback: err %v, exec'd %q, stderr %q; want a warning and the stock assemble", err, execd, stderr)
	}

	args, execd, _, err := run(t, app, []string{"SESHAT_ADVISE=0"}, failure)
	if err != nil || args != nil || execd == "" {
		t.Errorf("SESHAT_ADVISE=0: err %v, advise %v, exec'd %q; want the stock assemble only", err, args, execd)
	}

	args, execd, stderr, err = run(t, nil, nil, failure)
	if err != nil || args != nil || execd == "" || !strings.Contains(stderr, "nothing to advise") {
		t.Errorf("no requirements: err %v, advise %v, exec'd %q, stderr %q", err, args, execd, stderr)
	}

	root, src, _ := fakeRoot(t, app)
	err = Assemble(context.Background(), nil, WithRoot(root), WithSrc(src), WithScripts(filepath.Join(root, "nowhere")), WithEnv(nil))
	if err == nil || !strings.Contains(err.Error(), "nowhere/assemble is missing") || !strings.Contains(err.Error(), "STI_SCRIPTS_PATH") {
		t.Errorf("missing stock script: %v", err)
	}
}
