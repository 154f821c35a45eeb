package advise

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"

	"github.com/seshat-dev/seshat/advise/pep440"
	"github.com/seshat-dev/seshat/advise/pep508"
	"github.com/seshat-dev/seshat/advise/prescription"
	"github.com/seshat-dev/seshat/advise/pubgrub"
	"github.com/seshat-dev/seshat/advise/reqfile"
	"github.com/seshat-dev/seshat/advise/target"
)

// maxPrescriptionRounds bounds the resolutions ResolveImage runs while
// state-dependent step.SkipPackage and step.AddPackage units change the
// lock. Each round adds at least one learned rule, so this is only reached
// by prescriptions whose rules keep adding packages that trigger others.
const maxPrescriptionRounds = 8

// PrescriptionError is a resolution a prescription refuses: a boot or
// stride that is not acceptable, or a step refusing a pinned package given
// the rest of the lock.
type PrescriptionError struct {
	Fired prescription.Fired
}

func (e *PrescriptionError) Error() string {
	f := e.Fired
	msg := f.NotAcceptable
	if msg == "" {
		msg = f.Message
	}
	s := fmt.Sprintf("prescription %s (%s:%d) refuses this resolution", f.Unit, f.File, f.Line)
	if f.Package != "" {
		s += " because of " + f.Package
	}
	s += ": " + msg
	if f.Link != "" {
		s += " (see " + f.Link + ")"
	}
	return s
}

// prescribed is a prescription engine bound to the image, and what fired.
type prescribed struct {
	eng   *prescription.Engine
	mu    sync.Mutex
	fired []prescription.Fired
	// conflicted are the conflicts given to the solver, by "name==version".
	conflicted map[string][]prescription.Conflict
	// learnedSkip and learnedAdd are the step.SkipPackage and
	// step.AddPackage units with a state condition that a resolution
	// matched: the next round applies them to that version.
	learnedSkip map[string]bool
	learnedAdd  map[string][]prescription.Added
	// skippedVia are the requirements step.SkipPackage units with
	// package_version_from dropped, by the "name==version" that had them.
	skippedVia map[string][]prescription.Fired
}

func (p *prescribed) add(f ...prescription.Fired) {
	p.mu.Lock()
	p.fired = append(p.fired, f...)
	p.mu.Unlock()
}

// prescribe binds the prescriptions to the image and hooks them into the
// resolution: boots run now; sieves, and steps that refuse a version
// whatever else is resolved, exclude versions; under "stable", versions a
// unit flags are tried last. Steps that depend on the rest of the
// resolution, strides and wraps run on the final lock (final).
//
// sieve.SkipPackage rewrites requirements (rewrite); pseudonyms offer
// alternatives the solver weighs (pseudonym.go). Steps
// that refuse a version together with other resolved packages become
// solver conflicts (conflicts), so the solver backtracks around them;
// those with package_version_from refuse versions on the dependency edge
// (refuse); step.AddPackage and step.SkipPackage change a version's
// dependencies (adjust) — when they have a state condition, once a round's
// lock meets it (final).
func prescribe(env *ImageEnvironment, t target.Target, s ImageSettings, in *reqfile.Input, h *hooks) (*prescribed, error) {
	var pctx prescription.Context
	if env.Analysis != nil {
		pctx = prescription.ContextFromAnalysis(env.Analysis, t.PythonVersion)
	} else {
		pctx.PythonVersion = t.PythonVersion
	}
	pctx.RecommendationType = string(s.Recommendation)
	pctx.Platform = "linux-" + t.MachineName()
	p := &prescribed{eng: s.Prescriptions.For(pctx)}
	var direct []string
	for _, r := range append(slices.Clone(in.Default), in.Develop...) {
		direct = append(direct, r.Canonical())
	}
	fired, err := p.eng.Boot(direct)
	var stop *prescription.StopError
	if errors.As(err, &stop) {
		return nil, &PrescriptionError{Fired: stop.Fired}
	}
	if err != nil {
		return nil, err
	}
	p.add(fired...)
	h.excludes = append(h.excludes, p.exclude)
	h.replace = p.rewrite
	h.conflicts = p.conflicts
	h.adjust = p.adjust
	h.refuse = p.refuse
	h.mayAlternate = p.eng.HasPseudonyms
	h.alternatives = func(name, version, indexURL string) []prescription.Alternative {
		return p.eng.Pseudonyms(prescription.Candidate{Name: name, Version: version, IndexURL: indexURL})
	}
	h.alternativeChosen = func(f prescription.Fired) { p.add(f) }
	if s.Recommendation == RecommendStable {
		h.demote = func(name, version string) bool {
			return len(p.eng.Flagged(prescription.Candidate{Name: name, Version: version})) > 0
		}
	}
	return p, nil
}

// rewrite drops the requirements sieve.SkipPackage units remove.
// (Pseudonyms do not rewrite: the solver weighs their alternatives, see
// pseudonym.go.)
func (p *prescribed) rewrite(reqs []pep508.Requirement) []pep508.Requirement {
	out := make([]pep508.Requirement, 0, len(reqs))
	for _, r := range reqs {
		if skip, fired := p.eng.SkipPackage(r.Canonical()); skip {
			p.add(fired...)
			continue
		}
		out = append(out, r)
	}
	return out
}

// conflicts turns the steps that refuse c together with other resolved
// packages into solver conflicts, which the solver backtracks around.
func (p *prescribed) conflicts(name, version string, indexURL func(string) string) []pubgrub.Conflict {
	c := prescription.Candidate{Name: name, Version: version, IndexURL: indexURL(name)}
	var out []pubgrub.Conflict
	for _, rc := range p.eng.Rules(c).Conflicts {
		conflict := pubgrub.Conflict{Reason: "prescription " + describeFired([]prescription.Fired{rc.Fired})}
		for _, pm := range rc.With {
			if pm.Name == "" {
				conflict.With = nil // "any package": not a combination the solver can name
				break
			}
			text := pm.Name
			if pm.Version != nil {
				text += pm.Version.Raw
			}
			conflict.With = append(conflict.With, pubgrub.Dependency{
				Package: pubgrub.Package(pm.Name),
				Accepts: func(v string) bool {
					return pm.Accepts(prescription.Candidate{Name: pm.Name, Version: v, IndexURL: indexURL(pm.Name)})
				},
				Text: text,
			})
		}
		if len(conflict.With) > 0 {
			p.noteConflict(c, rc)
			out = append(out, conflict)
		}
	}
	return out
}

// noteConflict remembers a conflict the solver was given, so that final
// can report the units that actually held a version down.
func (p *prescribed) noteConflict(c prescription.Candidate, rc prescription.Conflict) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.conflicted == nil {
		p.conflicted = map[string][]prescription.Conflict{}
	}
	p.conflicted[pep508.CanonicalName(c.Name)+"=="+c.Version] = append(p.conflicted[pep508.CanonicalName(c.Name)+"=="+c.Version], rc)
}

// adjust applies step.AddPackage (the package requires the added ones) and
// step.SkipPackage (it requires nothing and stays out of the lock) to name
// at version, for units without a state condition and for those learned
// on an earlier round (see ResolveImage).
func (p *prescribed) adjust(name, version string, reqs []pep508.Requirement) ([]pep508.Requirement, bool) {
	c := prescription.Candidate{Name: name, Version: version}
	r := p.eng.Rules(c)
	key := pep508.CanonicalName(name) + "==" + version
	p.mu.Lock()
	learnedSkip := p.learnedSkip[key]
	learnedAdd := p.learnedAdd[key]
	p.mu.Unlock()
	if len(r.Skip) > 0 || learnedSkip {
		return nil, true
	}
	added := append(slices.Clone(learnedAdd), r.Add...)
	out := make([]pep508.Requirement, 0, len(reqs)+len(added))
	for _, req := range reqs {
		if fired := p.eng.SkippedVia(c, req.Canonical()); len(fired) > 0 {
			p.noteSkippedVia(key, fired)
			continue
		}
		out = append(out, req)
	}
	for _, a := range added {
		text := a.Package.Name
		if a.Package.Version != "" {
			text += "==" + a.Package.Version
		}
		req, err := pep508.ParseRequirement(text)
		if err != nil {
			continue // the schema checked name and version; nothing to add otherwise
		}
		out = append(out, req)
	}
	return out, false
}

// noteSkippedVia remembers the requirements of "name==version" that a
// step.SkipPackage unit dropped, for the report.
func (p *prescribed) noteSkippedVia(key string, fired []prescription.Fired) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.skippedVia == nil {
		p.skippedVia = map[string][]prescription.Fired{}
	}
	p.skippedVia[key] = append(p.skippedVia[key], fired...)
}

// refuse applies the not_acceptable steps with package_version_from: the
// versions of dep they match are refused on the edge from "from". The units
// are looked up once per edge, not per candidate version.
func (p *prescribed) refuse(from, fromVersion, dep string) func(version string) string {
	refusals := p.eng.RefusedVia(prescription.Candidate{Name: from, Version: fromVersion}, dep)
	if len(refusals) == 0 {
		return nil
	}
	return func(version string) string {
		for _, r := range refusals {
			if r.Version.Accepts(prescription.Candidate{Name: dep, Version: version}) {
				return "refused by prescription " + describeFired([]prescription.Fired{r.Fired})
			}
		}
		return ""
	}
}

// exclude refuses the versions sieves remove and state-free steps refuse.
func (p *prescribed) exclude(name string, v pep440.Version) string {
	c := prescription.Candidate{Name: name, Version: v.String()}
	if keep, fired := p.eng.Sieve(c); !keep {
		p.add(fired...)
		return "removed by prescription " + describeFired(fired)
	}
	if r := p.eng.Step(c, prescription.State{}); r.NotAcceptable {
		p.add(r.Fired...)
		return "refused by prescription " + describeFired(r.Fired)
	}
	return ""
}

func describeFired(fired []prescription.Fired) string {
	var parts []string
	for _, f := range fired {
		msg := f.NotAcceptable
		if msg == "" {
			msg = f.Message
		}
		s := f.Unit
		if msg != "" {
			s += ": " + msg
		}
		if f.Link != "" {
			s += " (" + f.Link + ")"
		}
		parts = append(parts, s)
	}
	return strings.Join(parts, "; ")
}

// final runs the steps on every pin with the whole lock as state, then the
// strides and the wraps, keeping what fired for the report. A
// step.SkipPackage or step.AddPackage unit whose state condition the lock
// meets, and which the resolution did not apply yet, is learned for its
// version: learned says another round must resolve with it.
func (p *prescribed) final(res *Result, h *hooks) (learned bool, err error) {
	st := prescription.State{Resolved: map[string]prescription.Candidate{}}
	var pins []prescription.Candidate
	for _, pkg := range res.Lock.Packages {
		c := prescription.Candidate{Name: pkg.Name, Version: pkg.Version, IndexURL: pkg.IndexURL, Develop: pkg.Develop && !pkg.Default}
		st.Resolved[pkg.Name] = c
		pins = append(pins, c)
	}
	for name, v := range h.kept {
		st.Resolved[name] = prescription.Candidate{Name: name, Version: v}
	}
	skipped := map[string]bool{}
	for name, v := range h.skipped {
		skipped[name] = true
		pins = append(pins, prescription.Candidate{Name: name, Version: v})
	}
	for _, c := range pins {
		rules := p.eng.Rules(c)
		for _, a := range rules.Add {
			if _, ok := st.Resolved[pep508.CanonicalName(a.Package.Name)]; ok {
				p.add(a.Fired)
			}
		}
		p.mu.Lock()
		via := p.skippedVia[pep508.CanonicalName(c.Name)+"=="+c.Version]
		p.mu.Unlock()
		p.add(via...)
		if skipped[c.Name] {
			// The units that skipped it, learned ones included.
			for _, f := range p.eng.Step(c, st).Fired {
				if f.Kind == prescription.KindSkipPackageStep {
					p.add(f)
				}
			}
			continue
		}
		r := p.eng.Step(c, st)
		if r.NotAcceptable {
			for _, f := range r.Fired {
				if f.NotAcceptable != "" {
					// A conflict the solver could not be told, such as one
					// on an index the package does not come from.
					return false, &PrescriptionError{Fired: f}
				}
			}
		}
		key := pep508.CanonicalName(c.Name) + "==" + c.Version
		p.mu.Lock()
		if r.Skip && !p.learnedSkip[key] {
			if p.learnedSkip == nil {
				p.learnedSkip = map[string]bool{}
			}
			p.learnedSkip[key], learned = true, true
		}
		for _, a := range r.Add {
			if p.learnedAdd == nil {
				p.learnedAdd = map[string][]prescription.Added{}
			}
			p.learnedAdd[key] = append(p.learnedAdd[key], prescription.Added{Package: a})
			learned = true
		}
		p.mu.Unlock()
		p.add(r.Fired...)
	}
	if learned {
		return true, nil
	}
	p.add(p.heldDown(st)...)
	fired, err := p.eng.Stride(st)
	var stop *prescription.StopError
	if errors.As(err, &stop) {
		return false, &PrescriptionError{Fired: stop.Fired}
	}
	if err != nil {
		return false, err
	}
	p.add(fired...)
	p.add(p.eng.Wrap(st)...)
	for _, f := range p.fired {
		if f.Type == "WARNING" || f.Type == "ERROR" {
			res.Warnings = append(res.Warnings, "prescription "+describeFired([]prescription.Fired{f}))
		}
	}
	return false, nil
}

// heldDown lists the conflicts given to the solver that shaped the lock:
// all their packages are resolved and all but one at the versions the
// conflict names — the one the solver moved away from (for the version the
// step matched, to an older one).
func (p *prescribed) heldDown(st prescription.State) []prescription.Fired {
	p.mu.Lock()
	defer p.mu.Unlock()
	var out []prescription.Fired
	for key, rcs := range p.conflicted {
		name, version, _ := strings.Cut(key, "==")
		got, ok := st.Resolved[name]
		if !ok {
			continue
		}
		v, err1 := pep440.Parse(version)
		w, err2 := pep440.Parse(got.Version)
		if err1 != nil || err2 != nil || v.Less(w) {
			continue
		}
		own := v.Equal(w)
	conflicts:
		for _, rc := range rcs {
			missed := 0
			if !own {
				missed++
			}
			for _, pm := range rc.With {
				r, ok := st.Resolved[pm.Name]
				if !ok {
					continue conflicts
				}
				if !pm.Accepts(r) {
					missed++
				}
			}
			if missed == 1 {
				out = append(out, rc.Fired)
			}
		}
	}
	slices.SortFunc(out, func(a, b prescription.Fired) int { return strings.Compare(a.Package, b.Package) })
	return out
}
