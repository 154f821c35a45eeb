// Package pep440 parses, normalizes and orders Python package versions and
// matches them against version specifiers, following PEP 440 as the
// "packaging" library implements it.
//
// It knows nothing about indexes or requirements; advise/pep508 builds
// requirements and markers on top of it.
package pep440

import (
	"errors"
	"fmt"
	"regexp"
	"strconv"
	"strings"
)

// Version is a parsed PEP 440 version. The zero Version is "0".
type Version struct {
	epoch   uint64
	release []uint64
	preKind string // "", "a", "b" or "rc"
	pre     uint64
	hasPost bool
	post    uint64
	hasDev  bool
	dev     uint64
	local   []localPart
}

// localPart is one dot-separated piece of a local version label; numeric
// pieces order after (and compare numerically with) alphanumeric ones.
type localPart struct {
	str   string
	num   uint64
	isNum bool
}

// versionRE is PEP 440's permissive parsing regex (Appendix B), anchored.
var versionRE = regexp.MustCompile(`(?i)^\s*v?` +
	`(?:(?P<epoch>[0-9]+)!)?` +
	`(?P<release>[0-9]+(?:\.[0-9]+)*)` +
	`(?P<pre>[-_.]?(?P<pre_l>alpha|a|beta|b|preview|pre|c|rc)[-_.]?(?P<pre_n>[0-9]+)?)?` +
	`(?P<post>(?:-(?P<post_n1>[0-9]+))|(?:[-_.]?(?P<post_l>post|rev|r)[-_.]?(?P<post_n2>[0-9]+)?))?` +
	`(?P<dev>[-_.]?(?P<dev_l>dev)[-_.]?(?P<dev_n>[0-9]+)?)?` +
	`(?:\+(?P<local>[a-z0-9]+(?:[-_.][a-z0-9]+)*))?` +
	`\s*$`)

var reGroup = func() map[string]int {
	m := map[string]int{}
	for i, n := range versionRE.SubexpNames() {
		if n != "" {
			m[n] = i
		}
	}
	return m
}()

// maxVersionLen bounds the input so hostile metadata cannot make parsing costly.
const maxVersionLen = 1024

// ErrInvalid is wrapped by every parse error of this package.
var ErrInvalid = errors.New("not valid under PEP 440")

// Parse parses and normalizes s: case, separators, a leading "v",
// spelling variants ("alpha", "preview", "rev", "1.0-1") and leading zeros.
func Parse(s string) (Version, error) {
	if len(s) > maxVersionLen {
		return Version{}, fmt.Errorf("version of %d bytes is %w: too long", len(s), ErrInvalid)
	}
	if v, ok := parseCanonical(s); ok {
		return v, nil
	}
	return parseSlow(s)
}

// parseSlow applies the full permissive grammar.
func parseSlow(s string) (Version, error) {
	m := versionRE.FindStringSubmatch(s)
	if m == nil {
		return Version{}, fmt.Errorf("version %q is %w", s, ErrInvalid)
	}
	g := func(name string) string { return m[reGroup[name]] }
	var v Version
	var err error
	num := func(d string) uint64 {
		if d == "" || err != nil {
			return 0
		}
		n, e := strconv.ParseUint(d, 10, 64)
		if e != nil {
			err = fmt.Errorf("version %q is %w: number %s is too large", s, ErrInvalid, d)
		}
		return n
	}
	v.epoch = num(g("epoch"))
	for _, p := range strings.Split(g("release"), ".") {
		v.release = append(v.release, num(p))
	}
	if g("pre") != "" {
		switch strings.ToLower(g("pre_l")) {
		case "a", "alpha":
			v.preKind = "a"
		case "b", "beta":
			v.preKind = "b"
		default: // c, rc, pre, preview
			v.preKind = "rc"
		}
		v.pre = num(g("pre_n"))
	}
	if g("post") != "" {
		v.hasPost = true
		v.post = num(g("post_n1") + g("post_n2"))
	}
	if g("dev") != "" {
		v.hasDev = true
		v.dev = num(g("dev_n"))
	}
	if l := g("local"); l != "" {
		for _, p := range strings.FieldsFunc(strings.ToLower(l), func(r rune) bool { return r == '.' || r == '-' || r == '_' }) {
			if isDigits(p) {
				v.local = append(v.local, localPart{num: num(p), isNum: true})
			} else {
				v.local = append(v.local, localPart{str: p})
			}
		}
	}
	if err != nil {
		return Version{}, err
	}
	return v, nil
}

// parseCanonical reads versions already in normalized form — nearly all
// versions an index lists — without the regular expression, which is ten
// times slower. Anything else is left to parseSlow.
func parseCanonical(s string) (Version, bool) {
	var v Version
	i := 0
	num := func() (uint64, bool) {
		start := i
		var n uint64
		for i < len(s) && s[i] >= '0' && s[i] <= '9' {
			d := uint64(s[i] - '0')
			if n > (1<<64-1-d)/10 {
				return 0, false
			}
			n = n*10 + d
			i++
		}
		// A leading zero is not canonical ("01"); let parseSlow normalize it.
		if i == start || (s[start] == '0' && i-start > 1) {
			return 0, false
		}
		return n, true
	}
	n, ok := num()
	if !ok {
		return v, false
	}
	if i < len(s) && s[i] == '!' {
		if n == 0 {
			return v, false // "0!" is not canonical
		}
		i++
		v.epoch = n
		if n, ok = num(); !ok {
			return v, false
		}
	}
	v.release = make([]uint64, 1, 4)
	v.release[0] = n
	for i+1 < len(s) && s[i] == '.' && s[i+1] >= '0' && s[i+1] <= '9' {
		i++
		if n, ok = num(); !ok {
			return v, false
		}
		v.release = append(v.release, n)
	}
	for _, kind := range []string{"a", "b", "rc"} {
		if strings.HasPrefix(s[i:], kind) {
			i += len(kind)
			v.preKind = kind
			if v.pre, ok = num(); !ok {
				return v, false
			}
			break
		}
	}
	if strings.HasPrefix(s[i:], ".post") {
		i += len(".post")
		v.hasPost = true
		if v.post, ok = num(); !ok {
			return v, false
		}
	}
	if strings.HasPrefix(s[i:], ".dev") {
		i += len(".dev")
		v.hasDev = true
		if v.dev, ok = num(); !ok {
			return v, false
		}
	}
	if i < len(s) && s[i] == '+' {
		return v, false // local labels are rare; parseSlow handles them
	}
	return v, i == len(s)
}

// MustParse is Parse for versions known to be valid; it panics otherwise.
func MustParse(s string) Version {
	v, err := Parse(s)
	if err != nil {
		panic(err)
	}
	return v
}

func isDigits(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

// String is the normalized form, e.g. "1!2.0rc1.post2.dev3+ubuntu.1".
func (v Version) String() string {
	var b strings.Builder
	if v.epoch != 0 {
		b.WriteString(strconv.FormatUint(v.epoch, 10))
		b.WriteByte('!')
	}
	b.WriteString(v.releaseString())
	if v.preKind != "" {
		b.WriteString(v.preKind)
		b.WriteString(strconv.FormatUint(v.pre, 10))
	}
	if v.hasPost {
		b.WriteString(".post")
		b.WriteString(strconv.FormatUint(v.post, 10))
	}
	if v.hasDev {
		b.WriteString(".dev")
		b.WriteString(strconv.FormatUint(v.dev, 10))
	}
	if len(v.local) > 0 {
		b.WriteByte('+')
		b.WriteString(v.Local())
	}
	return b.String()
}

func (v Version) releaseString() string {
	if len(v.release) == 0 {
		return "0"
	}
	parts := make([]string, len(v.release))
	for i, n := range v.release {
		parts[i] = strconv.FormatUint(n, 10)
	}
	return strings.Join(parts, ".")
}

// Epoch is the epoch, 0 when none was given.
func (v Version) Epoch() uint64 { return v.epoch }

// Release is a copy of the release segment, e.g. [1 2 0] for "1.2.0".
func (v Version) Release() []uint64 {
	if len(v.release) == 0 {
		return []uint64{0}
	}
	return append([]uint64(nil), v.release...)
}

// IsPrerelease reports a pre-release or development release (PEP 440
// treats both as pre-releases when filtering).
func (v Version) IsPrerelease() bool { return v.preKind != "" || v.hasDev }

// IsPostrelease reports a post-release.
func (v Version) IsPostrelease() bool { return v.hasPost }

// IsDevrelease reports a development release.
func (v Version) IsDevrelease() bool { return v.hasDev }

// Local is the normalized local version label without "+", or "".
func (v Version) Local() string {
	parts := make([]string, len(v.local))
	for i, p := range v.local {
		if p.isNum {
			parts[i] = strconv.FormatUint(p.num, 10)
		} else {
			parts[i] = p.str
		}
	}
	return strings.Join(parts, ".")
}

// Public is v without its local version label.
func (v Version) Public() Version {
	v.local = nil
	return v
}

// BaseVersion is the epoch and release segment only: "1!2.0" for "1!2.0rc1.post2+x".
func (v Version) BaseVersion() Version {
	return Version{epoch: v.epoch, release: v.release}
}

// Equal reports whether v and w are the same version ("1.0" equals "1.0.0").
func (v Version) Equal(w Version) bool { return Compare(v, w) == 0 }

// Less reports v < w.
func (v Version) Less(w Version) bool { return Compare(v, w) < 0 }

// Compare orders versions as PEP 440 does: -1 if a < b, 0 if equal, +1 if a > b.
// Trailing zeros of the release do not matter; within a release,
// dev < pre (a < b < rc) < final < post, and a local label sorts after
// the same public version.
func Compare(a, b Version) int {
	if c := cmpU(a.epoch, b.epoch); c != 0 {
		return c
	}
	n := max(len(a.release), len(b.release))
	for i := range n {
		if c := cmpU(at(a.release, i), at(b.release, i)); c != 0 {
			return c
		}
	}
	if c := cmpPre(a, b); c != 0 {
		return c
	}
	// No post-release sorts before any post-release.
	if c := cmpOpt(a.hasPost, a.post, b.hasPost, b.post, false); c != 0 {
		return c
	}
	// No dev-release sorts after any dev-release.
	if c := cmpOpt(a.hasDev, a.dev, b.hasDev, b.dev, true); c != 0 {
		return c
	}
	return cmpLocal(a.local, b.local)
}

func at(s []uint64, i int) uint64 {
	if i < len(s) {
		return s[i]
	}
	return 0
}

func cmpU(a, b uint64) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

// preRank places the pre-release part on one scale: a dev-only release
// (1.0.dev1) comes before every pre-release of 1.0, and a release with no
// pre-release after all of them.
func preRank(v Version) (rank int, n uint64) {
	switch {
	case v.preKind == "" && !v.hasPost && v.hasDev:
		return 0, 0
	case v.preKind == "a":
		return 1, v.pre
	case v.preKind == "b":
		return 2, v.pre
	case v.preKind == "rc":
		return 3, v.pre
	}
	return 4, 0
}

func cmpPre(a, b Version) int {
	ra, na := preRank(a)
	rb, nb := preRank(b)
	if ra != rb {
		return cmpInt(ra, rb)
	}
	return cmpU(na, nb)
}

func cmpInt(a, b int) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

// cmpOpt compares optional numbers; absentHigh says whether a missing one
// sorts above (true) or below (false) every present one.
func cmpOpt(hasA bool, a uint64, hasB bool, b uint64, absentHigh bool) int {
	switch {
	case hasA && hasB:
		return cmpU(a, b)
	case hasA == hasB:
		return 0
	case !hasA == absentHigh:
		return 1
	}
	return -1
}

func cmpLocal(a, b []localPart) int {
	for i := 0; i < len(a) && i < len(b); i++ {
		x, y := a[i], b[i]
		switch {
		case x.isNum && y.isNum:
			if c := cmpU(x.num, y.num); c != 0 {
				return c
			}
		case x.isNum:
			return 1
		case y.isNum:
			return -1
		default:
			if c := strings.Compare(x.str, y.str); c != 0 {
				return c
			}
		}
	}
	return cmpInt(len(a), len(b))
}
