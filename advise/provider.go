package advise

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"

	"github.com/seshat-dev/seshat/advise/index"
	"github.com/seshat-dev/seshat/advise/pep440"
	"github.com/seshat-dev/seshat/advise/pep508"
	"github.com/seshat-dev/seshat/advise/pubgrub"
	"github.com/seshat-dev/seshat/advise/target"
	"github.com/seshat-dev/seshat/advise/wheel"
)

// Source is what the resolver needs from package indexes; *index.Client is
// one. Project lists a project's files (yanked ones included, marked);
// Metadata returns a file's core metadata (METADATA or a static PKG-INFO).
type Source interface {
	Project(ctx context.Context, name string) ([]index.File, error)
	Metadata(ctx context.Context, f index.File) ([]byte, error)
}

// artifact is one file of a release that installs on the target.
type artifact struct {
	file index.File
	// rank is the position of the wheel's best tag in the target's tag list;
	// sdists rank after every wheel.
	rank  int
	sdist bool
}

// release is a version with at least one file that installs on the target.
type release struct {
	version pep440.Version
	// files are the installable files, best first: wheels by tag preference,
	// then the sdist.
	files []artifact
}

// exclusion is a version the index offers that cannot be chosen, and why.
type exclusion struct {
	version pep440.Version
	reason  string
}

// project is what the provider knows about one project on the indexes.
type project struct {
	name     string
	missing  bool      // no index has it
	releases []release // installable, newest first
	excluded []exclusion
	versions map[string]*release // by normalized version string
}

// meta is the metadata of one release.
type meta struct {
	requires       []pep508.Requirement
	extras         []string
	requiresPython string
}

// constraint is a pip -c line: it limits a package's versions without
// requiring it.
type constraint struct {
	spec pep440.SpecifierSet
	text string
}

// provider answers the PubGrub solver's questions from the indexes, for one
// target. Projects and metadata are fetched once each and shared between the
// solver and the background prefetchers.
type provider struct {
	ctx     context.Context
	src     Source
	target  target.Target
	desc    string
	env     pep508.Environment
	python  pep440.Version
	tagRank map[string]int
	cfg     *config

	constraints map[string][]constraint
	pins        map[string][]pep440.Version // exact root pins, which may pick yanked files
	// hashes are the --hash values the input gives per package ("sha256:…"
	// → where it was written); only files with one of them may be locked.
	hashes map[string]map[string]string

	projects memo[string, *project]
	metas    memo[string, *meta]

	mu   sync.Mutex
	deps map[string][]pubgrub.Dependency // "pkg==version" → what Dependencies answered
	// alternatives are the candidates of the virtual packages of
	// pseudonyms, by original package and candidate (pseudonym.go).
	alternatives map[string]map[string]alternative

	wg         sync.WaitGroup
	sem        chan struct{}
	prefetched sync.Map
}

func newProvider(ctx context.Context, src Source, t target.Target, cfg *config) (*provider, error) {
	full := t.Markers()["python_full_version"]
	py, err := pep440.Parse(full)
	if err != nil {
		return nil, fmt.Errorf("target python version %q: %w", t.PythonVersion, err)
	}
	rank := make(map[string]int)
	for i, tag := range t.Tags() {
		if _, ok := rank[tag.String()]; !ok {
			rank[tag.String()] = i
		}
	}
	n := cfg.concurrency
	if n < 1 {
		n = 1
	}
	return &provider{
		ctx:          ctx,
		src:          src,
		target:       t,
		desc:         describeTarget(t),
		env:          environment(t),
		python:       py,
		tagRank:      rank,
		cfg:          cfg,
		constraints:  map[string][]constraint{},
		pins:         map[string][]pep440.Version{},
		hashes:       map[string]map[string]string{},
		deps:         map[string][]pubgrub.Dependency{},
		alternatives: map[string]map[string]alternative{},
		sem:          make(chan struct{}, n),
	}, nil
}

// environment turns the target's marker values into a pep508.Environment.
func environment(t target.Target) pep508.Environment {
	return pep508.EnvironmentFromMap(t.Markers())
}

// describeTarget names the target in explanations: "CPython 3.11 (cp311) on manylinux_2_36_x86_64".
func describeTarget(t target.Target) string {
	impl := "CPython"
	if t.Implementation == "pp" {
		impl = "PyPy"
	}
	interp := ""
	if tags := t.Tags(); len(tags) > 0 {
		interp = " (" + tags[0].Interpreter + ")"
	}
	plat := ""
	if len(t.Platforms) > 0 {
		plat = " on " + t.Platforms[0]
	}
	return impl + " " + t.PythonVersion + interp + plat
}

// splitExtra splits a solver package "flask[async]" into "flask" and "async".
func splitExtra(pkg pubgrub.Package) (base, extra string) {
	s := string(pkg)
	if i := strings.IndexByte(s, '['); i >= 0 && strings.HasSuffix(s, "]") {
		return s[:i], s[i+1 : len(s)-1]
	}
	return s, ""
}

// withExtra names the virtual package standing for base with one extra:
// choosing it pins base to the same version and adds the extra's
// requirements, so the solver treats extras like any other dependency.
func withExtra(base, extra string) pubgrub.Package {
	return pubgrub.Package(base + "[" + extra + "]")
}

// Candidates lists the installable versions of pkg, newest first.
func (p *provider) Candidates(ctx context.Context, pkg pubgrub.Package) ([]string, error) {
	if base, ok := alternativesBase(pkg); ok {
		return p.alternativeCandidates(ctx, base)
	}
	base, _ := splitExtra(pkg)
	pr, err := p.project(ctx, base)
	if err != nil {
		return nil, err
	}
	out := make([]string, len(pr.releases))
	for i, r := range pr.releases {
		out[i] = r.version.String()
	}
	return p.cfg.hooks.reorder(base, out), nil
}

// CompareVersions orders versions by PEP 440.
func (p *provider) CompareVersions(pkg pubgrub.Package, a, b string) int {
	if base, ok := alternativesBase(pkg); ok {
		return p.compareAlternatives(base, a, b)
	}
	return pep440.Compare(p.parse(a), p.parse(b))
}

func (p *provider) parse(v string) pep440.Version {
	ver, err := pep440.Parse(v)
	if err != nil {
		return pep440.Version{}
	}
	return ver
}

// project fetches and sorts the files of a project, once.
func (p *provider) project(ctx context.Context, name string) (*project, error) {
	return p.projects.get(name, func() (*project, error) {
		files, err := p.src.Project(ctx, name)
		if errors.Is(err, index.ErrNotFound) {
			return &project{name: name, missing: true, versions: map[string]*release{}}, nil
		}
		if err != nil {
			return nil, &IndexError{Project: name, Err: err}
		}
		return p.sortFiles(name, files), nil
	})
}

// sortFiles groups files by version and keeps the versions that have a file
// installable on the target; the others are remembered with the reason.
func (p *provider) sortFiles(name string, files []index.File) *project {
	type group struct {
		version pep440.Version
		ok      []artifact
		why     []string
	}
	var groups []*group
	find := func(v pep440.Version) *group {
		for _, g := range groups {
			if g.version.Equal(v) {
				return g
			}
		}
		g := &group{version: v}
		groups = append(groups, g)
		return g
	}
	for _, f := range files {
		vs, a, why := p.judge(name, f)
		if vs == "" {
			continue // not a distribution file of this project
		}
		v, err := pep440.Parse(vs)
		if err != nil {
			continue // pip ignores files whose version is not PEP 440
		}
		g := find(v)
		if why != "" {
			g.why = append(g.why, why)
			continue
		}
		if cs, ok := p.constraints[name]; ok {
			if c := violated(cs, v); c != "" {
				g.why = append(g.why, "excluded by the constraint "+c)
				continue
			}
		}
		if r := p.cfg.hooks.exclude(name, v); r != "" {
			g.why = append(g.why, r)
			continue
		}
		if f.Yanked && !p.pinned(name, v) {
			r := "yanked"
			if f.YankedReason != "" {
				r += " (" + f.YankedReason + ")"
			}
			g.why = append(g.why, r+"; only an == pin selects a yanked file")
			continue
		}
		g.ok = append(g.ok, a)
	}
	slices.SortFunc(groups, func(a, b *group) int { return pep440.Compare(b.version, a.version) })
	pr := &project{name: name, versions: map[string]*release{}}
	for _, g := range groups {
		if len(g.ok) == 0 {
			pr.excluded = append(pr.excluded, exclusion{g.version, summarize(g.why)})
			continue
		}
		slices.SortFunc(g.ok, func(a, b artifact) int {
			if a.rank != b.rank {
				return a.rank - b.rank
			}
			return strings.Compare(a.file.Filename, b.file.Filename)
		})
		pr.releases = append(pr.releases, release{version: g.version, files: g.ok})
	}
	for i := range pr.releases {
		pr.versions[pr.releases[i].version.String()] = &pr.releases[i]
	}
	return pr
}

// judge says which version a file is of and whether it installs on the
// target; why is "" when it does.
func (p *provider) judge(name string, f index.File) (version string, a artifact, why string) {
	a = artifact{file: f}
	if f.IsWheel() {
		wn, err := wheel.ParseFilename(f.Filename)
		if err != nil || wn.Project() != name {
			return "", a, ""
		}
		version = wn.Version
		a.rank = -1
		for _, tag := range wn.Tags() {
			if r, ok := p.tagRank[tag.String()]; ok && (a.rank < 0 || r < a.rank) {
				a.rank = r
			}
		}
		if a.rank < 0 {
			return version, a, "no wheel for " + p.desc + " (offers " + strings.TrimSuffix(wheelTags(f.Filename), ".whl") + ")"
		}
	} else {
		version = sdistVersion(name, f.Filename)
		if version == "" {
			return "", a, ""
		}
		a.sdist = true
		a.rank = len(p.tagRank)
		if p.cfg.onlyBinary {
			return version, a, "only an sdist, and sdists are not allowed (--only-binary)"
		}
	}
	if f.Hashes["sha256"] == "" {
		return version, a, "the index gives no sha256 for " + f.Filename + ", so it cannot be hash-pinned"
	}
	if allowed, ok := p.hashes[name]; ok && allowed["sha256:"+f.Hashes["sha256"]] == "" {
		where := ""
		for _, pos := range allowed {
			if where == "" || pos < where {
				where = pos
			}
		}
		return version, a, "no file with a --hash given at " + where
	}
	if f.RequiresPython != "" {
		if spec, err := pep440.ParseSpecifiers(f.RequiresPython); err == nil && !spec.Contains(p.python, true) {
			return version, a, "requires Python " + f.RequiresPython + ", the target has " + p.python.String()
		}
	}
	return version, a, ""
}

// wheelTags is the tag part of a wheel file name: "cp313-cp313-manylinux_2_17_x86_64".
func wheelTags(filename string) string {
	parts := strings.Split(strings.TrimSuffix(filename, ".whl"), "-")
	if len(parts) < 3 {
		return filename
	}
	return strings.Join(parts[len(parts)-3:], "-")
}

// sdistVersion takes the version from an sdist file name such as
// "charset-normalizer-3.0.1.tar.gz", whose project part may itself hold "-".
func sdistVersion(name, filename string) string {
	stem := ""
	for _, ext := range []string{".tar.gz", ".zip", ".tar.bz2", ".tgz", ".tar"} {
		if s, ok := strings.CutSuffix(filename, ext); ok {
			stem = s
			break
		}
	}
	for i := 0; i < len(stem); i++ {
		if stem[i] == '-' && pep508.CanonicalName(stem[:i]) == name {
			if _, err := pep440.Parse(stem[i+1:]); err == nil {
				return stem[i+1:]
			}
		}
	}
	return ""
}

// summarize joins the distinct reasons a version's files were refused.
func summarize(why []string) string {
	var out []string
	for _, w := range why {
		if !slices.Contains(out, w) {
			out = append(out, w)
		}
	}
	// Many wheels of one version each say "no wheel for …"; say it once.
	var tags []string
	var rest []string
	for _, w := range out {
		if t, ok := strings.CutPrefix(w, "no wheel for "); ok {
			if _, offers, ok := strings.Cut(t, " (offers "); ok {
				tags = append(tags, strings.TrimSuffix(offers, ")"))
				continue
			}
		}
		rest = append(rest, w)
	}
	if len(tags) > 0 {
		w := strings.SplitN(why[slices.IndexFunc(why, func(s string) bool { return strings.HasPrefix(s, "no wheel for ") })], " (offers ", 2)[0]
		rest = append([]string{w + " (offers " + strings.Join(tags, ", ") + ")"}, rest...)
	}
	return strings.Join(rest, "; ")
}

func violated(cs []constraint, v pep440.Version) string {
	for _, c := range cs {
		if !c.spec.Contains(v, true) {
			return c.text
		}
	}
	return ""
}

func (p *provider) pinned(name string, v pep440.Version) bool {
	for _, pin := range p.pins[name] {
		if pin.Equal(v) {
			return true
		}
	}
	return false
}

// Dependencies reads the metadata of the best file of pkg at version and
// keeps the requirements whose markers hold on the target. For a virtual
// "pkg[extra]" they are pkg itself at the same version plus the
// requirements that only the extra brings.
func (p *provider) Dependencies(ctx context.Context, pkg pubgrub.Package, version string) ([]pubgrub.Dependency, error) {
	if base, ok := alternativesBase(pkg); ok {
		deps, err := p.alternativeDependencies(base, version)
		if err == nil {
			p.mu.Lock()
			p.deps[string(pkg)+"=="+version] = deps
			p.mu.Unlock()
			p.prefetchDeps(deps)
		}
		return deps, err
	}
	base, extra := splitExtra(pkg)
	md, err := p.metadata(ctx, base, version)
	if err != nil {
		return nil, err
	}
	var reqs []pep508.Requirement
	for _, r := range md.requires {
		if extra == "" {
			if !r.Marker.Evaluate(p.env, "") {
				continue
			}
		} else if !r.Marker.Evaluate(p.env, extra) || r.Marker.Evaluate(p.env, "") {
			continue
		}
		if r.Canonical() == base && len(r.Extras) == 0 {
			continue // a package needs itself: already there
		}
		if r.URL != "" {
			return nil, &pubgrub.Unusable{Reason: fmt.Sprintf("%s %s requires %q by direct URL, which seshat does not resolve", base, version, r.String())}
		}
		reqs = append(reqs, r)
	}
	reqs, skip := p.cfg.hooks.adjusted(base, version, reqs)
	if skip {
		reqs = nil
	}
	deps := p.dependencies(reqs)
	for i, d := range deps {
		dep, _ := splitExtra(d.Package)
		if refused := p.cfg.hooks.refusing(base, version, dep); refused != nil {
			accepts := d.Accepts
			deps[i].Accepts = func(v string) bool { return (accepts == nil || accepts(v)) && refused(v) == "" }
		}
	}
	if extra != "" {
		v := p.parse(version)
		deps = append([]pubgrub.Dependency{{
			Package: pubgrub.Package(base),
			Accepts: func(s string) bool { return p.parse(s).Equal(v) },
			Text:    base + "==" + version,
		}}, deps...)
	}
	p.mu.Lock()
	p.deps[string(pkg)+"=="+version] = deps
	p.mu.Unlock()
	p.prefetchDeps(deps)
	return deps, nil
}

// Conflicts lists the combinations that prescription steps refuse for pkg
// at version (pubgrub.ConflictProvider).
func (p *provider) Conflicts(_ context.Context, pkg pubgrub.Package, version string) ([]pubgrub.Conflict, error) {
	base, extra := splitExtra(pkg)
	if _, virtual := alternativesBase(pkg); extra != "" || virtual {
		return nil, nil // the package they stand for carries them
	}
	return p.cfg.hooks.conflictsOf(base, version, p.indexURL), nil
}

// indexURL is the URL of the index a listed project's files come from, ""
// when it is not listed yet or not on a named index.
func (p *provider) indexURL(name string) string {
	pr, ok := p.projects.peek(name)
	if !ok || len(pr.releases) == 0 || len(pr.releases[0].files) == 0 {
		return ""
	}
	idx := pr.releases[0].files[0].file.Index
	for _, x := range p.cfg.indexes {
		if x.Name == idx {
			return x.URL
		}
	}
	return ""
}

// dependencies turns requirements into solver dependencies, one per package
// and one per requested extra; several requirements on one package must all
// hold.
func (p *provider) dependencies(reqs []pep508.Requirement) []pubgrub.Dependency {
	reqs = p.cfg.hooks.rewrite(reqs)
	var out []pubgrub.Dependency
	at := map[pubgrub.Package]int{}
	add := func(d pubgrub.Dependency) {
		if i, ok := at[d.Package]; ok {
			prev := out[i]
			out[i].Text = prev.Text + ", " + d.Text
			out[i].Accepts = func(v string) bool { return prev.Accepts(v) && d.Accepts(v) }
			return
		}
		at[d.Package] = len(out)
		out = append(out, d)
	}
	for _, r := range reqs {
		name := r.Canonical()
		text := requirementText(r)
		if len(r.Extras) == 0 && p.cfg.hooks.alternates(name) {
			add(pubgrub.Dependency{Package: alternativesOf(name), Accepts: p.acceptsAlternative(name, p.accepts(name, r.Specifier)), Text: text})
			continue
		}
		add(pubgrub.Dependency{Package: pubgrub.Package(name), Accepts: p.accepts(name, r.Specifier), Text: text})
		for _, e := range r.Extras {
			add(pubgrub.Dependency{Package: withExtra(name, pep508.CanonicalName(e)), Accepts: p.accepts(name, r.Specifier), Text: text})
		}
	}
	return out
}

// requirementText is a requirement as explanations quote it: without its marker.
func requirementText(r pep508.Requirement) string {
	r.Marker = pep508.Marker{}
	return r.String()
}

// accepts builds the version test of a specifier under PEP 440's
// pre-release rule: pre-releases match when --pre is given, when the
// specifier names one, or when no final release of the package matches.
func (p *provider) accepts(name string, spec pep440.SpecifierSet) func(string) bool {
	allowPre := p.cfg.pre || spec.ExplicitlyAllowsPre()
	decided := allowPre
	return func(v string) bool {
		if !decided {
			pr, ok := p.projects.peek(name)
			if !ok {
				return spec.Contains(p.parse(v), true) // not listed yet: decide later
			}
			decided, allowPre = true, true
			for _, r := range pr.releases {
				if !r.version.IsPrerelease() && spec.Contains(r.version, false) {
					allowPre = false
					break
				}
			}
		}
		return spec.Contains(p.parse(v), allowPre)
	}
}

// metadata reads and parses the core metadata of name at version, once.
func (p *provider) metadata(ctx context.Context, name, version string) (*meta, error) {
	return p.metas.get(name+"=="+version, func() (*meta, error) {
		pr, err := p.project(ctx, name)
		if err != nil {
			return nil, err
		}
		rel := pr.versions[version]
		if rel == nil {
			return nil, fmt.Errorf("%s %s: no such installable version (internal error)", name, version)
		}
		files, why, err := p.cfg.hooks.checkFiles(ctx, rel.files)
		if err != nil {
			return nil, &IndexError{Project: name, File: rel.files[0].file.Filename, Err: err}
		}
		if len(files) == 0 {
			return nil, &pubgrub.Unusable{Reason: fmt.Sprintf("%s %s: %s", name, version, why)}
		}
		rel.files = files
		f := rel.files[0].file
		b, err := p.src.Metadata(ctx, f)
		if errors.Is(err, index.ErrNeedsBuild) {
			return nil, &pubgrub.Unusable{Reason: fmt.Sprintf("%s %s has only an sdist whose dependencies are known only after a build, and seshat runs no build backend", name, version)}
		}
		if err != nil {
			return nil, &IndexError{Project: name, File: f.Filename, Err: err}
		}
		md := parseCoreMetadata(b)
		if md.Version != "" {
			if mv, err := pep440.Parse(md.Version); err == nil && !mv.Equal(rel.version) {
				return nil, &pubgrub.Unusable{Reason: fmt.Sprintf("%s's metadata says version %s, not %s", f.Filename, md.Version, version)}
			}
		}
		if md.RequiresPython != "" {
			if spec, err := pep440.ParseSpecifiers(md.RequiresPython); err == nil && !spec.Contains(p.python, true) {
				return nil, &pubgrub.Unusable{Reason: fmt.Sprintf("%s %s requires Python %s, the target has %s", name, version, md.RequiresPython, p.python)}
			}
		}
		out := &meta{requiresPython: md.RequiresPython}
		for _, e := range md.ProvidesExtra {
			out.extras = append(out.extras, pep508.CanonicalName(e))
		}
		for _, line := range md.RequiresDist {
			r, err := pep508.ParseRequirement(line)
			if err != nil {
				return nil, &pubgrub.Unusable{Reason: fmt.Sprintf("%s %s has a malformed Requires-Dist %q: %v", name, version, line, err)}
			}
			out.requires = append(out.requires, r)
		}
		return out, nil
	})
}

// Unavailable explains why no candidate of a package fits a dependency, by
// naming the versions that would fit but have no file for the target.
func (p *provider) Unavailable(dep pubgrub.Dependency) string {
	if _, virtual := alternativesBase(dep.Package); virtual {
		return ""
	}
	base, _ := splitExtra(dep.Package)
	pr, ok := p.projects.peek(base)
	if !ok {
		return ""
	}
	if pr.missing {
		return fmt.Sprintf("no index has a project named %s", base)
	}
	var lines []string
	for _, e := range pr.excluded {
		if dep.Accepts == nil || dep.Accepts(e.version.String()) {
			r := e.reason
			// The sentence already names the target; keep only what the version offers.
			if rest, ok := strings.CutPrefix(r, "no wheel for "+p.desc+" (offers "); ok {
				tags, after, _ := strings.Cut(rest, ")")
				r = "wheels only for " + tags + after
			}
			lines = append(lines, e.version.String()+": "+r)
		}
	}
	if len(lines) == 0 {
		return ""
	}
	const show = 3
	more := ""
	if len(lines) > show {
		more = fmt.Sprintf(" (and %d older versions)", len(lines)-show)
		lines = lines[:show]
	}
	return fmt.Sprintf("no version of %s that %s allows installs on %s — %s%s", base, dep.Text, p.desc, strings.Join(lines, "; "), more)
}

// prefetch starts fetching, in the background, what the solver is about to
// ask about pkgs: each project's files and the metadata of its newest
// installable version.
func (p *provider) prefetch(pkgs []pubgrub.Package) {
	for _, pkg := range pkgs {
		base, _ := splitExtra(pkg)
		if orig, ok := alternativesBase(pkg); ok {
			base = orig
		}
		if _, loaded := p.prefetched.LoadOrStore(base, true); loaded {
			continue
		}
		p.wg.Add(1)
		go func() {
			defer p.wg.Done()
			select {
			case p.sem <- struct{}{}:
			case <-p.ctx.Done():
				return
			}
			defer func() { <-p.sem }()
			pr, err := p.project(p.ctx, base)
			if err != nil || len(pr.releases) == 0 {
				return
			}
			p.metadata(p.ctx, base, pr.releases[0].version.String()) //nolint:errcheck // the solver asks again and sees the error
		}()
	}
}

func (p *provider) prefetchDeps(deps []pubgrub.Dependency) {
	pkgs := make([]pubgrub.Package, len(deps))
	for i, d := range deps {
		pkgs[i] = d.Package
	}
	p.prefetch(pkgs)
}

// wait stops when every prefetch has ended.
func (p *provider) wait() { p.wg.Wait() }
