// Package pubgrub chooses one version of every package a set of requirements needs, so that all
// dependencies hold, with Natalie Weizenbaum's PubGrub algorithm (unit propagation, conflict-driven
// learning, backjumping); when no choice exists it explains why in sentences a person can act on.
//
// It knows nothing of Python or PEP 440 and does no I/O. A Provider lists each package's candidate
// versions — already filtered for the target, most preferred first — and their dependencies; the
// solver reasons about sets of those candidates, so its set algebra is exact. Deciding what counts as
// a candidate (wheel tags, yanked files, prereleases, an installed version kept first) is the
// caller's job.
//
// Explanations name sets of candidates by the requirement text that accepts exactly them when
// one was seen ("werkzeug>=2.3"), else as ranges over the candidates in age order ("flask<2.3.0",
// "flask>=2.0.0,<2.3.0", "flask!=2.1.0"). Versions of a package whose dependency on another
// accepts the same candidates are treated as one fact, which keeps the learned facts general and
// the explanations short; a run of versions that each pin their own range of another package is
// stated in one sentence.
//
// A package that only some chosen versions need is chosen only when one of them is. The number
// of decisions and conflict resolutions is bounded (WithMaxSteps), and Solve stops as soon as its
// context is done, before the next question to the Provider.
//
// Usage:
//
//	sol, err := pubgrub.Solve(ctx, provider, []pubgrub.Dependency{
//		{Package: "flask", Accepts: spec(">=2.3"), Text: "flask>=2.3"},
//	}, pubgrub.WithPrefetch(client.Prefetch))
//	var nse *pubgrub.NoSolutionError
//	if errors.As(err, &nse) {
//		fmt.Println(nse) // "Because flask>=2.3 depends on werkzeug>=2.3 and ..."
//	}
//	for _, c := range sol.Packages {
//		fmt.Println(c.Package, c.Version)
//	}
package pubgrub

import (
	"context"
	"errors"
	"slices"
)

// Package is a package's canonical name.
type Package string

// Provider answers the solver's questions about packages. The solver calls it from one goroutine,
// at most once per package (Candidates) and once per package version (Dependencies).
type Provider interface {
	// Candidates lists the versions of pkg that may be chosen, most preferred first.
	Candidates(ctx context.Context, pkg Package) ([]string, error)
	// Dependencies lists what pkg at version needs; an *Unusable error makes the solver skip it.
	Dependencies(ctx context.Context, pkg Package, version string) ([]Dependency, error)
}

// Dependency says that a package needs another one at one of the versions Accepts allows.
type Dependency struct {
	Package Package
	// Accepts is asked about each candidate of Package; nil accepts them all.
	Accepts func(version string) bool
	// Text is the requirement as written, such as "werkzeug>=2.3"; explanations quote it.
	Text string
}

// Conflict says that a package version cannot be chosen together with other packages at the
// versions their Accepts allow (all of them at once), unlike a Dependency, without requiring them:
// "flask-openid<1.3 does not work with setuptools>=58". The solver backtracks around it like any
// other incompatibility.
type Conflict struct {
	With []Dependency
	// Reason is why, quoted in explanations.
	Reason string
}

// ConflictProvider is optionally implemented by a Provider whose package versions rule out
// combinations with other packages. The solver asks once per package version, right after
// Dependencies.
type ConflictProvider interface {
	Conflicts(ctx context.Context, pkg Package, version string) ([]Conflict, error)
}

// AvailabilityExplainer is optionally implemented by a Provider that can say why none of a
// package's candidates satisfies a dependency — typically because the versions that would were
// filtered out, as in "no version of markupsafe has a wheel for cp311 manylinux_2_17_x86_64".
// Explanations use the clause as written; "" keeps the solver's own wording.
type AvailabilityExplainer interface {
	Unavailable(dep Dependency) string
}

// VersionComparer is optionally implemented by a Provider whose preference order is not newest
// first. Explanations render sets of candidates as ranges, which needs their age order; without
// it, the candidate list read backwards is taken as oldest to newest.
type VersionComparer interface {
	CompareVersions(pkg Package, a, b string) int
}

// Unusable is returned by Provider.Dependencies when a version turns out not to be choosable (its
// metadata cannot be read statically, say). The solver avoids that version and cites Reason.
type Unusable struct {
	Reason string
}

func (u *Unusable) Error() string { return u.Reason }

// ErrStepLimit is returned, wrapped, when solving takes more steps than WithMaxSteps allows.
var ErrStepLimit = errors.New("pubgrub: step limit reached")

// Option configures Solve.
type Option func(*options)

type options struct {
	prefetch func([]Package)
	maxSteps int
}

// WithPrefetch has Solve report packages just before it first needs them, so that the caller can
// fetch their metadata in parallel. f must not block for long and must not call the solver.
func WithPrefetch(f func(pkgs []Package)) Option {
	return func(o *options) { o.prefetch = f }
}

// WithMaxSteps bounds the number of decisions and conflict resolutions (default 250000), so that a
// pathological input fails clearly instead of running for hours.
func WithMaxSteps(n int) Option {
	return func(o *options) { o.maxSteps = n }
}

// Solution is the chosen set of versions.
type Solution struct {
	// Packages holds every chosen package, sorted by name.
	Packages []Chosen
}

// Chosen is one package of a Solution and why it got its version.
type Chosen struct {
	Package Package
	Version string
	// Rank is the version's position in the candidate list: 0 means the most preferred candidate.
	Rank int
	// RequiredBy lists the requirements on this package from the root and from the chosen versions
	// of other packages, sorted.
	RequiredBy []Requirement
	// Passed explains, in the order the solver learned it, why the candidates preferred over
	// Version were ruled out, together with what was known then about the other packages
	// involved ("flask==3.0.0 depends on werkzeug>=3.0.0, and werkzeug<3.0 is required"). A
	// reason the solver derived from a conflict comes with its derivation, over several lines.
	// Empty when Rank is 0.
	Passed []string
}

// Requirement is one dependency on a chosen package.
type Requirement struct {
	// By is the package that has the dependency, "" for the root requirements; ByVersion its
	// chosen version.
	By        Package
	ByVersion string
	Text      string
	// HoldsDown reports that the requirement rules out a candidate preferred over the chosen one.
	HoldsDown bool
}

// Version returns the version chosen for pkg.
func (s *Solution) Version(pkg Package) (string, bool) {
	i, ok := slices.BinarySearchFunc(s.Packages, pkg, func(c Chosen, p Package) int {
		switch {
		case c.Package < p:
			return -1
		case c.Package > p:
			return 1
		}
		return 0
	})
	if !ok {
		return "", false
	}
	return s.Packages[i].Version, true
}

// Solve chooses a version of every package that root, transitively, needs.
// It returns a *NoSolutionError when there is none.
func Solve(ctx context.Context, p Provider, root []Dependency, opts ...Option) (*Solution, error) {
	o := options{maxSteps: 250000}
	for _, opt := range opts {
		opt(&o)
	}
	s := newSolver(p, root, o)
	return s.run(ctx)
}
