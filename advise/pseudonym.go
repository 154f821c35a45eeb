package advise

import (
	"context"
	"strings"

	"github.com/seshat-dev/seshat/advise/pep440"
	"github.com/seshat-dev/seshat/advise/prescription"
	"github.com/seshat-dev/seshat/advise/pubgrub"
)

// A requirement on a package that pseudonym units may replace becomes a
// requirement on a virtual package, "name|alternatives", whose candidates
// are, for each version of the package, the alternatives the units yield
// for that version (first) and the version itself. Choosing a candidate
// requires the package it names, so the solver weighs the alternatives like
// any other versions and falls back to the original when an alternative
// does not fit.
const alternativesSuffix = "|alternatives"

// alternativesOf names the virtual package of name's alternatives.
func alternativesOf(name string) pubgrub.Package {
	return pubgrub.Package(name + alternativesSuffix)
}

// alternativesBase says whether pkg is a virtual package of alternatives,
// and of which package.
func alternativesBase(pkg pubgrub.Package) (string, bool) {
	return strings.CutSuffix(string(pkg), alternativesSuffix)
}

// alternative is one candidate of a virtual package.
type alternative struct {
	name    string
	version string // "" for any version of name
	index   string // the index URL it must come from, "" for any
	// stands is the version of the original package it stands for: the
	// requirement on the original accepts it when it accepts that version.
	stands pep440.Version
	fired  *prescription.Fired // nil for the original package itself
}

// candidate is how the solver names an alternative.
func (a alternative) candidate() string {
	if a.version == "" {
		return a.name + " (any version, for " + a.stands.String() + ")"
	}
	return a.name + "==" + a.version
}

// alternativeCandidates lists the virtual package's candidates, remembering
// what each stands for.
func (p *provider) alternativeCandidates(ctx context.Context, base string) ([]string, error) {
	versions, err := p.Candidates(ctx, pubgrub.Package(base))
	if err != nil {
		return nil, err
	}
	index := p.indexURL(base)
	kept, keeps := p.cfg.hooks.keptVersion(base) // an installed version the image keeps goes first
	byCand := map[string]alternative{}
	var out []string
	add := func(a alternative) {
		c := a.candidate()
		if _, ok := byCand[c]; ok {
			return
		}
		byCand[c] = a
		out = append(out, c)
	}
	for _, s := range versions {
		v := p.parse(s)
		original := alternative{name: base, version: s, stands: v}
		if keeps && v.Equal(kept) {
			add(original)
		}
		for _, alt := range p.cfg.hooks.alternativesFor(base, s, index) {
			add(alternative{name: alt.Name, version: alt.Version, index: alt.IndexURL, stands: v, fired: &alt.Fired})
		}
		add(original)
	}
	p.mu.Lock()
	p.alternatives[base] = byCand
	p.mu.Unlock()
	return out, nil
}

// lookupAlternative finds a candidate listed by alternativeCandidates.
func (p *provider) lookupAlternative(base, cand string) (alternative, bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	a, ok := p.alternatives[base][cand]
	return a, ok
}

// alternativeDependencies is what choosing cand requires: the package it
// names, at its version, from the index the unit names.
func (p *provider) alternativeDependencies(base, cand string) ([]pubgrub.Dependency, error) {
	a, ok := p.lookupAlternative(base, cand)
	if !ok {
		return nil, &pubgrub.Unusable{Reason: cand + " is not an alternative of " + base + " (internal error)"}
	}
	dep := pubgrub.Dependency{Package: pubgrub.Package(a.name), Text: a.name}
	var want pep440.Version
	if a.version != "" {
		want = p.parse(a.version)
		dep.Text += "==" + a.version
	}
	dep.Accepts = func(v string) bool {
		if a.version != "" && !p.parse(v).Equal(want) {
			return false
		}
		return a.index == "" || sameIndexURL(a.index, p.indexURL(a.name))
	}
	if a.index != "" {
		dep.Text += " from " + a.index
	}
	return []pubgrub.Dependency{dep}, nil
}

// acceptsAlternative lifts a requirement's test of the original's versions
// to the virtual package's candidates.
func (p *provider) acceptsAlternative(base string, accepts func(string) bool) func(string) bool {
	return func(cand string) bool {
		a, ok := p.lookupAlternative(base, cand)
		return ok && (accepts == nil || accepts(a.stands.String()))
	}
}

// compareAlternatives orders candidates by the version they stand for.
func (p *provider) compareAlternatives(base, x, y string) int {
	a, _ := p.lookupAlternative(base, x)
	b, _ := p.lookupAlternative(base, y)
	return pep440.Compare(a.stands, b.stands)
}

func sameIndexURL(a, b string) bool { return strings.TrimSuffix(a, "/") == strings.TrimSuffix(b, "/") }
