package pubgrub

import (
	"fmt"
	"slices"
	"strings"
)

// NoSolutionError reports that no choice of versions satisfies the requirements. Its Error method
// explains why, by walking the chain of facts the solver learned, from the dependencies up to the
// conclusion that the root requirements cannot all hold.
type NoSolutionError struct {
	s    *solver
	root *incompat
}

func (e *NoSolutionError) Error() string {
	return newReporter(e.s).explain(e.root)
}

// reporter renders a derivation graph as sentences, following the error-reporting scheme of pub's
// solver.md: a linear chain reads as "Because …, … And because …, …", and a fact needed twice is
// numbered once and referred back to.
type reporter struct {
	s        *solver
	asc      map[int][]int
	outgoing map[*incompat]int
	numbers  map[*incompat]int
	lines    []reportLine
	root     *incompat
}

func newReporter(s *solver) *reporter {
	return &reporter{s: s, asc: map[int][]int{}, outgoing: map[*incompat]int{}, numbers: map[*incompat]int{}}
}

// because explains the assignment to pkg at position pos in the partial solution by its cause:
// the cause itself (an external fact in one sentence, a derived one with its derivation), and what
// the partial solution said then about the cause's other packages.
func (r *reporter) because(cause *incompat, pkg, pos int) string {
	var state []string
	for _, t := range cause.terms {
		if t.pkg != pkg && t.pkg != rootID {
			state = append(state, r.state(t.pkg, pos))
		}
	}
	if cause.external() {
		text := sentence(r.fact(cause))
		if len(state) > 0 {
			text += ", and " + joinList(state, "and")
		}
		return text + "."
	}
	text := r.explain(cause)
	if len(state) > 0 {
		text += "\nAnd " + joinList(state, "and") + "."
	}
	return text
}

// state says what the partial solution held about pkg before position pos.
func (r *reporter) state(pkg, pos int) string {
	ps := r.s.pkgs[pkg]
	last := -1
	for _, p := range ps.assigns {
		if p < pos {
			last = p
		}
	}
	if last < 0 {
		return string(ps.name) + " is undecided"
	}
	a := r.s.assigns[last]
	switch {
	case a.decision:
		return fmt.Sprintf("%s==%s is chosen", ps.name, ps.versions[a.term.set.first()])
	case a.acc.pos:
		return r.object(a.acc) + " is required"
	case a.acc.set.equal(fullSet(len(ps.versions))):
		return "no version of " + string(ps.name) + " can be chosen"
	default:
		return r.object(a.acc.negate()) + " is ruled out"
	}
}

// sentence capitalises a clause that starts with one of the solver's own words; a package name
// keeps its case.
func sentence(clause string) string {
	for _, w := range []string{"you ", "every ", "no "} {
		if strings.HasPrefix(clause, w) {
			return strings.ToUpper(clause[:1]) + clause[1:]
		}
	}
	return clause
}

type reportLine struct {
	text string
	num  int
}

func (r *reporter) explain(root *incompat) string {
	if root.external() {
		return "Because " + r.fact(root) + ", no solution exists."
	}
	r.root = root
	r.count(root, map[*incompat]bool{})
	r.visit(root, false)
	width := 0
	if n := len(r.numbers); n > 0 {
		width = len(fmt.Sprintf("(%d) ", n))
	}
	var b strings.Builder
	for i, l := range r.lines {
		if i > 0 {
			b.WriteByte('\n')
		}
		switch {
		case l.text == "":
		case l.num > 0:
			fmt.Fprintf(&b, "%-*s%s", width, fmt.Sprintf("(%d)", l.num), l.text)
		default:
			b.WriteString(strings.Repeat(" ", width) + l.text)
		}
	}
	return b.String()
}

// count records how many derived incompatibilities each one causes.
func (r *reporter) count(ic *incompat, seen map[*incompat]bool) {
	if seen[ic] {
		return
	}
	seen[ic] = true
	for _, c := range ic.causes {
		if c.external() {
			continue
		}
		r.outgoing[c]++
		r.count(c, seen)
	}
}

func (r *reporter) write(ic *incompat, text string, numbered bool) {
	if (numbered || ic == r.root) && strings.HasPrefix(text, "And because ") {
		text = "So, because " + strings.TrimPrefix(text, "And because ")
	}
	l := reportLine{text: text}
	if numbered {
		l.num = len(r.numbers) + 1
		r.numbers[ic] = l.num
	}
	r.lines = append(r.lines, l)
}

func (r *reporter) visit(ic *incompat, forceNumber bool) {
	numbered := forceNumber || r.outgoing[ic] > 1
	concl := r.conclusion(ic)
	c1, c2 := ic.causes[0], ic.causes[1]
	if facts := r.chain(ic); len(facts) >= 3 {
		r.write(ic, "Because "+r.listFacts(facts)+", "+concl+".", numbered)
		return
	}
	switch {
	case !c1.external() && !c2.external():
		n1, ok1 := r.numbers[c1]
		n2, ok2 := r.numbers[c2]
		switch {
		case ok1 && ok2:
			r.write(ic, fmt.Sprintf("Because %s (%d) and %s (%d), %s.", r.conclusion(c1), n1, r.conclusion(c2), n2, concl), numbered)
		case ok1 || ok2:
			with, without, n := c1, c2, n1
			if !ok1 {
				with, without, n = c2, c1, n2
			}
			r.visit(without, false)
			r.write(ic, fmt.Sprintf("And because %s (%d), %s.", r.conclusion(with), n, concl), numbered)
		case r.singleLine(c1) || r.singleLine(c2):
			// The simple cause fits in one line right before the conclusion, so the other needs no number.
			first, second := c1, c2
			if r.singleLine(c1) {
				first, second = c2, c1
			}
			r.visit(first, false)
			r.visit(second, false)
			r.write(ic, "Thus, "+concl+".", numbered)
		default:
			r.visit(c1, true)
			r.lines = append(r.lines, reportLine{})
			r.visit(c2, false)
			r.write(ic, fmt.Sprintf("And because %s (%d), %s.", r.conclusion(c1), r.numbers[c1], concl), numbered)
		}
	case !c1.external() || !c2.external():
		derived, ext := c1, c2
		if c1.external() {
			derived, ext = c2, c1
		}
		if n, ok := r.numbers[derived]; ok {
			r.write(ic, fmt.Sprintf("Because %s and %s (%d), %s.", r.fact(ext), r.conclusion(derived), n, concl), numbered)
		} else if r.collapsible(derived) {
			// Skip stating derived: its external cause joins ext in one sentence.
			prior, priorExt := derived.causes[0], derived.causes[1]
			if prior.external() {
				prior, priorExt = priorExt, prior
			}
			r.visit(prior, false)
			r.write(ic, fmt.Sprintf("And because %s, %s.", r.facts(priorExt, ext), concl), numbered)
		} else {
			r.visit(derived, false)
			r.write(ic, fmt.Sprintf("And because %s, %s.", r.fact(ext), concl), numbered)
		}
	default:
		r.write(ic, fmt.Sprintf("Because %s, %s.", r.facts(c1, c2), concl), numbered)
	}
}

func (r *reporter) singleLine(ic *incompat) bool {
	return !ic.external() && ic.causes[0].external() && ic.causes[1].external()
}

func (r *reporter) collapsible(ic *incompat) bool {
	if r.outgoing[ic] > 1 {
		return false
	}
	c1, c2 := ic.causes[0], ic.causes[1]
	if c1.external() == c2.external() {
		return false
	}
	complex := c1
	if c1.external() {
		complex = c2
	}
	_, numbered := r.numbers[complex]
	return !numbered
}

// fact states an external incompatibility as a clause.
func (r *reporter) fact(ic *incompat) string {
	switch ic.kind {
	case kindDependency:
		s := r.depends(ic) + " " + r.required(ic)
		if ic.empty {
			s += ", but " + r.noMatch(ic)
		}
		return s
	case kindUnusable:
		ps := r.s.pkgs[ic.terms[0].pkg]
		return fmt.Sprintf("%s==%s cannot be used (%s)", ps.name, ps.versions[ic.terms[0].set.first()], ic.reason)
	case kindConflict:
		ps := r.s.pkgs[ic.terms[0].pkg]
		var others []string
		for _, t := range ic.terms[1:] {
			others = append(others, r.versions(t.pkg, t.set))
		}
		s := fmt.Sprintf("%s==%s cannot be chosen with %s", ps.name, ps.versions[ic.terms[0].set.first()], joinList(others, "and"))
		if ic.reason != "" {
			s += " (" + ic.reason + ")"
		}
		return s
	default:
		return "the root requirements must be met"
	}
}

// required names what a dependency requires: its text, or, when versions that spell it
// differently were merged, the candidates it accepts.
func (r *reporter) required(ic *incompat) string {
	if ic.dep.Text != "" {
		return ic.dep.Text
	}
	t, _ := ic.termOf(ic.to)
	return r.ranges(ic.to, t.set)
}

// depends is the start of a dependency clause: who depends.
func (r *reporter) depends(ic *incompat) string {
	if ic.from == rootID {
		return "you require"
	}
	t, _ := ic.termOf(ic.from)
	return r.subject(t) + " depends on"
}

func (r *reporter) noMatch(ic *incompat) string {
	if ae, ok := r.s.p.(AvailabilityExplainer); ok {
		if why := ae.Unavailable(ic.dep); why != "" {
			return why
		}
	}
	ps := r.s.pkgs[ic.to]
	if len(ps.versions) == 0 {
		return fmt.Sprintf("no versions of %s are available", ps.name)
	}
	return fmt.Sprintf("no version of %s matches %s", ps.name, ic.dep.Text)
}

// facts states two external incompatibilities, joining dependency chains where they read better
// as one ("a depends on b>=1 which depends on c<2"). A requirement nothing matches goes last,
// where its "but …" reads as the turn of the argument.
func (r *reporter) facts(a, b *incompat) string {
	if a.kind == kindDependency && a.empty && !(b.kind == kindDependency && b.empty) {
		a, b = b, a
	}
	if a.kind == kindDependency && b.kind == kindDependency && !a.empty && a.from != a.to && b.from != b.to {
		af, _ := a.termOf(a.from)
		bf, _ := b.termOf(b.from)
		if !b.empty && a.from == b.from && af.set.equal(bf.set) {
			return fmt.Sprintf("%s both %s and %s", r.depends(a), r.required(a), r.required(b))
		}
		for _, p := range [][2]*incompat{{a, b}, {b, a}} {
			x, y := p[0], p[1]
			if x.empty {
				continue
			}
			xt, _ := x.termOf(x.to)
			yf, _ := y.termOf(y.from)
			if x.to == y.from && xt.set.subsetOf(yf.set) {
				return fmt.Sprintf("%s %s which depends on %s", r.depends(x), r.required(x), strings.TrimPrefix(r.fact(y), r.depends(y)+" "))
			}
		}
	}
	if a.kind == kindDependency && a.empty {
		return r.fact(a) + ", and " + r.fact(b) // a ends in its own "but …" clause
	}
	return r.fact(a) + " and " + r.fact(b)
}

// conclusion states what a derived incompatibility rules out.
func (r *reporter) conclusion(ic *incompat) string {
	if r.s.terminal(ic) {
		return "no solution exists"
	}
	var pos, neg []string
	for _, t := range ic.terms {
		if t.pos {
			pos = append(pos, r.subject(t))
		} else {
			neg = append(neg, r.object(t))
		}
	}
	switch {
	case len(pos) == 1 && len(neg) == 0:
		return pos[0] + " is forbidden"
	case len(pos) == 0 && len(neg) == 1:
		return neg[0] + " is required"
	case len(pos) == 1 && len(neg) == 1:
		return pos[0] + " requires " + neg[0]
	case len(pos) == 2 && len(neg) == 0:
		return pos[0] + " is incompatible with " + r.object(ic.terms[1])
	case len(neg) == 0:
		return joinList(pos, "and") + " are incompatible"
	case len(pos) == 0:
		return "one of " + joinList(neg, "or") + " is required"
	default:
		return joinList(pos, "and") + " together require " + joinList(neg, "or")
	}
}

func joinList(items []string, conj string) string {
	if len(items) <= 2 {
		return strings.Join(items, " "+conj+" ")
	}
	return strings.Join(items[:len(items)-1], ", ") + " " + conj + " " + items[len(items)-1]
}

// subject names the versions a term speaks of, as the subject of a sentence.
func (r *reporter) subject(t term) string {
	if t.set.equal(fullSet(r.s.n(t.pkg))) {
		return "every version of " + string(r.s.pkgs[t.pkg].name)
	}
	return r.versions(t.pkg, t.set)
}

// object names the versions a term speaks of (a negative one: the versions it rules out).
func (r *reporter) object(t term) string {
	if t.set.equal(fullSet(r.s.n(t.pkg))) {
		return string(r.s.pkgs[t.pkg].name)
	}
	return r.versions(t.pkg, t.set)
}

// versions renders a set of candidates: as the requirement text that accepts exactly them when
// there is one, else as ranges over the candidates in age order.
func (r *reporter) versions(pkg int, set vset) string {
	if text, ok := r.s.pkgs[pkg].texts[set.key()]; ok {
		return text
	}
	return r.ranges(pkg, set)
}

// ranges renders a set of candidates as ranges in age order.
func (r *reporter) ranges(pkg int, set vset) string {
	ps := r.s.pkgs[pkg]
	if set.equal(fullSet(len(ps.versions))) {
		return string(ps.name)
	}
	asc := r.ascending(pkg)
	name := string(ps.name)
	if missing := len(asc) - set.count(); missing == 1 {
		for i, v := range asc {
			if !set.has(v) && i > 0 && i < len(asc)-1 {
				return name + "!=" + ps.versions[v]
			}
		}
	}
	var parts []string
	for i := 0; i < len(asc); {
		if !set.has(asc[i]) {
			i++
			continue
		}
		j := i
		for j+1 < len(asc) && set.has(asc[j+1]) {
			j++
		}
		lo, hi := ps.versions[asc[i]], ""
		if j+1 < len(asc) {
			hi = ps.versions[asc[j+1]]
		}
		switch {
		case i == j:
			parts = append(parts, name+"=="+lo)
		case i == 0:
			parts = append(parts, name+"<"+hi)
		case hi == "":
			parts = append(parts, name+">="+lo)
		default:
			parts = append(parts, name+">="+lo+",<"+hi)
		}
		i = j + 1
	}
	return strings.Join(parts, " or ")
}

// ascending lists pkg's candidate positions from oldest to newest.
func (r *reporter) ascending(pkg int) []int {
	if a, ok := r.asc[pkg]; ok {
		return a
	}
	ps := r.s.pkgs[pkg]
	a := make([]int, len(ps.versions))
	for i := range a {
		a[i] = len(a) - 1 - i
	}
	if vc, ok := r.s.p.(VersionComparer); ok {
		slices.SortStableFunc(a, func(x, y int) int { return vc.CompareVersions(ps.name, ps.versions[x], ps.versions[y]) })
	}
	r.asc[pkg] = a
	return a
}

// chain recognises a run of derivations that each add one more version of P depending on Q —
// the shape left behind when every version of a package pins its own range of another (boto3
// and botocore, pydantic and pydantic-core) — and returns the dependencies it rests on, oldest
// depender first. It returns nil for any other shape.
func (r *reporter) chain(ic *incompat) []*incompat {
	from, to, ok := pairShape(ic)
	if !ok {
		return nil
	}
	isDep := func(e *incompat) bool {
		return e.kind == kindDependency && !e.empty && e.from == from && e.to == to
	}
	var facts []*incompat
	for cur := ic; ; {
		c1, c2 := cur.causes[0], cur.causes[1]
		if c1.external() && c2.external() {
			if !isDep(c1) || !isDep(c2) {
				return nil
			}
			facts = append(facts, c1, c2)
			break
		}
		d, e := c1, c2
		if c1.external() {
			d, e = c2, c1
		}
		if !e.external() || !isDep(e) || r.outgoing[d] > 1 {
			return nil
		}
		if _, numbered := r.numbers[d]; numbered {
			return nil
		}
		if f, t, ok := pairShape(d); !ok || f != from || t != to {
			return nil
		}
		facts = append(facts, e)
		cur = d
	}
	rank := map[int]int{}
	for i, v := range r.ascending(from) {
		rank[v] = i
	}
	oldest := func(e *incompat) int {
		t, _ := e.termOf(from)
		m := len(rank)
		for v, i := range rank {
			if t.set.has(v) && i < m {
				m = i
			}
		}
		return m
	}
	slices.SortStableFunc(facts, func(a, b *incompat) int { return oldest(a) - oldest(b) })
	return facts
}

// pairShape reports whether ic says "some versions of from require some versions of to".
func pairShape(ic *incompat) (from, to int, ok bool) {
	if ic.external() || len(ic.terms) != 2 || ic.terms[0].pos == ic.terms[1].pos {
		return 0, 0, false
	}
	p, n := ic.terms[0], ic.terms[1]
	if !p.pos {
		p, n = n, p
	}
	return p.pkg, n.pkg, p.pkg != rootID
}

// listFacts states many facts in one sentence, eliding the middle of a long list.
func (r *reporter) listFacts(facts []*incompat) string {
	var parts []string
	if len(facts) > 6 {
		for _, f := range facts[:3] {
			parts = append(parts, r.fact(f))
		}
		name := r.s.pkgs[facts[0].from].name
		parts = append(parts, fmt.Sprintf("%d more versions of %s likewise", len(facts)-4, name))
		parts = append(parts, r.fact(facts[len(facts)-1]))
	} else {
		for _, f := range facts {
			parts = append(parts, r.fact(f))
		}
	}
	return strings.Join(parts[:len(parts)-1], ", ") + ", and " + parts[len(parts)-1]
}
