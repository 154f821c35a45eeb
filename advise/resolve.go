// Package advise turns what a user asks for (a requirements file, Pipfile or
// pyproject.toml, read by advise/reqfile) into a lock (advise/lock) for one
// target interpreter and platform (advise/target): it decides which files of
// which versions install there, hands the choice to the PubGrub solver
// (advise/pubgrub), and says why each version was picked.
//
// It does not talk HTTP itself (a Source such as *index.Client does), parse
// versions or markers (pep440, pep508) or write files (lock).
package advise

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"slices"
	"strings"

	"github.com/seshat-dev/seshat/advise/lock"
	"github.com/seshat-dev/seshat/advise/pep440"
	"github.com/seshat-dev/seshat/advise/pep508"
	"github.com/seshat-dev/seshat/advise/pubgrub"
	"github.com/seshat-dev/seshat/advise/reqfile"
	"github.com/seshat-dev/seshat/advise/target"
)

type config struct {
	pre         bool
	onlyBinary  bool
	concurrency int
	maxSteps    int
	indexes     []lock.Index
	// hooks steer the choice by what an image holds (image.go); nil for a
	// target given by flags.
	hooks *hooks
}

// Option configures Resolve.
type Option func(*config)

// WithPrereleases lets pre-releases match every requirement (pip --pre).
func WithPrereleases() Option { return func(c *config) { c.pre = true } }

// WithOnlyBinary refuses sdists (pip --only-binary=:all:): only wheels count.
// By default an sdist counts when no wheel of its version fits, provided its
// metadata is static (PEP 643), since seshat never runs a build backend.
func WithOnlyBinary() Option { return func(c *config) { c.onlyBinary = true } }

// WithConcurrency bounds the metadata fetched in the background ahead of
// the solver (default 8).
func WithConcurrency(n int) Option { return func(c *config) { c.concurrency = n } }

// WithMaxSteps bounds the solver's work (see pubgrub.WithMaxSteps).
func WithMaxSteps(n int) Option { return func(c *config) { c.maxSteps = n } }

// WithIndexes names the indexes the Source consults, default first, so the
// lock can say where each package comes from.
func WithIndexes(idx ...lock.Index) Option {
	return func(c *config) { c.indexes = append(c.indexes, idx...) }
}

// Result is a resolution: the lock to write and the reasons behind it.
type Result struct {
	Lock *lock.Lock
	// Pins explain each pinned package, sorted by name.
	Pins []Pin
	// Warnings are things the user should know that did not stop the resolution.
	Warnings []string
}

// Pin says why a package got its version.
type Pin struct {
	Name, Version string
	// Why is one sentence: "the newest version that installs on …", "held down by …".
	Why string
	// Details are the facts behind Why: newer versions skipped and why, and
	// what ruled out preferred candidates.
	Details []string
}

// InputError is a request that cannot be resolved as written (exit code 8
// in the command).
type InputError struct {
	Source string
	Msg    string
}

func (e *InputError) Error() string { return e.Source + ": " + e.Msg }

// IndexError is a failure to read what an index offers for a project
// (exit code 7 in the command).
type IndexError struct {
	Project string
	File    string
	Err     error
}

func (e *IndexError) Error() string {
	if e.File != "" {
		return fmt.Sprintf("reading %s (%s) from the index: %v", e.File, e.Project, e.Err)
	}
	return fmt.Sprintf("listing %s on the index: %v", e.Project, e.Err)
}

func (e *IndexError) Unwrap() error { return e.Err }

// NoSolutionError says that no set of versions satisfies the input on the
// target; Err holds the solver's explanation.
type NoSolutionError struct {
	Source, Target string
	Err            *pubgrub.NoSolutionError
}

func (e *NoSolutionError) Error() string {
	return fmt.Sprintf("no set of versions satisfies %s on %s:\n%v", e.Source, e.Target, e.Err)
}

func (e *NoSolutionError) Unwrap() error { return e.Err }

// Resolve chooses a version of every package the input needs, default and
// develop together so the two agree (as pipenv does), for target t, from
// the files src lists. Exact (== or ===) pins in the input may select yanked
// files; pins inside dependencies' metadata do not (the candidates of a
// project are fixed when it is first listed).
func Resolve(ctx context.Context, in *reqfile.Input, t target.Target, src Source, opts ...Option) (*Result, error) {
	cfg := &config{concurrency: 8}
	for _, o := range opts {
		o(cfg)
	}
	if in.AllowPrereleases {
		cfg.pre = true
	}
	if err := t.Validate(); err != nil {
		return nil, fmt.Errorf("target: %w", err)
	}
	ctx, cancel := context.WithCancel(ctx)
	p, err := newProvider(ctx, src, t, cfg)
	if err != nil {
		cancel()
		return nil, err
	}
	defer func() {
		cancel()
		p.wait()
	}()
	if in.RequiresPython != "" {
		spec, err := pep440.ParseSpecifiers(in.RequiresPython)
		if err != nil {
			return nil, &InputError{in.Source, fmt.Sprintf("python requirement %q: %v", in.RequiresPython, err)}
		}
		if !spec.Contains(p.python, true) {
			return nil, &InputError{in.Source, fmt.Sprintf("requires Python %s, but the target is Python %s; change --python-version or the file", in.RequiresPython, p.python)}
		}
	}
	for _, c := range in.Constraints {
		if !c.Marker.Evaluate(p.env, "") {
			continue
		}
		name := c.Canonical()
		p.constraints[name] = append(p.constraints[name], constraint{c.Specifier, requirementText(c.Requirement) + " (" + c.Pos + ")"})
	}
	defaults, err := p.rootRequirements(in, in.Default)
	if err != nil {
		return nil, err
	}
	develop, err := p.rootRequirements(in, in.Develop)
	if err != nil {
		return nil, err
	}
	root := p.dependencies(append(slices.Clone(defaults), develop...))

	solveOpts := []pubgrub.Option{pubgrub.WithPrefetch(p.prefetch)}
	if cfg.maxSteps > 0 {
		solveOpts = append(solveOpts, pubgrub.WithMaxSteps(cfg.maxSteps))
	}
	sol, err := pubgrub.Solve(ctx, p, root, solveOpts...)
	var nse *pubgrub.NoSolutionError
	if errors.As(err, &nse) {
		return nil, &NoSolutionError{Source: in.Source, Target: p.desc, Err: nse}
	}
	if err != nil {
		return nil, err
	}
	res := p.build(in, sol, p.dependencies(defaults), p.dependencies(develop))
	res.Warnings = append(res.Warnings, in.Warnings...)
	return res, nil
}

// rootRequirements keeps the requirements whose markers hold on the target
// and notes exact pins, which may select yanked files (PEP 592).
func (p *provider) rootRequirements(in *reqfile.Input, reqs []reqfile.Requirement) ([]pep508.Requirement, error) {
	var out []pep508.Requirement
	for _, r := range reqs {
		if r.URL != "" {
			return nil, &InputError{r.Pos, fmt.Sprintf("%s: direct URL requirements are not supported; name a version from an index instead", r.String())}
		}
		if !r.Marker.Evaluate(p.env, "") {
			continue
		}
		if len(r.Specifier) == 1 {
			switch sp := r.Specifier[0]; {
			case sp.Op == "==" && !sp.Wildcard:
				p.pins[r.Canonical()] = append(p.pins[r.Canonical()], sp.Version)
			case sp.Op == "===":
				if v, err := pep440.Parse(sp.Arbitrary); err == nil {
					p.pins[r.Canonical()] = append(p.pins[r.Canonical()], v)
				}
			}
		}
		if len(r.Hashes) > 0 {
			// As pip does with --require-hashes: only files with a given hash count.
			name := r.Canonical()
			if p.hashes[name] == nil {
				p.hashes[name] = map[string]string{}
			}
			for _, h := range r.Hashes {
				p.hashes[name][strings.ToLower(h)] = r.Pos
			}
		}
		out = append(out, r.Requirement)
	}
	return out, nil
}

// inputLabel is how "via" lists name the user's own file.
func inputLabel(in *reqfile.Input) string {
	switch in.Kind {
	case reqfile.KindPipfile:
		return "Pipfile"
	case reqfile.KindPyproject:
		return "pyproject.toml"
	default:
		return "-r " + filepath.Base(in.Source)
	}
}

// build turns the solver's choice into the lock and the explanations.
func (p *provider) build(in *reqfile.Input, sol *pubgrub.Solution, defaults, develop []pubgrub.Dependency) *Result {
	reach := func(roots []pubgrub.Dependency) map[string]bool {
		seen := map[string]bool{}
		var queue []pubgrub.Package
		for _, d := range roots {
			queue = append(queue, d.Package)
		}
		for len(queue) > 0 {
			pkg := queue[0]
			queue = queue[1:]
			if seen[string(pkg)] {
				continue
			}
			seen[string(pkg)] = true
			v, ok := sol.Version(pkg)
			if !ok {
				continue
			}
			for _, d := range p.deps[string(pkg)+"=="+v] {
				queue = append(queue, d.Package)
			}
		}
		return seen
	}
	inDefault, inDevelop := reach(defaults), reach(develop)

	label := inputLabel(in)
	// A virtual package of alternatives is not locked: the package it
	// chose is, required by whoever required the virtual one.
	viaAlternatives := map[pubgrub.Package][]pubgrub.Requirement{}
	for _, c := range sol.Packages {
		if orig, ok := alternativesBase(c.Package); ok {
			viaAlternatives[c.Package] = c.RequiredBy
			if a, ok := p.lookupAlternative(orig, c.Version); ok && a.fired != nil {
				p.cfg.hooks.chose(*a.fired)
			}
		}
	}
	byBase := map[string][]pubgrub.Chosen{}
	var names []string
	for _, c := range sol.Packages {
		if _, ok := viaAlternatives[c.Package]; ok {
			continue
		}
		base, _ := splitExtra(c.Package)
		if _, ok := byBase[base]; !ok {
			names = append(names, base)
		}
		byBase[base] = append(byBase[base], c)
	}
	slices.Sort(names)

	res := &Result{Lock: &lock.Lock{
		Target:         p.desc,
		RequiresPython: p.lockPython(in),
		Environments:   p.environments(),
		Indexes:        p.cfg.indexes,
	}}
	for _, name := range names {
		group := byBase[name]
		var c pubgrub.Chosen
		var extras []string
		var via []string
		def, dev := false, false
		for _, g := range group {
			_, extra := splitExtra(g.Package)
			if extra == "" {
				c = g
			} else {
				extras = append(extras, extra)
				if md, ok := p.metas.peek(name + "==" + g.Version); ok && !slices.Contains(md.extras, extra) {
					// pip warns and installs the package without the extra; so does the lock.
					res.Warnings = append(res.Warnings, fmt.Sprintf("%s %s does not provide the extra %q", name, g.Version, extra))
				}
			}
			def = def || inDefault[string(g.Package)]
			dev = dev || inDevelop[string(g.Package)]
			for _, r := range g.RequiredBy {
				reqs := []pubgrub.Requirement{r}
				if up, ok := viaAlternatives[r.By]; ok {
					reqs = up
				}
				for _, r := range reqs {
					by := label
					if r.By != "" {
						by, _ = splitExtra(r.By)
					}
					if by != name && !slices.Contains(via, by) {
						via = append(via, by)
					}
				}
			}
		}
		slices.Sort(via)
		if !def && !dev {
			def = true
		}
		pr, _ := p.projects.peek(name)
		rel := pr.versions[c.Version]
		pkg := lock.Package{
			Name:    name,
			Version: c.Version,
			Extras:  extras,
			Default: def,
			Develop: dev,
			Via:     via,
		}
		for _, a := range rel.files {
			kind := lock.Wheel
			if a.sdist {
				kind = lock.Sdist
			}
			pkg.Artifacts = append(pkg.Artifacts, lock.Artifact{
				Filename:   a.file.Filename,
				URL:        a.file.URL,
				SHA256:     a.file.Hashes["sha256"],
				Size:       a.file.Size,
				UploadTime: a.file.UploadTime,
				Kind:       kind,
			})
		}
		pkg.Index = rel.files[0].file.Index
		for _, x := range p.cfg.indexes {
			if x.Name == pkg.Index {
				pkg.IndexURL = x.URL
			}
		}
		if md, ok := p.metas.peek(name + "==" + c.Version); ok {
			pkg.RequiresPython = md.requiresPython
		}
		if p.cfg.hooks.keeps(name, c.Version) {
			continue // installed in the image at this version: not locked
		}
		if p.cfg.hooks.skips(name, c.Version) {
			continue // a prescription leaves it out of the lock
		}
		pin := p.justify(pr, c, label)
		pkg.Justification = pin.Why
		res.Lock.Packages = append(res.Lock.Packages, pkg)
		res.Pins = append(res.Pins, pin)
	}
	return res
}

// justify says why c got its version.
func (p *provider) justify(pr *project, c pubgrub.Chosen, label string) Pin {
	pin := Pin{Name: pr.name, Version: c.Version}
	chosen := p.parse(c.Version)
	var skipped []string
	for _, e := range pr.excluded {
		if chosen.Less(e.version) {
			skipped = append(skipped, fmt.Sprintf("%s skipped: %s", e.version, e.reason))
		}
	}
	var holders []string
	for _, r := range c.RequiredBy {
		if !r.HoldsDown {
			continue
		}
		from := "from " + label
		if r.By != "" {
			from = fmt.Sprintf("from %s %s", r.By, r.ByVersion)
		}
		holders = append(holders, r.Text+" "+from)
	}
	switch {
	case c.Rank == 0 && len(skipped) > 0:
		pin.Why = "the newest version with a file that installs on " + p.desc
	case c.Rank == 0:
		pin.Why = "the highest version available"
	case len(holders) > 0:
		pin.Why = "held down by " + strings.Join(holders, " and ")
	case len(c.Passed) > 0:
		first, _, _ := strings.Cut(c.Passed[0], "\n")
		pin.Why = "held down: " + strings.TrimSuffix(first, ".")
	default:
		pin.Why = fmt.Sprintf("newer versions were ruled out by the other requirements (%d newer candidates)", c.Rank)
	}
	pin.Details = append(skipped, c.Passed...)
	return pin
}

// lockPython is the interpreter range the lock is for: the input's, else
// the target's minor series.
func (p *provider) lockPython(in *reqfile.Input) string {
	if in.RequiresPython != "" {
		return in.RequiresPython
	}
	return "==" + p.env.PythonVersion + ".*"
}

func (p *provider) environments() []pep508.Marker {
	m, err := pep508.ParseMarker(fmt.Sprintf(`sys_platform == "linux" and platform_machine == %q and implementation_name == %q and python_version == %q`,
		p.env.PlatformMachine, p.env.ImplementationName, p.env.PythonVersion))
	if err != nil {
		return nil
	}
	return []pep508.Marker{m}
}
