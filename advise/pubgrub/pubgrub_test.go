package pubgrub

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

var update = flag.Bool("update", false, "rewrite the golden files under testdata")

type solveCase struct {
	name        string
	root        []string
	g           graph
	unavailable map[string]string
	unusable    map[string]string
	conflicts   map[string][]string
}

// The first six cases are the worked examples of pub's doc/solver.md, with ^1.0.0 written as
// >=1.0.0,<2.0.0.
var solveCases = []solveCase{
	{
		name: "no_requirements",
		g:    graph{"foo": {"1.0.0": nil}},
	},
	{
		name: "no_conflicts",
		root: []string{"foo>=1.0.0,<2.0.0"},
		g: graph{
			"foo": {"1.0.0": {"bar>=1.0.0,<2.0.0"}},
			"bar": {"1.0.0": nil, "2.0.0": nil},
		},
	},
	{
		name: "avoiding_conflict_during_decision_making",
		root: []string{"foo>=1.0.0,<2.0.0", "bar>=1.0.0,<2.0.0"},
		g: graph{
			"foo": {"1.1.0": {"bar>=2.0.0,<3.0.0"}, "1.0.0": nil},
			"bar": {"1.0.0": nil, "1.1.0": nil, "2.0.0": nil},
		},
	},
	{
		name: "performing_conflict_resolution",
		root: []string{"foo>=1.0.0"},
		g: graph{
			"foo": {"2.0.0": {"bar>=1.0.0,<2.0.0"}, "1.0.0": nil},
			"bar": {"1.0.0": {"foo>=1.0.0,<2.0.0"}},
		},
	},
	{
		name: "conflict_resolution_with_a_partial_satisfier",
		root: []string{"foo>=1.0.0,<2.0.0", "target>=2.0.0,<3.0.0"},
		g: graph{
			"foo":    {"1.1.0": {"left>=1.0.0,<2.0.0", "right>=1.0.0,<2.0.0"}, "1.0.0": nil},
			"left":   {"1.0.0": {"shared>=1.0.0"}},
			"right":  {"1.0.0": {"shared<2.0.0"}},
			"shared": {"2.0.0": nil, "1.0.0": {"target>=1.0.0,<2.0.0"}},
			"target": {"2.0.0": nil, "1.0.0": nil},
		},
	},
	{
		name: "linear_error_reporting",
		root: []string{"foo>=1.0.0,<2.0.0", "baz>=1.0.0,<2.0.0"},
		g: graph{
			"foo": {"1.0.0": {"bar>=2.0.0,<3.0.0"}},
			"bar": {"2.0.0": {"baz>=3.0.0,<4.0.0"}},
			"baz": {"1.0.0": nil, "3.0.0": nil},
		},
	},
	{
		name: "branching_error_reporting",
		root: []string{"foo>=1.0.0,<2.0.0"},
		g: graph{
			"foo": {"1.0.0": {"a>=1.0.0,<2.0.0", "b>=1.0.0,<2.0.0"}, "1.1.0": {"x>=1.0.0,<2.0.0", "y>=1.0.0,<2.0.0"}},
			"a":   {"1.0.0": {"b>=2.0.0,<3.0.0"}},
			"b":   {"1.0.0": nil, "2.0.0": nil},
			"x":   {"1.0.0": {"y>=2.0.0,<3.0.0"}},
			"y":   {"1.0.0": nil, "2.0.0": nil},
		},
	},
	{
		// The example: every flask the user allows needs a newer werkzeug than allowed.
		name: "flask_needs_newer_werkzeug",
		root: []string{"flask>=2.3", "werkzeug<2.0"},
		g: graph{
			"flask":    {"2.2.5": {"werkzeug>=2.2.2"}, "2.3.0": {"werkzeug>=2.3.3"}, "2.3.3": {"werkzeug>=2.3.3"}, "3.0.0": {"werkzeug>=3.0.0"}},
			"werkzeug": {"1.0.1": nil, "2.2.3": nil, "2.3.3": nil, "3.0.0": nil},
		},
	},
	{
		name: "newest_flask_held_down_by_werkzeug_pin",
		root: []string{"flask>=2.0", "werkzeug<3.0"},
		g: graph{
			"flask":    {"2.2.5": {"werkzeug>=2.2.2"}, "2.3.0": {"werkzeug>=2.3.3"}, "3.0.0": {"werkzeug>=3.0.0"}},
			"werkzeug": {"2.2.3": nil, "2.3.3": nil, "3.0.0": nil},
		},
	},
	{
		name: "cycle",
		root: []string{"a"},
		g: graph{
			"a": {"1.0.0": {"b>=1.0.0"}, "2.0.0": {"b>=2.0.0"}},
			"b": {"1.0.0": {"a>=1.0.0"}, "2.0.0": {"a<2.0.0"}},
		},
	},
	{
		name: "cycle_without_solution",
		root: []string{"a"},
		g: graph{
			"a": {"1.0.0": {"b>=2.0.0"}, "2.0.0": {"b>=2.0.0"}},
			"b": {"1.0.0": nil, "2.0.0": {"a>=3.0.0"}},
		},
	},
	{
		name: "self_dependency",
		root: []string{"a"},
		g: graph{
			"a": {"1.0.0": {"a"}, "2.0.0": {"a<2.0.0"}},
		},
	},
	{
		name: "unsatisfiable_root",
		root: []string{"foo>=2.0.0"},
		g:    graph{"foo": {"1.0.0": nil, "1.1.0": nil}},
	},
	{
		name: "root_requirements_contradict",
		root: []string{"foo>=1.1.0", "foo<1.1.0"},
		g:    graph{"foo": {"1.0.0": nil, "1.1.0": nil}},
	},
	{
		name: "package_without_candidates",
		root: []string{"flask"},
		g: graph{
			"flask":      {"3.0.0": {"markupsafe>=2.1.1", "werkzeug>=3.0.0"}},
			"werkzeug":   {"3.0.0": {"markupsafe>=2.1.1"}},
			"markupsafe": {},
		},
		unavailable: map[string]string{"markupsafe": "no version of markupsafe has a wheel for cp311 manylinux_2_17_x86_64"},
	},
	{
		name: "unusable_version_skipped",
		root: []string{"foo"},
		g:    graph{"foo": {"1.0.0": nil, "2.0.0": nil}},
		unusable: map[string]string{
			"foo 2.0.0": "its metadata is dynamic and no build backend is run",
		},
	},
	{
		name: "all_versions_unusable",
		root: []string{"foo"},
		g:    graph{"foo": {"1.0.0": nil}},
		unusable: map[string]string{
			"foo 1.0.0": "its metadata is dynamic and no build backend is run",
		},
	},
	{
		// Only the oldest c works with the newest b, which the newest a needs; the solver has to
		// learn that from conflicts rather than by trying every combination.
		name: "backjumping",
		root: []string{"a", "c"},
		g: graph{
			"a": {"1.0.0": {"b<2.0.0"}, "2.0.0": {"b>=2.0.0"}, "3.0.0": {"b>=3.0.0"}},
			"b": {"1.0.0": nil, "2.0.0": {"c<2.0.0"}, "3.0.0": {"c<1.1.0"}},
			"c": {"1.0.0": nil, "1.1.0": nil, "2.0.0": nil, "3.0.0": nil},
			"d": {"1.0.0": nil},
		},
	},
	{
		// Many versions of foo, each needing a bar that does not exist, so each one is tried and
		// ruled out, and the merged dependency facts keep the explanation short.
		name: "many_versions_ruled_out",
		root: []string{"foo", "bar<2.0.0"},
		g: graph{
			"foo": {"1.0.0": {"bar>=2.0.0"}, "1.1.0": {"bar>=2.0.0"}, "1.2.0": {"bar>=2.0.0"}, "1.3.0": {"bar>=2.0.0"}, "2.0.0": {"bar>=3.0.0"}},
			"bar": {"1.0.0": nil, "2.0.0": nil, "3.0.0": nil},
		},
	},
	{
		// Each flask spells its werkzeug requirement differently, but over the candidates they mean
		// the same, so the explanation can treat them as one fact.
		name: "differently_spelled_requirements",
		root: []string{"flask>=2.3", "werkzeug<2.3"},
		g: graph{
			"flask":    {"2.3.0": {"werkzeug>=2.3.0"}, "2.3.1": {"werkzeug>=2.3.1"}, "2.3.2": {"werkzeug>=2.3.2"}, "2.3.3": {"werkzeug>=2.3.3"}},
			"werkzeug": {"2.2.3": nil, "2.3.3": nil, "3.0.0": nil},
		},
	},
	{
		// Every boto3 pins its own botocore range: the explanation states the pattern in one
		// sentence instead of one line per pair of versions.
		name: "each_version_pins_its_own_range",
		root: []string{"boto3>=1.28.0", "botocore<1.30.0"},
		g:    pinnedPerVersion(8),
	},
	{
		name: "short_run_of_pins_listed_in_full",
		root: []string{"boto3>=1.28.0", "botocore<1.30.0"},
		g:    pinnedPerVersion(3),
	},
	{
		name: "transitive_chain",
		root: []string{"app", "urllib3>=3.0"},
		g: graph{
			"app":      {"1.0": {"requests>=2.31"}, "1.1": {"requests>=2.31"}},
			"requests": {"2.31.0": {"urllib3>=1.21.1,<3", "idna>=2.5,<4"}, "2.32.0": {"urllib3>=1.21.1,<3", "idna>=2.5,<4"}},
			"urllib3":  {"1.26.0": nil, "2.0.0": nil, "3.0.0": nil},
			"idna":     {"3.4": nil},
		},
	},
	{
		name: "two_sided_conflict",
		root: []string{"a", "b"},
		g: graph{
			"a": {"1.0": {"c<2"}, "2.0": {"c<2", "d>=2"}},
			"b": {"1.0": {"c>=2"}, "2.0": {"d<2", "c>=1"}},
			"c": {"1.0": nil, "2.0": nil},
			"d": {"1.0": {"c>=2"}, "2.0": nil},
		},
	},
	{
		// Two spellings that accept every candidate merge into one fact, named by the package.
		name: "spellings_accepting_everything",
		root: []string{"d!=3.0", "d"},
		g: graph{
			"d": {"1.0": {"a==2.0"}, "2.0": {"a==3.0"}},
			"a": {},
		},
	},
	{
		name: "two_requirements_nothing_matches",
		root: []string{"e<3.0"},
		g: graph{
			"e": {"1.0": {"c>=3.0"}, "2.0": {"a!=4.0"}, "3.0": nil},
			"c": {"1.0": nil},
			"a": {},
		},
	},
	{
		// A conflict rules out the newest app with the setuptools chosen, without requiring
		// setuptools of app's other versions.
		name: "conflict_backtracks_to_older_version",
		root: []string{"app", "setuptools>=50"},
		g: graph{
			"app":        {"1.3.0": nil, "1.2.0": nil},
			"setuptools": {"58.0.0": nil, "57.0.0": nil},
		},
		conflicts: map[string][]string{"app 1.3.0": {"setuptools>=58.0.0"}},
	},
	{
		name: "conflict_with_an_unrequired_package_is_moot",
		root: []string{"app"},
		g: graph{
			"app":        {"1.3.0": nil},
			"setuptools": {"58.0.0": nil},
		},
		conflicts: map[string][]string{"app 1.3.0": {"setuptools>=58.0.0"}},
	},
	{
		name: "conflict_without_solution",
		root: []string{"app", "setuptools>=58"},
		g: graph{
			"app":        {"1.3.0": nil, "1.2.0": nil},
			"setuptools": {"58.0.0": nil, "57.0.0": nil},
		},
		conflicts: map[string][]string{"app 1.3.0": {"setuptools>=58.0.0"}, "app 1.2.0": {"setuptools>=57.0.0"}},
	},
	{
		name: "requirement_with_no_matching_version",
		root: []string{"foo"},
		g: graph{
			"foo": {"1.0.0": {"bar>=5.0.0"}, "2.0.0": {"bar>=5.0.0"}},
			"bar": {"1.0.0": nil},
		},
	},
}

// pinnedPerVersion makes n versions of boto3, each needing botocore from its own patch level up,
// while the botocore versions the user allows are older.
func pinnedPerVersion(n int) graph {
	g := graph{"boto3": {}, "botocore": {}}
	for i := range n {
		g["boto3"][fmt.Sprintf("1.28.%d", i)] = []string{fmt.Sprintf("botocore>=1.31.%d,<1.32.0", i)}
		g["botocore"][fmt.Sprintf("1.31.%d", i)] = nil
		g["botocore"][fmt.Sprintf("1.29.%d", i)] = nil
	}
	return g
}

func TestSolve(t *testing.T) {
	for _, tc := range solveCases {
		t.Run(tc.name, func(t *testing.T) {
			p := &memProvider{g: tc.g, unavailable: tc.unavailable, unusable: tc.unusable, conflicts: tc.conflicts}
			sol, err := Solve(context.Background(), p, parseDeps(tc.root))
			var nse *NoSolutionError
			if err != nil && !errors.As(err, &nse) {
				t.Fatalf("Solve: %v", err)
			}
			if err == nil {
				checkSolution(t, tc, sol)
			}
			golden(t, tc.name, render(sol, err))
		})
	}
}

// checkSolution verifies, independently of the solver, that every chosen version's dependencies
// hold and that nothing unneeded was chosen.
func checkSolution(t *testing.T, tc solveCase, sol *Solution) {
	t.Helper()
	needed := map[Package]bool{}
	check := func(by string, reqs []string) {
		for _, d := range parseDeps(reqs) {
			needed[d.Package] = true
			v, ok := sol.Version(d.Package)
			if !ok {
				t.Errorf("%s requires %s, which is not in the solution", by, d.Text)
				continue
			}
			if d.Accepts != nil && !d.Accepts(v) {
				t.Errorf("%s requires %s, but %s==%s was chosen", by, d.Text, d.Package, v)
			}
		}
	}
	check("you", tc.root)
	for _, c := range sol.Packages {
		check(string(c.Package)+"=="+c.Version, tc.g[string(c.Package)][c.Version])
		if _, ok := tc.g[string(c.Package)][c.Version]; !ok {
			t.Errorf("%s==%s is not a candidate", c.Package, c.Version)
		}
		for _, d := range parseDeps(tc.conflicts[string(c.Package)+" "+c.Version]) {
			if v, ok := sol.Version(d.Package); ok && d.Accepts(v) && d.Package != c.Package {
				t.Errorf("%s==%s was chosen with %s==%s, which it conflicts with", c.Package, c.Version, d.Package, v)
			}
		}
		if why, ok := tc.unusable[string(c.Package)+" "+c.Version]; ok {
			t.Errorf("%s==%s was chosen although it is unusable: %s", c.Package, c.Version, why)
		}
	}
	for _, c := range sol.Packages {
		if !needed[c.Package] {
			t.Errorf("%s was chosen but nothing requires it", c.Package)
		}
	}
}

func golden(t *testing.T, name, got string) {
	t.Helper()
	path := filepath.Join("testdata", name+".golden")
	if *update {
		if err := os.MkdirAll("testdata", 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test -update to create it)", err)
	}
	if got != string(want) {
		t.Errorf("%s differs from %s:\n--- got ---\n%s--- want ---\n%s", name, path, got, want)
	}
}

func TestSolveIsDeterministic(t *testing.T) {
	for _, tc := range solveCases {
		t.Run(tc.name, func(t *testing.T) {
			var first string
			for i := range 5 {
				p := &memProvider{g: tc.g, unavailable: tc.unavailable, unusable: tc.unusable, conflicts: tc.conflicts}
				sol, err := Solve(context.Background(), p, parseDeps(tc.root))
				got := render(sol, err) + strings.Join(p.asked, "\n")
				if i == 0 {
					first = got
				} else if got != first {
					t.Fatalf("run %d differs from run 0:\n%s\n---\n%s", i, got, first)
				}
			}
		})
	}
}

func TestSolveAsksEachQuestionOnce(t *testing.T) {
	for _, tc := range solveCases {
		t.Run(tc.name, func(t *testing.T) {
			p := &memProvider{g: tc.g, unavailable: tc.unavailable, unusable: tc.unusable, conflicts: tc.conflicts}
			Solve(context.Background(), p, parseDeps(tc.root))
			seen := map[string]bool{}
			for _, q := range p.asked {
				if seen[q] {
					t.Errorf("asked twice: %s", q)
				}
				seen[q] = true
			}
		})
	}
}

func TestProviderErrorsNameThePackage(t *testing.T) {
	boom := errors.New("index answered 503")
	g := graph{"foo": {"1.0.0": {"bar"}}, "bar": {"1.0.0": nil}}
	tests := []struct {
		name string
		fail string
		want string
	}{
		{"candidates", "bar", "pubgrub: listing versions of bar: index answered 503"},
		{"dependencies", "foo 1.0.0", "pubgrub: reading dependencies of foo 1.0.0: index answered 503"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := &memProvider{g: g, fail: map[string]error{tt.fail: boom}}
			_, err := Solve(context.Background(), p, parseDeps([]string{"foo"}))
			if !errors.Is(err, boom) {
				t.Fatalf("Solve = %v, want it to wrap %v", err, boom)
			}
			if err.Error() != tt.want {
				t.Errorf("Solve error = %q, want %q", err, tt.want)
			}
		})
	}
}

func TestSolveHonoursCancellation(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	p := &memProvider{g: graph{"foo": {"1.0.0": nil}}}
	_, err := Solve(ctx, p, parseDeps([]string{"foo"}))
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("Solve = %v, want context.Canceled", err)
	}
}

// cancellingProvider cancels the solve from inside the provider once it has answered a few
// questions, as an interrupted command would.
type cancellingProvider struct {
	memProvider
	cancel    func()
	after     int
	askedThen int
}

func (p *cancellingProvider) Dependencies(ctx context.Context, pkg Package, v string) ([]Dependency, error) {
	deps, err := p.memProvider.Dependencies(ctx, pkg, v)
	if p.after--; p.after == 0 {
		p.cancel()
		p.askedThen = len(p.asked)
	}
	return deps, err
}

func TestSolveStopsWhenCancelledMidway(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	p := &cancellingProvider{memProvider: memProvider{g: generate(40, 10, 1)}, cancel: cancel, after: 3}
	_, err := Solve(ctx, p, parseDeps([]string{"p000"}))
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("Solve = %v, want context.Canceled", err)
	}
	if extra := p.asked[p.askedThen:]; len(extra) > 0 {
		t.Errorf("the provider was asked %q after cancellation", extra)
	}
}

func TestStepLimit(t *testing.T) {
	g := generate(40, 10, 1)
	p := &memProvider{g: g}
	_, err := Solve(context.Background(), p, parseDeps([]string{"p000"}), WithMaxSteps(5))
	if !errors.Is(err, ErrStepLimit) {
		t.Fatalf("Solve = %v, want ErrStepLimit", err)
	}
	if !strings.Contains(err.Error(), "gave up after 5 decisions and conflicts") {
		t.Errorf("error %q does not say when it gave up", err)
	}
}

func TestPrefetchAnnouncesPackagesBeforeTheyAreListed(t *testing.T) {
	i := slices.IndexFunc(solveCases, func(c solveCase) bool { return c.name == "conflict_resolution_with_a_partial_satisfier" })
	tc := solveCases[i] // five packages and backtracking
	p := &memProvider{g: tc.g}
	var announced []Package
	prefetch := func(pkgs []Package) {
		announced = append(announced, pkgs...)
		for _, pkg := range pkgs {
			if slices.Contains(p.asked, "candidates "+string(pkg)) {
				t.Errorf("%s announced after its candidates were listed", pkg)
			}
		}
	}
	sol, err := Solve(context.Background(), p, parseDeps(tc.root), WithPrefetch(prefetch))
	if err != nil {
		t.Fatal(err)
	}
	for _, q := range p.asked {
		if pkg, ok := strings.CutPrefix(q, "candidates "); ok && !slices.Contains(announced, Package(pkg)) {
			t.Errorf("%s was listed without being announced", pkg)
		}
	}
	for i, pkg := range announced {
		if slices.Contains(announced[:i], pkg) {
			t.Errorf("%s announced twice", pkg)
		}
	}
	if got := len(sol.Packages); got != 2 {
		t.Errorf("solution has %d packages, want 2 (foo and target)", got)
	}
}

// versionOrderProvider prefers an installed version over newer ones.
type versionOrderProvider struct {
	memProvider
	keep map[string]string
}

func (p *versionOrderProvider) Candidates(ctx context.Context, pkg Package) ([]string, error) {
	vs, err := p.memProvider.Candidates(ctx, pkg)
	if keep, ok := p.keep[string(pkg)]; ok {
		i := slices.Index(vs, keep)
		vs = append([]string{keep}, slices.Delete(vs, i, i+1)...)
	}
	return vs, err
}

func (p *versionOrderProvider) CompareVersions(_ Package, a, b string) int {
	return compareVersions(a, b)
}

func TestPreferenceOrderAndRangesInMessages(t *testing.T) {
	g := graph{
		"app":  {"1.0.0": {"lib==1.0.0"}, "1.1.0": {"lib==1.0.0"}, "2.0.0": {"lib==1.5.0"}},
		"lib":  {"1.0.0": nil, "1.5.0": nil, "2.0.0": nil, "2.1.0": nil, "3.0.0": nil},
		"tool": {"1.0.0": {"lib>=2.0.0"}},
	}
	p := &versionOrderProvider{memProvider: memProvider{g: g}, keep: map[string]string{"lib": "1.5.0"}}
	sol, err := Solve(context.Background(), p, parseDeps([]string{"lib"}))
	if err != nil {
		t.Fatal(err)
	}
	if v, _ := sol.Version("lib"); v != "1.5.0" {
		t.Errorf("lib==%s chosen, want the kept 1.5.0", v)
	}

	p = &versionOrderProvider{memProvider: memProvider{g: g}, keep: map[string]string{"lib": "1.5.0"}}
	_, err = Solve(context.Background(), p, parseDeps([]string{"app", "tool"}))
	golden(t, "preference_order_ranges", render(nil, err))
}

func TestVersionsRendering(t *testing.T) {
	s := &solver{pkgs: []*pkgState{{name: "lib", versions: []string{"5", "4", "3", "2", "1"}, texts: map[string]string{}}}}
	r := &reporter{s: s, asc: map[int][]int{}}
	set := func(idx ...int) vset {
		v := make(vset, 1)
		for _, i := range idx {
			v.add(i)
		}
		return v
	}
	tests := []struct {
		set  vset
		want string
	}{
		{set(0), "lib==5"},
		{set(4), "lib==1"},
		{set(0, 1), "lib>=4"},
		{set(3, 4), "lib<3"},
		{set(1, 2), "lib>=3,<5"},
		{set(0, 1, 3, 4), "lib!=3"},
		{set(0, 4), "lib==1 or lib==5"},
		{set(0, 2, 3), "lib>=2,<4 or lib==5"},
	}
	for _, tt := range tests {
		if got := r.versions(0, tt.set); got != tt.want {
			t.Errorf("versions(%b) = %q, want %q", tt.set[0], got, tt.want)
		}
	}
	s.pkgs[0].texts[set(0, 1).key()] = "lib>=3.5"
	if got := r.versions(0, set(0, 1)); got != "lib>=3.5" {
		t.Errorf("versions with a known requirement = %q, want the requirement's own text", got)
	}
}
