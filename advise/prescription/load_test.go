package prescription

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/seshat-dev/seshat/advise/pep508"
)

func TestLoadTree(t *testing.T) {
	set, err := Load("testdata/prescriptions")
	if err != nil {
		t.Fatal(err)
	}
	if len(set.Prescriptions) != 1 || set.Prescriptions[0].Name != "seshat-test" || set.Prescriptions[0].Release != "2026.11.27" {
		t.Errorf("prescriptions = %+v, want seshat-test release 2026.11.27 from _prescription_metadata.yaml", set.Prescriptions)
	}
	// .hidden/broken.yaml and README.rst are not read.
	if set.Files != 6 {
		t.Errorf("read %d files, want the 6 YAML files (hidden directories and other files skipped)", set.Files)
	}
	got := map[string]Kind{}
	for _, u := range set.Units() {
		got[u.Name] = u.Kind
	}
	for name, kind := range map[string]Kind{
		"seshat-test.FlaskOpenIDNeeds2to3Step":     KindStep,
		"seshat-test.GitPythonNeedsGitWrap":        KindWrap,
		"seshat-test.TensorFlowGPUOnCUDAPseudonym": KindPseudonym,
		"seshat-test.EnumBackportSieve":            KindSkipPackageSieve,
		"seshat-test.SciPyAddsPooch":               KindAddPackageStep,
		"seshat-test.ClickBlackGroupStep":          KindGroupStep,
	} {
		if got[name] != kind {
			t.Errorf("unit %s: kind %q, want %q", name, got[name], kind)
		}
	}
	if set.Len() != 15 || len(set.Warnings) != 0 {
		t.Errorf("%d units loaded, warnings %v; want 15 and none", set.Len(), set.Warnings)
	}
}

// Kinds Thoth knows but seshat does not evaluate load with a warning, once
// per kind, naming the first file. Every kind in Thoth's schema is evaluated
// now, so the test marks step.Group unevaluated for its duration: a fake,
// for a case no real input can provoke any more.
func TestUnimplementedKindsReportedOnce(t *testing.T) {
	groupKinds["steps"][KindGroupStep], kindImplemented[KindGroupStep] = false, false
	t.Cleanup(func() { groupKinds["steps"][KindGroupStep], kindImplemented[KindGroupStep] = true, true })
	set, err := Load("testdata/prescriptions")
	if err != nil {
		t.Fatal(err)
	}
	file := filepath.Join("testdata", "prescriptions", "bl_", "black", "click_group.yaml")
	want := []Warning{
		{Kind: "step.Group", Count: 1, File: file, Line: 3},
	}
	if len(set.Warnings) != len(want) {
		t.Fatalf("warnings = %v, want %v", set.Warnings, want)
	}
	for i := range want {
		if set.Warnings[i] != want[i] {
			t.Errorf("warning %d = %+v, want %+v", i, set.Warnings[i], want[i])
		}
	}
	if s := set.Warnings[0].String(); !strings.Contains(s, "click_group.yaml:3: 1 unit(s) of type \"step.Group\"") {
		t.Errorf("warning reads %q", s)
	}
	if set.Len() != 14 {
		t.Errorf("%d units loaded, want 14: the unevaluated one left out", set.Len())
	}
}

func TestValidateMalformed(t *testing.T) {
	dir := filepath.Join("testdata", "malformed", "units")
	schema, syntax, notunits := filepath.Join(dir, "schema.yaml"), filepath.Join(dir, "syntax.yaml"), filepath.Join(dir, "notunits.yml")
	want := []string{
		notunits + `:1: unknown key "unit" in prescription file (known: units, metadata)`,
		notunits + `:1: prescription file is missing required key "units"`,
		schema + `:6: should_include.adviser_pipeline must be true or false, got a string`,
		schema + `:8: should_include.recommendation_types: unknown value "fastest" (known: latest, performance, security, stable, testing)`,
		schema + `:11: runtime_environments.python_version cannot be negated with ` + "`not:`" + `; write the opposite specifier (e.g. "<3.8" for not ">=3.8")`,
		schema + `:14: operating system version must be a string, got the number 34; quote it: "34"`,
		schema + `:15: unknown key "colour" in runtime_environments (known: operating_systems, hardware, python_version, cuda_version, platforms, openblas_version, openmpi_version, cudnn_version, mkl_version, base_images, abi, rpm_packages, python_packages)`,
		schema + `:18: match.package_version.name "Flask_OpenID" is not in normalized form; write "flask-openid"`,
		schema + `:19: match.package_version.version: specifier "<<2": version "<2" is not valid under PEP 440`,
		schema + `:21: run combines not_acceptable/eager_stop_pipeline with score/justification; a refused candidate gets no score`,
		schema + `:24: unit "NoRunWrap" is missing required key "run"`,
		schema + `:29: unit type "sieve" cannot be listed under units.wraps (allowed: wrap, wrap.GHReleaseNotes)`,
		schema + `:38: justification type "NOTICE" must be one of INFO, WARNING, ERROR`,
		schema + `:40: justification link "Not A Link" must be a URL or a justification id of [a-z0-9_-]`,
		schema + `:42: unit "MissingMatch" is missing required key "match"`,
		schema + `:46: sieve unit "MissingMatch" is already defined on line 42`,
		schema + `:54: unit type "sieve.Nope" cannot be listed under units.sieves (allowed: sieve, sieve.SkipPackage)`,
		syntax + `:5: YAML syntax: did not find expected ',' or ']'`,
	}
	got := Validate(filepath.Join("testdata", "malformed"))
	for i := 0; i < len(got) || i < len(want); i++ {
		var g, w string
		if i < len(got) {
			g = got[i].String()
		}
		if i < len(want) {
			w = want[i]
		}
		if g != w {
			t.Errorf("problem %d:\n got  %s\n want %s", i, g, w)
		}
	}

	_, err := Load(filepath.Join("testdata", "malformed"))
	var pe *ProblemsError
	if !errors.As(err, &pe) || len(pe.Problems) != len(want) {
		t.Fatalf("Load error = %v, want a *ProblemsError with %d problems", err, len(want))
	}
	if !strings.Contains(err.Error(), "run `seshat prescriptions validate` for all") {
		t.Errorf("Load error does not point at validate for the rest:\n%v", err)
	}
}

func TestLoadMissingDirectory(t *testing.T) {
	_, err := Load("testdata/no-such-dir")
	if err == nil || !strings.Contains(err.Error(), "testdata/no-such-dir") {
		t.Fatalf("err = %v, want one naming the missing directory", err)
	}
}

// The legacy single-file form (apiVersion/kind/spec) loads too, its
// spec.name namespacing the units.
func TestLoadSingleFileForm(t *testing.T) {
	dir := t.TempDir()
	writeFile(t, filepath.Join(dir, "prescription.yaml"), `apiVersion: thoth-station.ninja/v1
kind: prescription
spec:
  name: legacy
  release: 2021.06.15
  units:
    boots:
    - name: HelloBoot
      type: boot
      should_include:
        adviser_pipeline: true
      run:
        log:
          message: Hello
          type: INFO
`)
	set, err := Load(dir)
	if err != nil {
		t.Fatal(err)
	}
	if set.Len() != 1 || set.Units()[0].Name != "legacy.HelloBoot" {
		t.Fatalf("units = %+v", set.Units())
	}
}

// isCanonicalName is a shortcut for pep508.ValidName and CanonicalName:
// whatever it accepts they must accept unchanged.
func TestIsCanonicalName(t *testing.T) {
	for _, s := range []string{"flask", "flask-openid", "a", "0", "py3-x2", "", "-a", "a-", "a--b", "A", "a_b", "a.b", "a b", "ä", "zope-interface"} {
		want := pep508.ValidName(s) && pep508.CanonicalName(s) == s
		if got := isCanonicalName(s); got != want {
			t.Errorf("isCanonicalName(%q) = %v, want %v", s, got, want)
		}
	}
}

// Files are read into one reused buffer that a large file grows; the text
// the units keep must still be each file's own.
func TestLoadLargeFileBetweenSmallOnes(t *testing.T) {
	dir := t.TempDir()
	wrap := func(name string) string {
		return fmt.Sprintf("  - name: %s\n    type: wrap\n    should_include:\n      adviser_pipeline: true\n    run:\n      justification:\n      - type: INFO\n        message: Message of %s\n        link: https://example.com/%s\n", name, name, name)
	}
	var big strings.Builder
	big.WriteString("units:\n  wraps:\n")
	for i := 0; i < 2000; i++ {
		big.WriteString(wrap(fmt.Sprintf("Big%dWrap", i)))
	}
	writeFile(t, filepath.Join(dir, "a.yaml"), "units:\n  wraps:\n"+wrap("AWrap"))
	writeFile(t, filepath.Join(dir, "b.yaml"), big.String())
	writeFile(t, filepath.Join(dir, "c.yaml"), "units:\n  wraps:\n"+wrap("CWrap"))
	set := mustLoad(t, dir)
	if set.Len() != 2002 {
		t.Fatalf("%d units, want 2002", set.Len())
	}
	for _, u := range set.Units() {
		name := strings.TrimPrefix(u.Name, defaultName+".")
		if want := "Message of " + name; len(u.Run.Justification) != 1 || u.Run.Justification[0].Message != want {
			t.Fatalf("unit %s: justification %+v, want message %q", u.Name, u.Run.Justification, want)
		}
	}
}

// A file is parsed in place in a buffer the next file overwrites, so its
// units must be encoded — copied out — before the next read. Units loaded by
// Load, and decoded from their encoded form, must equal those the checker
// builds from each file parsed alone in a buffer of its own; a string left
// pointing into the shared buffer would read as some later file's text.
func TestLoadedUnitsOwnTheirStrings(t *testing.T) {
	gen := t.TempDir()
	generateTree(t, gen, 400)
	roots := []string{gen, "testdata/prescriptions"}
	set := mustLoad(t, roots...)

	want := map[string]*Unit{}
	for _, root := range roots {
		meta, problems := readMetadata(filepath.Join(root, MetadataFile))
		if meta == nil || len(problems) > 0 {
			t.Fatalf("%s: metadata %v", root, problems)
		}
		err := filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
			if err != nil {
				return err
			}
			if strings.HasPrefix(d.Name(), ".") && path != root {
				if d.IsDir() {
					return filepath.SkipDir
				}
				return nil
			}
			if d.IsDir() || !isYAML(path) || d.Name() == MetadataFile {
				return nil
			}
			data, err := os.ReadFile(path)
			if err != nil {
				return err
			}
			units, _ := newReader().check(path, meta, data, nil)
			for _, u := range units {
				want[u.Name] = u
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	if set.Len() < 400 {
		t.Fatalf("loaded %d units", set.Len())
	}
	for _, u := range set.Units() {
		w, ok := want[u.Name]
		if !ok {
			t.Errorf("unit %q (%s:%d) not found parsing its file alone", u.Name, u.File, u.Line)
			continue
		}
		if !reflect.DeepEqual(u, w) {
			t.Errorf("unit %q differs from its file parsed alone:\n got %+v\nwant %+v", u.Name, u, w)
		}
	}
}
