package pep508

import (
	"fmt"
	"slices"
	"strings"

	"github.com/seshat-dev/seshat/advise/pep440"
)

// Environment holds the values PEP 508 marker variables take on a target.
// JSON keys are the marker variable names.
type Environment struct {
	PythonVersion                string `json:"python_version"`
	PythonFullVersion            string `json:"python_full_version"`
	ImplementationName           string `json:"implementation_name"`
	ImplementationVersion        string `json:"implementation_version"`
	PlatformPythonImplementation string `json:"platform_python_implementation"`
	PlatformMachine              string `json:"platform_machine"`
	PlatformRelease              string `json:"platform_release"`
	PlatformSystem               string `json:"platform_system"`
	PlatformVersion              string `json:"platform_version"`
	SysPlatform                  string `json:"sys_platform"`
	OSName                       string `json:"os_name"`
}

// Get returns the value of a marker variable by its PEP 508 name
// ("python_version", …); "" for unknown names and for "extra".
func (e Environment) Get(name string) string {
	switch name {
	case "python_version":
		return e.PythonVersion
	case "python_full_version":
		return e.PythonFullVersion
	case "implementation_name":
		return e.ImplementationName
	case "implementation_version":
		return e.ImplementationVersion
	case "platform_python_implementation":
		return e.PlatformPythonImplementation
	case "platform_machine":
		return e.PlatformMachine
	case "platform_release":
		return e.PlatformRelease
	case "platform_system":
		return e.PlatformSystem
	case "platform_version":
		return e.PlatformVersion
	case "sys_platform":
		return e.SysPlatform
	case "os_name":
		return e.OSName
	}
	return ""
}

// EnvironmentFromMap builds an Environment from marker variable names to
// values (as advise/target's Markers returns them); unknown names are ignored.
func EnvironmentFromMap(m map[string]string) Environment {
	return Environment{
		PythonVersion:                m["python_version"],
		PythonFullVersion:            m["python_full_version"],
		ImplementationName:           m["implementation_name"],
		ImplementationVersion:        m["implementation_version"],
		PlatformPythonImplementation: m["platform_python_implementation"],
		PlatformMachine:              m["platform_machine"],
		PlatformRelease:              m["platform_release"],
		PlatformSystem:               m["platform_system"],
		PlatformVersion:              m["platform_version"],
		SysPlatform:                  m["sys_platform"],
		OSName:                       m["os_name"],
	}
}

// variables maps every accepted spelling to the PEP 508 name; the dotted
// and python_implementation forms are legacy spellings still found in
// published metadata.
var variables = map[string]string{
	"python_version":                 "python_version",
	"python_full_version":            "python_full_version",
	"implementation_name":            "implementation_name",
	"implementation_version":         "implementation_version",
	"platform_python_implementation": "platform_python_implementation",
	"platform_machine":               "platform_machine",
	"platform_release":               "platform_release",
	"platform_system":                "platform_system",
	"platform_version":               "platform_version",
	"sys_platform":                   "sys_platform",
	"os_name":                        "os_name",
	"extra":                          "extra",
	"os.name":                        "os_name",
	"sys.platform":                   "sys_platform",
	"platform.version":               "platform_version",
	"platform.machine":               "platform_machine",
	"platform.python_implementation": "platform_python_implementation",
	"python_implementation":          "platform_python_implementation",
}

// versionVariables are compared as PEP 440 versions when both sides parse;
// every other variable compares as a string.
var versionVariables = map[string]bool{
	"python_version":         true,
	"python_full_version":    true,
	"implementation_version": true,
	"platform_release":       true,
}

// Marker is a parsed environment marker. The zero Marker is empty and
// matches every environment.
type Marker struct {
	root node
}

type node interface{ isNode() }

// cmpNode is `lhs op rhs`; each side is a variable or a literal.
type cmpNode struct {
	lhs, rhs operand
	op       string
	// spec is op+rhs parsed once, for `version_variable op "literal"`
	// when the literal is a version: the common case, kept off the
	// evaluation path.
	spec *pep440.Specifier
}

type operand struct {
	variable string // canonical variable name, or "" for a literal
	value    string
}

// boolNode is a run of terms joined by one operator.
type boolNode struct {
	and   bool
	terms []node
}

func (cmpNode) isNode()  {}
func (boolNode) isNode() {}

// ParseMarker parses a marker expression such as
// `python_version >= "3.8" and (sys_platform == "linux" or extra == "test")`.
// The empty string gives the empty Marker.
func ParseMarker(s string) (Marker, error) {
	if len(s) > maxRequirementLen {
		return Marker{}, &SyntaxError{Input: s[:80] + "…", Column: 1, Msg: fmt.Sprintf("marker of %d bytes is too long", len(s))}
	}
	p := &scanner{in: s}
	m, err := p.marker()
	if err != nil {
		return Marker{}, err
	}
	return m, nil
}

// marker parses from the current position to the end of input.
func (p *scanner) marker() (Marker, error) {
	p.ws()
	if p.peek() == 0 {
		return Marker{}, nil
	}
	n, err := p.orExpr(0)
	if err != nil {
		return Marker{}, err
	}
	p.ws()
	if p.peek() != 0 {
		if p.peek() == ')' {
			return Marker{}, p.errorf(p.pos, "unexpected ')'")
		}
		return Marker{}, p.errorf(p.pos, "expected 'and', 'or' or the end of the marker")
	}
	return Marker{root: n}, nil
}

// maxDepth bounds parenthesis nesting so hostile input cannot exhaust the stack.
const maxDepth = 100

func (p *scanner) orExpr(depth int) (node, error) {
	return p.boolExpr(depth, false)
}

func (p *scanner) boolExpr(depth int, and bool) (node, error) {
	word, sub := "or", p.andExpr
	if and {
		word, sub = "and", p.atom
	}
	first, err := sub(depth)
	if err != nil {
		return nil, err
	}
	terms := []node{first}
	for {
		save := p.pos
		p.ws()
		if !p.keyword(word) {
			p.pos = save
			break
		}
		t, err := sub(depth)
		if err != nil {
			return nil, err
		}
		terms = append(terms, t)
	}
	if len(terms) == 1 {
		return first, nil
	}
	return boolNode{and: and, terms: terms}, nil
}

func (p *scanner) andExpr(depth int) (node, error) { return p.boolExpr(depth, true) }

// keyword consumes word when it stands alone (followed by a space, a quote
// or a parenthesis).
func (p *scanner) keyword(word string) bool {
	if !strings.HasPrefix(p.in[p.pos:], word) {
		return false
	}
	end := p.pos + len(word)
	if end < len(p.in) && (isNameByte(p.in[end]) || p.in[end] == '=') {
		return false
	}
	p.pos = end
	return true
}

func (p *scanner) atom(depth int) (node, error) {
	p.ws()
	if p.peek() == '(' {
		if depth >= maxDepth {
			return nil, p.errorf(p.pos, "markers nested deeper than %d parentheses", maxDepth)
		}
		p.pos++
		n, err := p.orExpr(depth + 1)
		if err != nil {
			return nil, err
		}
		p.ws()
		if p.peek() != ')' {
			return nil, p.errorf(p.pos, "expected ')', 'and' or 'or'")
		}
		p.pos++
		return n, nil
	}
	lhs, err := p.operand()
	if err != nil {
		return nil, err
	}
	p.ws()
	start := p.pos
	var op string
	switch {
	case p.keyword("in"):
		op = "in"
	case p.keyword("not"):
		if !p.ws() || !p.keyword("in") {
			return nil, p.errorf(start, "expected 'not in'")
		}
		op = "not in"
	default:
		op = p.operator()
		switch op {
		case "<", "<=", "==", "!=", ">=", ">", "~=", "===":
		case "":
			return nil, p.errorf(start, "expected a comparison operator (< <= == != >= > ~= === in, not in)")
		default:
			return nil, p.errorf(start, "%q is not a marker operator", op)
		}
	}
	rhs, err := p.operand()
	if err != nil {
		return nil, err
	}
	c := cmpNode{lhs: lhs, op: op, rhs: rhs}
	if versionVariables[lhs.variable] && rhs.variable == "" && op != "in" && op != "not in" {
		if sp, err := pep440.ParseSpecifier(op + rhs.value); err == nil {
			c.spec = &sp
		}
	}
	return c, nil
}

func (p *scanner) operand() (operand, error) {
	p.ws()
	start := p.pos
	switch q := p.peek(); q {
	case '"', '\'':
		end := strings.IndexByte(p.in[p.pos+1:], q)
		if end < 0 {
			return operand{}, p.errorf(start, "unterminated string, expected a closing %c", q)
		}
		v := p.in[p.pos+1 : p.pos+1+end]
		p.pos += end + 2
		return operand{value: v}, nil
	}
	name := p.take(func(c byte) bool { return isNameByte(c) })
	if name == "" {
		return operand{}, p.errorf(start, "expected a marker variable (python_version, sys_platform, extra, …) or a quoted string")
	}
	canon, ok := variables[name]
	if !ok {
		return operand{}, p.errorf(start, "unknown marker variable %q", name)
	}
	return operand{variable: canon}, nil
}

// IsEmpty reports a marker that places no condition.
func (m Marker) IsEmpty() bool { return m.root == nil }

// String writes the marker in normalized PEP 508 form: double-quoted
// strings, canonical variable names, parentheses only where precedence
// needs them.
func (m Marker) String() string { return m.Format('"') }

// Format is String with quote (' or ") around literals; a literal that
// holds that quote gets the other one. pipenv writes markers with '.
func (m Marker) Format(quote byte) string {
	var b strings.Builder
	writeNode(&b, m.root, false, quote)
	return b.String()
}

func writeNode(b *strings.Builder, n node, insideAnd bool, quote byte) {
	switch n := n.(type) {
	case cmpNode:
		writeOperand(b, n.lhs, quote)
		b.WriteByte(' ')
		b.WriteString(n.op)
		b.WriteByte(' ')
		writeOperand(b, n.rhs, quote)
	case boolNode:
		paren := insideAnd && !n.and
		if paren {
			b.WriteByte('(')
		}
		sep := " or "
		if n.and {
			sep = " and "
		}
		for i, t := range n.terms {
			if i > 0 {
				b.WriteString(sep)
			}
			writeNode(b, t, n.and, quote)
		}
		if paren {
			b.WriteByte(')')
		}
	}
}

func writeOperand(b *strings.Builder, o operand, q byte) {
	if o.variable != "" {
		b.WriteString(o.variable)
		return
	}
	if strings.IndexByte(o.value, q) >= 0 {
		q = '"' + '\'' - q
	}
	b.WriteByte(q)
	b.WriteString(o.value)
	b.WriteByte(q)
}

// Evaluate reports whether the marker holds in env when the extra named
// extra is being installed ("" for none). Comparisons involving
// python_version, python_full_version, implementation_version and
// platform_release use PEP 440 rules when both sides are versions (pre-releases
// included); all else compares strings, with `in` meaning "substring of".
// A comparison that means nothing for strings (~= on non-versions) is false.
func (m Marker) Evaluate(env Environment, extra string) bool {
	if m.root == nil {
		return true
	}
	return eval(m.root, env, extra)
}

func eval(n node, env Environment, extra string) bool {
	switch n := n.(type) {
	case boolNode:
		for _, t := range n.terms {
			if eval(t, env, extra) != n.and {
				return !n.and
			}
		}
		return n.and
	case cmpNode:
		return evalCmp(n, env, extra)
	}
	return false
}

func evalCmp(c cmpNode, env Environment, extra string) bool {
	value := func(o operand) string {
		switch o.variable {
		case "":
			return o.value
		case "extra":
			return extra
		}
		return env.Get(o.variable)
	}
	lhs, rhs := value(c.lhs), value(c.rhs)
	if c.lhs.variable == "extra" || c.rhs.variable == "extra" {
		// Extra names compare normalized (PEP 685).
		lhs, rhs = CanonicalName(lhs), CanonicalName(rhs)
	}
	if c.spec != nil {
		if v, err := pep440.Parse(lhs); err == nil {
			return c.spec.Match(v)
		}
	} else if versionVariables[c.lhs.variable] || versionVariables[c.rhs.variable] {
		if ok, matched := compareVersions(lhs, c.op, rhs); ok {
			return matched
		}
	}
	switch c.op {
	case "==", "===":
		return lhs == rhs
	case "!=":
		return lhs != rhs
	case "<":
		return lhs < rhs
	case "<=":
		return lhs <= rhs
	case ">":
		return lhs > rhs
	case ">=":
		return lhs >= rhs
	case "in":
		return strings.Contains(rhs, lhs)
	case "not in":
		return !strings.Contains(rhs, lhs)
	}
	return false
}

// compareVersions evaluates `lhs op rhs` as the specifier op+rhs applied to
// lhs; ok is false when either side is not a version.
func compareVersions(lhs, op, rhs string) (ok, matched bool) {
	if op == "in" || op == "not in" {
		return false, false
	}
	spec, err := pep440.ParseSpecifier(op + rhs)
	if err != nil {
		return false, false
	}
	v, err := pep440.Parse(lhs)
	if err != nil {
		return false, false
	}
	return true, spec.Match(v)
}

// And joins markers with "and", skipping empty ones.
func And(ms ...Marker) Marker { return join(true, ms) }

// Or joins markers with "or"; if any is empty (always true) the result is empty.
func Or(ms ...Marker) Marker {
	for _, m := range ms {
		if m.IsEmpty() {
			return Marker{}
		}
	}
	return join(false, ms)
}

func join(and bool, ms []Marker) Marker {
	var terms []node
	for _, m := range ms {
		switch r := m.root.(type) {
		case nil:
		case boolNode:
			if r.and == and {
				terms = append(terms, r.terms...)
				continue
			}
			terms = append(terms, r)
		default:
			terms = append(terms, r)
		}
	}
	switch len(terms) {
	case 0:
		return Marker{}
	case 1:
		return Marker{root: terms[0]}
	}
	return Marker{root: boolNode{and: and, terms: terms}}
}

// WithoutExtras drops every comparison on `extra`, treating it as true:
// once a lockfile has decided which extras are installed, the rest of the
// marker is what still matters. `python_version < "3.11" and extra == "socks"`
// becomes `python_version < "3.11"`; `extra == "a" or extra == "b"` becomes
// empty.
func (m Marker) WithoutExtras() Marker {
	n, always := dropExtras(m.root)
	if always {
		return Marker{}
	}
	return Marker{root: n}
}

// dropExtras returns the node without extra comparisons; always reports
// that what is left is unconditionally true.
func dropExtras(n node) (out node, always bool) {
	switch n := n.(type) {
	case nil:
		return nil, true
	case cmpNode:
		if n.lhs.variable == "extra" || n.rhs.variable == "extra" {
			return nil, true
		}
		return n, false
	case boolNode:
		var terms []node
		for _, t := range n.terms {
			o, always := dropExtras(t)
			if always {
				if !n.and {
					return nil, true // true or … is true
				}
				continue // true and … is …
			}
			terms = append(terms, o)
		}
		switch len(terms) {
		case 0:
			return nil, true
		case 1:
			return terms[0], false
		}
		return boolNode{and: n.and, terms: terms}, false
	}
	return n, false
}

// Extras lists the normalized extra names the marker compares against,
// sorted and without duplicates.
func (m Marker) Extras() []string {
	seen := map[string]bool{}
	var walk func(node)
	walk = func(n node) {
		switch n := n.(type) {
		case cmpNode:
			if n.lhs.variable == "extra" && n.rhs.variable == "" {
				seen[CanonicalName(n.rhs.value)] = true
			}
			if n.rhs.variable == "extra" && n.lhs.variable == "" {
				seen[CanonicalName(n.lhs.value)] = true
			}
		case boolNode:
			for _, t := range n.terms {
				walk(t)
			}
		}
	}
	walk(m.root)
	out := make([]string, 0, len(seen))
	for e := range seen {
		out = append(out, e)
	}
	slices.Sort(out)
	return out
}
