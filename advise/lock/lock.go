// Package lock holds the result of a resolution — which version of each
// package, which of its files install on the target, and why — and writes
// it as Pipfile.lock, a hash-pinned requirements.txt, or a PEP 751
// pylock.toml.
//
// Writers are deterministic: the same Lock gives byte-identical output.
// The package does no resolution and no network I/O.
package lock

import (
	"cmp"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/seshat-dev/seshat/advise/pep440"
	"github.com/seshat-dev/seshat/advise/pep508"
)

// Lock is a resolved set of pins for one target.
type Lock struct {
	// Target describes what was resolved for, for headers and comments,
	// e.g. "CPython 3.11 on manylinux_2_36_x86_64".
	Target string
	// RequiresPython is the interpreter range the lock is valid for, as a
	// PEP 440 specifier set, e.g. "==3.11.*"; "" if unknown.
	RequiresPython string
	// Environments are PEP 508 markers describing the targets the lock
	// supports (pylock.toml `environments`), e.g.
	// `sys_platform == "linux" and platform_machine == "x86_64"`.
	Environments []pep508.Marker
	// Indexes are the indexes consulted, first the default one; Pipfile.lock
	// takes its sources from here when it is written without a Pipfile.
	Indexes []Index
	// Packages are the pins, in any order; writers sort them.
	Packages []Package
}

// Index is a package index the lock refers to.
type Index struct {
	Name      string
	URL       string
	VerifySSL bool
}

// Package is one pinned distribution.
type Package struct {
	// Name is the PEP 503 canonical name.
	Name string
	// Version is the normalized version string.
	Version string
	// Artifacts are the files kept: exactly those that install on the target.
	Artifacts []Artifact
	// Index and IndexURL name the index the package comes from.
	Index    string
	IndexURL string
	// Marker is the condition under which the package is needed, only when
	// it still matters; empty otherwise.
	Marker pep508.Marker
	// Extras are the extras of this package that were requested.
	Extras []string
	// Default and Develop say which Pipfile section needs the package
	// ([packages] and/or [dev-packages]); neither set means Default.
	Default, Develop bool
	// Via lists who required it: canonical package names, or "-r FILE",
	// "Pipfile", "pyproject.toml" for the user's input.
	Via []string
	// RequiresPython is the chosen version's Requires-Python, if any.
	RequiresPython string
	// Justification says why this version, in a sentence (for --explain).
	Justification string
}

// Kind is the kind of a distribution file.
type Kind string

const (
	Wheel Kind = "wheel"
	Sdist Kind = "sdist"
)

// Artifact is one distribution file of a package.
type Artifact struct {
	Filename string
	URL      string
	// SHA256 is the lowercase hex digest.
	SHA256 string
	// Size in bytes; 0 when the index did not say.
	Size int64
	// UploadTime is zero when the index did not say.
	UploadTime time.Time
	Kind       Kind
}

// inDefault reports membership in [packages].
func (p Package) inDefault() bool { return p.Default || !p.Develop }

// sortedPackages returns the packages ordered by name then version, and
// checks what every writer needs.
func (l *Lock) sortedPackages() ([]Package, error) {
	pkgs := slices.Clone(l.Packages)
	slices.SortFunc(pkgs, func(a, b Package) int {
		return cmp.Or(strings.Compare(a.Name, b.Name), strings.Compare(a.Version, b.Version))
	})
	for i, p := range pkgs {
		if p.Name == "" || p.Version == "" {
			return nil, fmt.Errorf("lock: package %d has no name or version", i)
		}
		if !pep508.ValidName(p.Name) {
			return nil, fmt.Errorf("lock: %q is not a valid package name", p.Name)
		}
		if _, err := pep440.Parse(p.Version); err != nil {
			return nil, fmt.Errorf("lock: %s: %w", p.Name, err)
		}
		for _, e := range p.Extras {
			if !pep508.ValidName(e) {
				return nil, fmt.Errorf("lock: %s: %q is not a valid extra name", p.Name, e)
			}
		}
		if p.Name != pep508.CanonicalName(p.Name) {
			return nil, fmt.Errorf("lock: package name %q is not canonical (want %q)", p.Name, pep508.CanonicalName(p.Name))
		}
		if i > 0 && pkgs[i-1].Name == p.Name {
			return nil, fmt.Errorf("lock: %s is pinned twice (%s and %s)", p.Name, pkgs[i-1].Version, p.Version)
		}
		for _, a := range p.Artifacts {
			if !isSHA256(a.SHA256) {
				return nil, fmt.Errorf("lock: %s %s: artifact %s has no sha256 (got %q)", p.Name, p.Version, a.Filename, a.SHA256)
			}
		}
	}
	return pkgs, nil
}

func isSHA256(s string) bool {
	if len(s) != 64 {
		return false
	}
	for i := 0; i < len(s); i++ {
		if !(s[i] >= '0' && s[i] <= '9' || s[i] >= 'a' && s[i] <= 'f') {
			return false
		}
	}
	return true
}

// hashes lists "sha256:…" for the artifacts, sorted, without duplicates.
func (p Package) hashes() []string {
	var hs []string
	for _, a := range p.Artifacts {
		hs = append(hs, "sha256:"+a.SHA256)
	}
	slices.Sort(hs)
	return slices.Compact(hs)
}

// sortedExtras lists the extras normalized, sorted, without duplicates.
func (p Package) sortedExtras() []string {
	var ex []string
	for _, e := range p.Extras {
		ex = append(ex, pep508.CanonicalName(e))
	}
	slices.Sort(ex)
	return slices.Compact(ex)
}

func sortedCopy(ss []string) []string {
	out := slices.Clone(ss)
	slices.Sort(out)
	return slices.Compact(out)
}
