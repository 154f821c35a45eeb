// Package pep508 parses PEP 508 dependency specifications — a name, extras,
// a version specifier or URL, and an environment marker — and evaluates
// markers against a target environment.
//
// Versions and specifiers come from advise/pep440; this package adds the
// requirement syntax, names (PEP 503 normalization) and markers. It does
// not read files: advise/reqfile does.
package pep508

import (
	"fmt"
	"regexp"
	"strings"

	"github.com/seshat-dev/seshat/advise/pep440"
)

// Requirement is one parsed PEP 508 line, e.g.
// `requests[socks]>=2.8,<3; python_version >= "3.8"`.
type Requirement struct {
	// Name is the project name as written; Canonical() normalizes it.
	Name string
	// Extras are the requested extras as written, in order.
	Extras []string
	// Specifier constrains the version; empty when any version will do or
	// when URL is set.
	Specifier pep440.SpecifierSet
	// URL is set for a direct reference, `name @ https://…`.
	URL string
	// Marker says where the requirement applies; empty means everywhere.
	Marker Marker
}

// SyntaxError says where a requirement or marker stopped making sense and
// what was expected there.
type SyntaxError struct {
	Input  string
	Column int // 1-based byte offset into Input
	Msg    string
}

func (e *SyntaxError) Error() string {
	return fmt.Sprintf("%q: %s at column %d", e.Input, e.Msg, e.Column)
}

// maxRequirementLen bounds a single requirement so hostile metadata cannot
// make parsing costly.
const maxRequirementLen = 64 << 10

var nameRE = regexp.MustCompile(`(?i)^([a-z0-9]|[a-z0-9][a-z0-9._-]*[a-z0-9])$`)

// CanonicalName normalizes a project or extra name as PEP 503 says:
// lower case, every run of "-", "_" and "." replaced by one "-".
func CanonicalName(name string) string {
	var b strings.Builder
	b.Grow(len(name))
	sep := false
	for i := 0; i < len(name); i++ {
		c := name[i]
		switch {
		case c == '-' || c == '_' || c == '.':
			sep = true
			continue
		case c >= 'A' && c <= 'Z':
			c += 'a' - 'A'
		}
		if sep && b.Len() > 0 {
			b.WriteByte('-')
		}
		sep = false
		b.WriteByte(c)
	}
	if sep {
		b.WriteByte('-')
	}
	return b.String()
}

// ValidName reports whether s is a valid project or extra name.
func ValidName(s string) bool { return nameRE.MatchString(s) }

// Canonical is the PEP 503 normalized name.
func (r Requirement) Canonical() string { return CanonicalName(r.Name) }

// HasExtra reports whether the requirement asks for extra (compared normalized).
func (r Requirement) HasExtra(extra string) bool {
	want := CanonicalName(extra)
	for _, e := range r.Extras {
		if CanonicalName(e) == want {
			return true
		}
	}
	return false
}

// String writes the requirement back in PEP 508 form:
// `name[extra1,extra2]>=1.0,<2; marker` or `name @ url ; marker`.
func (r Requirement) String() string {
	var b strings.Builder
	b.WriteString(r.Name)
	if len(r.Extras) > 0 {
		b.WriteByte('[')
		b.WriteString(strings.Join(r.Extras, ","))
		b.WriteByte(']')
	}
	if r.URL != "" {
		b.WriteString(" @ ")
		b.WriteString(r.URL)
		if !r.Marker.IsEmpty() {
			b.WriteByte(' ') // PEP 508 needs a space between a URL and ';'
		}
	} else {
		b.WriteString(r.Specifier.String())
	}
	if !r.Marker.IsEmpty() {
		b.WriteString("; ")
		b.WriteString(r.Marker.String())
	}
	return b.String()
}

// ParseRequirement parses one PEP 508 requirement. Errors are
// *SyntaxError values naming the column and what was expected there.
func ParseRequirement(s string) (Requirement, error) {
	if len(s) > maxRequirementLen {
		return Requirement{}, &SyntaxError{Input: s[:80] + "…", Column: 1, Msg: fmt.Sprintf("requirement of %d bytes is too long", len(s))}
	}
	p := &scanner{in: s}
	var r Requirement
	p.ws()
	start := p.pos
	name := p.take(isNameByte)
	if name == "" {
		return r, p.errorf(start, "expected a package name")
	}
	if !ValidName(name) {
		return r, p.errorf(start, "%q is not a valid package name (letters, digits, and . _ - inside)", name)
	}
	r.Name = name
	p.ws()
	if p.peek() == '[' {
		p.pos++
		extras, err := p.extras()
		if err != nil {
			return r, err
		}
		r.Extras = extras
		p.ws()
	}
	switch c := p.peek(); {
	case c == 0:
		return r, nil
	case c == '@':
		p.pos++
		p.ws()
		ustart := p.pos
		r.URL = p.take(func(c byte) bool { return !isSpace(c) })
		if r.URL == "" {
			return r, p.errorf(ustart, "expected a URL after '@'")
		}
		// A ';' glued to the URL is part of the URL: PEP 508 needs a space first.
		hadSpace := p.ws()
		if p.peek() == 0 {
			return r, nil
		}
		if p.peek() != ';' || !hadSpace {
			return r, p.errorf(p.pos, "expected end of requirement or ' ;' and a marker after the URL")
		}
	case c == '(' || strings.IndexByte("<>=!~", c) >= 0:
		spec, err := p.specifiers()
		if err != nil {
			return r, err
		}
		r.Specifier = spec
	case c != ';':
		return r, p.errorf(p.pos, "expected a version specifier or ';'")
	}
	p.ws()
	if p.peek() == 0 {
		return r, nil
	}
	if p.peek() != ';' {
		return r, p.errorf(p.pos, "expected ',' and another version specifier, or ';'")
	}
	p.pos++
	m, err := p.marker()
	if err != nil {
		return r, err
	}
	if m.IsEmpty() {
		return r, p.errorf(p.pos, "expected a marker after ';'")
	}
	r.Marker = m
	return r, nil
}

func isNameByte(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '.' || c == '-' || c == '_'
}

func isSpace(c byte) bool { return c == ' ' || c == '\t' || c == '\r' || c == '\n' }

// scanner walks the input a byte at a time; PEP 508's grammar is ASCII
// outside quoted strings and URLs.
type scanner struct {
	in  string
	pos int
}

func (p *scanner) peek() byte {
	if p.pos < len(p.in) {
		return p.in[p.pos]
	}
	return 0
}

func (p *scanner) ws() bool {
	start := p.pos
	for p.pos < len(p.in) && isSpace(p.in[p.pos]) {
		p.pos++
	}
	return p.pos > start
}

func (p *scanner) take(ok func(byte) bool) string {
	start := p.pos
	for p.pos < len(p.in) && ok(p.in[p.pos]) {
		p.pos++
	}
	return p.in[start:p.pos]
}

func (p *scanner) errorf(pos int, format string, args ...any) *SyntaxError {
	return &SyntaxError{Input: p.in, Column: pos + 1, Msg: fmt.Sprintf(format, args...)}
}

func (p *scanner) extras() ([]string, error) {
	var extras []string
	for {
		p.ws()
		if p.peek() == ']' && len(extras) == 0 {
			p.pos++
			return nil, nil
		}
		start := p.pos
		e := p.take(isNameByte)
		if e == "" {
			return nil, p.errorf(start, "expected an extra name or ']'")
		}
		if !ValidName(e) {
			return nil, p.errorf(start, "%q is not a valid extra name", e)
		}
		extras = append(extras, e)
		p.ws()
		switch p.peek() {
		case ',':
			p.pos++
		case ']':
			p.pos++
			return extras, nil
		default:
			return nil, p.errorf(p.pos, "expected ',' or ']' after extra %q", e)
		}
	}
}

// specifiers reads `>=1.0, <2` or `(>=1.0, <2)`.
func (p *scanner) specifiers() (pep440.SpecifierSet, error) {
	paren := p.peek() == '('
	if paren {
		p.pos++
		p.ws()
	}
	var set pep440.SpecifierSet
	for {
		p.ws()
		start := p.pos
		op := p.operator()
		switch op {
		case "~=", "==", "!=", "<=", ">=", "<", ">", "===":
		case "":
			if paren && p.peek() == ')' && len(set) == 0 {
				p.pos++
				return nil, nil
			}
			return nil, p.errorf(start, "expected a version operator (~= == != <= >= < > ===)")
		default:
			return nil, p.errorf(start, "%q is not a version operator (~= == != <= >= < > ===)", op)
		}
		p.ws()
		vstart := p.pos
		var ver string
		if op == "===" {
			ver = p.take(func(c byte) bool { return !isSpace(c) && c != ';' && c != ')' && c != ',' })
		} else {
			ver = p.take(func(c byte) bool { return isNameByte(c) || c == '*' || c == '+' || c == '!' })
		}
		if ver == "" {
			return nil, p.errorf(vstart, "expected a version after %q", op)
		}
		sp, err := pep440.ParseSpecifier(op + ver)
		if err != nil {
			return nil, p.errorf(start, "%v", err)
		}
		set = append(set, sp)
		p.ws()
		switch p.peek() {
		case ',':
			p.pos++
			continue
		case ')':
			if !paren {
				return nil, p.errorf(p.pos, "unexpected ')'")
			}
			p.pos++
			return set, nil
		}
		if paren {
			return nil, p.errorf(p.pos, "expected ',' or ')'")
		}
		return set, nil
	}
}

// operator consumes the longest comparison operator at the cursor, or,
// when none is there, the run of operator characters (for the error message).
func (p *scanner) operator() string {
	for _, op := range []string{"===", "~=", "==", "!=", "<=", ">=", "<", ">"} {
		if strings.HasPrefix(p.in[p.pos:], op) {
			p.pos += len(op)
			return op
		}
	}
	return p.take(func(c byte) bool { return strings.IndexByte("<>=!~", c) >= 0 })
}
