package pubgrub

import (
	"context"
	"errors"
	"fmt"
	"slices"
)

const rootID = 0

type kind uint8

const (
	kindRoot       kind = iota // {not root}: the root must be chosen
	kindDependency             // {from in set, not to in set}: a dependency, from Provider or the root
	kindUnusable               // {pkg == version}: the provider refused that version
	kindConflict               // {pkg == version, other in set, …}: a Conflict from the provider
	kindDerived                // learned during conflict resolution from causes
)

// incompat is a set of terms that must not all hold.
type incompat struct {
	terms []term
	kind  kind
	// for kindDependency: depender, dependee and requirement text; empty reports that no candidate
	// of the dependee satisfies it (its always-true term is then left out of terms).
	from, to int
	dep      Dependency
	empty    bool
	reason   string // kindUnusable, kindConflict
	causes   [2]*incompat
	// superseded marks a dependency merged into a wider one; it stays valid as a cause.
	superseded bool
}

func (ic *incompat) external() bool { return ic.kind != kindDerived }

func (ic *incompat) termOf(pkg int) (term, bool) {
	for _, t := range ic.terms {
		if t.pkg == pkg {
			return t, true
		}
	}
	return term{}, false
}

type assignment struct {
	term     term
	acc      term // intersection of this package's assignments up to this one
	decision bool
	level    int
	cause    *incompat
}

type edge struct {
	to  int
	set vset
	dep Dependency
}

type versionDeps struct {
	edges     []edge
	conflicts []conflictEdges
	unusable  string
	added     bool
}

// conflictEdges is a Conflict with its packages numbered and accepted sets computed.
type conflictEdges struct {
	with   []edge
	reason string
}

type pkgState struct {
	name      Package
	versions  []string
	incompats []*incompat
	assigns   []int // positions in solver.assigns, oldest first
	decided   int   // candidate index, or -1
	deps      map[int]*versionDeps
	texts     map[string]string // requirement text by the set it accepts, for messages
}

// mergeKey identifies dependencies that are one fact over the candidates: same depender, same
// dependee, same accepted set. A requirement nothing matches is keyed by its text instead, which
// its explanation quotes.
type mergeKey struct {
	from, to int
	set      string
}

type solver struct {
	p       Provider
	opts    options
	root    []Dependency
	pkgs    []*pkgState
	ids     map[Package]int
	assigns []assignment
	level   int
	steps   int
	merge   map[mergeKey]*incompat
}

func newSolver(p Provider, root []Dependency, o options) *solver {
	s := &solver{p: p, opts: o, root: root, ids: map[Package]int{}, merge: map[mergeKey]*incompat{}}
	s.pkgs = append(s.pkgs, &pkgState{versions: []string{""}, decided: -1, deps: map[int]*versionDeps{}, texts: map[string]string{}})
	return s
}

func (s *solver) n(pkg int) int { return len(s.pkgs[pkg].versions) }

// acc is what the partial solution says about pkg: the intersection of its assignments. ok is
// false when it says nothing, which no term in an incompatibility is satisfied or contradicted by.
func (s *solver) acc(pkg int) (t term, ok bool) {
	ps := s.pkgs[pkg]
	if len(ps.assigns) == 0 {
		return term{}, false
	}
	return s.assigns[ps.assigns[len(ps.assigns)-1]].acc, true
}

// step counts a decision or a conflict-resolution step against the limit.
func (s *solver) step() error {
	s.steps++
	if s.opts.maxSteps > 0 && s.steps > s.opts.maxSteps {
		return fmt.Errorf("%w: gave up after %d decisions and conflicts", ErrStepLimit, s.opts.maxSteps)
	}
	return nil
}

func (s *solver) run(ctx context.Context) (*Solution, error) {
	s.add(&incompat{kind: kindRoot, terms: []term{{pkg: rootID, pos: false, set: fullSet(1)}}})
	next := rootID
	for {
		if err := ctx.Err(); err != nil {
			return nil, fmt.Errorf("pubgrub: %w", err)
		}
		if err := s.step(); err != nil {
			return nil, err
		}
		if err := s.propagate(next); err != nil {
			return nil, err
		}
		pkg, ok := s.pick()
		if !ok {
			return s.solution(), nil
		}
		next = pkg
		if err := s.decide(ctx, pkg); err != nil {
			return nil, err
		}
	}
}

func (s *solver) add(ic *incompat) {
	for _, t := range ic.terms {
		ps := s.pkgs[t.pkg]
		ps.incompats = append(ps.incompats, ic)
	}
}

type relation int

const (
	inconclusive relation = iota
	satisfied
	almostSatisfied
	contradicted
)

// relate compares ic with the partial solution; for almostSatisfied it also returns the one term
// the partial solution does not decide.
func (s *solver) relate(ic *incompat) (relation, term) {
	rel := satisfied
	var open term
	for _, t := range ic.terms {
		a, ok := s.acc(t.pkg)
		switch {
		case ok && satisfies(a, t):
		case ok && contradicts(a, t):
			return contradicted, term{}
		case rel == satisfied:
			rel, open = almostSatisfied, t
		default:
			rel = inconclusive
		}
	}
	return rel, open
}

func (s *solver) assign(t term, decision bool, cause *incompat) {
	ps := s.pkgs[t.pkg]
	acc := t
	if prev, ok := s.acc(t.pkg); ok {
		acc = intersect(prev, t)
	}
	if decision {
		ps.decided = t.set.first()
	}
	ps.assigns = append(ps.assigns, len(s.assigns))
	s.assigns = append(s.assigns, assignment{term: t, acc: acc, decision: decision, level: s.level, cause: cause})
}

// propagate derives what the incompatibilities force, starting from what changed about pkg.
func (s *solver) propagate(pkg int) error {
	changed := []int{pkg}
	for len(changed) > 0 {
		p := changed[len(changed)-1]
		changed = changed[:len(changed)-1]
		list := s.pkgs[p].incompats
		for i := len(list) - 1; i >= 0; i-- {
			ic := list[i]
			if ic.superseded {
				continue
			}
			rel, t := s.relate(ic)
			if rel == satisfied {
				learned, err := s.resolve(ic)
				if err != nil {
					return err
				}
				rel, t = s.relate(learned)
				if rel != almostSatisfied {
					return fmt.Errorf("pubgrub: internal error: learned incompatibility is not almost satisfied")
				}
				s.assign(t.negate(), false, learned)
				changed = append(changed[:0], t.pkg)
				break
			}
			if rel == almostSatisfied {
				s.assign(t.negate(), false, ic)
				if !slices.Contains(changed, t.pkg) {
					changed = append(changed, t.pkg)
				}
			}
		}
	}
	return nil
}

// resolve finds the root cause of the conflict ic, learns it and backjumps so that it can be
// propagated. It returns a *NoSolutionError when the root cause rules out the root itself.
func (s *solver) resolve(ic *incompat) (*incompat, error) {
	learned := false
	for {
		if s.terminal(ic) {
			return nil, &NoSolutionError{s: s, root: ic}
		}
		sat, prev := s.satisfier(ic)
		a := s.assigns[sat]
		prevLevel := 1
		if prev >= 0 {
			prevLevel = max(s.assigns[prev].level, 1)
		}
		if a.decision || prevLevel != a.level {
			if learned {
				s.add(ic)
			}
			s.backtrack(prevLevel)
			return ic, nil
		}
		if err := s.step(); err != nil {
			return nil, err
		}
		ic = s.priorCause(ic, a.cause, a.term.pkg)
		learned = true
	}
}

func (s *solver) terminal(ic *incompat) bool {
	return len(ic.terms) == 0 || len(ic.terms) == 1 && ic.terms[0].pkg == rootID && ic.terms[0].pos
}

// satisfier returns the position of the earliest assignment after which the partial solution
// satisfies ic, and of the earliest one before it that, together with it, does too (-1 if none).
func (s *solver) satisfier(ic *incompat) (sat, prev int) {
	sat, prev = -1, -1
	found := make([]int, len(ic.terms))
	var satTerm term
	for i, t := range ic.terms {
		found[i] = -1
		for _, pos := range s.pkgs[t.pkg].assigns {
			if satisfies(s.assigns[pos].acc, t) {
				found[i] = pos
				break
			}
		}
		if found[i] > sat {
			sat, satTerm = found[i], t
		}
	}
	for i := range ic.terms {
		if found[i] != sat && found[i] > prev {
			prev = found[i]
		}
	}
	a := s.assigns[sat]
	if !satisfies(a.term, satTerm) {
		for _, pos := range s.pkgs[satTerm.pkg].assigns {
			if pos >= sat {
				break
			}
			if satisfies(intersect(s.assigns[pos].acc, a.term), satTerm) {
				prev = max(prev, pos)
				break
			}
		}
	}
	return sat, prev
}

// priorCause resolves ic with the cause of the assignment to pkg that satisfied it.
func (s *solver) priorCause(ic, cause *incompat, pkg int) *incompat {
	var terms []term
	put := func(t term, unite bool) {
		for i := range terms {
			if terms[i].pkg == t.pkg {
				if unite {
					terms[i] = union(terms[i], t)
				} else {
					terms[i] = intersect(terms[i], t)
				}
				return
			}
		}
		terms = append(terms, t)
	}
	for _, t := range ic.terms {
		put(t, false)
	}
	for _, t := range cause.terms {
		put(t, t.pkg == pkg)
	}
	out := terms[:0]
	for _, t := range terms {
		if !t.isAny() {
			out = append(out, t)
		}
	}
	return &incompat{kind: kindDerived, terms: normalize(out), causes: [2]*incompat{ic, cause}}
}

// normalize drops a positive root term from a derived incompatibility: the root is always chosen.
func normalize(terms []term) []term {
	if len(terms) < 2 {
		return terms
	}
	return slices.DeleteFunc(terms, func(t term) bool { return t.pkg == rootID && t.pos })
}

func (s *solver) backtrack(level int) {
	for len(s.assigns) > 0 && s.assigns[len(s.assigns)-1].level > level {
		a := s.assigns[len(s.assigns)-1]
		ps := s.pkgs[a.term.pkg]
		ps.assigns = ps.assigns[:len(ps.assigns)-1]
		if a.decision {
			ps.decided = -1
		}
		s.assigns = s.assigns[:len(s.assigns)-1]
	}
	s.level = level
}

// pick returns the undecided package that must be chosen and has the fewest candidates left, so
// that conflicts show up early; ties go to the package seen first.
func (s *solver) pick() (int, bool) {
	best, bestCount := -1, 0
	for id, ps := range s.pkgs {
		if ps.decided >= 0 || len(ps.assigns) == 0 {
			continue
		}
		a, _ := s.acc(id)
		if !a.pos {
			continue
		}
		c := a.set.count()
		if best < 0 || c < bestCount {
			best, bestCount = id, c
		}
	}
	return best, best >= 0
}

// decide chooses the most preferred candidate of pkg that the partial solution allows, unless its
// dependencies already conflict with the partial solution; either way the dependencies become
// incompatibilities for propagation to use.
func (s *solver) decide(ctx context.Context, pkg int) error {
	a, _ := s.acc(pkg)
	v := a.set.first()
	if v < 0 {
		return fmt.Errorf("pubgrub: internal error: no candidate of %s left to choose", s.pkgs[pkg].name)
	}
	vd, err := s.dependencies(ctx, pkg, v)
	if err != nil {
		return err
	}
	if !vd.added {
		vd.added = true
		s.addDependencies(pkg, v, vd)
	}
	chosen := term{pkg: pkg, pos: true, set: singleton(s.n(pkg), v)}
	// The root is decided even when its requirements conflict, so that everything it implies
	// lives at decision level 1 and conflict resolution can trace a conflict back to it.
	for _, ic := range s.pkgs[pkg].incompats {
		if pkg != rootID && !ic.superseded && s.conflictsWith(ic, chosen) {
			return nil // propagation will rule v out
		}
	}
	s.level++
	s.assign(chosen, true, nil)
	return nil
}

// conflictsWith reports whether choosing t would satisfy ic.
func (s *solver) conflictsWith(ic *incompat, t term) bool {
	for _, it := range ic.terms {
		a, ok := s.acc(it.pkg)
		if it.pkg == t.pkg {
			a, ok = t, true
		}
		if !ok || !satisfies(a, it) {
			return false
		}
	}
	return true
}

func (s *solver) addDependencies(pkg, v int, vd *versionDeps) {
	n := s.n(pkg)
	if vd.unusable != "" {
		s.add(&incompat{kind: kindUnusable, reason: vd.unusable, terms: []term{{pkg: pkg, pos: true, set: singleton(n, v)}}})
		return
	}
	for _, e := range vd.edges {
		depender := singleton(n, v)
		// Versions with the same dependency share one incompatibility, which keeps the learned
		// ones general and lets explanations speak of ranges rather than single versions.
		key := mergeKey{pkg, e.to, e.set.key()}
		if e.set.empty() {
			key.set = e.dep.Text
		}
		dep := e.dep
		if old := s.merge[key]; old != nil && pkg != e.to {
			from, _ := old.termOf(pkg)
			depender = from.set.or(depender)
			old.superseded = true
			if old.dep.Text != dep.Text {
				dep.Text = "" // spelled differently by different versions: describe the set instead
			}
		}
		ic := &incompat{kind: kindDependency, from: pkg, to: e.to, dep: dep, empty: e.set.empty()}
		switch {
		case e.to == pkg:
			if e.set.has(v) {
				continue // a package that accepts itself says nothing
			}
			ic.terms = []term{{pkg: pkg, pos: true, set: depender}}
		case e.set.empty():
			ic.terms = []term{{pkg: pkg, pos: true, set: depender}}
		default:
			ic.terms = []term{{pkg: pkg, pos: true, set: depender}, {pkg: e.to, pos: false, set: e.set}}
		}
		s.merge[key] = ic
		s.add(ic)
	}
conflicts:
	for _, c := range vd.conflicts {
		terms := []term{{pkg: pkg, pos: true, set: singleton(n, v)}}
		for _, e := range c.with {
			if e.set.empty() || e.to == pkg {
				continue conflicts // no version of the other package is ruled out with this one
			}
			terms = append(terms, term{pkg: e.to, pos: true, set: e.set})
		}
		s.add(&incompat{kind: kindConflict, reason: c.reason, terms: terms})
	}
}

// id returns the solver's number for pkg, loading its candidates the first time.
func (s *solver) id(ctx context.Context, pkg Package) (int, error) {
	if id, ok := s.ids[pkg]; ok {
		return id, nil
	}
	if err := ctx.Err(); err != nil {
		return 0, fmt.Errorf("pubgrub: %w", err)
	}
	versions, err := s.p.Candidates(ctx, pkg)
	if err != nil {
		return 0, fmt.Errorf("pubgrub: listing versions of %s: %w", pkg, err)
	}
	id := len(s.pkgs)
	s.ids[pkg] = id
	s.pkgs = append(s.pkgs, &pkgState{name: pkg, versions: versions, decided: -1, deps: map[int]*versionDeps{}, texts: map[string]string{}})
	return id, nil
}

func (s *solver) dependencies(ctx context.Context, pkg, v int) (*versionDeps, error) {
	ps := s.pkgs[pkg]
	if vd, ok := ps.deps[v]; ok {
		return vd, nil
	}
	var deps []Dependency
	if pkg == rootID {
		deps = s.root
	} else {
		var err error
		deps, err = s.p.Dependencies(ctx, ps.name, ps.versions[v])
		var u *Unusable
		if errors.As(err, &u) {
			vd := &versionDeps{unusable: u.Reason}
			ps.deps[v] = vd
			return vd, nil
		}
		if err != nil {
			return nil, fmt.Errorf("pubgrub: reading dependencies of %s %s: %w", ps.name, ps.versions[v], err)
		}
	}
	if s.opts.prefetch != nil {
		var fresh []Package
		for _, d := range deps {
			if _, ok := s.ids[d.Package]; !ok && !slices.Contains(fresh, d.Package) {
				fresh = append(fresh, d.Package)
			}
		}
		if len(fresh) > 0 {
			s.opts.prefetch(fresh)
		}
	}
	vd := &versionDeps{}
	for _, d := range deps {
		e, err := s.edge(ctx, d)
		if err != nil {
			return nil, err
		}
		vd.edges = append(vd.edges, e)
	}
	if cp, ok := s.p.(ConflictProvider); ok && pkg != rootID {
		conflicts, err := cp.Conflicts(ctx, ps.name, ps.versions[v])
		if err != nil {
			return nil, fmt.Errorf("pubgrub: reading conflicts of %s %s: %w", ps.name, ps.versions[v], err)
		}
		for _, c := range conflicts {
			ce := conflictEdges{reason: c.Reason}
			for _, d := range c.With {
				e, err := s.edge(ctx, d)
				if err != nil {
					return nil, err
				}
				ce.with = append(ce.with, e)
			}
			vd.conflicts = append(vd.conflicts, ce)
		}
	}
	ps.deps[v] = vd
	return vd, nil
}

// edge numbers d's package, listing its candidates the first time, and computes the set d accepts.
func (s *solver) edge(ctx context.Context, d Dependency) (edge, error) {
	to, err := s.id(ctx, d.Package)
	if err != nil {
		return edge{}, err
	}
	tps := s.pkgs[to]
	set := make(vset, (len(tps.versions)+63)/64)
	for i, ver := range tps.versions {
		if d.Accepts == nil || d.Accepts(ver) {
			set.add(i)
		}
	}
	if _, ok := tps.texts[set.key()]; !ok && d.Text != "" {
		tps.texts[set.key()] = d.Text
	}
	return edge{to: to, set: set, dep: d}, nil
}

func (s *solver) solution() *Solution {
	sol := &Solution{}
	byPkg := map[int]int{}
	for id, ps := range s.pkgs {
		if id == rootID || ps.decided < 0 {
			continue
		}
		byPkg[id] = len(sol.Packages)
		sol.Packages = append(sol.Packages, Chosen{Package: ps.name, Version: ps.versions[ps.decided], Rank: ps.decided})
	}
	for id, ps := range s.pkgs {
		if ps.decided < 0 {
			continue
		}
		for _, e := range ps.deps[ps.decided].edges {
			i, ok := byPkg[e.to]
			if !ok {
				continue
			}
			c := &sol.Packages[i]
			r := Requirement{By: ps.name, Text: e.dep.Text}
			if id != rootID {
				r.ByVersion = ps.versions[ps.decided]
			}
			for j := 0; j < c.Rank; j++ {
				if !e.set.has(j) {
					r.HoldsDown = true
					break
				}
			}
			c.RequiredBy = append(c.RequiredBy, r)
		}
	}
	for id, i := range byPkg {
		sol.Packages[i].Passed = s.passed(id)
	}
	slices.SortFunc(sol.Packages, func(a, b Chosen) int {
		switch {
		case a.Package < b.Package:
			return -1
		case a.Package > b.Package:
			return 1
		}
		return 0
	})
	for i := range sol.Packages {
		slices.SortFunc(sol.Packages[i].RequiredBy, func(a, b Requirement) int {
			switch {
			case a.By != b.By:
				if a.By < b.By {
					return -1
				}
				return 1
			case a.Text < b.Text:
				return -1
			case a.Text > b.Text:
				return 1
			}
			return 0
		})
	}
	return sol
}

// passed explains why the candidates of pkg preferred over its chosen version were ruled out: each
// assignment that ruled out one of them is explained by the incompatibility that caused it.
func (s *solver) passed(pkg int) []string {
	ps := s.pkgs[pkg]
	allowed := func(t term, i int) bool { return t.set.has(i) == t.pos }
	ruledOut := make([]bool, ps.decided)
	var why []string
	for _, pos := range ps.assigns {
		a := s.assigns[pos]
		if a.decision {
			break
		}
		fresh := false
		for i := range ruledOut {
			if !ruledOut[i] && !allowed(a.acc, i) {
				ruledOut[i], fresh = true, true
			}
		}
		if fresh {
			why = append(why, newReporter(s).because(a.cause, pkg, pos))
		}
	}
	return why
}
