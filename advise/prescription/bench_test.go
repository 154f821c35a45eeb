package prescription

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

// generateTree writes a prescription tree shaped like the public Thoth
// repository: a _prescription_metadata.yaml at the root, packages in
// two-letter buckets ("fl_/flask-openid/"), each with the generated wraps
// that make up most of the real files (GitHub link, popularity, PyPI
// release and artifact size, release notes), Fedora RPM wraps with
// operating_systems, and now and then a step, sieve or boot. It returns the
// number of files and of units written (GHReleaseNotes units included).
func generateTree(tb testing.TB, dir string, files int) (nFiles, nUnits int) {
	tb.Helper()
	writeFile(tb, filepath.Join(dir, MetadataFile), "prescription:\n  name: thoth\n  release: dev+git\n")
	shapes := []func(name, pkg string, i int) (string, int){
		func(name, pkg string, i int) (string, int) { // gh_link.yaml
			return fmt.Sprintf(`units:
  wraps:
  - name: %[1]sGitHubURLWrap
    type: wrap
    should_include:
      adviser_pipeline: true
    match:
      state:
        resolved_dependencies:
        - name: %[2]s
    run:
      justification:
      - type: INFO
        message: Package '%[2]s' is hosted on GitHub
        link: https://github.com/example/%[2]s
        package_name: %[2]s
    metadata:
      prescriptions_repository: git@github.com:thoth-station/prescriptions.git
      prescriptions_version: 0.8.0
`, name, pkg), 1
		},
		func(name, pkg string, i int) (string, int) { // pypi_artifact_size.yaml
			return fmt.Sprintf(`units:
  wraps:
  - name: %[1]s%[3]dPyPIArtifactSizeWrap
    type: wrap
    should_include:
      adviser_pipeline: true
    match:
      state:
        resolved_dependencies:
        - name: %[2]s
          version: ==1.%[3]d.0
          index_url: https://pypi.org/simple
    run:
      justification:
      - type: INFO
        message: >-
          Installed artifact size for package '%[2]s' in version
          '1.%[3]d.0' can have up to %[3]d.74KiB
        link: https://pypi.org/project/%[2]s/1.%[3]d.0/#files
        package_name: %[2]s
`, name, pkg, i%50), 1
		},
		func(name, pkg string, i int) (string, int) { // gh_release_notes.yaml
			return fmt.Sprintf(`units:
  wraps:
  - name: %[1]sGitHubReleaseNotesWrap
    type: wrap.GHReleaseNotes
    should_include:
      adviser_pipeline: true
    match:
      state:
        resolved_dependencies:
        - name: %[2]s
    run:
      release_notes:
        organization: example
        repository: %[2]s
        tag_version_prefix: v
`, name, pkg), 1
		},
		func(name, pkg string, i int) (string, int) { // f35_rpm.yaml
			return fmt.Sprintf(`units:
  wraps:
  - name: %[1]sFedora35RPMWrap
    type: wrap
    should_include:
      adviser_pipeline: true
      runtime_environments:
        operating_systems:
        - name: fedora
          version: "35"
    match:
      state:
        resolved_dependencies:
        - name: %[2]s
          index_url: https://pypi.org/simple
    run:
      justification:
      - type: INFO
        message: Package '%[2]s' is packaged as an RPM in Fedora 35 as 'python3-%[2]s'
        link: https://src.fedoraproject.org/rpms/python-%[2]s
        package_name: %[2]s
`, name, pkg), 1
		},
		func(name, pkg string, i int) (string, int) { // pypi_release.yaml, two units
			return fmt.Sprintf(`units:
  wraps:
  - name: %[1]sPyPIReleaseWrap
    type: wrap
    should_include:
      adviser_pipeline: true
    match:
      state:
        resolved_dependencies:
        - name: %[2]s
    run:
      justification:
      - type: WARNING
        message: >-
          Package '%[2]s' has no recent release, last release dates back to 2022-02-20
        link: https://pypi.org/project/%[2]s/#history
        package_name: %[2]s
  - name: %[1]sPyPIMaintainersWrap
    type: wrap
    should_include:
      adviser_pipeline: true
    match:
      state:
        resolved_dependencies:
        - name: %[2]s
    run:
      justification:
      - type: WARNING
        message: Package '%[2]s' has only one maintainer on PyPI
        link: https://pypi.org/project/%[2]s
        package_name: %[2]s
`, name, pkg), 2
		},
		func(name, pkg string, i int) (string, int) { // a step with state, as setuptools_2to3.yaml
			return fmt.Sprintf(`units:
  steps:
  - name: %[1]sSetuptoolsStep
    type: step
    should_include:
      adviser_pipeline: true
      recommendation_types:
      - stable
      - security
    match:
      package_version:
        name: %[2]s
        version: <1.3.0
        index_url: https://pypi.org/simple
      state:
        resolved_dependencies:
        - name: setuptools
          version: ">=58.0.0"
    run:
      stack_info:
      - type: WARNING
        message: Cannot install %[2]s<1.3.0 when using setuptools>=58.0.0
        link: https://github.com/example/%[2]s/issues/59
      not_acceptable: Cannot install %[2]s<1.3.0 when using setuptools>=58.0.0
`, name, pkg), 1
		},
		func(name, pkg string, i int) (string, int) { // quay_security.yaml-like boot
			return fmt.Sprintf(`units:
  boots:
  - name: %[1]sQuaySecurityBoot
    type: boot
    should_include:
      adviser_pipeline: true
      recommendation_types:
      - security
      runtime_environments:
        base_images:
        - quay.io/thoth-station/%[2]s:v0.%[3]d.0
    run:
      stack_info:
      - type: ERROR
        message: >-
          Found vulnerability 'RHSA-2021:%[3]d' in the base image used
        link: https://access.redhat.com/errata/RHSA-2021:%[3]d
      not_acceptable: >-
        The base image used has a CVE RHSA-2021:%[3]d
`, name, pkg, i), 1
		},
	}
	// Weights follow the real tree: mostly wraps, ~6%% release notes,
	// ~7%% RPM wraps, a few percent boots, steps rare.
	weights := []int{0, 0, 0, 0, 1, 1, 1, 1, 1, 2, 2, 3, 4, 4, 1, 0, 1, 4, 6}
	pkgs := 0
	for nFiles < files {
		pkg := fmt.Sprintf("pkg%05d-python", pkgs)
		pkgs++
		bucket := pkg[:2] + fmt.Sprintf("%02d", pkgs%97) + "_"
		for j, w := range weights {
			if nFiles >= files {
				break
			}
			if w == 5 && pkgs%40 != 0 || w == 6 && pkgs%3 != 0 {
				continue
			}
			text, units := shapes[w](fmt.Sprintf("%sU%d", camel(pkg), j), pkg, nFiles)
			writeFile(tb, filepath.Join(dir, bucket, pkg, fmt.Sprintf("u%02d.yaml", j)), text)
			nFiles++
			nUnits += units
		}
	}
	return nFiles, nUnits
}

func camel(pkg string) string {
	var b strings.Builder
	for _, part := range strings.FieldsFunc(pkg, func(r rune) bool { return r == '-' || r == '_' || r == '.' }) {
		b.WriteString(strings.ToUpper(part[:1]) + part[1:])
	}
	return b.String()
}

func TestGeneratedTreeLoads(t *testing.T) {
	dir := t.TempDir()
	files, units := generateTree(t, dir, 500)
	set := mustLoad(t, dir)
	got := set.Len()
	for _, w := range set.Warnings {
		got += w.Count
	}
	if set.Files != files || got != units {
		t.Errorf("loaded %d files and %d units, generated %d and %d", set.Files, got, files, units)
	}
}

var (
	benchOnce sync.Once
	benchDir  string
	benchErr  error
)

// benchTree is generated once per process, 65,000 files as in the public
// repository, and removed by TestMain; or, to skip generating it on every
// run, it is $SESHAT_BENCH_TREE as written by TestWriteBenchTree.
func benchTree(b *testing.B) string {
	if dir := os.Getenv("SESHAT_BENCH_TREE"); dir != "" {
		if _, err := os.Stat(filepath.Join(dir, MetadataFile)); err != nil {
			b.Fatalf("SESHAT_BENCH_TREE: %v; write the tree with go test -run TestWriteBenchTree", err)
		}
		return dir
	}
	benchOnce.Do(func() {
		benchDir, benchErr = os.MkdirTemp("", "seshat-prescriptions-bench-")
		if benchErr == nil {
			generateTree(b, benchDir, 65000)
		}
	})
	if benchErr != nil {
		b.Fatal(benchErr)
	}
	return benchDir
}

func TestMain(m *testing.M) {
	code := m.Run()
	if benchDir != "" {
		os.RemoveAll(benchDir)
	}
	os.Exit(code)
}

// BenchmarkLoad loads a generated tree the size of the public repository
// (65,000 files) with a warm page cache.
func BenchmarkLoad(b *testing.B) {
	dir := benchTree(b)
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		set, err := Load(dir)
		if err != nil {
			b.Fatal(err)
		}
		if set.Files != 65000 {
			b.Fatalf("%d files", set.Files)
		}
	}
}

// BenchmarkLoadCached loads the same tree through the load cache, every file
// unchanged since the cache was written: what a second `seshat advise` or
// `prescriptions validate` of a checkout does.
func BenchmarkLoadCached(b *testing.B) {
	dir := benchTree(b)
	cache := b.TempDir()
	if fi, err := os.Stat(filepath.Join(dir, MetadataFile)); err == nil && time.Since(fi.ModTime()) < racyWindow {
		time.Sleep(racyWindow) // a tree just written is too new to cache
	}
	if _, err := LoadCached(cache, dir); err != nil {
		b.Fatal(err)
	}
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		set, err := LoadCached(cache, dir)
		if err != nil {
			b.Fatal(err)
		}
		if set.Files != 65000 || set.Cached != set.Files {
			b.Fatalf("%d files, %d from the cache", set.Files, set.Cached)
		}
	}
}

// BenchmarkParseFile compares the fast path with yaml.v3 on one typical file.
func BenchmarkParseFile(b *testing.B) {
	text, _ := (func() (string, int) {
		dir := b.TempDir()
		generateTree(b, dir, 1)
		data, err := os.ReadFile(filepath.Join(dir, "pk01_", "pkg00000-python", "u00.yaml"))
		if err != nil {
			b.Fatal(err)
		}
		return string(data), 0
	})()
	data := []byte(text)
	b.Run("fast", func(b *testing.B) {
		var p fastParser
		for i := 0; i < b.N; i++ {
			if _, ok := p.parse(data); !ok {
				b.Fatal("fast path gave up")
			}
		}
	})
	b.Run("yaml.v3", func(b *testing.B) {
		for i := 0; i < b.N; i++ {
			if _, err := slowParse(data); err != nil {
				b.Fatal(err)
			}
		}
	})
}

// TestWriteBenchTree writes the benchmark's tree to $SESHAT_BENCH_TREE, to
// time `seshat prescriptions validate` on it (see BENCHMARKS.md).
func TestWriteBenchTree(t *testing.T) {
	dir := os.Getenv("SESHAT_BENCH_TREE")
	if dir == "" {
		t.Skip("set SESHAT_BENCH_TREE to a directory to write the 65,000-file tree into")
	}
	files, units := generateTree(t, dir, 65000)
	t.Logf("wrote %d files, %d units under %s", files, units, dir)
}
