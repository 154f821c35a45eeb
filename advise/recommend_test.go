package advise_test

import (
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/seshat-dev/seshat/advise"
	"github.com/seshat-dev/seshat/advise/pep440"
	"github.com/seshat-dev/seshat/advise/prescription"
	"github.com/seshat-dev/seshat/internal/fixtures"
	"github.com/seshat-dev/seshat/internal/pyindex"
)

func TestAdvisoryRanges(t *testing.T) {
	dir := t.TempDir()
	// Unquoted YAML numbers (2.0) are versions too; last_affected is inclusive.
	yaml := `id: PYSEC-TEST-1
affected:
- package: {name: Demo_Pkg, ecosystem: PyPI}
  ranges:
  - type: ECOSYSTEM
    events:
    - introduced: 1.0
    - fixed: 2.0
    - introduced: 3.0
    - last_affected: 3.2
`
	if err := os.WriteFile(filepath.Join(dir, "PYSEC-TEST-1.yaml"), []byte(yaml), 0o644); err != nil {
		t.Fatal(err)
	}
	as, err := advise.LoadAdvisories(dir)
	if err != nil {
		t.Fatal(err)
	}
	for v, want := range map[string]bool{"0.9": false, "1.0": true, "1.9.9": true, "2.0": false, "2.5": false, "3.0": true, "3.2": true, "3.2.1": false} {
		if got := len(as.Affecting("demo-pkg", pep440.MustParse(v))) > 0; got != want {
			t.Errorf("%s affected: %v, want %v", v, got, want)
		}
	}
}

// --recommendation-type security with advisories in both layouts (OSV
// JSON, PyPA advisory-database YAML), copied from the real advisories.
func TestSecurityRecommendation(t *testing.T) {
	as, err := advise.LoadAdvisories("testdata/image/advisories")
	if err != nil {
		t.Fatal(err)
	}
	if as.Files != 2 {
		t.Fatalf("read %d advisories, want 2", as.Files)
	}
	srv := corpus(t)
	sec := advise.ImageSettings{Recommendation: advise.RecommendSecurity, Advisories: as}

	// The Debian 12 root has requests 2.28.1, which GHSA-9wx4-h78v-vm56
	// affects: keep would leave it, security replaces it and says so.
	root, err := advise.NewImageEnvironment(analyze(t, "dir:"+fixtures.Path(t, "rootfs/debian12")), "")
	if err != nil {
		t.Fatal(err)
	}
	res, _, err := resolveImage(t, srv, root, "requests\n", advise.ImageSettings{})
	if err != nil {
		t.Fatal(err)
	}
	if got := pins(res.Lock); got["requests"] != "" {
		t.Errorf("latest, keep: lock %v, want requests kept out (installed)", got)
	}
	res, rep, err := resolveImage(t, srv, root, "requests\n", sec)
	if err != nil {
		t.Fatal(err)
	}
	if got := pins(res.Lock); got["requests"] != "2.32.3" {
		t.Errorf("security: lock %v, want requests 2.32.3", got)
	}
	if len(rep.Changed) != 1 || rep.Changed[0].Name != "requests" {
		t.Errorf("security: changed %+v, want requests", rep.Changed)
	}
	if !strings.Contains(explainText(rep), "GHSA-9wx4-h78v-vm56") {
		t.Errorf("--explain does not name the advisory:\n%s", explainText(rep))
	}

	// Every flask<3 in the index is affected: the error names the advisory.
	img, err := advise.NewImageEnvironment(analyze(t, "oci:"+fixtures.Path(t, "images/debian12")), "")
	if err != nil {
		t.Fatal(err)
	}
	_, _, err = resolveImage(t, srv, img, "flask<3\n", sec)
	var nse *advise.NoSolutionError
	if !errors.As(err, &nse) || !strings.Contains(err.Error(), "PYSEC-2023-62") {
		t.Errorf("flask<3 under security: %v, want a NoSolutionError naming PYSEC-2023-62", err)
	}
	res, _, err = resolveImage(t, srv, img, "flask\n", sec)
	if err != nil {
		t.Fatal(err)
	}
	if got := pins(res.Lock); got["flask"] != "3.1.1" {
		t.Errorf("flask under security: %v, want 3.1.1 (not affected)", got)
	}
}

// Prescriptions in Thoth's schema (the engine's own test tree) steer the
// resolution through the image: installed setuptools, RPMs present.
func TestPrescriptions(t *testing.T) {
	set, err := prescription.Load(filepath.Join("prescription", "testdata", "prescriptions"))
	if err != nil {
		t.Fatal(err)
	}
	srv := pyindex.Start(t, writeDists(t,
		dist{name: "flask-openid", version: "1.2.5"},
		dist{name: "flask-openid", version: "1.3.0"},
		dist{name: "gitpython", version: "3.1.43"},
	))
	withRx := advise.ImageSettings{Prescriptions: set}

	// The Debian 12 image's venv has setuptools 66.1.1, so flask-openid<1.3
	// (which needs 2to3) is refused, with the prescription's message.
	img, err := advise.NewImageEnvironment(analyze(t, "oci:"+fixtures.Path(t, "images/debian12")), "")
	if err != nil {
		t.Fatal(err)
	}
	_, _, err = resolveImage(t, srv, img, "flask-openid<1.3\n", withRx)
	if err == nil || !strings.Contains(err.Error(), "flask-openid<1.3.0 cannot be installed next to setuptools>=58.0.0 (no 2to3)") {
		t.Errorf("flask-openid<1.3 with setuptools 66 installed: %v, want the prescription's message", err)
	}
	res, rep, err := resolveImage(t, srv, img, "flask-openid\n", withRx)
	if err != nil {
		t.Fatal(err)
	}
	if got := pins(res.Lock); got["flask-openid"] != "1.3.0" {
		t.Errorf("flask-openid: %v, want 1.3.0", got)
	}
	if !slices.ContainsFunc(rep.Prescriptions, func(f prescription.Fired) bool { return strings.HasSuffix(f.Unit, "FlaskOpenIDNeeds2to3Step") }) {
		t.Errorf("report prescriptions %+v, want the flask-openid step", rep.Prescriptions)
	}

	// GitPython warns on an RPM image without git, not on one with it.
	warned := func(base string) bool {
		t.Helper()
		ref := buildImage(t, imageSpec{base: base, fromRoot: debianPython})
		env, err := advise.NewImageEnvironment(analyze(t, ref), "")
		if err != nil {
			t.Fatal(err)
		}
		res, rep, err := resolveImage(t, srv, env, "gitpython\n", withRx)
		if err != nil {
			t.Fatal(err)
		}
		fired := slices.ContainsFunc(rep.Prescriptions, func(f prescription.Fired) bool {
			return strings.HasSuffix(f.Unit, "GitPythonNeedsGitWrap") && strings.Contains(f.Message, "install the git RPM")
		})
		if fired != slices.ContainsFunc(res.Warnings, func(w string) bool { return strings.Contains(w, "install the git RPM") }) {
			t.Errorf("%s: report and warnings disagree: %+v / %q", base, rep.Prescriptions, res.Warnings)
		}
		return fired
	}
	if !warned("images/rpmdb-centos7-plain") {
		t.Error("no GitPython warning on CentOS 7 without git")
	}
	if warned("images/rpmdb-centos7-many") {
		t.Error("GitPython warning on CentOS 7 with git installed")
	}
}

// writePrescriptions writes a prescription tree of one file per unit list,
// in the repository's layout.
func writePrescriptions(t *testing.T, files map[string]string) *prescription.Set {
	t.Helper()
	dir := t.TempDir()
	files[prescription.MetadataFile] = "prescription:\n  name: test\n  release: '1'\n"
	for name, body := range files {
		p := filepath.Join(dir, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	set, err := prescription.Load(dir)
	if err != nil {
		t.Fatal(err)
	}
	return set
}

func firedUnit(rep *advise.Report, suffix string) bool {
	return slices.ContainsFunc(rep.Prescriptions, func(f prescription.Fired) bool { return strings.HasSuffix(f.Unit, suffix) })
}

// Steps that depend on the rest of the resolution steer it instead of
// failing it: a refused combination is backtracked around, step.AddPackage
// and step.SkipPackage change the graph, with and without state conditions.
func TestPrescriptionSteps(t *testing.T) {
	set := writePrescriptions(t, map[string]string{
		"ap_/app/steps.yaml": `units:
  steps:
  - name: AppTwoBreaksWithNewLib
    type: step
    should_include:
      adviser_pipeline: true
    match:
      package_version:
        name: app
        version: ">=2.0"
      state:
        resolved_dependencies:
        - name: lib
          version: ">=2.0"
    run:
      not_acceptable: app 2 crashes with lib 2
      stack_info:
      - type: ERROR
        message: app 2 crashes with lib 2
        link: https://example.org/app-lib
`,
		"li_/lib/steps.yaml": `units:
  steps:
  - name: OldToolNeedsOldLib
    type: step
    should_include:
      adviser_pipeline: true
    match:
      package_version:
        name: lib
        version: ">=2.0"
      state:
        package_version_from:
        - name: oldtool
    run:
      not_acceptable: oldtool breaks with lib 2
`,
		"sc_/scipy/steps.yaml": `units:
  steps:
  - name: SciPyAddsPooch
    type: step.AddPackage
    should_include:
      adviser_pipeline: true
    match:
      package_version:
        name: scipy
        version: ">=1.10"
    run:
      package_version:
        name: pooch
        locked_version: ==1.8.0
        index_url: https://pypi.org/simple
        develop: false
  - name: SciPyNotNeededByOldTensorFlow
    type: step.SkipPackage
    should_include:
      adviser_pipeline: true
    match:
      package_version:
        name: scipy
      state:
        package_version_from:
        - name: tensorflow
          version: "<=2.3"
    run:
      stack_info:
      - type: INFO
        message: TensorFlow 2.3 lists SciPy but never imports it
        link: https://example.org/tf-scipy
`,
		"bl_/black/group.yaml": `units:
  steps:
  - name: NewBlackNeedsNewClick
    type: step.Group
    should_include:
      adviser_pipeline: true
    match:
    - group:
      - package_version:
          name: click
          version: <8.1.0
      - package_version:
          name: black
          version: ">22.1.0"
    run:
      not_acceptable: black after 22.1 breaks on click before 8.1
`,
		"si_/six/steps.yaml": `units:
  steps:
  - name: SixUnusedWithLegacy
    type: step.SkipPackage
    should_include:
      adviser_pipeline: true
    match:
      package_version:
        name: six
      state:
        resolved_dependencies:
        - name: legacy
    run:
      stack_info:
      - type: INFO
        message: legacy vendors six
        link: https://example.org/six
`,
	})
	srv := pyindex.Start(t, writeDists(t,
		dist{name: "app", version: "1.0"}, dist{name: "app", version: "2.0"},
		dist{name: "lib", version: "1.0"}, dist{name: "lib", version: "2.0"},
		dist{name: "scipy", version: "1.11.0"},
		dist{name: "pooch", version: "1.8.0"}, dist{name: "pooch", version: "1.9.0"},
		dist{name: "tensorflow", version: "2.3.0", requires: []string{"scipy"}},
		dist{name: "modern", version: "1.0", requires: []string{"six"}},
		dist{name: "six", version: "1.16.0"},
		dist{name: "legacy", version: "1.0"},
		dist{name: "oldtool", version: "1.0", requires: []string{"lib"}},
		dist{name: "black", version: "22.1.0", requires: []string{"click>=8.0.0"}},
		dist{name: "black", version: "22.3.0", requires: []string{"click>=8.0.0"}},
		dist{name: "click", version: "8.0.4"}, dist{name: "click", version: "8.1.3"},
	))
	img, err := advise.NewImageEnvironment(analyze(t, "oci:"+fixtures.Path(t, "images/debian12")), "")
	if err != nil {
		t.Fatal(err)
	}
	rx := advise.ImageSettings{Prescriptions: set}

	// app 2 with lib 2 is refused: the solver keeps the newest app and takes
	// lib 1 rather than failing, and the report names the unit.
	res, rep, err := resolveImage(t, srv, img, "app\nlib\n", rx)
	if err != nil {
		t.Fatalf("app and lib: %v", err)
	}
	got := pins(res.Lock)
	if got["app"] == "2.0" && got["lib"] == "2.0" || got["app"] == "" || got["lib"] == "" {
		t.Errorf("app and lib: %v, want one of them below 2.0", got)
	}
	if !firedUnit(rep, "AppTwoBreaksWithNewLib") {
		t.Errorf("report %+v does not name the step that held a version down", rep.Prescriptions)
	}
	// Pinned both to 2: no solution, and the explanation quotes the step.
	_, _, err = resolveImage(t, srv, img, "app>=2\nlib>=2\n", rx)
	var nse *advise.NoSolutionError
	if !errors.As(err, &nse) || !strings.Contains(err.Error(), "app 2 crashes with lib 2") {
		t.Errorf("app>=2 and lib>=2: %v, want no solution citing the prescription", err)
	} else {
		t.Logf("app>=2 and lib>=2: %v", err)
	}

	// step.Group: with click held below 8.1, black stays at 22.1.0, the last
	// release that works with it; asked for both, no solution, quoting it.
	res, rep, err = resolveImage(t, srv, img, "black\nclick<8.1\n", rx)
	if err != nil {
		t.Fatalf("black and click<8.1: %v", err)
	}
	if got := pins(res.Lock); got["black"] != "22.1.0" || got["click"] != "8.0.4" {
		t.Errorf("black and click<8.1: %v, want black 22.1.0 and click 8.0.4", got)
	}
	if !firedUnit(rep, "NewBlackNeedsNewClick") {
		t.Errorf("report %+v does not name the group step that held black down", rep.Prescriptions)
	}
	if res, _, err := resolveImage(t, srv, img, "black\n", rx); err != nil || pins(res.Lock)["black"] != "22.3.0" || pins(res.Lock)["click"] != "8.1.3" {
		t.Errorf("black alone: %v, want black 22.3.0 with click 8.1.3 (the group does not apply)", err)
	}
	_, _, err = resolveImage(t, srv, img, "black>22.1\nclick<8.1\n", rx)
	if !errors.As(err, &nse) || !strings.Contains(err.Error(), "black after 22.1 breaks on click before 8.1") {
		t.Errorf("black>22.1 and click<8.1: %v, want no solution citing the group step", err)
	}

	// package_version_from: lib 2 is refused when oldtool brings it in, and
	// only then.
	res, _, err = resolveImage(t, srv, img, "oldtool\n", rx)
	if err != nil {
		t.Fatal(err)
	}
	if got := pins(res.Lock); got["lib"] != "1.0" {
		t.Errorf("oldtool: %v, want lib 1.0", got)
	}
	res, _, err = resolveImage(t, srv, img, "lib\n", rx)
	if err != nil {
		t.Fatal(err)
	}
	if got := pins(res.Lock); got["lib"] != "2.0" {
		t.Errorf("lib alone: %v, want lib 2.0", got)
	}

	// step.AddPackage: scipy>=1.10 brings pooch 1.8.0, not the newest.
	res, rep, err = resolveImage(t, srv, img, "scipy\n", rx)
	if err != nil {
		t.Fatal(err)
	}
	if got := pins(res.Lock); got["pooch"] != "1.8.0" {
		t.Errorf("scipy: %v, want pooch 1.8.0 added", got)
	}
	if !firedUnit(rep, "SciPyAddsPooch") {
		t.Errorf("report %+v does not name SciPyAddsPooch", rep.Prescriptions)
	}

	// step.SkipPackage from tensorflow<=2.3: scipy is not pulled in.
	res, rep, err = resolveImage(t, srv, img, "tensorflow\n", rx)
	if err != nil {
		t.Fatal(err)
	}
	if got := pins(res.Lock); got["tensorflow"] != "2.3.0" || got["scipy"] != "" || got["pooch"] != "" {
		t.Errorf("tensorflow: %v, want tensorflow 2.3.0 without scipy (and so without pooch)", got)
	}
	if !firedUnit(rep, "SciPyNotNeededByOldTensorFlow") {
		t.Errorf("report %+v does not name the skip", rep.Prescriptions)
	}

	// step.SkipPackage with a state condition: six stays out of the lock
	// only when legacy is resolved too.
	res, rep, err = resolveImage(t, srv, img, "modern\nlegacy\n", rx)
	if err != nil {
		t.Fatal(err)
	}
	if got := pins(res.Lock); got["six"] != "" || got["modern"] != "1.0" || got["legacy"] != "1.0" {
		t.Errorf("modern and legacy: %v, want six skipped", got)
	}
	if !slices.Equal(rep.Skipped, []advise.ReportSkipped{{Name: "six", Version: "1.16.0"}}) {
		t.Errorf("report skipped %+v, want six 1.16.0", rep.Skipped)
	}
	if !firedUnit(rep, "SixUnusedWithLegacy") {
		t.Errorf("report %+v does not name the skip", rep.Prescriptions)
	}
	res, _, err = resolveImage(t, srv, img, "modern\n", rx)
	if err != nil {
		t.Fatal(err)
	}
	if got := pins(res.Lock); got["six"] != "1.16.0" {
		t.Errorf("modern alone: %v, want six 1.16.0", got)
	}
}

// Pseudonyms offer alternatives the solver weighs: one from an index the
// package does not come from is passed over, one whose dependencies do not
// fit gives way to the original, and the lock says who required the
// alternative chosen.
func TestPseudonymAlternatives(t *testing.T) {
	pseudonym := func(name, match, yield, index string) string {
		s := `  - name: ` + name + `
    type: pseudonym
    should_include:
      adviser_pipeline: true
    match:
      package_version:
        name: ` + match + `
    run:
      stack_info:
      - type: INFO
        message: ` + yield + ` replaces ` + match + `
        link: https://example.org/` + yield + `
      yield:
        yield_matched_version: true
        package_version:
          name: ` + yield + "\n"
		if index != "" {
			s += "          index_url: " + index + "\n"
		}
		return s
	}
	set := writePrescriptions(t, map[string]string{
		"fa_/fastjson/pseudonyms.yaml": "units:\n  pseudonyms:\n" +
			pseudonym("FastJSONFromElsewhere", "fastjson", "fastjson-elsewhere", "https://elsewhere.example/simple") +
			pseudonym("FastJSONAccelerated", "fastjson", "fastjson-accel", "") +
			pseudonym("SlowXMLBroken", "slowxml", "slowxml-broken", ""),
	})
	srv := pyindex.Start(t, writeDists(t,
		dist{name: "app", version: "1.0", requires: []string{"fastjson>=1.0", "slowxml"}},
		dist{name: "fastjson", version: "1.0"}, dist{name: "fastjson", version: "1.1"},
		dist{name: "fastjson-elsewhere", version: "1.1"},
		dist{name: "fastjson-accel", version: "1.1"},
		dist{name: "slowxml", version: "3.0"},
		// The alternative needs a package no index has.
		dist{name: "slowxml-broken", version: "3.0", requires: []string{"no-such-package"}},
	))
	img, err := advise.NewImageEnvironment(analyze(t, "oci:"+fixtures.Path(t, "images/debian12")), "")
	if err != nil {
		t.Fatal(err)
	}
	res, rep, err := resolveImage(t, srv, img, "app\n", advise.ImageSettings{Prescriptions: set})
	if err != nil {
		t.Fatal(err)
	}
	diffPins(t, "alternatives", pins(res.Lock), map[string]string{"app": "1.0", "fastjson-accel": "1.1", "slowxml": "3.0"})
	for _, pkg := range res.Lock.Packages {
		if pkg.Name == "fastjson-accel" && !slices.Equal(pkg.Via, []string{"app"}) {
			t.Errorf("fastjson-accel via %q, want app (which required fastjson)", pkg.Via)
		}
	}
	if !firedUnit(rep, "FastJSONAccelerated") || firedUnit(rep, "FastJSONFromElsewhere") || firedUnit(rep, "SlowXMLBroken") {
		t.Errorf("report %+v: want only the pseudonym whose alternative was taken", rep.Prescriptions)
	}
}
