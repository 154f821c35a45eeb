package advise

import (
	"context"
	"strings"
	"sync"

	"github.com/seshat-dev/seshat/advise/index"
	"github.com/seshat-dev/seshat/advise/pep440"
	"github.com/seshat-dev/seshat/advise/pep508"
	"github.com/seshat-dev/seshat/advise/prescription"
	"github.com/seshat-dev/seshat/advise/pubgrub"
)

// hooks are how ResolveImage steers the provider: each is nil-safe, so a
// resolution for a target given by flags runs the provider unchanged.
type hooks struct {
	excludes  []func(name string, v pep440.Version) string
	preferred map[string]pep440.Version       // tried before every other version
	demote    func(name, version string) bool // tried after every other version
	keep      map[string]pep440.Version       // installed and left out of the lock
	check     func(ctx context.Context, f index.File) (string, error)
	// replace rewrites requirements: a sieve.SkipPackage unit drops them.
	replace func([]pep508.Requirement) []pep508.Requirement
	// conflicts lists the combinations version of name may not be chosen
	// in; indexURL says which index a project's files come from.
	conflicts func(name, version string, indexURL func(string) string) []pubgrub.Conflict
	// adjust changes the requirements of name at version: adds packages, or
	// drops them all and reports skip (the package stays out of the lock).
	adjust func(name, version string, reqs []pep508.Requirement) (out []pep508.Requirement, skip bool)
	// refuse returns the test of dep's versions on the edge from "from" at
	// fromVersion: why a version may not be chosen there, "" when it may;
	// nil when the edge refuses none.
	refuse func(from, fromVersion, dep string) func(version string) string
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

// refusing applies the refuse hook: nil when nothing is refused on the edge.
func (h *hooks) refusing(from, fromVersion, dep string) func(version string) string {
	if h == nil || h.refuse == nil {
		return nil
	}
	return h.refuse(from, fromVersion, dep)
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
