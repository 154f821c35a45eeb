package reqfile

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strings"

	"github.com/seshat-dev/seshat/advise/pep508"
)

// maxRequirementsFile bounds one requirements file; real ones are a few KiB.
const maxRequirementsFile = 16 << 20

// maxIncludeDepth bounds -r/-c nesting.
const maxIncludeDepth = 32

// LineError is a problem at a place in a requirements file.
type LineError struct {
	File   string
	Line   int
	Column int
	Msg    string
}

func (e *LineError) Error() string {
	if e.Column > 0 {
		return fmt.Sprintf("%s:%d:%d: %s", e.File, e.Line, e.Column, e.Msg)
	}
	return fmt.Sprintf("%s:%d: %s", e.File, e.Line, e.Msg)
}

// ParseRequirementsFile reads a pip requirements file and the files it
// includes with -r (requirements) and -c (constraints), each path relative
// to the file that names it. Each file is read once, so include cycles end.
// ${VAR} is expanded from the environment as pip does (upper-case names
// only; unset variables stay as written).
func ParseRequirementsFile(path string) (*Input, error) {
	in := &Input{Source: path, Kind: KindRequirements}
	p := &reqParser{in: in, seen: map[string]bool{}}
	if err := p.file(path, false, 0); err != nil {
		return nil, err
	}
	return in, nil
}

// ParseRequirements parses requirements-file text; name is used in
// errors and to resolve includes relative to its directory.
func ParseRequirements(name string, data []byte) (*Input, error) {
	in := &Input{Source: name, Kind: KindRequirements}
	p := &reqParser{in: in, seen: map[string]bool{}}
	if abs, err := filepath.Abs(name); err == nil {
		p.seen[abs+"\x00false"] = true
	}
	if err := p.parse(name, data, false, 0); err != nil {
		return nil, err
	}
	return in, nil
}

type reqParser struct {
	in         *Input
	seen       map[string]bool
	primarySet bool
	trusted    []string
}

func (p *reqParser) file(path string, constraint bool, depth int) error {
	abs, err := filepath.Abs(path)
	if err != nil {
		return fmt.Errorf("reading %s: %w", path, err)
	}
	key := fmt.Sprintf("%s\x00%v", abs, constraint)
	if p.seen[key] {
		return nil
	}
	p.seen[key] = true
	f, err := os.Open(path)
	if err != nil {
		return fmt.Errorf("reading requirements: %w", err)
	}
	defer f.Close()
	if fi, err := f.Stat(); err != nil || !fi.Mode().IsRegular() {
		return fmt.Errorf("reading requirements: %s is not a regular file", path)
	}
	var buf bytes.Buffer
	if _, err := buf.ReadFrom(io.LimitReader(f, maxRequirementsFile+1)); err != nil {
		return fmt.Errorf("reading requirements %s: %w", path, err)
	}
	if buf.Len() > maxRequirementsFile {
		return fmt.Errorf("reading requirements %s: larger than %d MiB; is it really a requirements file?", path, maxRequirementsFile>>20)
	}
	return p.parse(path, buf.Bytes(), constraint, depth)
}

// segment is one physical line's share of a logical (continued) line.
type segment struct {
	start int // offset in the logical line
	line  int // 1-based physical line number
}

type logicalLine struct {
	text string
	segs []segment
}

// pos maps an offset in the logical line to physical line and column.
func (l logicalLine) pos(off int) (line, col int) {
	s := l.segs[0]
	for _, t := range l.segs {
		if t.start <= off {
			s = t
		}
	}
	return s.line, off - s.start + 1
}

var (
	commentRE = regexp.MustCompile(`(^|\s+)#.*$`)
	envVarRE  = regexp.MustCompile(`\$\{([A-Z0-9_]+)\}`)
)

// joinLines applies pip's rules: a line ending in "\" continues on the
// next, unless it is a comment.
func joinLines(data []byte) []logicalLine {
	data = bytes.TrimPrefix(data, []byte("\xef\xbb\xbf"))
	text := strings.ReplaceAll(string(data), "\r\n", "\n")
	var out []logicalLine
	var cur *logicalLine
	for i, line := range strings.Split(text, "\n") {
		n := i + 1
		if strings.HasSuffix(line, "\\") && !commentRE.MatchString(line) {
			if cur == nil {
				cur = &logicalLine{}
			}
			cur.segs = append(cur.segs, segment{start: len(cur.text), line: n})
			cur.text += strings.TrimSuffix(line, "\\")
			continue
		}
		if commentRE.MatchString(line) {
			line = " " + line // so the comment is still recognised once joined
		}
		if cur != nil {
			cur.segs = append(cur.segs, segment{start: len(cur.text), line: n})
			cur.text += line
			out = append(out, *cur)
			cur = nil
			continue
		}
		out = append(out, logicalLine{text: line, segs: []segment{{start: 0, line: n}}})
	}
	if cur != nil {
		out = append(out, *cur)
	}
	return out
}

func (p *reqParser) parse(path string, data []byte, constraint bool, depth int) error {
	for _, ll := range joinLines(data) {
		text := commentRE.ReplaceAllString(ll.text, "")
		lead := len(text) - len(strings.TrimLeft(text, " \t"))
		text = strings.TrimSpace(text)
		if text == "" {
			continue
		}
		// Only whole ${VAR} references are expanded, like pip.
		text = envVarRE.ReplaceAllStringFunc(text, func(ref string) string {
			if v, ok := os.LookupEnv(ref[2 : len(ref)-1]); ok {
				return v
			}
			return ref
		})
		errAt := func(off int, format string, args ...any) error {
			line, col := ll.pos(lead + off)
			return &LineError{File: path, Line: line, Column: col, Msg: fmt.Sprintf(format, args...)}
		}
		reqText, optText := breakArgsOptions(text)
		opts, err := splitOptions(optText)
		if err != nil {
			return errAt(len(reqText), "%v", err)
		}
		optOff := len(text) - len(optText)
		if reqText == "" {
			if err := p.lineOptions(path, opts, constraint, depth, func(format string, args ...any) error {
				return errAt(optOff, format, args...)
			}); err != nil {
				return err
			}
			continue
		}
		req, err := pep508.ParseRequirement(reqText)
		if err != nil {
			var se *pep508.SyntaxError
			if errors.As(err, &se) {
				msg := se.Msg
				if looksLikePathOrURL(reqText) {
					msg = fmt.Sprintf("%q is a path or URL; only named requirements (PEP 508, e.g. name==1.0 or name @ URL) are supported", reqText)
					return errAt(0, "%s", msg)
				}
				return errAt(se.Column-1, "%s", msg)
			}
			return errAt(0, "%v", err)
		}
		line, col := ll.pos(lead)
		r := Requirement{Requirement: req, Pos: fmt.Sprintf("%s:%d:%d", path, line, col)}
		for _, o := range opts {
			switch o.name {
			case "--hash":
				h := strings.ToLower(o.value)
				if !strings.Contains(h, ":") {
					return errAt(optOff, "--hash=%s: want ALGORITHM:HEXDIGEST, e.g. --hash=sha256:…", o.value)
				}
				r.Hashes = append(r.Hashes, h)
			case "--config-settings", "--global-option", "--install-option":
				p.in.Warnings = append(p.in.Warnings, fmt.Sprintf("%s:%d: %s ignored: seshat builds nothing", path, line, o.name))
			default:
				return errAt(optOff, "option %s is not allowed after a requirement", o.name)
			}
		}
		if constraint {
			p.in.Constraints = append(p.in.Constraints, r)
		} else {
			p.in.Default = append(p.in.Default, r)
		}
	}
	return nil
}

func looksLikePathOrURL(s string) bool {
	return strings.Contains(s, "/") || strings.HasSuffix(s, ".whl") || strings.HasSuffix(s, ".tar.gz") || strings.HasSuffix(s, ".zip") || s == "."
}

// breakArgsOptions splits at the first space-separated token starting with
// "-", as pip does: the requirement before, its options after.
func breakArgsOptions(line string) (args, opts string) {
	tokens := strings.Split(line, " ")
	for i, t := range tokens {
		if strings.HasPrefix(t, "-") {
			return strings.TrimSpace(strings.Join(tokens[:i], " ")), strings.Join(tokens[i:], " ")
		}
	}
	return line, ""
}

type option struct{ name, value string }

// optionsWithValue maps every spelling pip accepts to the long name, for
// options that take a value.
var optionsWithValue = map[string]string{
	"-r": "--requirement", "--requirement": "--requirement",
	"-c": "--constraint", "--constraint": "--constraint",
	"-i": "--index-url", "--index-url": "--index-url",
	"--extra-index-url": "--extra-index-url",
	"-e":                "--editable", "--editable": "--editable",
	"-f": "--find-links", "--find-links": "--find-links",
	"--trusted-host":    "--trusted-host",
	"--hash":            "--hash",
	"--no-binary":       "--no-binary",
	"--only-binary":     "--only-binary",
	"--use-feature":     "--use-feature",
	"--config-settings": "--config-settings",
	"--global-option":   "--global-option",
	"--install-option":  "--install-option",
}

var flagOptions = map[string]bool{
	"--no-index": true, "--pre": true, "--prefer-binary": true, "--require-hashes": true,
}

// splitOptions reads `--name value`, `--name=value` and `-rFILE` forms.
func splitOptions(s string) ([]option, error) {
	fields := strings.Fields(s)
	var out []option
	for i := 0; i < len(fields); i++ {
		f := fields[i]
		if !strings.HasPrefix(f, "-") {
			return nil, fmt.Errorf("unexpected %q among options", f)
		}
		name, value, hasValue := strings.Cut(f, "=")
		if !strings.HasPrefix(f, "--") && len(f) > 2 {
			name, value, hasValue = f[:2], f[2:], true
		}
		if flagOptions[name] {
			if hasValue {
				return nil, fmt.Errorf("option %s takes no value", name)
			}
			out = append(out, option{name: name})
			continue
		}
		long, ok := optionsWithValue[name]
		if !ok {
			return nil, fmt.Errorf("unknown option %s", name)
		}
		if !hasValue {
			if i+1 >= len(fields) {
				return nil, fmt.Errorf("option %s needs a value", name)
			}
			i++
			value = fields[i]
		}
		out = append(out, option{name: long, value: value})
	}
	return out, nil
}

// lineOptions applies a line that holds only options.
func (p *reqParser) lineOptions(path string, opts []option, constraint bool, depth int, errAt func(string, ...any) error) error {
	for _, o := range opts {
		switch o.name {
		case "--requirement", "--constraint":
			if isURL(o.value) {
				return errAt("%s %s: including a requirements file by URL is not supported; download it first", o.name, o.value)
			}
			if depth >= maxIncludeDepth {
				return errAt("%s %s: includes nested deeper than %d", o.name, o.value, maxIncludeDepth)
			}
			inc := o.value
			if !filepath.IsAbs(inc) {
				inc = filepath.Join(filepath.Dir(path), inc)
			}
			if err := p.file(inc, constraint || o.name == "--constraint", depth+1); err != nil {
				// A problem inside the included file names its own place;
				// one opening it is reported where it was included.
				var le *LineError
				if errors.As(err, &le) {
					return err
				}
				return errAt("%s %s: %v", o.name, o.value, err)
			}
		case "--index-url", "--extra-index-url":
			if !isIndexURL(o.value) {
				return errAt("%s %q: want an http(s) or file URL of a simple index", o.name, o.value)
			}
			idx := Index{URL: o.value, VerifySSL: true}
			if o.name == "--index-url" {
				// pip: the last --index-url wins as the primary index.
				if len(p.in.Indexes) > 0 && p.primarySet {
					p.in.Indexes[0] = idx
				} else {
					p.in.Indexes = append([]Index{idx}, p.in.Indexes...)
				}
				p.primarySet = true
			} else {
				idx.Extra = true
				p.in.Indexes = append(p.in.Indexes, idx)
			}
		case "--trusted-host":
			p.trusted = append(p.trusted, o.value)
		case "--editable":
			return errAt("editable requirement -e %s is not supported: seshat pins packages from indexes; list the package by name, or install your project after the locked dependencies", o.value)
		case "--find-links":
			return errAt("--find-links %s is not supported: serve the files as a simple index and use --extra-index-url", o.value)
		case "--no-index":
			p.in.Warnings = append(p.in.Warnings, fmt.Sprintf("%s: --no-index ignored: seshat needs an index to resolve", path))
		case "--pre":
			p.in.AllowPrereleases = true
		case "--hash":
			return errAt("--hash must follow a requirement on the same line")
		default:
			p.in.Warnings = append(p.in.Warnings, fmt.Sprintf("%s: %s ignored", path, o.name))
		}
	}
	p.applyTrusted()
	return nil
}

func (p *reqParser) applyTrusted() {
	for i, idx := range p.in.Indexes {
		u, err := url.Parse(idx.URL)
		if err != nil {
			continue
		}
		for _, h := range p.trusted {
			if h == u.Host || h == u.Hostname() {
				p.in.Indexes[i].VerifySSL = false
			}
		}
	}
}

func isURL(s string) bool {
	u, err := url.Parse(s)
	return err == nil && (u.Scheme == "http" || u.Scheme == "https") && u.Host != ""
}

// isIndexURL accepts what pip accepts as an index: http(s) with a host,
// or a file: URL of a directory laid out as a simple index.
func isIndexURL(s string) bool {
	u, err := url.Parse(s)
	if err != nil {
		return false
	}
	switch u.Scheme {
	case "http", "https":
		return u.Host != ""
	case "file":
		return u.Path != ""
	}
	return false
}
