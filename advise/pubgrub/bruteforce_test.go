package pubgrub

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"strings"
	"testing"
)

// smallGraph makes a random graph small enough to search exhaustively: cycles, self-dependencies,
// packages without versions and requirements nothing matches all occur.
func smallGraph(rng *rand.Rand) (graph, []string) {
	const pkgs = 5
	names := []string{"a", "b", "c", "d", "e"}
	req := func() string {
		name := names[rng.IntN(pkgs)]
		k := 1 + rng.IntN(4)
		switch rng.IntN(6) {
		case 0:
			return name
		case 1:
			return fmt.Sprintf("%s>=%d.0", name, k)
		case 2:
			return fmt.Sprintf("%s<%d.0", name, k)
		case 3:
			return fmt.Sprintf("%s==%d.0", name, k)
		case 4:
			return fmt.Sprintf("%s!=%d.0", name, k)
		default:
			return fmt.Sprintf("%s>=%d.0,<%d.0", name, k, k+2)
		}
	}
	g := graph{}
	for _, name := range names {
		g[name] = map[string][]string{}
		for k := 1; k <= rng.IntN(4); k++ {
			var reqs []string
			for range rng.IntN(3) {
				reqs = append(reqs, req())
			}
			g[name][fmt.Sprintf("%d.0", k)] = reqs
		}
	}
	var root []string
	for range 1 + rng.IntN(3) {
		root = append(root, req())
	}
	return g, root
}

// smallConflicts makes random conflicts over the graph's versions.
func smallConflicts(rng *rand.Rand, g graph) map[string][]string {
	names := []string{"a", "b", "c", "d", "e"}
	out := map[string][]string{}
	for _, name := range names {
		for v := range g[name] {
			if rng.IntN(3) == 0 {
				other := names[rng.IntN(len(names))]
				out[name+" "+v] = append(out[name+" "+v], fmt.Sprintf("%s>=%d.0", other, 1+rng.IntN(3)))
			}
		}
	}
	return out
}

// solvable searches every assignment of a version, or none, to each package.
func solvable(g graph, conflicts map[string][]string, root []string) bool {
	names := []string{"a", "b", "c", "d", "e"}
	choice := map[Package]string{}
	holds := func(reqs []string) bool {
		for _, d := range parseDeps(reqs) {
			v, ok := choice[d.Package]
			if !ok || d.Accepts != nil && !d.Accepts(v) {
				return false
			}
		}
		return true
	}
	var search func(i int) bool
	search = func(i int) bool {
		if i == len(names) {
			if !holds(root) {
				return false
			}
			for p, v := range choice {
				if !holds(g[string(p)][v]) {
					return false
				}
				for _, d := range parseDeps(conflicts[string(p)+" "+v]) {
					if w, ok := choice[d.Package]; ok && d.Accepts(w) && (d.Package != p || w != v) {
						return false
					}
				}
			}
			return true
		}
		delete(choice, Package(names[i]))
		if search(i + 1) {
			return true
		}
		for v := range g[names[i]] {
			choice[Package(names[i])] = v
			if search(i + 1) {
				return true
			}
		}
		delete(choice, Package(names[i]))
		return false
	}
	return search(0)
}

func TestSolveAgreesWithExhaustiveSearch(t *testing.T) {
	agreeWithExhaustiveSearch(t, rand.New(rand.NewPCG(4, 4)), false)
}

// Conflicts, which require nothing, must not make the solver miss a solution or invent one.
func TestSolveWithConflictsAgreesWithExhaustiveSearch(t *testing.T) {
	agreeWithExhaustiveSearch(t, rand.New(rand.NewPCG(5, 5)), true)
}

func agreeWithExhaustiveSearch(t *testing.T, rng *rand.Rand, withConflicts bool) {
	var solved, failed, conflicting int
	for i := range 2000 {
		g, root := smallGraph(rng)
		var conflicts map[string][]string
		if withConflicts {
			conflicts = smallConflicts(rng, g)
			conflicting += len(conflicts)
		}
		p := &memProvider{g: g, conflicts: conflicts}
		sol, err := Solve(context.Background(), p, parseDeps(root))
		var nse *NoSolutionError
		if err != nil && !errors.As(err, &nse) {
			t.Fatalf("graph %d: %v\n%v\nroot %v", i, err, g, root)
		}
		want := solvable(g, conflicts, root)
		switch {
		case err == nil && !want:
			t.Fatalf("graph %d: solver found %s but exhaustive search finds no solution\n%v\nroot %v", i, render(sol, nil), g, root)
		case err != nil && want:
			t.Fatalf("graph %d: solver says\n%s\nbut a solution exists\n%v\nconflicts %v\nroot %v", i, err, g, conflicts, root)
		case err == nil:
			solved++
			checkSolution(t, solveCase{root: root, g: g, conflicts: conflicts}, sol)
		default:
			failed++
			if msg := err.Error(); !strings.HasSuffix(msg, "no solution exists.") {
				t.Fatalf("graph %d: explanation does not conclude:\n%s", i, msg)
			}
		}
	}
	// Both outcomes must be well represented for the comparison to mean anything.
	if solved < 200 || failed < 200 {
		t.Errorf("only %d solvable and %d unsolvable graphs; the generator needs rebalancing", solved, failed)
	}
}
