package pubgrub

import (
	"context"
	"fmt"
	"math/rand/v2"
	"testing"
)

// generate makes a graph of n packages with v versions each, seeded so that it is the same every
// run. Version k of a package needs a few later packages, newer versions asking for newer and
// narrower ranges, so that the newest choices collide and the solver must backtrack. Version 1.0.0
// of every package accepts anything, so a solution always exists.
func generate(n, v int, seed uint64) graph {
	rng := rand.New(rand.NewPCG(seed, 0))
	g := graph{}
	for i := range n {
		name := fmt.Sprintf("p%03d", i)
		g[name] = map[string][]string{}
		for k := 1; k <= v; k++ {
			var reqs []string
			for d := range 3 {
				j := i + 1 + rng.IntN(8) + d*8
				if j >= n {
					break
				}
				dep := fmt.Sprintf("p%03d", j)
				switch {
				case k == 1:
					reqs = append(reqs, dep)
				case rng.IntN(3) == 0:
					lo := 1 + rng.IntN(k)
					reqs = append(reqs, fmt.Sprintf("%s>=%d.0.0", dep, lo))
				case rng.IntN(2) == 0:
					hi := 1 + rng.IntN(v) + 1
					reqs = append(reqs, fmt.Sprintf("%s<%d.0.0", dep, hi))
				default:
					lo := 1 + rng.IntN(k)
					reqs = append(reqs, fmt.Sprintf("%s>=%d.0.0,<%d.0.0", dep, lo, lo+1+rng.IntN(4)))
				}
			}
			g[name][fmt.Sprintf("%d.0.0", k)] = reqs
		}
	}
	return g
}

func TestGeneratedGraphSolves(t *testing.T) {
	g := generate(200, 30, 1)
	root := []string{"p000", "p001", "p002", "p003", "p004"}
	sol, err := Solve(context.Background(), &memProvider{g: g}, parseDeps(root))
	if err != nil {
		t.Fatal(err)
	}
	checkSolution(t, solveCase{root: root, g: g}, sol)
}

// indexedProvider answers from a graph parsed once, so that a benchmark measures the solver
// rather than the parsing of test requirements.
type indexedProvider struct {
	candidates map[Package][]string
	deps       map[Package]map[string][]Dependency
}

func newIndexedProvider(g graph) *indexedProvider {
	p := &indexedProvider{candidates: map[Package][]string{}, deps: map[Package]map[string][]Dependency{}}
	m := &memProvider{g: g}
	for name, versions := range g {
		pkg := Package(name)
		p.candidates[pkg], _ = m.Candidates(context.Background(), pkg)
		p.deps[pkg] = map[string][]Dependency{}
		for v, reqs := range versions {
			deps := parseDeps(reqs)
			for i, d := range deps {
				if d.Accepts == nil {
					continue
				}
				// Memoize Accepts: each candidate's answer is computed once, here.
				ok := map[string]bool{}
				for w := range g[string(d.Package)] {
					ok[w] = d.Accepts(w)
				}
				deps[i].Accepts = func(w string) bool { return ok[w] }
			}
			p.deps[pkg][v] = deps
		}
	}
	return p
}

func (p *indexedProvider) Candidates(_ context.Context, pkg Package) ([]string, error) {
	return p.candidates[pkg], nil
}

func (p *indexedProvider) Dependencies(_ context.Context, pkg Package, v string) ([]Dependency, error) {
	return p.deps[pkg][v], nil
}

func BenchmarkSolve(b *testing.B) {
	p := newIndexedProvider(generate(200, 30, 1))
	root := parseDeps([]string{"p000", "p001", "p002", "p003", "p004"})
	b.ReportAllocs()
	for b.Loop() {
		if _, err := Solve(context.Background(), p, root); err != nil {
			b.Fatal(err)
		}
	}
}
