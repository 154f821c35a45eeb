package abi

import (
	"io"
	"regexp"
	"sort"
	"strconv"
	"strings"
)

// GlibcVersion returns the glibc release a libc.so.6 object belongs to:
// the highest GLIBC_2.x it defines (glibc adds one for every release that
// adds a symbol, and always one for the release itself since 2.x). It is
// "" when the object defines none.
func GlibcVersion(o *Object) string {
	best := ""
	for _, d := range o.VersionDefinitions {
		v, ok := strings.CutPrefix(d, "GLIBC_")
		if !ok || !strings.HasPrefix(v, "2.") {
			continue
		}
		if _, err := strconv.Atoi(strings.ReplaceAll(v, ".", "")); err != nil {
			continue
		}
		if best == "" || compareVersions(v, best) > 0 {
			best = v
		}
	}
	return best
}

// MuslLoaderArch returns ARCH for a musl dynamic loader file name
// (ld-musl-ARCH.so.1), converted to wheel-tag spelling where they differ.
func MuslLoaderArch(name string) (string, bool) {
	rest, ok := strings.CutPrefix(name, "ld-musl-")
	if !ok {
		return "", false
	}
	arch, ok := strings.CutSuffix(rest, ".so.1")
	if !ok || arch == "" {
		return "", false
	}
	switch arch {
	case "armhf":
		arch = "armv7l"
	case "powerpc64le":
		arch = "ppc64le"
	case "powerpc64":
		arch = "ppc64"
	}
	return arch, true
}

// musl keeps its version as a bare NUL-terminated string (what `ldd`
// prints as "Version 1.2.3"); it has no symbol versions to read.
var muslVersionRE = regexp.MustCompile(`\x00(1\.[0-9]{1,2}\.[0-9]{1,3}(?:_git[0-9]{8})?)\x00`)

// MuslScanner finds the version string in a musl libc as its bytes stream
// past; it is an io.Writer so that it can sit behind an io.TeeReader.
type MuslScanner struct {
	tail    []byte
	version string
}

// Write scans p, carrying a short tail across calls so that a version
// split between two writes is still seen.
func (m *MuslScanner) Write(p []byte) (int, error) {
	if m.version != "" {
		return len(p), nil
	}
	const keep = 32
	buf := append(m.tail, p...)
	if s := muslVersionRE.FindSubmatch(buf); s != nil {
		m.version = string(s[1])
		m.tail = nil
		return len(p), nil
	}
	if len(buf) > keep {
		buf = buf[len(buf)-keep:]
	}
	m.tail = append(m.tail[:0], buf...)
	return len(p), nil
}

// Version is the first musl version found, or "".
func (m *MuslScanner) Version() string { return m.version }

// MuslVersion scans a musl libc stream for its version.
func MuslVersion(r io.Reader) (string, error) {
	var m MuslScanner
	buf := make([]byte, 64<<10)
	for {
		n, err := r.Read(buf)
		m.Write(buf[:n])
		if m.version != "" {
			return m.version, nil
		}
		if err == io.EOF {
			return "", nil
		}
		if err != nil {
			return "", err
		}
	}
}

// Symbols groups version definitions by family — the name before its
// version number: GLIBC_2.2.5 → GLIBC, GLIBCXX_3.4.30 → GLIBCXX,
// CXXABI_TM_1 → CXXABI_TM, OPENSSL_1_1_0 → OPENSSL — each list sorted by
// version number and deduplicated. Names without a number (GLIBC_PRIVATE,
// GLIBC_ABI_DT_RELR) go to the family before their first underscore,
// after the numbered ones.
func Symbols(defs ...[]string) map[string][]string {
	seen := map[string]bool{}
	out := map[string][]string{}
	for _, ds := range defs {
		for _, d := range ds {
			if d == "" || seen[d] {
				continue
			}
			seen[d] = true
			fam, _ := splitVersionName(d)
			out[fam] = append(out[fam], d)
		}
	}
	for fam, names := range out {
		sort.Slice(names, func(i, j int) bool {
			_, vi := splitVersionName(names[i])
			_, vj := splitVersionName(names[j])
			if c := compareVersions(vi, vj); c != 0 {
				return c < 0
			}
			return names[i] < names[j]
		})
		out[fam] = names
	}
	return out
}

// splitVersionName splits GLIBC_2.2.5 into ("GLIBC", "2.2.5"); the
// version is "" when the name has none.
func splitVersionName(name string) (family, version string) {
	for i := 0; i+1 < len(name); i++ {
		if name[i] == '_' && name[i+1] >= '0' && name[i+1] <= '9' && i > 0 {
			return name[:i], name[i+1:]
		}
	}
	if i := strings.IndexByte(name, '_'); i > 0 {
		return name[:i], ""
	}
	return name, ""
}

// compareVersions compares dotted (or underscored) numeric versions;
// a missing or non-numeric version sorts after every numbered one.
func compareVersions(a, b string) int {
	if a == "" || b == "" {
		switch {
		case a == b:
			return 0
		case a == "":
			return 1
		default:
			return -1
		}
	}
	split := func(s string) []string {
		return strings.FieldsFunc(s, func(r rune) bool { return r == '.' || r == '_' })
	}
	pa, pb := split(a), split(b)
	for i := 0; i < len(pa) || i < len(pb); i++ {
		if i >= len(pa) {
			return -1
		}
		if i >= len(pb) {
			return 1
		}
		na, ea := strconv.Atoi(pa[i])
		nb, eb := strconv.Atoi(pb[i])
		switch {
		case ea == nil && eb == nil:
			if na != nb {
				if na < nb {
					return -1
				}
				return 1
			}
		case ea == nil:
			return -1
		case eb == nil:
			return 1
		default:
			if c := strings.Compare(pa[i], pb[i]); c != 0 {
				return c
			}
		}
	}
	return 0
}
