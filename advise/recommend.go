package advise

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"

	"gopkg.in/yaml.v3"

	"github.com/seshat-dev/seshat/advise/index"
	"github.com/seshat-dev/seshat/advise/pep440"
	"github.com/seshat-dev/seshat/advise/pep508"
	"github.com/seshat-dev/seshat/advise/prescription"
	"github.com/seshat-dev/seshat/advise/pubgrub"
	"github.com/seshat-dev/seshat/advise/reqfile"
	"github.com/seshat-dev/seshat/advise/target"
)

// RecommendationType says what a lock optimizes for.
type RecommendationType string

const (
	// RecommendLatest takes the newest versions that install (the default).
	RecommendLatest RecommendationType = "latest"
	// RecommendStable avoids versions that prescriptions flag.
	RecommendStable RecommendationType = "stable"
	// RecommendSecurity refuses every version an advisory says is affected.
	RecommendSecurity RecommendationType = "security"
	// RecommendPerformance takes builds matched to the image's hardware,
	// such as the CUDA variant of a package.
	RecommendPerformance RecommendationType = "performance"
)

// RecommendationTypes lists the valid types, for usage messages.
var RecommendationTypes = []RecommendationType{RecommendLatest, RecommendStable, RecommendSecurity, RecommendPerformance}

// ParseRecommendationType checks a --recommendation-type value.
func ParseRecommendationType(s string) (RecommendationType, error) {
	for _, r := range RecommendationTypes {
		if string(r) == s {
			return r, nil
		}
	}
	names := make([]string, len(RecommendationTypes))
	for i, r := range RecommendationTypes {
		names[i] = string(r)
	}
	return "", fmt.Errorf("--recommendation-type %q: want one of %s", s, strings.Join(names, ", "))
}

// ImageSettings say how a resolution uses what the image holds.
type ImageSettings struct {
	// Installed is what to do with installed distributions (default keep).
	Installed InstalledMode
	// Recommendation is the recommendation type (default latest).
	Recommendation RecommendationType
	// Advisories are required for RecommendSecurity.
	Advisories *Advisories
	// ABI, when set, reads the shared objects of compiled wheels and refuses
	// those needing symbol versions the image lacks.
	ABI *ABIChecker
	// Prescriptions, when set, steer the resolution (see prescribe).
	Prescriptions *prescription.Set
}

// hooks are how ResolveImage steers the provider: each is nil-safe, so a
// resolution for a target given by flags runs the provider unchanged.
type hooks struct {
	excludes  []func(name string, v pep440.Version) string
	preferred map[string]pep440.Version       // tried before every other version
	demote    func(name, version string) bool // tried after every other version
	keep      map[string]pep440.Version       // installed and left out of the lock
	check     func(ctx context.Context, f index.File) (string, error)
	// replace rewrites requirements: a pseudonym swaps the package, a
	// SkipPackage unit drops it.
	replace func([]pep508.Requirement) []pep508.Requirement
	// conflicts lists the combinations version of name may not be chosen
	// in; indexURL says which index a project's files come from.
	conflicts func(name, version string, indexURL func(string) string) []pubgrub.Conflict
	// adjust changes the requirements of name at version: adds packages, or
	// drops them all and reports skip (the package stays out of the lock).
	adjust func(name, version string, reqs []pep508.Requirement) (out []pep508.Requirement, skip bool)
	// refuse says why version of dep may not be chosen when from at
	// fromVersion requires it, "" when it may.
	refuse func(from, fromVersion, dep, version string) string
	// mayAlternate says whether pseudonyms may replace name; alternatives
	// lists those they offer for one version (see pseudonym.go), and
	// alternativeChosen records one the solver took.
	mayAlternate      func(name string) bool
	alternatives      func(name, version, indexURL string) []prescription.Alternative
	alternativeChosen func(prescription.Fired)

	mu       sync.Mutex
	kept     map[string]string   // name → version left out of the lock
	skipped  map[string]string   // name → version step.SkipPackage left out of the lock
	rejected map[string][]string // "name==version" → files refused by check, with why
}

// exclude says why version v of a project may not be chosen, "" if it may.
func (h *hooks) exclude(name string, v pep440.Version) string {
	if h == nil {
		return ""
	}
	for _, f := range h.excludes {
		if r := f(name, v); r != "" {
			return r
		}
	}
	return ""
}

// reorder moves the preferred version of name to the front.
func (h *hooks) reorder(name string, versions []string) []string {
	if h == nil {
		return versions
	}
	if h.demote != nil {
		var ok, flagged []string
		for _, v := range versions {
			if h.demote(name, v) {
				flagged = append(flagged, v)
			} else {
				ok = append(ok, v)
			}
		}
		versions = append(ok, flagged...)
	}
	want, ok := h.preferred[name]
	if !ok {
		return versions
	}
	for i, s := range versions {
		if v, err := pep440.Parse(s); err == nil && v.Equal(want) {
			out := append([]string{s}, versions[:i]...)
			return append(out, versions[i+1:]...)
		}
	}
	return versions
}

// rewrite applies the requirement rewriting hook.
func (h *hooks) rewrite(reqs []pep508.Requirement) []pep508.Requirement {
	if h == nil || h.replace == nil {
		return reqs
	}
	return h.replace(reqs)
}

// conflictsOf is the conflicts hook, nil-safe.
func (h *hooks) conflictsOf(name, version string, indexURL func(string) string) []pubgrub.Conflict {
	if h == nil || h.conflicts == nil {
		return nil
	}
	return h.conflicts(name, version, indexURL)
}

// adjusted applies the adjust hook, recording a skipped package.
func (h *hooks) adjusted(name, version string, reqs []pep508.Requirement) ([]pep508.Requirement, bool) {
	if h == nil || h.adjust == nil {
		return reqs, false
	}
	return h.adjust(name, version, reqs)
}

// skips says whether name at version was chosen only to be left out of the
// lock by step.SkipPackage; it records the packages skipped.
func (h *hooks) skips(name, version string) bool {
	if h == nil || h.adjust == nil {
		return false
	}
	if _, skip := h.adjust(name, version, nil); !skip {
		return false
	}
	h.mu.Lock()
	if h.skipped == nil {
		h.skipped = map[string]string{}
	}
	h.skipped[name] = version
	h.mu.Unlock()
	return true
}

// alternates says whether requirements on name go through the virtual
// package of its alternatives.
func (h *hooks) alternates(name string) bool {
	return h != nil && h.mayAlternate != nil && h.mayAlternate(name)
}

// alternativesFor applies the alternatives hook.
func (h *hooks) alternativesFor(name, version, indexURL string) []prescription.Alternative {
	if h == nil || h.alternatives == nil {
		return nil
	}
	return h.alternatives(name, version, indexURL)
}

// chose records that the solver took an alternative a pseudonym offered.
func (h *hooks) chose(f prescription.Fired) {
	if h != nil && h.alternativeChosen != nil {
		h.alternativeChosen(f)
	}
}

// kept returns the installed version of name the image keeps, if any.
func (h *hooks) keptVersion(name string) (pep440.Version, bool) {
	if h == nil {
		return pep440.Version{}, false
	}
	v, ok := h.keep[name]
	return v, ok
}

// refused applies the refuse hook.
func (h *hooks) refused(from, fromVersion, dep, version string) string {
	if h == nil || h.refuse == nil {
		return ""
	}
	return h.refuse(from, fromVersion, dep, version)
}

// keeps says whether name at version is what the image has installed, so
// it stays out of the lock; it records the packages kept.
func (h *hooks) keeps(name, version string) bool {
	if h == nil {
		return false
	}
	want, ok := h.keep[name]
	if !ok {
		return false
	}
	v, err := pep440.Parse(version)
	if err != nil || !v.Equal(want) {
		return false
	}
	h.mu.Lock()
	h.kept[name] = version
	h.mu.Unlock()
	return true
}

// checkFiles keeps the files of a release that pass the check, best first;
// why says what was wrong with the others.
func (h *hooks) checkFiles(ctx context.Context, files []artifact) ([]artifact, string, error) {
	if h == nil || h.check == nil {
		return files, "", nil
	}
	var ok []artifact
	var why []string
	for _, a := range files {
		if strings.HasPrefix(a.file.URL, installedScheme) {
			ok = append(ok, a)
			continue
		}
		r, err := h.check(ctx, a.file)
		if err != nil {
			return nil, "", err
		}
		if r != "" {
			why = append(why, r)
			continue
		}
		ok = append(ok, a)
	}
	if len(why) > 0 && len(files) > 0 {
		key := files[0].file.Project + "==" + fileVersion(files[0].file.Project, files[0].file.Filename)
		h.mu.Lock()
		h.rejected[key] = append(h.rejected[key], why...)
		h.mu.Unlock()
	}
	return ok, strings.Join(why, "; "), nil
}

// ResolveImage resolves in for the image env describes, on target t (the
// image's, with whatever the user's flags override), steered by s: what is
// installed, the image's CUDA, the symbol versions its libraries define,
// and the recommendation type. It returns the result and the report of the
// decisions.
func ResolveImage(ctx context.Context, in *reqfile.Input, env *ImageEnvironment, t target.Target, src Source, s ImageSettings, opts ...Option) (*Result, *Report, error) {
	if s.Installed == "" {
		s.Installed = InstalledKeep
	}
	if s.Recommendation == "" {
		s.Recommendation = RecommendLatest
	}
	h := &hooks{preferred: map[string]pep440.Version{}, keep: map[string]pep440.Version{}, kept: map[string]string{}, rejected: map[string][]string{}}
	if s.Installed != InstalledIgnore {
		for name, d := range env.Installed {
			v, err := pep440.Parse(d.Version)
			if err != nil {
				continue // not a PEP 440 version: nothing can pin it anyway
			}
			h.preferred[name] = v
			if s.Installed == InstalledKeep {
				h.keep[name] = v
			}
		}
		if s.Installed == InstalledKeep {
			src = &installedSource{Source: src, dists: env.Installed}
		}
	}
	// CUDA variants are matched whatever the type: an image without CUDA
	// never gets a CUDA build, and one with CUDA gets its own.
	h.excludes = append(h.excludes, cudaExclude(env.CUDA))
	switch s.Recommendation {
	case RecommendSecurity:
		if s.Advisories == nil {
			return nil, nil, fmt.Errorf("--recommendation-type security needs --advisories DIR (an OSV or PyPA advisory-database checkout)")
		}
		h.excludes = append(h.excludes, s.Advisories.exclude)
	}
	var pr *prescribed
	if s.Prescriptions != nil {
		var err error
		if pr, err = prescribe(env, t, s, in, h); err != nil {
			return nil, nil, err
		}
	}
	if s.ABI != nil {
		h.check = s.ABI.check(env)
	}
	var res *Result
	var booted []prescription.Fired
	if pr != nil {
		booted = slices.Clone(pr.fired)
	}
	for round := 1; ; round++ {
		var err error
		res, err = Resolve(ctx, in, t, src, append(opts, func(c *config) { c.hooks = h })...)
		if err != nil {
			return nil, nil, err
		}
		if pr == nil {
			break
		}
		learned, err := pr.final(res, h)
		if err != nil {
			return nil, nil, err
		}
		if !learned {
			break
		}
		if round == maxPrescriptionRounds {
			return nil, nil, fmt.Errorf("prescriptions: step.SkipPackage and step.AddPackage units with state conditions still change the resolution after %d rounds; check them with seshat prescriptions validate and --explain", round)
		}
		// Each round starts from the same image and boots; what the
		// resolution recorded is recorded again.
		h.kept, h.skipped, h.rejected = map[string]string{}, map[string]string{}, map[string][]string{}
		pr.fired = slices.Clone(booted)
	}
	rep := newReport(env, t, s, res, h)
	if pr != nil {
		rep.Prescriptions = prescription.Unique(pr.fired)
		for _, w := range s.Prescriptions.Warnings {
			rep.Warnings = append(rep.Warnings, "prescriptions: "+w.String())
		}
	}
	return res, rep, nil
}

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
// version of dep is refused on the edge from "from".
func (p *prescribed) refuse(from, fromVersion, dep, version string) string {
	for _, r := range p.eng.RefusedVia(prescription.Candidate{Name: from, Version: fromVersion}, dep) {
		if r.Version.Accepts(prescription.Candidate{Name: dep, Version: version}) {
			return "refused by prescription " + describeFired([]prescription.Fired{r.Fired})
		}
	}
	return ""
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

// Advisory is one known vulnerability of one package, in the OSV schema
// (which the PyPA advisory database uses too, as YAML).
type Advisory struct {
	ID       string   `json:"id" yaml:"id"`
	Summary  string   `json:"summary" yaml:"summary"`
	Details  string   `json:"details" yaml:"details"`
	Aliases  []string `json:"aliases" yaml:"aliases"`
	Affected []struct {
		Package struct {
			Ecosystem string `json:"ecosystem" yaml:"ecosystem"`
			Name      string `json:"name" yaml:"name"`
		} `json:"package" yaml:"package"`
		Ranges []struct {
			Type   string              `json:"type" yaml:"type"`
			Events []map[string]string `json:"events" yaml:"events"`
		} `json:"ranges" yaml:"ranges"`
		Versions []string `json:"versions" yaml:"versions"`
	} `json:"affected" yaml:"affected"`
	// File is where the advisory was read from.
	File string `json:"-" yaml:"-"`
}

// Advisories are the advisories of a directory, by canonical package name.
type Advisories struct {
	byName map[string][]*Advisory
	// Files is how many advisory files were read.
	Files int
}

// LoadAdvisories reads every OSV advisory under dir: *.json (OSV's own
// layout) and *.yaml / *.yml (the PyPA advisory database's vulns/PKG/ID.yaml).
// Entries for other ecosystems than PyPI are ignored.
func LoadAdvisories(dir string) (*Advisories, error) {
	out := &Advisories{byName: map[string][]*Advisory{}}
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() {
			if strings.HasPrefix(d.Name(), ".") && p != dir {
				return filepath.SkipDir // .git and the like
			}
			return nil
		}
		ext := strings.ToLower(filepath.Ext(p))
		if ext != ".json" && ext != ".yaml" && ext != ".yml" {
			return nil
		}
		b, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		a := &Advisory{File: p}
		if ext == ".json" {
			err = json.Unmarshal(b, a)
		} else {
			err = yaml.Unmarshal(b, a)
		}
		if err != nil {
			return fmt.Errorf("advisory %s: %w", p, err)
		}
		if a.ID == "" {
			return nil // not an advisory (an index file, a schema)
		}
		out.Files++
		for _, af := range a.Affected {
			if af.Package.Ecosystem != "" && !strings.EqualFold(af.Package.Ecosystem, "PyPI") {
				continue
			}
			name := pep508.CanonicalName(af.Package.Name)
			if !slices.Contains(out.byName[name], a) {
				out.byName[name] = append(out.byName[name], a)
			}
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("reading advisories from %s: %w", dir, err)
	}
	return out, nil
}

// Affecting returns the advisories that say version v of name is affected.
func (as *Advisories) Affecting(name string, v pep440.Version) []*Advisory {
	var out []*Advisory
	for _, a := range as.byName[name] {
		if a.affects(name, v) {
			out = append(out, a)
		}
	}
	return out
}

func (as *Advisories) exclude(name string, v pep440.Version) string {
	hit := as.Affecting(name, v)
	if len(hit) == 0 {
		return ""
	}
	var ids []string
	for _, a := range hit {
		id := a.ID
		if a.Summary != "" {
			id += " (" + a.Summary + ")"
		}
		ids = append(ids, id)
	}
	return "affected by " + strings.Join(ids, ", ") + " (--recommendation-type security)"
}

// affects evaluates the advisory's versions list and ECOSYSTEM ranges (OSV:
// "introduced" starts an affected interval, "fixed" ends it before that
// version, "last_affected" ends it after).
func (a *Advisory) affects(name string, v pep440.Version) bool {
	for _, af := range a.Affected {
		if pep508.CanonicalName(af.Package.Name) != name {
			continue
		}
		for _, s := range af.Versions {
			if w, err := pep440.Parse(s); err == nil && w.Equal(v) {
				return true
			}
		}
		for _, r := range af.Ranges {
			if r.Type != "" && r.Type != "ECOSYSTEM" {
				continue // GIT ranges name commits, not releases
			}
			type event struct {
				kind string
				at   pep440.Version
				zero bool
			}
			var evs []event
			for _, m := range r.Events {
				for k, s := range m {
					if s == "0" && k == "introduced" {
						evs = append(evs, event{kind: k, zero: true})
						continue
					}
					if w, err := pep440.Parse(s); err == nil {
						evs = append(evs, event{kind: k, at: w})
					}
				}
			}
			slices.SortStableFunc(evs, func(x, y event) int {
				switch {
				case x.zero && y.zero:
					return 0
				case x.zero:
					return -1
				case y.zero:
					return 1
				}
				return pep440.Compare(x.at, y.at)
			})
			affected := false
			for _, e := range evs {
				if !e.zero && v.Less(e.at) {
					break
				}
				switch e.kind {
				case "introduced":
					affected = true
				case "fixed":
					affected = false
				case "last_affected":
					if !v.Equal(e.at) {
						affected = false
					}
				}
			}
			if affected {
				return true
			}
		}
	}
	return false
}
