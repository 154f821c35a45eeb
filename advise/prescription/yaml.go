package prescription

import (
	"bytes"
	"errors"
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"unicode/utf8"
	"unsafe"

	"gopkg.in/yaml.v3"
)

// The prescription tree is ~65,000 small YAML files, and yaml.v3 spends most
// of its time per call setting up its parser and emitting events — about
// 100 µs for a 500-byte file here, seconds for the tree. Nearly every file
// uses only block mappings, block sequences, plain or quoted one-line scalars
// and folded messages, so those are parsed here directly; anything else
// (anchors, aliases, merge keys, tags, flow mappings, multi-line plain or
// quoted scalars, tabs, odd indentation) makes fastParse give up and the
// file goes through yaml.v3, which is also what reports syntax errors.

type nodeKind uint8

const (
	scalarNode nodeKind = iota
	mappingNode
	sequenceNode
)

type scalarTag uint8

const (
	tagStr scalarTag = iota
	tagNull
	tagBool
	tagInt
	tagFloat
)

// node is a parsed YAML value with the position the schema errors point at.
type node struct {
	kind  nodeKind
	tag   scalarTag // scalars only
	value string
	line  int
	col   int
	// Mappings hold key, value, key, value…; sequences hold items.
	children []*node
}

func (n *node) typeName() string {
	switch n.kind {
	case mappingNode:
		return "a mapping"
	case sequenceNode:
		return "a list"
	}
	switch n.tag {
	case tagNull:
		return "null"
	case tagBool:
		return "a boolean"
	case tagInt:
		return "an integer"
	case tagFloat:
		return "a number"
	}
	return "a string"
}

// get returns the value under key in a mapping, or nil.
func (n *node) get(key string) *node {
	if n == nil || n.kind != mappingNode {
		return nil
	}
	for i := 0; i+1 < len(n.children); i += 2 {
		if n.children[i].value == key {
			return n.children[i+1]
		}
	}
	return nil
}

// parseYAML parses one document: quickly when it can, through yaml.v3 when not.
func parseYAML(data []byte) (*node, error) {
	if n, ok := fastParse(data); ok {
		return n, nil
	}
	return slowParse(data)
}

// slowParse parses with yaml.v3 and converts its tree, resolving aliases and
// merge keys the way yaml.v3's decoder would.
func slowParse(data []byte) (*node, error) {
	var doc yaml.Node
	if err := yaml.Unmarshal(data, &doc); err != nil {
		return nil, yamlError(err, data)
	}
	if doc.Kind == 0 || len(doc.Content) == 0 {
		return &node{kind: scalarNode, tag: tagNull, line: 1, col: 1}, nil
	}
	return convertNode(doc.Content[0], 0)
}

// yamlError turns yaml.v3's "yaml: line 3: did not find …" into a line and a
// message so it prints as file:line like every other problem. yaml.v3
// counts lines from 0 for parser errors ("did not find expected …") and
// from 1 for scanner errors, and omits line 0; this evens that out.
func yamlError(err error, data []byte) error {
	msg := strings.TrimPrefix(err.Error(), "yaml: ")
	line := 0
	if _, scanErr := fmt.Sscanf(msg, "line %d:", &line); scanErr == nil {
		msg = strings.TrimSpace(msg[strings.Index(msg, ":")+1:])
		if strings.HasPrefix(msg, "did not find expected") {
			line++
		}
	}
	if line == 0 {
		line = 1
		var anchor string
		if _, e := fmt.Sscanf(msg, "unknown anchor %s referenced", &anchor); e == nil {
			ref := "*" + strings.Trim(anchor, "'")
			if i := bytes.Index(data, []byte(ref)); i >= 0 {
				line += bytes.Count(data[:i], []byte("\n"))
			}
		}
	}
	return &syntaxError{line: line, msg: msg}
}

type syntaxError struct {
	line int
	msg  string
}

func (e *syntaxError) Error() string { return fmt.Sprintf("line %d: %s", e.line, e.msg) }

var errAliasDepth = errors.New("aliases nested too deeply")

func convertNode(y *yaml.Node, depth int) (*node, error) {
	if depth > 64 {
		return nil, &syntaxError{line: y.Line, msg: errAliasDepth.Error()}
	}
	switch y.Kind {
	case yaml.DocumentNode:
		if len(y.Content) == 0 {
			return &node{kind: scalarNode, tag: tagNull, line: y.Line, col: y.Column}, nil
		}
		return convertNode(y.Content[0], depth)
	case yaml.AliasNode:
		n, err := convertNode(y.Alias, depth+1)
		if err != nil {
			return nil, err
		}
		// Point at the alias, not the anchor: that is where the user looks.
		c := *n
		c.line, c.col = y.Line, y.Column
		return &c, nil
	case yaml.ScalarNode:
		n := &node{kind: scalarNode, value: y.Value, line: y.Line, col: y.Column}
		switch y.ShortTag() {
		case "!!null":
			n.tag = tagNull
		case "!!bool":
			n.tag = tagBool
		case "!!int":
			n.tag = tagInt
		case "!!float":
			n.tag = tagFloat
		}
		return n, nil
	case yaml.SequenceNode:
		n := &node{kind: sequenceNode, line: y.Line, col: y.Column}
		for _, c := range y.Content {
			cn, err := convertNode(c, depth+1)
			if err != nil {
				return nil, err
			}
			n.children = append(n.children, cn)
		}
		return n, nil
	case yaml.MappingNode:
		n := &node{kind: mappingNode, line: y.Line, col: y.Column}
		var merged []*node
		for i := 0; i+1 < len(y.Content); i += 2 {
			k, v := y.Content[i], y.Content[i+1]
			if k.Kind == yaml.ScalarNode && k.ShortTag() == "!!merge" {
				mv, err := convertNode(v, depth+1)
				if err != nil {
					return nil, err
				}
				switch mv.kind {
				case mappingNode:
					merged = append(merged, mv)
				case sequenceNode:
					// Earlier maps in the list win, so apply them last-first.
					for j := len(mv.children) - 1; j >= 0; j-- {
						merged = append(merged, mv.children[j])
					}
				}
				continue
			}
			kn, err := convertNode(k, depth+1)
			if err != nil {
				return nil, err
			}
			if prev := n.get(kn.value); prev != nil && kn.kind == scalarNode {
				return nil, &syntaxError{line: k.Line, msg: fmt.Sprintf("key %q is already defined in this mapping", kn.value)}
			}
			vn, err := convertNode(v, depth+1)
			if err != nil {
				return nil, err
			}
			n.children = append(n.children, kn, vn)
		}
		// Explicit keys override merged ones.
		for _, m := range merged {
			if m.kind != mappingNode {
				continue
			}
			for i := 0; i+1 < len(m.children); i += 2 {
				if n.get(m.children[i].value) == nil {
					n.children = append(n.children, m.children[i], m.children[i+1])
				}
			}
		}
		return n, nil
	}
	return &node{kind: scalarNode, tag: tagNull, line: y.Line, col: y.Column}, nil
}

// toValue turns a node into plain Go values (for free-form fields such as
// advised_manifest_changes that end up in the JSON report).
func (n *node) toValue() any {
	switch n.kind {
	case mappingNode:
		m := make(map[string]any, len(n.children)/2)
		for i := 0; i+1 < len(n.children); i += 2 {
			m[n.children[i].value] = n.children[i+1].toValue()
		}
		return m
	case sequenceNode:
		s := make([]any, len(n.children))
		for i, c := range n.children {
			s[i] = c.toValue()
		}
		return s
	}
	switch n.tag {
	case tagNull:
		return nil
	case tagBool:
		return n.value == "true" || n.value == "True" || n.value == "TRUE"
	case tagInt:
		if v, err := strconv.ParseInt(strings.ReplaceAll(n.value, "_", ""), 0, 64); err == nil {
			return v
		}
	case tagFloat:
		if v, err := strconv.ParseFloat(n.value, 64); err == nil {
			return v
		}
	}
	return n.value
}

// ---- the fast path ----

type fline struct {
	num    int // 1-based
	indent int
	text   string // without the indentation
}

type fastParser struct {
	lines []fline
	pos   int
	eol   bool // the document ends with a line break
	// arena holds the nodes of the current document, and kids their
	// children lists. A parsed tree lives only until its file is checked,
	// so the next parse reuses both: allocating nodes and lists one by one
	// was most of the allocations loading the public repository.
	arena []node
	used  int
	kids  []*node
	// stack holds the children of the mappings and sequences being parsed;
	// each list moves to kids when it is complete.
	stack []*node
	parts []string // blockScalar's lines
}

func (p *fastParser) newNode(n node) *node {
	if p.used == len(p.arena) {
		// Nodes handed out stay valid: the old arena is only dropped.
		p.arena, p.used = make([]node, max(256, 2*len(p.arena))), 0
	}
	x := &p.arena[p.used]
	p.used++
	*x = n
	return x
}

// children moves the stack above start to kids and returns it as a list.
func (p *fastParser) children(start int) []*node {
	n := len(p.stack) - start
	if n == 0 {
		return nil
	}
	if len(p.kids)+n > cap(p.kids) {
		// Lists handed out stay valid: the old array is only dropped.
		p.kids = make([]*node, 0, max(1024, 2*cap(p.kids), n))
	}
	k := len(p.kids)
	p.kids = append(p.kids, p.stack[start:]...)
	p.stack = p.stack[:start]
	return p.kids[k : k+n : k+n]
}

// fastParse returns ok=false whenever the input leaves the subset it knows,
// never a wrong tree: the differential test against yaml.v3 over the real
// repository guards that.
func fastParse(data []byte) (n *node, ok bool) {
	return (&fastParser{}).parse(data)
}

// parse may be called again on the same parser; it reuses its buffers, so
// the previous tree must no longer be in use.
func (p *fastParser) parse(b []byte) (n *node, ok bool) {
	if !printable(b) {
		return nil, false
	}
	if len(b) >= 3 && b[0] == 0xEF && b[1] == 0xBB && b[2] == 0xBF {
		return nil, false
	}
	// Lines and scalars are substrings of b itself, not of a copy: the tree
	// and the units checked from it live only until the units are encoded
	// (loadFile), which copies what they hold. The caller must not change b
	// before then.
	data := unsafe.String(unsafe.SliceData(b), len(b))
	p.lines, p.pos, p.used = p.lines[:0], 0, 0
	p.eol = len(b) > 0 && b[len(b)-1] == '\n'
	p.kids, p.stack = p.kids[:0], p.stack[:0]
	num := 0
	for len(data) > 0 {
		num++
		i := strings.IndexByte(data, '\n')
		var l string
		if i < 0 {
			l, data = data, ""
		} else {
			l, data = data[:i], data[i+1:]
		}
		ind := 0
		for ind < len(l) && l[ind] == ' ' {
			ind++
		}
		p.lines = append(p.lines, fline{num: num, indent: ind, text: l[ind:]})
	}
	p.skip()
	if p.pos < len(p.lines) {
		t := p.lines[p.pos].text
		if t[0] == '%' || (strings.HasPrefix(t, "---") && (len(t) == 3 || t[3] == ' ')) {
			return nil, false
		}
	}
	if p.pos >= len(p.lines) {
		return &node{kind: scalarNode, tag: tagNull, line: 1, col: 1}, true
	}
	root, ok := p.block(-1)
	if !ok {
		return nil, false
	}
	p.skip()
	if p.pos != len(p.lines) {
		return nil, false
	}
	return root, true
}

// printable reports whether b is UTF-8 of the characters YAML allows
// unescaped, less tabs and carriage returns, which the fast path does not
// handle: yaml.v3 rejects the others with a line to report.
func printable(b []byte) bool {
	for i := 0; i < len(b); i++ {
		if c := b[i]; c >= 0x20 && c < 0x7F || c == '\n' {
			continue
		} else if c < 0x80 {
			return false
		}
		r, size := utf8.DecodeRune(b[i:])
		if r == utf8.RuneError && size == 1 || !(r == 0x85 || r >= 0xA0 && r <= 0xD7FF || r >= 0xE000 && r <= 0xFFFD || r >= 0x10000) {
			return false
		}
		i += size - 1
	}
	return true
}

// skip moves past blank and comment lines.
func (p *fastParser) skip() {
	for p.pos < len(p.lines) {
		t := p.lines[p.pos].text
		if t != "" && t[0] != '#' {
			return
		}
		p.pos++
	}
}

// block parses the node starting at the next significant line, which must be
// indented more than parent.
func (p *fastParser) block(parent int) (*node, bool) {
	p.skip()
	if p.pos >= len(p.lines) {
		return nil, false
	}
	l := p.lines[p.pos]
	if l.indent <= parent {
		return nil, false
	}
	if isSeqItem(l.text) {
		return p.sequence(l.indent)
	}
	if _, _, isKey := splitKey(l.text); isKey {
		return p.mapping(l.indent)
	}
	return nil, false // a bare scalar document or a multi-line scalar
}

func isSeqItem(t string) bool { return t == "-" || strings.HasPrefix(t, "- ") }

// splitKey splits "key: rest" or "key:"; keys the fast path does not handle
// (quoted, merge, complex) report false.
func splitKey(t string) (key, rest string, ok bool) {
	if t == "" || strings.ContainsRune("\"'?&*!|>%@`{}[]#-,:", rune(t[0])) && !(t[0] == '-' && len(t) > 1 && t[1] != ' ') {
		return "", "", false
	}
	i := strings.Index(t, ": ")
	if i < 0 {
		if strings.HasSuffix(t, ":") {
			i = len(t) - 1
		} else {
			return "", "", false
		}
	}
	key = strings.TrimRight(t[:i], " ")
	// Two IndexByte rather than ContainsAny, which builds a set per call.
	if key == "" || key == "<<" || strings.Contains(key, " #") || strings.IndexByte(key, '"') >= 0 || strings.IndexByte(key, '\'') >= 0 {
		return "", "", false
	}
	if i+1 < len(t) {
		rest = strings.TrimLeft(t[i+1:], " ")
	}
	return key, rest, true
}

func (p *fastParser) mapping(indent int) (*node, bool) {
	first := p.lines[p.pos]
	m := p.newNode(node{kind: mappingNode, line: first.num, col: indent + 1})
	start := len(p.stack)
	for {
		p.skip()
		if p.pos >= len(p.lines) {
			m.children = p.children(start)
			return m, true
		}
		l := p.lines[p.pos]
		if l.indent < indent {
			m.children = p.children(start)
			return m, true
		}
		if l.indent > indent {
			return nil, false
		}
		key, rest, ok := splitKey(l.text)
		if !ok {
			return nil, false
		}
		for i := start; i < len(p.stack); i += 2 {
			if p.stack[i].value == key {
				return nil, false // duplicate key: let yaml.v3 say so
			}
		}
		keyNode := p.newNode(node{kind: scalarNode, value: key, line: l.num, col: indent + 1})
		keyNode.tag = resolvePlain(key)
		valCol := indent + 1 + len(l.text) - len(rest)
		p.pos++
		v, ok := p.value(rest, l.num, valCol, indent, true)
		if !ok {
			return nil, false
		}
		p.stack = append(p.stack, keyNode, v)
	}
}

func (p *fastParser) sequence(indent int) (*node, bool) {
	first := p.lines[p.pos]
	s := p.newNode(node{kind: sequenceNode, line: first.num, col: indent + 1})
	start := len(p.stack)
	for {
		p.skip()
		if p.pos >= len(p.lines) {
			s.children = p.children(start)
			return s, true
		}
		l := p.lines[p.pos]
		if l.indent < indent || (l.indent == indent && !isSeqItem(l.text)) {
			s.children = p.children(start)
			return s, true
		}
		if l.indent > indent {
			return nil, false
		}
		rest := strings.TrimLeft(l.text[1:], " ")
		col := indent + 1 + len(l.text) - len(rest)
		if rest != "" && rest[0] != '#' {
			if _, _, isKey := splitKey(rest); isKey || isSeqItem(rest) {
				// "- key: v" opens a mapping (or "- - x" a list) whose column
				// is where the key starts; reparse this line as its first line.
				p.lines[p.pos] = fline{num: l.num, indent: col - 1, text: rest}
				item, ok := p.block(indent)
				if !ok {
					return nil, false
				}
				p.stack = append(p.stack, item)
				continue
			}
		}
		p.pos++
		item, ok := p.value(rest, l.num, col, indent, false)
		if !ok {
			return nil, false
		}
		p.stack = append(p.stack, item)
	}
}

// value parses what follows "key:" or "- " on a line at indent; a mapping
// value may continue as a nested block or as a list at the same indent.
func (p *fastParser) value(rest string, num, col, indent int, inMapping bool) (*node, bool) {
	if rest == "" || rest[0] == '#' {
		p.skip()
		if p.pos < len(p.lines) {
			l := p.lines[p.pos]
			if l.indent > indent || (inMapping && l.indent == indent && isSeqItem(l.text)) {
				if l.indent == indent {
					return p.sequence(indent)
				}
				return p.block(indent)
			}
		}
		// An implicit null: yaml.v3 places it by rules of its own, and
		// real prescriptions hardly have one, so let yaml.v3 do it.
		return nil, false
	}
	var n *node
	switch rest[0] {
	case '|', '>':
		return p.blockScalar(rest, num, col, indent)
	case '&', '*', '!', '?', '%', '@', '`', '{', '}', ']', ',', ':':
		if rest != "{}" {
			return nil, false
		}
		n = p.newNode(node{kind: mappingNode, line: num, col: col})
	case '[':
		var ok bool
		if n, ok = flowSeq(rest, num, col); !ok {
			return nil, false
		}
	case '"', '\'':
		s, ok := quoted(rest)
		if !ok {
			return nil, false
		}
		n = p.newNode(node{kind: scalarNode, tag: tagStr, value: s, line: num, col: col})
	default:
		s := stripComment(rest)
		if strings.Contains(s, ": ") || strings.HasSuffix(s, ":") || (s[0] == '-' && (len(s) == 1 || s[1] == ' ')) {
			return nil, false
		}
		n = p.newNode(node{kind: scalarNode, tag: resolvePlain(s), value: s, line: num, col: col})
	}
	// A following line indented deeper would continue this scalar (or be an
	// error); either way yaml.v3 decides.
	save := p.pos
	p.skip()
	if p.pos < len(p.lines) && p.lines[p.pos].indent > indent {
		return nil, false
	}
	p.pos = save
	return n, true
}

func stripComment(s string) string {
	if i := strings.Index(s, " #"); i >= 0 {
		s = s[:i]
	}
	return strings.TrimRight(s, " ")
}

// quoted handles a quoted scalar closed on its line, followed by nothing but
// a comment; escapes in double quotes go to yaml.v3.
func quoted(s string) (string, bool) {
	q := s[0]
	var b strings.Builder
	i := 1
	for ; i < len(s); i++ {
		c := s[i]
		if q == '"' && c == '\\' {
			return "", false
		}
		if c == q {
			if q == '\'' && i+1 < len(s) && s[i+1] == '\'' {
				b.WriteByte('\'')
				i++
				continue
			}
			break
		}
		b.WriteByte(c)
	}
	if i >= len(s) {
		return "", false // continues on the next line
	}
	tail := strings.TrimLeft(s[i+1:], " ")
	if tail != "" && (tail[0] != '#' || len(tail) == len(s[i+1:])) {
		return "", false
	}
	return b.String(), true
}

// flowSeq handles one-line lists of plain scalars such as [null] or [a, b].
func flowSeq(s string, num, col int) (*node, bool) {
	s = stripComment(s)
	if !strings.HasSuffix(s, "]") {
		return nil, false
	}
	inner := strings.TrimSpace(s[1 : len(s)-1])
	n := &node{kind: sequenceNode, line: num, col: col}
	if inner == "" {
		return n, true
	}
	if strings.ContainsAny(inner, "[]{}\"'#:&*!") {
		return nil, false
	}
	off := col + 1
	for _, part := range strings.Split(inner, ",") {
		v := strings.TrimSpace(part)
		if v == "" || strings.ContainsRune("-?:,[]{}#&*!|>'\"%@`", rune(v[0])) {
			return nil, false
		}
		lead := len(part) - len(strings.TrimLeft(part, " "))
		n.children = append(n.children, &node{kind: scalarNode, tag: resolvePlain(v), value: v, line: num, col: off + lead})
		off += len(part) + 1
	}
	return n, true
}

// blockScalar handles "|", "|-", ">" and ">-" whose lines share one indent.
func (p *fastParser) blockScalar(header string, num, col, indent int) (*node, bool) {
	h := stripComment(header)
	if len(h) > 2 || (len(h) == 2 && h[1] != '-') {
		return nil, false // keep (+) or explicit indentation indicators
	}
	literal, strip := h[0] == '|', len(h) == 2
	parts := p.parts[:0]
	blockIndent := -1
	for p.pos < len(p.lines) {
		l := p.lines[p.pos]
		if l.text == "" {
			if l.indent > 0 {
				return nil, false // spaces-only lines may be content
			}
			parts = append(parts, "")
			p.pos++
			continue
		}
		if l.indent <= indent {
			break
		}
		if blockIndent < 0 {
			blockIndent = l.indent
		}
		if l.indent != blockIndent {
			return nil, false
		}
		parts = append(parts, l.text)
		p.pos++
	}
	p.parts = parts[:0] // keep what it grew to for the next block
	if p.pos == len(p.lines) && !p.eol {
		return nil, false // whether the last line break is content: yaml.v3 decides
	}
	if !literal && len(parts) > 0 && parts[0] == "" {
		return nil, false // leading blank lines of a folded scalar: likewise
	}
	// Trailing blank lines belong to chomping, not content.
	for len(parts) > 0 && parts[len(parts)-1] == "" {
		parts = parts[:len(parts)-1]
	}
	// A blank line with trailing spaces deeper than the block is content
	// yaml.v3 keeps; the fast path gave up on other indents above already.
	var b strings.Builder
	size := 1
	for _, s := range parts {
		size += len(s) + 1
	}
	b.Grow(size)
	if literal {
		for i, s := range parts {
			if i > 0 {
				b.WriteByte('\n')
			}
			b.WriteString(s)
		}
	} else {
		for i, s := range parts {
			if i > 0 {
				if s == "" {
					b.WriteByte('\n')
					continue
				}
				if parts[i-1] != "" {
					b.WriteByte(' ')
				}
			}
			b.WriteString(s)
		}
	}
	if len(parts) > 0 && !strip {
		b.WriteByte('\n')
	}
	return p.newNode(node{kind: scalarNode, tag: tagStr, value: b.String(), line: num, col: col}), true
}

var floatRE = regexp.MustCompile(`^[-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)?$`)

// resolvePlain gives a plain scalar the tag yaml.v3 would.
func resolvePlain(s string) scalarTag {
	switch s {
	case "", "~", "null", "Null", "NULL":
		return tagNull
	case "true", "True", "TRUE", "false", "False", "FALSE":
		return tagBool
	case ".inf", ".Inf", ".INF", "+.inf", "+.Inf", "+.INF", "-.inf", "-.Inf", "-.INF", ".nan", ".NaN", ".NAN":
		return tagFloat
	}
	c := s[0]
	if !(c >= '0' && c <= '9' || c == '-' || c == '+' || c == '.') {
		return tagStr
	}
	plain := strings.ReplaceAll(s, "_", "")
	if strings.Count(plain, ".") > 1 {
		// A version ("1.2.0"): no number has two dots, and the failed
		// parses below would allocate an error each.
		return tagStr
	}
	if _, err := strconv.ParseInt(plain, 0, 64); err == nil {
		return tagInt
	}
	if _, err := strconv.ParseUint(plain, 0, 64); err == nil {
		return tagInt
	}
	if floatRE.MatchString(plain) {
		return tagFloat
	}
	// yaml.v3 reads 0b… and -0b… as binary, when they are.
	if bin, ok := strings.CutPrefix(plain, "0b"); ok {
		if _, err := strconv.ParseUint(bin, 2, 64); err == nil {
			return tagInt
		}
	} else if bin, ok := strings.CutPrefix(plain, "-0b"); ok {
		if _, err := strconv.ParseInt("-"+bin, 2, 64); err == nil {
			return tagInt
		}
	}
	return tagStr
}
