package pubgrub_test

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/seshat-dev/seshat/advise/pubgrub"
)

// index is a tiny provider: versions newest first, and dependencies as minimum versions.
type index map[string]map[string]map[string]string // package → version → dependency → minimum

func (ix index) Candidates(_ context.Context, pkg pubgrub.Package) ([]string, error) {
	switch pkg {
	case "flask":
		return []string{"3.0.0", "2.3.3"}, nil
	case "werkzeug":
		return []string{"3.0.1", "2.3.7", "1.0.1"}, nil
	}
	return nil, fmt.Errorf("no such package %s", pkg)
}

func (ix index) Dependencies(_ context.Context, pkg pubgrub.Package, version string) ([]pubgrub.Dependency, error) {
	var deps []pubgrub.Dependency
	for dep, min := range ix[string(pkg)][version] {
		deps = append(deps, atLeast(dep, min))
	}
	return deps, nil
}

// atLeast builds a requirement from a minimum version; a real caller evaluates PEP 440 here.
func atLeast(pkg, min string) pubgrub.Dependency {
	return pubgrub.Dependency{
		Package: pubgrub.Package(pkg),
		Accepts: func(v string) bool { return strings.Compare(v, min) >= 0 }, // fine for these versions
		Text:    pkg + ">=" + min,
	}
}

func Example() {
	ix := index{
		"flask": {
			"3.0.0": {"werkzeug": "3.0.0"},
			"2.3.3": {"werkzeug": "2.3.7"},
		},
	}
	below3 := pubgrub.Dependency{Package: "werkzeug", Text: "werkzeug<3", Accepts: func(v string) bool { return v < "3" }}

	sol, err := pubgrub.Solve(context.Background(), ix, []pubgrub.Dependency{atLeast("flask", "2.3"), below3})
	if err != nil {
		panic(err)
	}
	for _, c := range sol.Packages {
		fmt.Printf("%s==%s", c.Package, c.Version)
		for _, r := range c.RequiredBy {
			if r.HoldsDown {
				fmt.Printf(" (held down by %s)", r.Text)
			}
		}
		fmt.Println()
	}

	below2 := pubgrub.Dependency{Package: "werkzeug", Text: "werkzeug<2", Accepts: func(v string) bool { return v < "2" }}
	_, err = pubgrub.Solve(context.Background(), ix, []pubgrub.Dependency{atLeast("flask", "2.3"), below2})
	var nse *pubgrub.NoSolutionError
	if errors.As(err, &nse) {
		fmt.Println(nse)
	}
	// Output:
	// flask==2.3.3
	// werkzeug==2.3.7 (held down by werkzeug<3)
	// Because flask==3.0.0 depends on werkzeug>=3.0.0 and flask==2.3.3 depends on werkzeug>=2.3.7, every version of flask requires werkzeug>=2.3.7.
	// So, because you require both flask>=2.3 and werkzeug<2, no solution exists.
}
