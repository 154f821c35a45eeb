package advise_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/seshat-dev/seshat/abi"
	"github.com/seshat-dev/seshat/advise"
	"github.com/seshat-dev/seshat/advise/index"
	"github.com/seshat-dev/seshat/advise/lock"
	"github.com/seshat-dev/seshat/advise/pep508"
	"github.com/seshat-dev/seshat/advise/reqfile"
	"github.com/seshat-dev/seshat/advise/target"
	"github.com/seshat-dev/seshat/internal/fixtures"
	"github.com/seshat-dev/seshat/internal/pyindex"
)

// debian12 is the machine's own interpreter and libc: CPython 3.11 on glibc
// 2.36, so pip and pipenv here can install what seshat locks for it.
func debian12() target.Target {
	return target.Target{
		PythonVersion: "3.11",
		Platforms:     abi.PlatformTags(abi.Libc{Family: "glibc", Version: "2.36"}, "x86_64"),
	}
}

// corpus serves the real wheel corpus on loopback.
func corpus(t *testing.T) *pyindex.Server {
	return pyindex.Start(t, fixtures.Path(t, "wheels"))
}

func client(t *testing.T, srv *pyindex.Server) *index.Client {
	t.Helper()
	c, err := index.New([]index.IndexURL{{Name: "local", URL: srv.URL + "/simple"}}, index.WithCacheDir(t.TempDir()), index.WithNetrc(""))
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func resolveText(t *testing.T, srv *pyindex.Server, reqs string, tg target.Target, opts ...advise.Option) (*advise.Result, error) {
	t.Helper()
	path := filepath.Join(t.TempDir(), "requirements.txt")
	if err := os.WriteFile(path, []byte(reqs), 0o644); err != nil {
		t.Fatal(err)
	}
	in, err := reqfile.ParseRequirementsFile(path)
	if err != nil {
		t.Fatal(err)
	}
	opts = append(opts, advise.WithIndexes(lock.Index{Name: "local", URL: srv.URL + "/simple", VerifySSL: true}))
	return advise.Resolve(context.Background(), in, tg, client(t, srv), opts...)
}

func pins(l *lock.Lock) map[string]string {
	m := map[string]string{}
	for _, p := range l.Packages {
		m[p.Name] = p.Version
	}
	return m
}

// pipEnv is the environment for pip: no user configuration, no cache, and
// no find-links directory from the machine, so the local index is the only source.
func pipEnv() []string {
	var env []string
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "PIP_FIND_LINKS=") && !strings.HasPrefix(kv, "PIP_INDEX_URL=") && !strings.HasPrefix(kv, "PIP_EXTRA_INDEX_URL=") {
			env = append(env, kv)
		}
	}
	return append(env, "PIP_NO_CACHE_DIR=1", "PIP_DISABLE_PIP_VERSION_CHECK=1", "PIP_CONFIG_FILE=/dev/null", "PIP_NO_INPUT=1")
}

// platformArgs passes every platform tag of the target: pip matches each
// --platform exactly, so the whole list is needed.
func platformArgs(tg target.Target) []string {
	var args []string
	for _, p := range tg.Platforms {
		args = append(args, "--platform", p)
	}
	return args
}

// pipResolve asks pip's own resolver for the same set and returns its install list.
func pipResolve(t *testing.T, srv *pyindex.Server, reqs string, tg target.Target) map[string]string {
	t.Helper()
	dir := t.TempDir()
	req := filepath.Join(dir, "reqs.txt")
	report := filepath.Join(dir, "report.json")
	if err := os.WriteFile(req, []byte(reqs), 0o644); err != nil {
		t.Fatal(err)
	}
	args := []string{"-m", "pip", "install", "--dry-run", "--ignore-installed", "--report", report,
		"--python-version", tg.PythonVersion, "--only-binary=:all:", "--target", filepath.Join(dir, "t"),
		"--index-url", srv.URL + "/simple", "-r", req}
	args = append(args, platformArgs(tg)...)
	cmd := exec.Command("python3", args...)
	cmd.Env = pipEnv()
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("pip resolve: %v\n%s", err, out)
	}
	b, err := os.ReadFile(report)
	if err != nil {
		t.Fatal(err)
	}
	var doc struct {
		Install []struct {
			Metadata struct{ Name, Version string }
		}
	}
	if err := json.Unmarshal(b, &doc); err != nil {
		t.Fatal(err)
	}
	m := map[string]string{}
	for _, i := range doc.Install {
		m[pep508.CanonicalName(i.Metadata.Name)] = i.Metadata.Version
	}
	return m
}

// installed lists the distributions in a --target directory or site-packages.
func installed(t *testing.T, dir string) map[string]string {
	t.Helper()
	ents, err := filepath.Glob(filepath.Join(dir, "*.dist-info"))
	if err != nil {
		t.Fatal(err)
	}
	m := map[string]string{}
	for _, e := range ents {
		stem := strings.TrimSuffix(filepath.Base(e), ".dist-info")
		name, ver, _ := strings.Cut(stem, "-")
		m[pep508.CanonicalName(name)] = ver
	}
	return m
}

func diffPins(t *testing.T, what string, got, want map[string]string) {
	t.Helper()
	var keys []string
	for k := range got {
		keys = append(keys, k)
	}
	for k := range want {
		if _, ok := got[k]; !ok {
			keys = append(keys, k)
		}
	}
	slices.Sort(keys)
	var bad []string
	for _, k := range keys {
		if got[k] != want[k] {
			bad = append(bad, k+": seshat "+orNone(got[k])+", "+what+" "+orNone(want[k]))
		}
	}
	if len(bad) > 0 {
		t.Errorf("pins differ from %s:\n  %s", what, strings.Join(bad, "\n  "))
	}
}

func orNone(s string) string {
	if s == "" {
		return "(none)"
	}
	return s
}

// pipInstall installs a hash-pinned requirements file with the real pip,
// without dependencies, and returns what landed.
func pipInstall(t *testing.T, srv *pyindex.Server, l *lock.Lock, tg target.Target) map[string]string {
	t.Helper()
	dir := t.TempDir()
	req := filepath.Join(dir, "requirements.txt")
	var buf bytes.Buffer
	if err := lock.WriteRequirements(&buf, l, lock.RequirementsOptions{Develop: true}); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(req, buf.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(dir, "site")
	args := []string{"-m", "pip", "install", "--require-hashes", "--no-deps", "--only-binary=:all:",
		"--python-version", tg.PythonVersion, "--target", out, "--index-url", srv.URL + "/simple", "-r", req}
	args = append(args, platformArgs(tg)...)
	cmd := exec.Command("python3", args...)
	cmd.Env = pipEnv()
	if b, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("pip install --require-hashes: %v\n%s\nrequirements.txt:\n%s", err, b, buf.String())
	}
	return installed(t, out)
}

// cp313 is CPython 3.13 on a newer glibc (Debian 13), where the corpus's
// compiled cp313 wheels install.
func cp313() target.Target {
	return target.Target{PythonVersion: "3.13", Platforms: abi.PlatformTags(abi.Libc{Family: "glibc", Version: "2.41"}, "x86_64")}
}

type set struct {
	name, reqs string
	target     target.Target
}

func sets(t testing.TB) []set {
	return []set{
		{"flask app", "flask>=2.2\ngunicorn; sys_platform == 'win32'\n", debian12()},
		{"requests client", "requests[use-chardet-on-py3]>=2.28\nrich\n", debian12()},
		// On cp311 the newest pydantic needs pydantic-core 2.27.2, which has
		// only cp313 wheels, so the solver must back out of it; werkzeug<3
		// holds flask down to 2.2.
		{"backtracking", "pydantic\nflask\nwerkzeug<3\nrich\n", debian12()},
		// Every project of the corpus at once, where its compiled wheels install.
		{"largest graph", largestSet(t), cp313()},
	}
}

// TestPinsEqualPip resolves real requirement sets against the real corpus
// and checks every pin against pip's resolver, then installs the lock with
// pip --require-hashes.
func TestPinsEqualPip(t *testing.T) {
	srv := corpus(t)
	for _, s := range sets(t) {
		t.Run(s.name, func(t *testing.T) {
			res, err := resolveText(t, srv, s.reqs, s.target)
			if err != nil {
				t.Fatalf("resolve:\n%s\n%v", s.reqs, err)
			}
			got := pins(res.Lock)
			diffPins(t, "pip", got, pipResolve(t, srv, s.reqs, s.target))
			diffPins(t, "pip install --require-hashes", got, pipInstall(t, srv, res.Lock, s.target))
		})
	}
}

// largestSet asks for every project the corpus has.
func largestSet(t testing.TB) string {
	ents, err := os.ReadDir(fixtures.Path(t, "wheels"))
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, e := range ents {
		name, _, _ := strings.Cut(e.Name(), "-")
		name = pep508.CanonicalName(name)
		if strings.HasSuffix(e.Name(), ".whl") && !slices.Contains(names, name) {
			names = append(names, name)
		}
	}
	return strings.Join(names, "\n") + "\n"
}

// TestExplainBacktracking checks what --explain says about versions held
// down by another requirement and versions with no file for the target.
func TestExplainBacktracking(t *testing.T) {
	srv := corpus(t)
	res, err := resolveText(t, srv, "flask\nwerkzeug<3\nmarkupsafe\n", debian12())
	if err != nil {
		t.Fatal(err)
	}
	why := map[string]advise.Pin{}
	for _, p := range res.Pins {
		why[p.Name] = p
	}
	if p := why["flask"]; p.Version != "2.2.2" || !strings.Contains(p.Why, "held down") || !strings.Contains(strings.Join(p.Details, "\n"), "werkzeug") {
		t.Errorf("flask: %+v, want 2.2.2 held down because of werkzeug<3", p)
	}
	if p := why["markupsafe"]; p.Version != "2.1.2" || !strings.Contains(strings.Join(p.Details, "\n"), "2.1.5 skipped: no wheel for CPython 3.11 (cp311)") {
		t.Errorf("markupsafe: %+v, want 2.1.2 with 2.1.5 skipped for its cp313 wheel", p)
	}
}

// TestNoSolution checks that an unsatisfiable set is explained in terms of
// the user's requirements and the files the target can use.
func TestNoSolution(t *testing.T) {
	srv := corpus(t)
	_, err := resolveText(t, srv, "flask>=3\nwerkzeug<3\n", debian12())
	var nse *advise.NoSolutionError
	if !errors.As(err, &nse) {
		t.Fatalf("err = %v, want a NoSolutionError", err)
	}
	msg := err.Error()
	for _, want := range []string{"flask>=3", "werkzeug<3", "werkzeug>=3.1.0"} {
		if !strings.Contains(msg, want) {
			t.Errorf("explanation lacks %q:\n%s", want, msg)
		}
	}

	_, err = resolveText(t, srv, "pydantic-core\n", debian12())
	if !errors.As(err, &nse) || !strings.Contains(err.Error(), "cp313-cp313-manylinux_2_38_x86_64") {
		t.Errorf("pydantic-core on cp311: err = %v, want an explanation naming the cp313 wheel", err)
	}
	_, err = resolveText(t, srv, "no-such-project\n", debian12())
	if !errors.As(err, &nse) || !strings.Contains(err.Error(), "no index has a project named no-such-project") {
		t.Errorf("unknown project: err = %v", err)
	}
}

// TestCp313TakesCompiledWheels resolves for Python 3.13 on a new glibc,
// where the compiled cp313 wheels install, and checks pip agrees and that
// exactly the wheels for that target are hashed.
func TestCp313TakesCompiledWheels(t *testing.T) {
	srv := corpus(t)
	tg := cp313()
	reqs := "pydantic\njsonschema\nrequests\nflask\n"
	res, err := resolveText(t, srv, reqs, tg)
	if err != nil {
		t.Fatal(err)
	}
	got := pins(res.Lock)
	diffPins(t, "pip", got, pipResolve(t, srv, reqs, tg))
	if got["pydantic-core"] != "2.27.2" || got["rpds-py"] != "0.21.0" {
		t.Errorf("cp313 pins = %v, want the compiled pydantic-core 2.27.2 and rpds-py 0.21.0", got)
	}
	for _, p := range res.Lock.Packages {
		for _, a := range p.Artifacts {
			if !strings.Contains(a.Filename, "cp313") && !strings.Contains(a.Filename, "none-any") {
				t.Errorf("%s: artifact %s does not install on cp313", p.Name, a.Filename)
			}
		}
	}
}

// TestDeterministic writes every format twice from two resolutions and
// compares the bytes.
func TestDeterministic(t *testing.T) {
	srv := corpus(t)
	var outs [2][3]string
	for i := range outs {
		res, err := resolveText(t, srv, "flask\nrequests\nrich\n", debian12())
		if err != nil {
			t.Fatal(err)
		}
		var a, b, c bytes.Buffer
		if err := lock.WriteRequirements(&a, res.Lock, lock.RequirementsOptions{}); err != nil {
			t.Fatal(err)
		}
		if err := lock.WritePipfileLock(&b, res.Lock, nil); err != nil {
			t.Fatal(err)
		}
		if err := lock.WritePylock(&c, res.Lock); err != nil {
			t.Fatal(err)
		}
		outs[i] = [3]string{a.String(), b.String(), c.String()}
	}
	if outs[0] != outs[1] {
		t.Errorf("two resolutions wrote different files:\n%s\n---\n%s", outs[0][0], outs[1][0])
	}
}
