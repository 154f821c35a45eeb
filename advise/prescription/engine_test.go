package prescription

import (
	"errors"
	"path/filepath"
	"strings"
	"testing"
)

const pypi = "https://pypi.org/simple"

func testSet(t *testing.T) *Set { return mustLoad(t, "testdata/prescriptions") }

func rpms(names ...string) []RPM {
	var out []RPM
	for _, n := range names {
		out = append(out, RPM{Name: n})
	}
	return out
}

// flask-openid<1.3 runs 2to3, gone from setuptools 58: an image that ships
// setuptools>=58 refuses it with the prescription's message.
func TestFlaskOpenIDWithSetuptools58(t *testing.T) {
	set := testSet(t)
	withNew := set.For(Context{PythonVersion: "3.11", PythonPackages: []InstalledPackage{
		{Name: "setuptools", Version: "59.6.0", Location: "/usr/lib/python3/dist-packages"},
	}})
	r := withNew.Step(Candidate{Name: "Flask-OpenID", Version: "1.2.5", IndexURL: pypi}, State{})
	if !r.NotAcceptable || len(r.Fired) != 1 {
		t.Fatalf("flask-openid 1.2.5 with setuptools 59.6.0 installed: %+v, want not acceptable", r)
	}
	f := r.Fired[0]
	if f.Unit != "seshat-test.FlaskOpenIDNeeds2to3Step" || f.Message != "flask-openid<1.3.0 cannot be installed next to setuptools>=58.0.0 (no 2to3)" ||
		f.Link != "https://github.com/pallets-eco/flask-openid/issues/59" || f.Type != "WARNING" || f.Package != "Flask-OpenID==1.2.5" {
		t.Errorf("fired = %+v", f)
	}
	if !strings.HasSuffix(f.File, "setuptools58.yaml") || f.Line != 5 {
		t.Errorf("fired at %s:%d, want setuptools58.yaml:5", f.File, f.Line)
	}
	if r := withNew.Step(Candidate{Name: "flask-openid", Version: "1.3.0", IndexURL: pypi}, State{}); r.NotAcceptable || len(r.Fired) != 0 {
		t.Errorf("flask-openid 1.3.0 refused: %+v", r)
	}
	if flagged := withNew.Flagged(Candidate{Name: "flask-openid", Version: "1.2.5"}); len(flagged) != 1 {
		t.Errorf("Flagged(flask-openid 1.2.5) = %v, want the step (stable avoids it)", flagged)
	}

	withOld := set.For(Context{PythonVersion: "3.11", PythonPackages: []InstalledPackage{
		{Name: "setuptools", Version: "57.5.0", Location: "/opt/app-root/lib/python3.11/site-packages"},
	}})
	if r := withOld.Step(Candidate{Name: "flask-openid", Version: "1.2.5", IndexURL: pypi}, State{}); r.NotAcceptable {
		t.Errorf("flask-openid 1.2.5 refused next to setuptools 57: %+v", r)
	}
}

// GitPython needs the git binary: a wrap warns on an RPM image without git,
// not on one with it.
func TestGitPythonNeedsGit(t *testing.T) {
	set := testSet(t)
	lock := State{Resolved: map[string]Candidate{"gitpython": {Name: "GitPython", Version: "3.1.43", IndexURL: pypi}}}
	warned := func(ctx Context) *Fired {
		for _, f := range set.For(ctx).Wrap(lock) {
			if f.Unit == "seshat-test.GitPythonNeedsGitWrap" {
				return &f
			}
		}
		return nil
	}
	f := warned(Context{RPMPackages: rpms("bash", "python3.11")})
	if f == nil {
		t.Fatal("no warning for GitPython on an image without the git RPM")
	}
	if f.Type != "WARNING" || !strings.Contains(f.Message, "install the git RPM") || f.Package != "GitPython==3.1.43" {
		t.Errorf("warning = %+v", f)
	}
	if f := warned(Context{RPMPackages: rpms("bash", "git", "python3.11")}); f != nil {
		t.Errorf("warned although git is installed: %+v", f)
	}
	// Thoth's rule: without an RPM database (a Debian image) nothing is
	// known about RPMs, so the unit is not included.
	if f := warned(Context{}); f != nil {
		t.Errorf("warned on an image without RPMs: %+v", f)
	}
	// And no GitPython in the lock, no warning.
	for _, f := range set.For(Context{RPMPackages: rpms("bash")}).Wrap(State{Resolved: map[string]Candidate{}}) {
		if f.Unit == "seshat-test.GitPythonNeedsGitWrap" {
			t.Errorf("warned without gitpython resolved")
		}
	}
}

func TestPseudonymOnlyWithCUDA(t *testing.T) {
	set := testSet(t)
	tf := Candidate{Name: "tensorflow", Version: "2.15.0", IndexURL: pypi}
	alts := set.For(Context{CUDAVersion: "12.1"}).Pseudonyms(tf)
	if len(alts) != 1 || alts[0].Name != "tensorflow-gpu" || alts[0].Version != "2.15.0" || alts[0].IndexURL != pypi {
		t.Fatalf("pseudonyms on CUDA 12.1 = %+v, want tensorflow-gpu 2.15.0", alts)
	}
	if alts[0].Fired.Link != "https://thoth-station.ninja/j/tf_gpu_alt" {
		t.Errorf("short link not expanded: %q", alts[0].Fired.Link)
	}
	if alts := set.For(Context{}).Pseudonyms(tf); len(alts) != 0 {
		t.Errorf("pseudonyms without CUDA = %+v, want none", alts)
	}
	if alts := set.For(Context{CUDAVersion: "10.2"}).Pseudonyms(tf); len(alts) != 0 {
		t.Errorf("pseudonyms on CUDA 10.2 = %+v, want none (cuda_version >=11.0)", alts)
	}
	other := Candidate{Name: "tensorflow", Version: "2.15.0", IndexURL: "https://example.org/simple"}
	if alts := set.For(Context{CUDAVersion: "12.1"}).Pseudonyms(other); len(alts) != 0 {
		t.Errorf("pseudonym applied to tensorflow from another index: %+v", alts)
	}
}

func TestNotWrappers(t *testing.T) {
	set := testSet(t)
	bootNames := func(ctx Context) []string {
		fired, _ := set.For(ctx).Boot(nil)
		var names []string
		for _, f := range fired {
			names = append(names, strings.TrimPrefix(f.Unit, "seshat-test."))
		}
		return names
	}
	cases := []struct {
		name string
		ctx  Context
		want string
	}{
		{"recommendation type excluded by not", Context{RecommendationType: "latest", BaseImage: "quay.io/x/y:1"}, ""},
		{"other base image", Context{RecommendationType: "stable", BaseImage: "quay.io/x/y:1"}, "NotOnUBIBoot"},
		{"base image tag matches the excluded wildcard", Context{RecommendationType: "stable", BaseImage: "registry.access.redhat.com/ubi9/python-311:1-77"}, ""},
		{"same image, tag outside the wildcard", Context{RecommendationType: "stable", BaseImage: "registry.access.redhat.com/ubi9/python-311:2-1"}, "NotOnUBIBoot"},
		{"dependency monkey pipeline", Context{Pipeline: "dependency_monkey", RecommendationType: "stable"}, ""},
	}
	for _, c := range cases {
		if got := strings.Join(bootNames(c.ctx), ","); got != c.want {
			t.Errorf("%s: boots fired %q, want %q", c.name, got, c.want)
		}
	}

	// index_url: {not: pypi} removes numpy from any other index.
	e := set.For(Context{RecommendationType: "stable"})
	if keep, fired := e.Sieve(Candidate{Name: "numpy", Version: "1.26.4", IndexURL: "https://mirror.example/simple"}); keep || len(fired) != 1 {
		t.Errorf("numpy from a mirror kept: %v %v", keep, fired)
	}
	if keep, _ := e.Sieve(Candidate{Name: "numpy", Version: "1.26.4", IndexURL: pypi + "/"}); !keep {
		t.Errorf("numpy from PyPI removed")
	}
	if keep, _ := set.For(Context{RecommendationType: "latest"}).Sieve(Candidate{Name: "numpy", Version: "1", IndexURL: "https://mirror.example/simple"}); !keep {
		t.Errorf("sieve limited to stable/security applied under latest")
	}
}

func TestBootNotAcceptable(t *testing.T) {
	_, err := testSet(t).For(Context{PythonVersion: "3.6"}).Boot(nil)
	var stop *StopError
	if !errors.As(err, &stop) || stop.Fired.Unit != "seshat-test.OldPythonBoot" {
		t.Fatalf("err = %v, want a StopError from OldPythonBoot", err)
	}
	if !strings.Contains(err.Error(), "Python older than 3.8 is not supported") || !strings.Contains(err.Error(), "negations.yaml:19") {
		t.Errorf("error reads %q", err)
	}
	if _, err := testSet(t).For(Context{PythonVersion: "3.11"}).Boot(nil); err != nil {
		t.Errorf("Python 3.11: %v", err)
	}
}

func TestSkipAndAddPackage(t *testing.T) {
	e := testSet(t).For(Context{PythonVersion: "3.11"})
	if skip, fired := e.SkipPackage("Enum34"); !skip || len(fired) != 1 || fired[0].Type != "WARNING" {
		t.Errorf("SkipPackage(enum34) = %v %v", skip, fired)
	}
	if skip, _ := e.SkipPackage("enum-compat"); skip {
		t.Errorf("enum-compat skipped")
	}

	tf22 := Candidate{Name: "tensorflow", Version: "2.2.0", IndexURL: pypi}
	scipy := Candidate{Name: "scipy", Version: "1.4.1", IndexURL: pypi}
	st := State{Resolved: map[string]Candidate{"tensorflow": tf22}, From: []Candidate{tf22}}
	if r := e.Step(scipy, st); !r.Skip {
		t.Errorf("scipy introduced by tensorflow 2.2.0 not skipped: %+v", r)
	}
	// Also required by something else that is resolved: keep it.
	sk := Candidate{Name: "scikit-learn", Version: "1.0"}
	st2 := State{Resolved: map[string]Candidate{"tensorflow": tf22, "scikit-learn": sk}, From: []Candidate{tf22, sk}}
	if r := e.Step(scipy, st2); r.Skip {
		t.Errorf("scipy skipped although scikit-learn needs it too")
	}

	r := e.Step(Candidate{Name: "scipy", Version: "1.11.1", IndexURL: pypi}, State{})
	if len(r.Add) != 1 || r.Add[0] != (Locked{Name: "pooch", Version: "1.8.0", IndexURL: pypi}) {
		t.Errorf("add = %+v, want pooch 1.8.0", r.Add)
	}
	if r.Score != -0.5 || r.NotAcceptable {
		t.Errorf("score = %v, not acceptable = %v; want -0.5 and acceptable", r.Score, r.NotAcceptable)
	}
	withPooch := State{Resolved: map[string]Candidate{"pooch": {Name: "pooch", Version: "1.7.0"}}}
	if r := e.Step(Candidate{Name: "scipy", Version: "1.11.1", IndexURL: pypi}, withPooch); len(r.Add) != 0 {
		t.Errorf("pooch added although already resolved: %+v", r.Add)
	}
}

func TestStride(t *testing.T) {
	e := testSet(t).For(Context{})
	bad := State{Resolved: map[string]Candidate{
		"urllib3":  {Name: "urllib3", Version: "2.2.1"},
		"requests": {Name: "requests", Version: "2.28.0"},
	}}
	_, err := e.Stride(bad)
	var stop *StopError
	if !errors.As(err, &stop) || stop.Fired.NotAcceptable != "requests<2.30 does not support urllib3 2" {
		t.Errorf("Stride = %v", err)
	}
	good := State{Resolved: map[string]Candidate{
		"urllib3":  {Name: "urllib3", Version: "2.2.1"},
		"requests": {Name: "requests", Version: "2.31.0"},
	}}
	if _, err := e.Stride(good); err != nil {
		t.Errorf("Stride(requests 2.31) = %v", err)
	}
}

func TestUnique(t *testing.T) {
	a := Fired{Unit: "x", Package: "p==1"}
	got := Unique([]Fired{a, {Unit: "y"}, a, {Unit: "x", Package: "p==2"}})
	if len(got) != 3 {
		t.Errorf("Unique kept %d, want 3", len(got))
	}
}

// A step.Group acts on a combination, as Thoth registers it: for each
// member it is a step on that member with the others resolved, so a
// resolver meets it whichever member comes first (click<8.1.0 with
// black>22.1.0, psf/black#2964).
func TestGroupStep(t *testing.T) {
	// The excerpt's rewrite of the repository's click/black group, anchor
	// and all.
	dir := filepath.Join(excerpt, "bl_", "black")
	e := mustLoad(t, dir).For(Context{})
	click := func(v string) Candidate { return Candidate{Name: "click", Version: v, IndexURL: pypi} }
	black := func(v string) Candidate { return Candidate{Name: "black", Version: v, IndexURL: pypi} }
	state := func(cs ...Candidate) State {
		st := State{Resolved: map[string]Candidate{}}
		for _, c := range cs {
			st.Resolved[c.Name] = c
		}
		return st
	}
	for _, tc := range []struct {
		name    string
		c       Candidate
		st      State
		refused bool
	}{
		{"click 8.0.4 next to black 22.3.0", click("8.0.4"), state(black("22.3.0")), true},
		{"black 22.3.0 next to click 8.0.4", black("22.3.0"), state(click("8.0.4")), true},
		{"click 8.1.3 next to black 22.3.0", click("8.1.3"), state(black("22.3.0")), false},
		{"click 8.0.4 next to black 22.1.0", click("8.0.4"), state(black("22.1.0")), false},
		{"click 8.0.4 alone", click("8.0.4"), state(), false},
		{"click 8.0.4 from another index", Candidate{Name: "click", Version: "8.0.4", IndexURL: "https://example.com/simple"}, state(black("22.3.0")), false},
	} {
		r := e.Step(tc.c, tc.st)
		if r.NotAcceptable != tc.refused {
			t.Errorf("%s: not acceptable %v, want %v (%+v)", tc.name, r.NotAcceptable, tc.refused, r.Fired)
		}
		if tc.refused && (len(r.Fired) != 1 || r.Fired[0].Kind != KindGroupStep || r.Fired[0].Link != "https://github.com/psf/black/issues/2964" ||
			r.Fired[0].Message != "black releases after 22.1.0 need click 8.1.0 or later") {
			t.Errorf("%s: fired %+v, want the group step with its link", tc.name, r.Fired)
		}
	}
	// The resolver learns the combination before either is chosen.
	rules := e.Rules(click("8.0.4"))
	if len(rules.Conflicts) != 1 || len(rules.Conflicts[0].With) != 1 || rules.Conflicts[0].With[0].Name != "black" ||
		!rules.Conflicts[0].With[0].Accepts(black("22.3.0")) || rules.Conflicts[0].With[0].Accepts(black("22.1.0")) {
		t.Errorf("Rules(click 8.0.4) = %+v, want a conflict with black>22.1.0", rules)
	}
	// Not a flag on click alone: stable does not avoid click 8.0.4 everywhere.
	if f := e.Flagged(click("8.0.4")); len(f) != 0 {
		t.Errorf("Flagged(click 8.0.4) = %+v, want nothing", f)
	}
}

// A group of three refuses only the three together.
func TestGroupStepOfThree(t *testing.T) {
	dir := t.TempDir()
	writeFile(t, dir+"/g.yaml", "units:\n  steps:\n  - name: ThreeStep\n    type: step.Group\n    should_include:\n      adviser_pipeline: true\n    match:\n      group:\n      - package_version: {name: a}\n      - package_version: {name: b}\n      - package_version: {name: c}\n    run:\n      not_acceptable: a, b and c do not mix\n")
	e := mustLoad(t, dir).For(Context{})
	both := State{Resolved: map[string]Candidate{"b": {Name: "b", Version: "1"}, "c": {Name: "c", Version: "1"}}}
	one := State{Resolved: map[string]Candidate{"b": {Name: "b", Version: "1"}}}
	if r := e.Step(Candidate{Name: "a", Version: "1"}, both); !r.NotAcceptable {
		t.Error("a next to b and c: accepted")
	}
	if r := e.Step(Candidate{Name: "a", Version: "1"}, one); r.NotAcceptable {
		t.Error("a next to b alone: refused")
	}
	if rules := e.Rules(Candidate{Name: "c", Version: "1"}); len(rules.Conflicts) != 1 || len(rules.Conflicts[0].With) != 2 {
		t.Errorf("Rules(c) = %+v, want one conflict naming a and b", rules)
	}
}

func TestGroupStepSchema(t *testing.T) {
	dir := t.TempDir()
	file := dir + "/bad.yaml"
	writeFile(t, file, `units:
  steps:
  - name: OneMemberStep
    type: step.Group
    should_include:
      adviser_pipeline: true
    match:
      group:
      - package_version:
          name: click
    run:
      not_acceptable: x
  - name: NoNameStep
    type: step.Group
    should_include:
      adviser_pipeline: true
    match:
      group:
      - package_version:
          version: <8
      - package_version:
          name: black
    run:
      not_acceptable: x
  - name: StateStep
    type: step.Group
    should_include:
      adviser_pipeline: true
    match:
      group:
      - package_version: {name: a}
      - package_version: {name: b}
      state:
        resolved_dependencies: [{name: c}]
    run:
      not_acceptable: x
      package_version: {name: d}
`)
	var got []string
	for _, p := range Validate(dir) {
		got = append(got, p.String())
	}
	want := []string{
		file + `:9: match.group must list at least two package versions`,
		file + `:20: match.group.package_version is missing required key "name"`,
		file + `:33: unknown key "state" in match (known: group)`,
		file + `:37: unknown key "package_version" in run (known: stack_info, log, not_acceptable, eager_stop_pipeline, score, justification)`,
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("problems:\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	// A group of one is no step refusing its member unconditionally.
	set, _ := Load(dir)
	for _, u := range set.Units() {
		if strings.HasSuffix(u.Name, "OneMemberStep") && len(u.Match) != 0 {
			t.Errorf("a group of one loaded as matches %+v", u.Match)
		}
	}
}
