package pep440

import (
	"fmt"
	"regexp"
	"strings"
)

// Specifier is one clause of a version specifier, e.g. ">=1.0" or "==2.*".
type Specifier struct {
	// Op is one of ~= == != <= >= < > ===.
	Op string
	// Version is the clause's version; zero for "===".
	Version Version
	// Wildcard is set for "==X.*" and "!=X.*".
	Wildcard bool
	// Arbitrary is the raw string of a "===" clause.
	Arbitrary string
}

// SpecifierSet is a comma-separated list of clauses, all of which must match.
// The zero SpecifierSet matches every final release.
type SpecifierSet []Specifier

// operators, longest first so "===" is not read as "==".
var operators = []string{"===", "~=", "==", "!=", "<=", ">=", "<", ">"}

// splitOperator splits a clause into operator and version text; the
// version's shape is checked per operator afterwards.
func splitOperator(s string) (op, version string, ok bool) {
	s = strings.TrimSpace(s)
	for _, o := range operators {
		if rest, found := strings.CutPrefix(s, o); found {
			rest = strings.TrimSpace(rest)
			if strings.ContainsAny(rest, " \t\n\r\v\f") {
				return "", "", false
			}
			return o, rest, true
		}
	}
	return "", "", false
}

// Every clause's version text is validated more strictly than Parse: no
// local label except on ==/!=, wildcards only after a release segment.
var (
	wildcardRE  = regexp.MustCompile(`(?i)^v?(?:[0-9]+!)?[0-9]+(?:\.[0-9]+)*\.\*$`)
	arbitraryRE = regexp.MustCompile(`^[^\s;)]+$`)
)

// ParseSpecifier parses one clause such as "~=2.2" or "!=1.3.*".
func ParseSpecifier(s string) (Specifier, error) {
	op, vs, ok := splitOperator(s)
	if !ok {
		return Specifier{}, fmt.Errorf("specifier %q is %w: want an operator (~= == != <= >= < > ===) and a version", s, ErrInvalid)
	}
	if vs == "" {
		return Specifier{}, fmt.Errorf("specifier %q is %w: no version after %q", s, ErrInvalid, op)
	}
	sp := Specifier{Op: op}
	if op == "===" {
		if !arbitraryRE.MatchString(vs) {
			return Specifier{}, fmt.Errorf("specifier %q is %w", s, ErrInvalid)
		}
		sp.Arbitrary = vs
		return sp, nil
	}
	if strings.HasSuffix(vs, ".*") {
		if op != "==" && op != "!=" {
			return Specifier{}, fmt.Errorf("specifier %q is %w: a .* wildcard is allowed only with == and !=", s, ErrInvalid)
		}
		if !wildcardRE.MatchString(vs) {
			return Specifier{}, fmt.Errorf("specifier %q is %w: a .* wildcard must follow a release such as 1.2", s, ErrInvalid)
		}
		sp.Wildcard = true
		vs = strings.TrimSuffix(vs, ".*")
	}
	v, err := Parse(vs)
	if err != nil {
		return Specifier{}, fmt.Errorf("specifier %q: %w", s, err)
	}
	if len(v.local) > 0 && op != "==" && op != "!=" {
		return Specifier{}, fmt.Errorf("specifier %q is %w: a local version label is allowed only with == and !=", s, ErrInvalid)
	}
	if op == "~=" && len(v.release) < 2 {
		return Specifier{}, fmt.Errorf("specifier %q is %w: ~= needs at least two release numbers, e.g. ~=1.0", s, ErrInvalid)
	}
	sp.Version = v
	return sp, nil
}

// ParseSpecifiers parses a comma-separated set such as ">=1.0,!=1.3.*,<2".
// The empty string gives an empty set.
func ParseSpecifiers(s string) (SpecifierSet, error) {
	if len(s) > 16*maxVersionLen {
		return nil, fmt.Errorf("specifier set of %d bytes is %w: too long", len(s), ErrInvalid)
	}
	var set SpecifierSet
	for _, part := range strings.Split(s, ",") {
		if strings.TrimSpace(part) == "" {
			continue
		}
		sp, err := ParseSpecifier(part)
		if err != nil {
			return nil, err
		}
		set = append(set, sp)
	}
	return set, nil
}

// String is the clause in normalized form, e.g. "==1.0.*".
func (s Specifier) String() string {
	if s.Op == "===" {
		return s.Op + s.Arbitrary
	}
	v := s.Version.String()
	if s.Wildcard {
		v += ".*"
	}
	return s.Op + v
}

// String joins the clauses with ",", in the order given.
func (ss SpecifierSet) String() string {
	parts := make([]string, len(ss))
	for i, s := range ss {
		parts[i] = s.String()
	}
	return strings.Join(parts, ",")
}

// ExplicitlyAllowsPre reports a clause that names a pre-release with an
// inclusive operator (e.g. ">=2.0b1"), which per PEP 440 lets
// pre-releases match.
func (s Specifier) ExplicitlyAllowsPre() bool {
	switch s.Op {
	case "==", ">=", "<=", "~=":
		return s.Version.IsPrerelease()
	case "===":
		v, err := Parse(s.Arbitrary)
		return err == nil && v.IsPrerelease()
	}
	return false
}

// ExplicitlyAllowsPre reports whether any clause allows pre-releases.
func (ss SpecifierSet) ExplicitlyAllowsPre() bool {
	for _, s := range ss {
		if s.ExplicitlyAllowsPre() {
			return true
		}
	}
	return false
}

// Contains reports whether v satisfies every clause. A pre-release matches
// only when allowPre is set or the set explicitly allows pre-releases;
// the resolver passes allowPre when the user asked for them or when no
// final release would do.
func (ss SpecifierSet) Contains(v Version, allowPre bool) bool {
	if v.IsPrerelease() && !allowPre && !ss.ExplicitlyAllowsPre() {
		return false
	}
	for _, s := range ss {
		if !s.Match(v) {
			return false
		}
	}
	return true
}

// Match reports whether v satisfies the clause, ignoring pre-release
// filtering (which is the set's business).
func (s Specifier) Match(v Version) bool {
	spec := s.Version
	switch s.Op {
	case "===":
		return strings.EqualFold(v.String(), s.Arbitrary)
	case "==":
		return s.equal(v)
	case "!=":
		return !s.equal(v)
	case "<=":
		return Compare(v.Public(), spec) <= 0
	case ">=":
		return Compare(v.Public(), spec) >= 0
	case "<":
		if Compare(v, spec) >= 0 {
			return false
		}
		// <1.0 must not admit 1.0rc1 unless the clause itself is a pre-release.
		if !spec.IsPrerelease() && v.IsPrerelease() && v.BaseVersion().Equal(spec.BaseVersion()) {
			return false
		}
		return true
	case ">":
		if Compare(v, spec) <= 0 {
			return false
		}
		// >1.0 must not admit 1.0.post1 or 1.0+local unless the clause is a post-release.
		if !spec.IsPostrelease() && v.IsPostrelease() && v.BaseVersion().Equal(spec.BaseVersion()) {
			return false
		}
		if len(v.local) > 0 && v.BaseVersion().Equal(spec.BaseVersion()) {
			return false
		}
		return true
	case "~=":
		// ~=X.Y.Z is >=X.Y.Z,==X.Y.*
		if Compare(v.Public(), spec) < 0 {
			return false
		}
		prefix := Specifier{Op: "==", Wildcard: true, Version: Version{epoch: spec.epoch, release: spec.release[:len(spec.release)-1]}}
		return prefix.equal(v)
	}
	return false
}

func (s Specifier) equal(v Version) bool {
	spec := s.Version
	if s.Wildcard {
		if v.epoch != spec.epoch {
			return false
		}
		for i, n := range spec.release {
			if at(v.release, i) != n {
				return false
			}
		}
		return true
	}
	if len(spec.local) == 0 {
		v = v.Public()
	}
	return Compare(v, spec) == 0
}
