package extract

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"path"
	"regexp"
	"sort"
	"strings"
	"sync"

	"github.com/seshat-dev/seshat/abi"
)

// pythonExtractor fills Analysis.Python: the interpreters in the image and
// the environments (site directories, venvs) with what is installed in
// each — all read from files, never by running python.
type pythonExtractor struct {
	mu    sync.Mutex
	elves map[string]*pyBinary     // interpreter binaries and libpython, by path
	metas map[string]*CoreMetadata // METADATA / PKG-INFO headers, by file path
	bad   map[string]string        // metadata files that could not be parsed → why
}

// pyBinary is what streaming an interpreter or libpython taught us.
type pyBinary struct {
	obj      *abi.Object
	versions []string // Python version strings found in the bytes, in order
}

// NewPythonExtractor returns the extractor of the python section.
func NewPythonExtractor() StreamExtractor {
	return &pythonExtractor{elves: map[string]*pyBinary{}, metas: map[string]*CoreMetadata{}, bad: map[string]string{}}
}

func (e *pythonExtractor) Name() string { return "python" }

// Size bounds for the small text files kept.
const (
	maxSysconfig = 4 << 20
	maxSmallPy   = 1 << 20
)

var (
	// python, python3, python3.11, python3.13t, python2.7, pypy, pypy3, pypy3.10
	rePythonName = regexp.MustCompile(`^(?:python(?:[23](?:\.[0-9]{1,2}t?)?)?|pypy(?:[23](?:\.[0-9]{1,2})?)?)$`)
	reLibpython  = regexp.MustCompile(`^lib(?:python[23]\.[0-9]{1,2}t?|pypy[0-9.]*-c)\.so(?:\.[0-9.]+)?$`)
)

func isSiteDir(name string) bool { return name == "site-packages" || name == "dist-packages" }

// Wants keeps the small text files the python section is read from.
func (e *pythonExtractor) Wants(p string, size int64) bool {
	base := path.Base(p)
	switch {
	case base == "pyvenv.cfg":
		return size <= maxSmallPy
	case strings.HasPrefix(base, "_sysconfigdata") && strings.HasSuffix(base, ".py"):
		return size <= maxSysconfig && strings.Contains(p, "/python")
	case base == "patchlevel.h":
		return size <= maxSmallPy && strings.Contains(p, "/include/python")
	case base == "INSTALLER":
		return size <= 4096 && strings.HasSuffix(path.Dir(p), ".dist-info")
	case base == "requires.txt":
		return size <= maxSmallPy && strings.HasSuffix(path.Dir(p), ".egg-info")
	}
	return false
}

// WantsStream asks for interpreter binaries and libpython (ELF facts and
// the version string inside), and for core metadata files in site
// directories (headers only, however long the description after them).
func (e *pythonExtractor) WantsStream(p string, size int64) bool {
	dir, base := path.Split(p)
	dir = strings.TrimSuffix(dir, "/")
	switch {
	case base == "METADATA":
		return strings.HasSuffix(dir, ".dist-info") && isSiteDir(path.Base(path.Dir(dir)))
	case base == "PKG-INFO":
		return strings.HasSuffix(dir, ".egg-info") && isSiteDir(path.Base(path.Dir(dir)))
	case strings.HasSuffix(base, ".egg-info"):
		return isSiteDir(path.Base(dir)) // an egg-info file is PKG-INFO itself
	case rePythonName.MatchString(base):
		return path.Base(dir) == "bin" && size >= 4
	case strings.HasPrefix(base, "lib") && reLibpython.MatchString(base):
		return size >= 4
	}
	return false
}

func (e *pythonExtractor) Stream(p string, size int64, r io.Reader) error {
	base := path.Base(p)
	if base == "METADATA" || base == "PKG-INFO" || strings.HasSuffix(base, ".egg-info") {
		md, err := ParseCoreMetadata(r)
		e.mu.Lock()
		defer e.mu.Unlock()
		if err != nil {
			e.bad[p] = err.Error()
			return nil
		}
		e.metas[p] = &md
		return nil
	}
	scan := &pyVersionScanner{}
	tee := io.TeeReader(r, scan)
	obj, err := abi.ReadELF(tee, size)
	if errors.Is(err, abi.ErrNotELF) {
		return nil // a wrapper script (pyenv shim, …): not an interpreter
	}
	if err != nil {
		return fmt.Errorf("reading interpreter ELF: %w", err)
	}
	if _, err := io.Copy(io.Discard, tee); err != nil {
		return fmt.Errorf("reading interpreter: %w", err)
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	e.elves[p] = &pyBinary{obj: obj, versions: scan.found}
	return nil
}

// pyVersionScanner collects PY_VERSION-like strings ("3.11.2", "3.13.0rc1")
// that end a NUL-terminated string in a binary's read-only data. Linkers
// merge string tails, so the literal "3.12.1" may survive only as the end
// of "/opt/python/3.12.1": any non-digit may precede it.
type pyVersionScanner struct {
	tail  []byte
	found []string
}

func (s *pyVersionScanner) Write(p []byte) (int, error) {
	if len(s.found) >= 16 {
		return len(p), nil
	}
	const keep = 24
	buf := append(s.tail, p...)
	// Scan dots with IndexByte (fast) and check the text around each by
	// hand: a regexp over every byte of a 30 MiB libpython is too slow.
	for i := 0; ; {
		j := bytes.IndexByte(buf[i:], '.')
		if j < 0 {
			break
		}
		i += j
		if v, ok := versionAt(buf, i); ok && !containsString(s.found, v) && len(s.found) < 16 {
			s.found = append(s.found, v)
		}
		i++
	}
	if len(buf) > keep {
		buf = buf[len(buf)-keep:]
	}
	s.tail = append(s.tail[:0], buf...)
	return len(p), nil
}

// versionAt reports the version X.Y.Z[(a|b|rc)N][+] whose first dot is at
// buf[dot], preceded by a non-digit and followed by NUL; X is 2 or 3.
func versionAt(buf []byte, dot int) (string, bool) {
	if dot < 2 || (buf[dot-1] != '2' && buf[dot-1] != '3') {
		return "", false
	}
	if c := buf[dot-2]; (c >= '0' && c <= '9') || c == '.' {
		return "", false
	}
	digits := func(i int) int { // index after 1–2 digits at i, or -1
		n := 0
		for i+n < len(buf) && n < 3 && buf[i+n] >= '0' && buf[i+n] <= '9' {
			n++
		}
		if n == 0 || n > 2 {
			return -1
		}
		return i + n
	}
	i := digits(dot + 1)
	if i < 0 || i >= len(buf) || buf[i] != '.' {
		return "", false
	}
	if i = digits(i + 1); i < 0 || i >= len(buf) {
		return "", false
	}
	for _, pre := range []string{"rc", "a", "b"} {
		if bytes.HasPrefix(buf[i:], []byte(pre)) {
			if k := digits(i + len(pre)); k > 0 {
				i = k
			}
			break
		}
	}
	if i < len(buf) && buf[i] == '+' {
		i++
	}
	if i >= len(buf) || buf[i] != 0 {
		return "", false
	}
	return string(buf[dot-1 : i]), true
}

func containsString(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

func (e *pythonExtractor) Extract(ctx context.Context, ix *FileIndex, a *Analysis) error {
	e.mu.Lock()
	defer e.mu.Unlock()
	warn := func(p, format string, args ...any) {
		a.Warnings = append(a.Warnings, Warning{Path: p, Message: fmt.Sprintf(format, args...)})
	}
	interps := e.interpreters(ix, warn)
	envs := e.environments(ix, interps, warn)
	if len(interps) == 0 && len(envs) == 0 {
		return nil
	}
	py := &Python{Interpreters: []Interpreter{}, Environments: envs}
	for _, in := range interps {
		py.Interpreters = append(py.Interpreters, in.Interpreter)
	}
	a.Python = py
	return nil
}

// pyInterp is an Interpreter with what environments need to match it.
type pyInterp struct {
	Interpreter
	minor string // "3.11", from the file name, sysconfig or version
}

// interpreters finds python binaries and links in bin directories and
// groups the links by the binary they resolve to.
func (e *pythonExtractor) interpreters(ix *FileIndex, warn func(p, format string, args ...any)) []*pyInterp {
	byReal := map[string]*pyInterp{}
	var order []string
	for _, p := range ix.Paths() {
		dir, base := path.Split(p)
		if !rePythonName.MatchString(base) || path.Base(strings.TrimSuffix(dir, "/")) != "bin" {
			continue
		}
		m, _ := ix.Lookup(p)
		if m == nil || (m.Type != TypeRegular && m.Type != TypeSymlink && m.Type != TypeHardlink) {
			continue
		}
		real, err := ix.Resolve(p)
		if err != nil {
			warn(p, "interpreter link not followed: %v", err)
			continue
		}
		if _, ok := ix.Lookup(real); !ok {
			if m.Type == TypeSymlink {
				warn(p, "interpreter link points to %s, which is not in the image", real)
			}
			continue
		}
		bin, ok := e.elves[real]
		if !ok || bin.obj == nil {
			continue // not ELF (a script), or not a python binary by name
		}
		in, ok := byReal[real]
		if !ok {
			in = e.describe(ix, real, bin, warn)
			byReal[real] = in
			order = append(order, real)
		}
		if p != real {
			in.Links = append(in.Links, p)
		}
	}
	out := make([]*pyInterp, 0, len(order))
	for _, r := range order {
		out = append(out, byReal[r])
	}
	return out
}

var (
	reNameVersion      = regexp.MustCompile(`^(?:python|pypy)([23](?:\.[0-9]{1,2})?)(t?)$`)
	reLibpythonVersion = regexp.MustCompile(`^libpython([23]\.[0-9]{1,2})(t?)\.so`)
)

// describe reads what is known of the interpreter binary at real.
func (e *pythonExtractor) describe(ix *FileIndex, real string, bin *pyBinary, warn func(p, format string, args ...any)) *pyInterp {
	in := &pyInterp{Interpreter: Interpreter{Path: real, Links: []string{}, Implementation: "cpython"}}
	base := path.Base(real)
	var libpython string
	for _, n := range bin.obj.Needed {
		if strings.HasPrefix(n, "libpypy") {
			in.Implementation = "pypy"
		}
		if reLibpython.MatchString(n) {
			libpython = n
		}
	}
	if strings.HasPrefix(base, "pypy") {
		in.Implementation = "pypy"
	}
	nameMinor, freeThreaded := "", false
	if m := reNameVersion.FindStringSubmatch(base); m != nil && strings.Contains(m[1], ".") {
		nameMinor, freeThreaded = m[1], m[2] == "t"
	}
	if nameMinor == "" && libpython != "" {
		// libpython3.11.so.1.0 names the version the binary is built for.
		if m := reLibpythonVersion.FindStringSubmatch(libpython); m != nil {
			nameMinor, freeThreaded = m[1], m[2] == "t"
		}
	}
	derivedPrefix := path.Dir(path.Dir(real))

	sc := findSysconfig(ix, derivedPrefix, nameMinor, freeThreaded, warn)
	if sc != nil {
		in.SOABI, in.ABIFlags, in.Prefix = sc.vars["SOABI"], sc.vars["ABIFLAGS"], sc.vars["prefix"]
		if nameMinor == "" {
			nameMinor = sc.vars["VERSION"]
		}
	}
	in.minor = nameMinor
	if in.Prefix == "" && nameMinor != "" {
		// CPython's own rule for sys.prefix: the directory above bin/ that
		// holds lib/pythonX.Y/os.py.
		if m, err := ix.Stat(derivedPrefix + "/lib/python" + nameMinor + "/os.py"); err == nil && m.Type == TypeRegular {
			in.Prefix = derivedPrefix
		}
	}

	// Version: the header the interpreter was built with, then the
	// version string inside the binary (or its libpython), then the
	// major.minor that sysconfig or the file name gives.
	prefix := in.Prefix
	if prefix == "" {
		prefix = derivedPrefix
	}
	if v := patchlevelVersion(ix, prefix, nameMinor); v != "" {
		in.Version = v
	}
	if in.Version == "" {
		in.Version = pickVersion(bin.versions, nameMinor)
	}
	if in.Version == "" && libpython != "" {
		for p, lb := range e.elves {
			if path.Base(p) == libpython || (lb.obj != nil && lb.obj.Soname == libpython) {
				if v := pickVersion(lb.versions, nameMinor); v != "" && (in.Version == "" || strings.HasPrefix(p, prefix+"/")) {
					in.Version = v
				}
			}
		}
	}
	if in.Version == "" && in.Implementation == "cpython" {
		in.Version = nameMinor
	}
	if in.Version != "" && in.minor == "" {
		in.minor = majorMinorOf(in.Version)
	}
	return in
}

// pickVersion returns the first found version of the wanted major.minor
// (any, when minor is unknown and only one was found).
func pickVersion(found []string, minor string) string {
	for _, v := range found {
		if minor != "" && majorMinorOf(v) == minor {
			return v
		}
	}
	if minor == "" && len(found) == 1 {
		return found[0]
	}
	return ""
}

func majorMinorOf(v string) string {
	parts := strings.SplitN(v, ".", 3)
	if len(parts) < 2 {
		return v
	}
	minor := parts[1]
	if i := strings.IndexFunc(minor, func(r rune) bool { return r < '0' || r > '9' }); i >= 0 {
		minor = minor[:i]
	}
	return parts[0] + "." + minor
}

var rePatchlevel = regexp.MustCompile(`(?m)^\s*#\s*define\s+PY_VERSION\s+"([^"]+)"`)

// patchlevelVersion reads PY_VERSION from prefix/include/pythonX.Y*/patchlevel.h
// (installed with the -dev / -devel package).
func patchlevelVersion(ix *FileIndex, prefix, minor string) string {
	if minor == "" {
		return ""
	}
	for _, p := range ix.Glob(prefix + "/include/python" + minor + "*/patchlevel.h") {
		b, err := ix.ReadFile(p)
		if err != nil {
			continue
		}
		if m := rePatchlevel.FindSubmatch(b); m != nil && majorMinorOf(string(m[1])) == minor {
			return strings.TrimSuffix(string(m[1]), "+")
		}
	}
	return ""
}

// sysconfig is the part of a _sysconfigdata_*.py build_time_vars dict we read.
type sysconfig struct {
	path string
	vars map[string]string
}

// findSysconfig picks the _sysconfigdata file of the interpreter under
// prefix: prefix/lib{,64}/pythonX.Y[t]/_sysconfigdata_*.py, the one whose
// ABIFLAGS match the binary (free-threaded or not) first.
func findSysconfig(ix *FileIndex, prefix, minor string, freeThreaded bool, warn func(p, format string, args ...any)) *sysconfig {
	vers := []string{minor}
	switch {
	case minor == "":
		vers = []string{"[23].*"}
	case freeThreaded:
		// A free-threaded build has its own lib/python3.13t.
		vers = []string{minor + "t", minor}
	}
	var cands []string
	for _, ver := range vers {
		for _, lib := range []string{"lib", "lib64"} {
			cands = append(cands, ix.Glob(prefix+"/"+lib+"/python"+ver+"/_sysconfigdata*.py")...)
			cands = append(cands, ix.Glob(prefix+"/"+lib+"/pypy"+ver+"/_sysconfigdata*.py")...)
		}
	}
	var fallback *sysconfig
	for _, p := range cands {
		b, err := ix.ReadFile(p)
		if err != nil {
			warn(p, "reading sysconfig data: %v", err)
			continue
		}
		vars := parseSysconfigVars(b, "SOABI", "ABIFLAGS", "VERSION", "prefix")
		if len(vars) == 0 {
			warn(p, "no build_time_vars entries (SOABI, ABIFLAGS, VERSION, prefix) found; file of an unexpected shape, ignored")
			continue
		}
		sc := &sysconfig{path: p, vars: vars}
		if strings.Contains(vars["ABIFLAGS"], "t") == freeThreaded {
			return sc
		}
		if fallback == nil {
			fallback = sc
		}
	}
	return fallback
}

// parseSysconfigVars reads string values of the given keys from the text
// of a _sysconfigdata module — a dict literal written by pprint — without
// executing it: only lines of the form  'KEY': 'value',  count, and a
// value split over several adjacent string literals is joined.
func parseSysconfigVars(b []byte, keys ...string) map[string]string {
	want := map[string]bool{}
	for _, k := range keys {
		want[k] = true
	}
	out := map[string]string{}
	lines := strings.Split(string(b), "\n")
	for i := 0; i < len(lines); i++ {
		line := strings.TrimSpace(lines[i])
		line = strings.TrimPrefix(line, "build_time_vars = {")
		key, rest, ok := cutQuoted(line)
		if !ok || !want[key] {
			continue
		}
		rest = strings.TrimSpace(rest)
		if !strings.HasPrefix(rest, ":") {
			continue
		}
		rest = strings.TrimSpace(rest[1:])
		var val strings.Builder
		for {
			s, after, ok := cutQuoted(rest)
			if !ok {
				break
			}
			val.WriteString(s)
			after = strings.TrimSpace(after)
			if after != "" || i+1 >= len(lines) {
				break
			}
			// pprint continues a long string on the next line.
			next := strings.TrimSpace(lines[i+1])
			if !strings.HasPrefix(next, "'") && !strings.HasPrefix(next, `"`) {
				break
			}
			if _, _, isKey := cutQuotedKey(next); isKey {
				break
			}
			i++
			rest = next
		}
		if _, dup := out[key]; !dup && (val.Len() > 0 || strings.HasPrefix(rest, "'") || strings.HasPrefix(rest, `"`)) {
			out[key] = val.String()
		}
	}
	return out
}

// cutQuotedKey reports whether s starts with a quoted string followed by ':'.
func cutQuotedKey(s string) (string, string, bool) {
	k, rest, ok := cutQuoted(s)
	if !ok || !strings.HasPrefix(strings.TrimSpace(rest), ":") {
		return "", "", false
	}
	return k, rest, true
}

// cutQuoted reads one Python string literal ('…' or "…", with backslash
// escapes of the quote and backslash) from the start of s.
func cutQuoted(s string) (string, string, bool) {
	if s == "" || (s[0] != '\'' && s[0] != '"') {
		return "", s, false
	}
	q := s[0]
	var b strings.Builder
	for i := 1; i < len(s); i++ {
		c := s[i]
		switch {
		case c == '\\' && i+1 < len(s):
			i++
			switch s[i] {
			case 'n':
				b.WriteByte('\n')
			case 't':
				b.WriteByte('\t')
			default:
				b.WriteByte(s[i])
			}
		case c == q:
			return b.String(), s[i+1:], true
		default:
			b.WriteByte(c)
		}
	}
	return "", s, false
}

// environments lists every site directory, with venv roots standing for
// the site-packages inside them, and the distributions installed in each.
func (e *pythonExtractor) environments(ix *FileIndex, interps []*pyInterp, warn func(p, format string, args ...any)) []Environment {
	var venvs []string
	var sites []string
	for _, p := range ix.Paths() {
		base := path.Base(p)
		if base == "pyvenv.cfg" {
			if m, _ := ix.Lookup(p); m != nil && m.Type == TypeRegular {
				venvs = append(venvs, path.Dir(p))
			}
			continue
		}
		if isSiteDir(base) {
			if m, _ := ix.Lookup(p); m != nil && m.Type == TypeDir {
				sites = append(sites, p)
			}
		}
	}
	// Distributions by site directory.
	dists := map[string][]Distribution{}
	var metaPaths []string
	for p := range e.metas {
		metaPaths = append(metaPaths, p)
	}
	sort.Strings(metaPaths)
	for _, p := range metaPaths {
		md := e.metas[p]
		site, d, ok := distributionAt(ix, p, md)
		if !ok {
			warn(p, "distribution metadata has no Name or Version; skipped")
			continue
		}
		if md.Truncated {
			warn(p, "metadata headers longer than %d bytes; read the first part only", maxMetadataHeader)
		}
		dists[site] = append(dists[site], d)
	}
	var badPaths []string
	for p := range e.bad {
		badPaths = append(badPaths, p)
	}
	sort.Strings(badPaths)
	for _, p := range badPaths {
		warn(p, "unreadable distribution metadata: %s", e.bad[p])
	}

	interpAt := func(p string) *pyInterp {
		real, err := ix.Resolve(p)
		if err != nil {
			return nil
		}
		for _, in := range interps {
			if in.Path == real {
				return in
			}
		}
		return nil
	}
	byPath := map[string]*Environment{}
	var envOrder []string
	envFor := func(p string) *Environment {
		if env, ok := byPath[p]; ok {
			return env
		}
		env := &Environment{Path: p, Distributions: []Distribution{}}
		byPath[p] = env
		envOrder = append(envOrder, p)
		return env
	}
	for _, v := range venvs {
		env := envFor(v)
		env.Interpreter = venvInterpreter(ix, v, interps, interpAt, warn)
	}
	for _, s := range sites {
		var env *Environment
		for _, v := range venvs {
			if strings.HasPrefix(s, v+"/lib") {
				env = byPath[v]
				break
			}
		}
		if env == nil {
			env = envFor(s)
			env.Interpreter = siteInterpreter(s, interps, interpAt)
		}
		env.Distributions = append(env.Distributions, dists[s]...)
	}
	out := make([]Environment, 0, len(envOrder))
	sort.Strings(envOrder)
	for _, p := range envOrder {
		env := byPath[p]
		sort.SliceStable(env.Distributions, func(i, j int) bool {
			a, b := env.Distributions[i], env.Distributions[j]
			if x, y := strings.ToLower(a.Name), strings.ToLower(b.Name); x != y {
				return x < y
			}
			return a.Location < b.Location
		})
		out = append(out, *env)
	}
	return out
}

// distributionAt builds the Distribution recorded in the metadata file p.
func distributionAt(ix *FileIndex, p string, md *CoreMetadata) (string, Distribution, bool) {
	if md.Name == "" || md.Version == "" {
		return "", Distribution{}, false
	}
	info := path.Dir(p) // the .dist-info / .egg-info directory
	site := path.Dir(info)
	if strings.HasSuffix(p, ".egg-info") {
		info, site = p, path.Dir(p)
	}
	d := Distribution{Name: md.Name, Version: md.Version, Requires: md.RequiresDist, Location: site}
	if strings.HasSuffix(info, ".dist-info") {
		if b, err := ix.ReadFile(info + "/INSTALLER"); err == nil {
			d.Installer = strings.TrimSpace(strings.SplitN(strings.ToValidUTF8(string(b), "\uFFFD"), "\n", 2)[0])
		}
	} else if len(d.Requires) == 0 {
		if b, err := ix.ReadFile(info + "/requires.txt"); err == nil {
			d.Requires = eggRequires(b)
		}
	}
	if d.Requires == nil {
		d.Requires = []string{}
	}
	return site, d, true
}

// venvInterpreter ties a venv to its interpreter: the venv's own
// bin/python when it resolves to a known interpreter, else what pyvenv.cfg
// says (executable, or home + version).
func venvInterpreter(ix *FileIndex, root string, interps []*pyInterp, interpAt func(string) *pyInterp, warn func(p, format string, args ...any)) string {
	for _, name := range []string{"python", "python3"} {
		if in := interpAt(root + "/bin/" + name); in != nil {
			return in.Path
		}
	}
	cfgPath := root + "/pyvenv.cfg"
	b, err := ix.ReadFile(cfgPath)
	if err != nil {
		warn(cfgPath, "reading venv configuration: %v", err)
		return ""
	}
	cfg := map[string]string{}
	for _, line := range strings.Split(string(b), "\n") {
		if k, v, ok := strings.Cut(line, "="); ok {
			cfg[strings.ToLower(strings.TrimSpace(k))] = strings.TrimSpace(v)
		}
	}
	if exe := cfg["executable"]; exe != "" {
		if in := interpAt(exe); in != nil {
			return in.Path
		}
	}
	ver := cfg["version"]
	if ver == "" {
		ver = cfg["version_info"]
	}
	if home := cfg["home"]; home != "" && ver != "" {
		minor := majorMinorOf(ver)
		if in := interpAt(path.Join(home, "python"+minor)); in != nil {
			return in.Path
		}
		for _, in := range interps {
			if in.minor == minor && (path.Dir(in.Path) == CleanPath(home) || containsDir(in.Links, CleanPath(home))) {
				return in.Path
			}
		}
	}
	return ""
}

func containsDir(links []string, dir string) bool {
	for _, l := range links {
		if path.Dir(l) == dir {
			return true
		}
	}
	return false
}

var reSiteDir = regexp.MustCompile(`^(.*)/lib(?:64)?/(?:python|pypy)([23](?:\.[0-9]{1,2})?)(t?)/(?:site|dist)-packages$`)

// siteInterpreter names the interpreter that uses site directory s:
// the one installed under the same prefix for that version, else (as
// Debian's /usr/local/lib/python3.X/dist-packages) any of that version;
// for /usr/lib/python3/dist-packages, the prefix's python3.
func siteInterpreter(s string, interps []*pyInterp, interpAt func(string) *pyInterp) string {
	m := reSiteDir.FindStringSubmatch(s)
	if m == nil {
		return ""
	}
	prefix, ver := m[1], m[2]
	if !strings.Contains(ver, ".") {
		if in := interpAt(prefix + "/bin/python" + ver); in != nil {
			return in.Path
		}
		for _, in := range interps {
			if in.Prefix == prefix && strings.HasPrefix(in.minor, ver+".") {
				return in.Path
			}
		}
		return ""
	}
	for _, in := range interps {
		if in.minor == ver && (in.Prefix == prefix || path.Dir(path.Dir(in.Path)) == prefix) {
			return in.Path
		}
	}
	for _, in := range interps {
		if in.minor == ver {
			return in.Path
		}
	}
	return ""
}
