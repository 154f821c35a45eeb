package pubgrub

import (
	"context"
	"fmt"
	"slices"
	"strconv"
	"strings"
)

// graph is an in-memory package index: package → version → requirements such as "bar>=1.0.0,<2.0.0".
type graph map[string]map[string][]string

// memProvider serves a graph with candidates newest first, recording what the solver asks.
type memProvider struct {
	g           graph
	unavailable map[string]string   // reasons for packages without candidates
	unusable    map[string]string   // "pkg version" → reason
	fail        map[string]error    // "pkg" or "pkg version" → error to return
	conflicts   map[string][]string // "pkg version" → requirements it cannot be chosen with, one Conflict each
	asked       []string
}

func (m *memProvider) Candidates(_ context.Context, pkg Package) ([]string, error) {
	m.asked = append(m.asked, "candidates "+string(pkg))
	if err := m.fail[string(pkg)]; err != nil {
		return nil, err
	}
	var vs []string
	for v := range m.g[string(pkg)] {
		vs = append(vs, v)
	}
	slices.SortFunc(vs, func(a, b string) int { return compareVersions(b, a) })
	return vs, nil
}

func (m *memProvider) Dependencies(_ context.Context, pkg Package, version string) ([]Dependency, error) {
	key := string(pkg) + " " + version
	m.asked = append(m.asked, "dependencies "+key)
	if err := m.fail[key]; err != nil {
		return nil, err
	}
	if why, ok := m.unusable[key]; ok {
		return nil, &Unusable{Reason: why}
	}
	return parseDeps(m.g[string(pkg)][version]), nil
}

func (m *memProvider) Conflicts(_ context.Context, pkg Package, version string) ([]Conflict, error) {
	var out []Conflict
	for _, r := range m.conflicts[string(pkg)+" "+version] {
		out = append(out, Conflict{With: []Dependency{parseDep(r)}, Reason: "test conflict"})
	}
	return out, nil
}

func (m *memProvider) Unavailable(dep Dependency) string { return m.unavailable[string(dep.Package)] }

func parseDeps(reqs []string) []Dependency {
	var deps []Dependency
	for _, r := range reqs {
		deps = append(deps, parseDep(r))
	}
	return deps
}

// parseDep reads "name" followed by comma-separated clauses with <, <=, >, >=, ==, !=.
func parseDep(req string) Dependency {
	i := strings.IndexAny(req, "<>=!")
	if i < 0 {
		return Dependency{Package: Package(req), Text: req}
	}
	var clauses []func(string) bool
	for _, c := range strings.Split(req[i:], ",") {
		op := strings.TrimRight(c, "0123456789.")
		want := c[len(op):]
		clauses = append(clauses, func(v string) bool {
			d := compareVersions(v, want)
			switch op {
			case "<":
				return d < 0
			case "<=":
				return d <= 0
			case ">":
				return d > 0
			case ">=":
				return d >= 0
			case "==":
				return d == 0
			case "!=":
				return d != 0
			}
			panic("bad operator in " + req)
		})
	}
	return Dependency{Package: Package(req[:i]), Text: req, Accepts: func(v string) bool {
		for _, ok := range clauses {
			if !ok(v) {
				return false
			}
		}
		return true
	}}
}

func compareVersions(a, b string) int {
	as, bs := strings.Split(a, "."), strings.Split(b, ".")
	for i := 0; i < max(len(as), len(bs)); i++ {
		var x, y int
		if i < len(as) {
			x, _ = strconv.Atoi(as[i])
		}
		if i < len(bs) {
			y, _ = strconv.Atoi(bs[i])
		}
		if x != y {
			return x - y
		}
	}
	return 0
}

// render shows a solve's outcome the way a reviewer of the golden files wants to read it.
func render(sol *Solution, err error) string {
	if err != nil {
		return "error:\n" + err.Error() + "\n"
	}
	var b strings.Builder
	for _, c := range sol.Packages {
		fmt.Fprintf(&b, "%s==%s (rank %d)\n", c.Package, c.Version, c.Rank)
		for _, r := range c.RequiredBy {
			by := "you require"
			if r.By != "" {
				by = string(r.By) + "==" + r.ByVersion + " requires"
			}
			held := ""
			if r.HoldsDown {
				held = " [holds down]"
			}
			fmt.Fprintf(&b, "    %s %s%s\n", by, r.Text, held)
		}
		for _, why := range c.Passed {
			fmt.Fprintf(&b, "    passed over: %s\n", strings.ReplaceAll(why, "\n", "\n        "))
		}
	}
	return b.String()
}
