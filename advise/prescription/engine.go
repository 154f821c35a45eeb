package prescription

import (
	"fmt"
	"slices"
	"strings"

	"github.com/seshat-dev/seshat/advise/pep508"
)

// Candidate is a package version the resolver considers or has pinned.
type Candidate struct {
	Name     string // any spelling; compared canonically
	Version  string
	IndexURL string
	Develop  bool
}

func (c Candidate) String() string { return c.Name + "==" + c.Version }

// State is what a step, stride or wrap sees of the resolution.
type State struct {
	// Resolved maps canonical names to the versions pinned so far (the
	// final lock for strides and wraps).
	Resolved map[string]Candidate
	// From lists the packages that required the candidate a step looks at
	// (state.package_version_from).
	From []Candidate
}

// Fired is a unit that applied, with everything a report shows about it.
type Fired struct {
	Unit string `json:"unit"`
	Kind Kind   `json:"kind"`
	File string `json:"file"`
	Line int    `json:"line"`
	// Package is the candidate the unit fired on, if any.
	Package string `json:"package,omitempty"`
	// Type, Message and Link headline the unit: its not_acceptable reason,
	// else its first justification, stack_info or log entry.
	Type          string          `json:"type"`
	Message       string          `json:"message"`
	Link          string          `json:"link,omitempty"`
	StackInfo     []Info          `json:"stack_info,omitempty"`
	Justification []Justification `json:"justification,omitempty"`
	Log           *Message        `json:"log,omitempty"`
	NotAcceptable string          `json:"not_acceptable,omitempty"`
	EagerStop     string          `json:"eager_stop_pipeline,omitempty"`
	Score         *float64        `json:"score,omitempty"`
	// AdvisedManifestChanges is a wrap's free-form advice (e.g. a
	// DeploymentConfig patch), as written.
	AdvisedManifestChanges any `json:"advised_manifest_changes,omitempty"`
}

func fire(u *Unit, pkg string) Fired {
	f := Fired{Unit: u.Name, Kind: u.Kind, File: u.File, Line: u.Line, Package: pkg,
		Log: u.Run.Log, NotAcceptable: u.Run.NotAcceptable, EagerStop: u.Run.EagerStopPipeline,
		Score: u.Run.Score, AdvisedManifestChanges: u.Run.AdvisedManifestChanges}
	for _, s := range u.Run.StackInfo {
		s.Link = linkURL(s.Link)
		f.StackInfo = append(f.StackInfo, s)
	}
	for _, j := range u.Run.Justification {
		j.Link = linkURL(j.Link)
		f.Justification = append(f.Justification, j)
	}
	switch {
	case f.NotAcceptable != "" || f.EagerStop != "":
		f.Type, f.Message = "ERROR", f.NotAcceptable+f.EagerStop
		if len(f.StackInfo) > 0 {
			f.Type, f.Link = f.StackInfo[0].Type, f.StackInfo[0].Link
		}
	case len(f.Justification) > 0:
		f.Type, f.Message, f.Link = f.Justification[0].Type, f.Justification[0].Message, f.Justification[0].Link
	case len(f.StackInfo) > 0:
		f.Type, f.Message, f.Link = f.StackInfo[0].Type, f.StackInfo[0].Message, f.StackInfo[0].Link
	case f.Log != nil:
		f.Type, f.Message = f.Log.Type, f.Log.Message
	}
	return f
}

// StopError ends a resolution: a unit's not_acceptable at boot or on the
// final state, or its eager_stop_pipeline.
type StopError struct{ Fired Fired }

func (e *StopError) Error() string {
	msg := fmt.Sprintf("prescription %s (%s:%d) refuses this resolution: %s", e.Fired.Unit, e.Fired.File, e.Fired.Line, e.Fired.Message)
	if e.Fired.Link != "" {
		msg += " (see " + e.Fired.Link + ")"
	}
	return msg
}

// Engine is a Set bound to one Context: only the units whose
// should_include passed. Its methods do no I/O and do not change it, so the
// resolver may call them from several goroutines.
type Engine struct {
	ctx    Context
	byKind map[Kind][]*lazyUnit
	// byName indexes units by their indexKeys: the package a unit matches
	// candidates of, or the first of the resolved dependencies it matches
	// a state by; units matching any package are under "".
	byName map[Kind]map[string][]*lazyUnit
}

// For evaluates every unit's should_include against ctx. Units listed under
// should_include.dependencies are included only after those they name, as
// Thoth orders boots, pseudonyms, sieves, steps, strides, wraps.
func (s *Set) For(ctx Context) *Engine {
	e := &Engine{ctx: ctx, byKind: map[Kind][]*lazyUnit{}, byName: map[Kind]map[string][]*lazyUnit{}}
	names := map[string]map[string]bool{}
	for _, g := range groupOrder {
		names[g] = map[string]bool{}
	}
	// Two passes keep the group order for dependencies.
	for _, g := range groupOrder {
		for _, u := range s.units {
			if groupOf(u.Kind) != g || !u.Include.includes(&ctx) || !depsMet(u.Name, u.Include, names) {
				continue
			}
			names[g][u.Name] = true
			e.add(u)
		}
	}
	return e
}

func depsMet(name string, inc *Include, included map[string]map[string]bool) bool {
	ns, _, _ := strings.Cut(name, ".")
	for g, list := range inc.Dependencies {
		for _, n := range list {
			if !included[g][n] && !included[g][ns+"."+n] {
				return false
			}
		}
	}
	return true
}

func (e *Engine) add(u *lazyUnit) {
	kind := u.Kind
	if kind == KindGroupStep {
		kind = KindStep // its matches are steps' (see KindGroupStep)
	}
	e.byKind[kind] = append(e.byKind[kind], u)
	idx := e.byName[kind]
	if idx == nil {
		idx = map[string][]*lazyUnit{}
		e.byName[kind] = idx
	}
	for _, k := range u.keys {
		idx[k] = append(idx[k], u)
	}
}

// decode returns the units, decoded.
func decode(lazy []*lazyUnit) []*Unit {
	if len(lazy) == 0 {
		return nil
	}
	out := make([]*Unit, len(lazy))
	for i, l := range lazy {
		out[i] = l.get()
	}
	return out
}

// candidates returns the units of kind that may match the package: those
// naming it, in load order, then those matching any package.
func (e *Engine) candidates(kind Kind, name string) []*Unit {
	idx := e.byName[kind]
	if idx == nil {
		return nil
	}
	named, any := idx[pep508.CanonicalName(name)], idx[""]
	return decode(append(named[:len(named):len(named)], any...))
}

// forState returns the units of kind that may match the state st, in load
// order: those whose first resolved dependency st holds, and those
// matching without one.
func (e *Engine) forState(kind Kind, st State) []*Unit {
	idx := e.byName[kind]
	if idx == nil {
		return nil
	}
	lazy := append([]*lazyUnit(nil), idx[""]...)
	for name := range st.Resolved {
		lazy = append(lazy, idx[name]...)
	}
	// A unit under several keys (one per match entry) comes once.
	slices.SortFunc(lazy, func(a, b *lazyUnit) int { return a.ord - b.ord })
	lazy = slices.Compact(lazy)
	return decode(lazy)
}

func sameIndex(a, b string) bool { return strings.TrimSuffix(a, "/") == strings.TrimSuffix(b, "/") }

func (pm *PackageMatch) matches(c Candidate, allowPre bool) bool {
	if pm.Name != "" && pm.Name != pep508.CanonicalName(c.Name) {
		return false
	}
	// index_url: URL must be that index; index_url: {not: URL} any other.
	if pm.IndexURL != "" && sameIndex(pm.IndexURL, c.IndexURL) == pm.IndexNot {
		return false
	}
	if pm.Develop != nil && *pm.Develop != c.Develop {
		return false
	}
	if pm.Version != nil && !pm.Version.Contains(c.Version, allowPre) {
		return false
	}
	return true
}

// Boot runs the boot units. direct names the project's direct requirements:
// a boot with match.package_name runs only when that package is one. A
// not_acceptable or eager_stop_pipeline boot returns a *StopError.
func (e *Engine) Boot(direct []string) ([]Fired, error) {
	want := map[string]bool{}
	for _, d := range direct {
		want[pep508.CanonicalName(d)] = true
	}
	var out []Fired
	for _, u := range decode(e.byKind[KindBoot]) {
		pkg, ok := "", len(u.Match) == 0
		for _, m := range u.Match {
			if m.PackageName == "" || want[m.PackageName] {
				ok, pkg = true, m.PackageName
				break
			}
		}
		if !ok {
			continue
		}
		f := fire(u, pkg)
		out = append(out, f)
		if f.NotAcceptable != "" || f.EagerStop != "" {
			return out, &StopError{Fired: f}
		}
	}
	return out, nil
}

// Alternative is a package a pseudonym offers in place of a candidate.
type Alternative struct {
	Name     string
	Version  string // empty: any version of Name
	IndexURL string // empty: any index
	Fired    Fired
}

// Pseudonyms returns the alternatives pseudonym units offer for c.
func (e *Engine) Pseudonyms(c Candidate) []Alternative {
	var out []Alternative
	for _, u := range e.candidates(KindPseudonym, c.Name) {
		for _, m := range u.Match {
			if m.Package == nil || !m.Package.matches(c, true) || u.Run.Yield == nil {
				continue
			}
			y := u.Run.Yield
			a := Alternative{Name: y.Name, Version: y.Version, IndexURL: y.IndexURL, Fired: fire(u, c.String())}
			if y.MatchedVersion {
				a.Version = c.Version
			}
			out = append(out, a)
			break
		}
	}
	return out
}

// Sieve reports whether sieve units let candidate c through; fired lists the
// sieves that removed it.
func (e *Engine) Sieve(c Candidate) (keep bool, fired []Fired) {
	for _, u := range e.candidates(KindSieve, c.Name) {
		for _, m := range u.Match {
			// Thoth's sieves match pre-releases too.
			if m.Package != nil && m.Package.matches(c, true) {
				fired = append(fired, fire(u, c.String()))
				break
			}
		}
	}
	return len(fired) == 0, fired
}

// SkipPackage reports whether a sieve.SkipPackage unit removes the package
// from the dependency graph altogether: requirements on it are dropped, not
// left unsatisfiable.
func (e *Engine) SkipPackage(name string) (skip bool, fired []Fired) {
	canon := pep508.CanonicalName(name)
	for _, u := range e.candidates(KindSkipPackageSieve, name) {
		for _, m := range u.Match {
			if m.PackageName == canon {
				fired = append(fired, fire(u, canon))
				break
			}
		}
	}
	return len(fired) > 0, fired
}

// StepResult is the verdict of the step units on one candidate in a state.
type StepResult struct {
	// NotAcceptable refuses the candidate in this state; Fired says why.
	NotAcceptable bool
	// EagerStop asks to stop resolving and keep the best result so far.
	EagerStop string
	// Skip drops the candidate's package from the graph (step.SkipPackage).
	Skip bool
	// Score sums the scores of matching steps (Thoth keeps it in -1…1 per step).
	Score float64
	// Add lists packages step.AddPackage units put in the resolution.
	Add   []Locked
	Fired []Fired
}

// Step runs step, step.SkipPackage and step.AddPackage units on c.
func (e *Engine) Step(c Candidate, st State) StepResult {
	var r StepResult
	for _, kind := range []Kind{KindStep, KindSkipPackageStep, KindAddPackageStep} {
		for _, u := range e.candidates(kind, c.Name) {
			for _, m := range u.Match {
				if m.Package == nil || !m.Package.matches(c, false) || !stateMatches(m, c, st, true) {
					continue
				}
				switch kind {
				case KindStep:
					f := fire(u, c.String())
					r.Fired = append(r.Fired, f)
					if u.Run.NotAcceptable != "" {
						r.NotAcceptable = true
					}
					if u.Run.EagerStopPipeline != "" && r.EagerStop == "" {
						r.EagerStop = u.Run.EagerStopPipeline
					}
					if u.Run.Score != nil {
						r.Score += *u.Run.Score
					}
				case KindSkipPackageStep:
					r.Skip = true
					r.Fired = append(r.Fired, fire(u, c.String()))
				case KindAddPackageStep:
					add := u.Run.AddPackage
					if add == nil {
						break
					}
					if _, resolved := st.Resolved[pep508.CanonicalName(add.Name)]; resolved {
						break
					}
					r.Add = append(r.Add, *add)
					r.Fired = append(r.Fired, fire(u, c.String()))
				}
				break
			}
		}
	}
	return r
}

// stateMatches checks match.state: resolved_dependencies must all be pinned
// as described; package_version_from must all have introduced c and,
// unless package_version_from_allow_other, nothing else resolved did.
func stateMatches(m Match, c Candidate, st State, withFrom bool) bool {
	for _, pm := range m.Resolved {
		got, ok := st.Resolved[pm.Name]
		if !ok || !pm.matches(got, false) {
			return false
		}
	}
	if !withFrom || len(m.From) == 0 {
		return true
	}
	from := map[string]Candidate{}
	for _, d := range st.From {
		from[pep508.CanonicalName(d.Name)] = d
	}
	for _, pm := range m.From {
		got, ok := st.Resolved[pm.Name]
		if !ok || !pm.matches(got, false) {
			return false
		}
		dep, ok := from[pm.Name]
		if !ok || dep.Version != got.Version {
			return false
		}
		delete(from, pm.Name)
	}
	if !m.FromAllowOther {
		for name, d := range from {
			if got, ok := st.Resolved[name]; ok && got.Version == d.Version {
				return false
			}
		}
	}
	return true
}

// Stride runs stride units on a complete resolution: a not_acceptable one
// returns a *StopError naming it, and the resolver should look for another.
func (e *Engine) Stride(st State) ([]Fired, error) {
	var out []Fired
	for _, u := range e.forState(KindStride, st) {
		for _, m := range u.Match {
			if !stateMatches(m, Candidate{}, st, false) {
				continue
			}
			f := fire(u, "")
			out = append(out, f)
			if f.NotAcceptable != "" || f.EagerStop != "" {
				return out, &StopError{Fired: f}
			}
			break
		}
	}
	return out, nil
}

// Wrap runs wrap units on the final lock: justifications, stack_info and
// advised manifest changes for the report, then wrap.GHReleaseNotes units,
// which link the release notes of the version locked. Each unit fires at
// most once.
func (e *Engine) Wrap(st State) []Fired {
	var out []Fired
	for _, u := range e.forState(KindWrap, st) {
		if len(u.Match) == 0 {
			out = append(out, fire(u, ""))
			continue
		}
		for _, m := range u.Match {
			if stateMatches(m, Candidate{}, st, false) {
				pkg := ""
				if len(m.Resolved) > 0 {
					if got, ok := st.Resolved[m.Resolved[0].Name]; ok {
						pkg = got.String()
					}
				}
				out = append(out, fire(u, pkg))
				break
			}
		}
	}
	for _, u := range e.forState(KindGHReleaseNotes, st) {
		for _, m := range u.Match {
			if len(m.Resolved) == 0 || !stateMatches(m, Candidate{}, st, false) || u.Run.ReleaseNotes == nil {
				continue
			}
			got := st.Resolved[m.Resolved[0].Name]
			f := fire(u, got.String())
			rn := u.Run.ReleaseNotes
			j := Justification{Type: "INFO", Message: "Release notes for package " + got.Name + " " + got.Version, PackageName: got.Name,
				Link: "https://github.com/" + rn.Organization + "/" + rn.Repository + "/releases/tag/" + rn.TagVersionPrefix + got.Version}
			f.Justification = append(f.Justification, j)
			f.Type, f.Message, f.Link = j.Type, j.Message, j.Link
			out = append(out, f)
			break
		}
	}
	return out
}

// Flagged lists the units that flag version c on its own, whatever else is
// resolved: sieves that remove it and steps that refuse it without a state
// condition. Under recommendation type "stable" the resolver avoids these
// versions when others satisfy the requirement.
func (e *Engine) Flagged(c Candidate) []Fired {
	_, out := e.Sieve(c)
	for _, u := range e.candidates(KindStep, c.Name) {
		if u.Run.NotAcceptable == "" {
			continue
		}
		for _, m := range u.Match {
			if m.Package != nil && len(m.Resolved) == 0 && len(m.From) == 0 && m.Package.matches(c, false) {
				out = append(out, fire(u, c.String()))
				break
			}
		}
	}
	return out
}

// Unique drops repeats of the same unit firing on the same package, keeping
// the first, so a report lists each once however often the resolver asked.
func Unique(fired []Fired) []Fired {
	seen := map[[2]string]bool{}
	var out []Fired
	for _, f := range fired {
		k := [2]string{f.Unit, f.Package}
		if seen[k] {
			continue
		}
		seen[k] = true
		out = append(out, f)
	}
	return out
}

// Rules are what the step units say about candidate c in terms a resolver
// encodes before the rest of the resolution is known, so that it can
// backtrack around them instead of failing on the final lock.
type Rules struct {
	// Conflicts are the not_acceptable steps whose state condition names
	// resolved_dependencies: c may not be chosen with all of With.
	Conflicts []Conflict
	// Add are the step.AddPackage units without a state condition: c brings
	// these packages into the resolution.
	Add []Added
	// Skip are the step.SkipPackage units without a state condition that
	// match c: c stays out of the lock, and so do the dependencies only it
	// brings.
	Skip []Fired
}

// Conflict is a combination a step refuses.
type Conflict struct {
	With  []PackageMatch
	Fired Fired
}

// Added is a package a step.AddPackage unit puts in the resolution.
type Added struct {
	Package Locked
	Fired   Fired
}

// stateFree says whether m's state condition is empty.
func stateFree(m Match) bool { return len(m.Resolved) == 0 && len(m.From) == 0 }

// Rules collects the rules of the step units that match c.
func (e *Engine) Rules(c Candidate) Rules {
	var r Rules
	for _, kind := range []Kind{KindStep, KindSkipPackageStep, KindAddPackageStep} {
		for _, u := range e.candidates(kind, c.Name) {
			for _, m := range u.Match {
				if m.Package == nil || !m.Package.matches(c, false) {
					continue
				}
				switch {
				case kind == KindStep && u.Run.NotAcceptable != "" && len(m.Resolved) > 0 && len(m.From) == 0:
					r.Conflicts = append(r.Conflicts, Conflict{With: m.Resolved, Fired: fire(u, c.String())})
				case kind == KindAddPackageStep && u.Run.AddPackage != nil && stateFree(m):
					r.Add = append(r.Add, Added{Package: *u.Run.AddPackage, Fired: fire(u, c.String())})
				case kind == KindSkipPackageStep && stateFree(m):
					r.Skip = append(r.Skip, fire(u, c.String()))
				default:
					continue
				}
				break
			}
		}
	}
	return r
}

// Refusal is a not_acceptable step with a package_version_from condition:
// the versions Version allows are refused when from brings the package in.
type Refusal struct {
	Version PackageMatch
	Fired   Fired
}

// RefusedVia lists the refusals of package name when candidate from
// depends on it. package_version_from_allow_other is not told apart: the
// edge from "from" refuses those versions either way.
func (e *Engine) RefusedVia(from Candidate, name string) []Refusal {
	var out []Refusal
	for _, u := range e.candidates(KindStep, name) {
		if u.Run.NotAcceptable == "" {
			continue
		}
		for _, m := range u.Match {
			if m.Package == nil || len(m.From) == 0 || len(m.Resolved) > 0 || !fromMatches(m.From, from) {
				continue
			}
			out = append(out, Refusal{Version: *m.Package, Fired: fire(u, m.Package.Name)})
			break
		}
	}
	return out
}

// Accepts says whether c is a version this match allows, by Thoth's rules
// for steps (pre-releases only when the specifier names one).
func (pm *PackageMatch) Accepts(c Candidate) bool { return pm.matches(c, false) }

func fromMatches(from []PackageMatch, c Candidate) bool {
	for _, pm := range from {
		if pm.matches(c, false) {
			return true
		}
	}
	return false
}

// SkippedVia lists the step.SkipPackage units with package_version_from
// that drop package name from the requirements of candidate from, as
// Thoth's "TensorFlow 2.2 lists SciPy but never imports it". Units that
// also give a version of name, or a resolved_dependencies condition, are
// left to the final state, where they are checked against the lock.
func (e *Engine) SkippedVia(from Candidate, name string) []Fired {
	var out []Fired
	for _, u := range e.candidates(KindSkipPackageStep, name) {
		for _, m := range u.Match {
			if m.Package == nil || m.Package.Version != nil || len(m.From) == 0 || len(m.Resolved) > 0 || !fromMatches(m.From, from) {
				continue
			}
			if m.Package.Name != "" && m.Package.Name != pep508.CanonicalName(name) {
				continue
			}
			out = append(out, fire(u, pep508.CanonicalName(name)))
			break
		}
	}
	return out
}

// HasPseudonyms says whether some pseudonym unit may offer alternatives
// for package name.
func (e *Engine) HasPseudonyms(name string) bool {
	return len(e.candidates(KindPseudonym, name)) > 0
}
