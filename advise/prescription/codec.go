package prescription

import (
	"encoding/binary"
	"errors"
	"maps"
	"math"
	"slices"
	"strings"
	"sync/atomic"
	"unsafe"

	"github.com/seshat-dev/seshat/advise/pep440"
)

// What a file yields — its units and problems — is kept in this binary
// form, in a Set and in the load cache (cache.go). A Set of Thoth's 90,000
// units as Go values was 90 MB of heap, most of it never looked at, and on
// the VMs seshat runs in each new page of heap costs about 20 µs to fault
// in: so a Set keeps each unit encoded, with what the engine indexes it by
// (name, kind, should_include, the packages it matches) decoded up front,
// and decodes the rest the first time the engine asks (lazyUnit).
// encoding/gob took 0.7 s to write and 0.15–0.5 s to read those units; this
// takes tens of milliseconds. A file's form does not hold its path: the walk
// that finds the file supplies it.
//
// TestCodecRoundTripsEveryField fills every field of a Unit by reflection,
// so a field added to the schema and not here fails it.

type encoder struct{ b []byte }

func (e *encoder) uint(x uint64) { e.b = binary.AppendUvarint(e.b, x) }
func (e *encoder) int(x int64)   { e.b = binary.AppendVarint(e.b, x) }
func (e *encoder) str(s string)  { e.uint(uint64(len(s))); e.b = append(e.b, s...) }

func (e *encoder) flag(b bool) {
	if b {
		e.b = append(e.b, 1)
	} else {
		e.b = append(e.b, 0)
	}
}

// count writes a slice or map length, 0 for nil: nil and empty differ.
func (e *encoder) count(n int, isNil bool) bool {
	if isNil {
		e.uint(0)
		return false
	}
	e.uint(uint64(n) + 1)
	return true
}

// encodeSlice writes s's length (nil and empty differ) and each item.
func encodeSlice[T any](e *encoder, s []T, item func(*T)) {
	e.count(len(s), s == nil)
	for i := range s {
		item(&s[i])
	}
}

func (e *encoder) strs(ss []string) { encodeSlice(e, ss, func(s *string) { e.str(*s) }) }

func (e *encoder) optBool(b *bool) {
	switch {
	case b == nil:
		e.b = append(e.b, 0)
	case *b:
		e.b = append(e.b, 2)
	default:
		e.b = append(e.b, 1)
	}
}

// encodeMap writes m in key order, so that the cache file is deterministic.
func encodeMap[V any](e *encoder, m map[string]V, value func(V)) {
	if e.count(len(m), m == nil) {
		for _, k := range slices.Sorted(maps.Keys(m)) {
			e.str(k)
			value(m[k])
		}
	}
}

func (e *encoder) spec(s *Spec) {
	if e.flag(s != nil); s != nil {
		e.str(s.Raw)
		e.str(s.Legacy)
	}
}

func (e *encoder) valueList(l *ValueList) {
	if e.flag(l != nil); l != nil {
		e.flag(l.Not)
		e.flag(l.Null)
		e.strs(l.Values)
	}
}

func (e *encoder) intList(l *IntList) {
	if e.flag(l != nil); l != nil {
		e.flag(l.Not)
		e.flag(l.Null)
		encodeSlice(e, l.Values, func(v *int) { e.int(int64(*v)) })
	}
}

// value writes what toValue builds: nil, bool, int64, float64, string,
// []any and map[string]any.
func (e *encoder) value(v any) {
	switch v := v.(type) {
	case nil:
		e.b = append(e.b, 0)
	case bool:
		e.b = append(e.b, 1)
		e.flag(v)
	case int64:
		e.b = append(e.b, 2)
		e.int(v)
	case float64:
		e.b = append(e.b, 3)
		e.b = binary.LittleEndian.AppendUint64(e.b, math.Float64bits(v))
	case string:
		e.b = append(e.b, 4)
		e.str(v)
	case []any:
		e.b = append(e.b, 5)
		e.uint(uint64(len(v)))
		for _, x := range v {
			e.value(x)
		}
	case map[string]any:
		e.b = append(e.b, 6)
		e.uint(uint64(len(v)))
		for _, k := range slices.Sorted(maps.Keys(v)) {
			e.str(k)
			e.value(v[k])
		}
	default:
		panic("prescription: cannot encode a value of this type")
	}
}

func (e *encoder) packageMatch(p *PackageMatch) {
	e.str(p.Name)
	e.spec(p.Version)
	e.str(p.IndexURL)
	e.flag(p.IndexNot)
	e.optBool(p.Develop)
}

func (e *encoder) packageMatches(ps []PackageMatch) { encodeSlice(e, ps, e.packageMatch) }

func (e *encoder) locked(l *Locked) {
	if e.flag(l != nil); l != nil {
		e.str(l.Name)
		e.str(l.Version)
		e.str(l.IndexURL)
		e.flag(l.Develop)
		e.flag(l.MatchedVersion)
	}
}

func (e *encoder) runtime(r *RuntimeEnvironments) {
	if e.flag(r != nil); r == nil {
		return
	}
	encodeSlice(e, r.OperatingSystems, func(os *OS) {
		e.str(os.Name)
		e.str(os.Version)
	})
	e.flag(r.OperatingSystemsNot)
	encodeSlice(e, r.Hardware, func(hw *Hardware) {
		e.intList(hw.CPUFamilies)
		e.intList(hw.CPUModels)
		e.valueList(hw.CPUFlags)
		e.valueList(hw.GPUModels)
	})
	for _, s := range []*Spec{r.PythonVersion, r.CUDAVersion, r.CUDNNVersion, r.OpenBLASVersion, r.OpenMPIVersion, r.MKLVersion} {
		e.spec(s)
	}
	e.valueList(r.Platforms)
	e.valueList(r.BaseImages)
	e.valueList(r.ABI)
	encodeSlice(e, r.RPMPackages, func(p *RPM) {
		for _, s := range []string{p.Name, p.Arch, p.Epoch, p.Identifier, p.Version, p.Release} {
			e.str(s)
		}
		e.optBool(p.Src)
	})
	e.flag(r.RPMPackagesNot)
	encodeSlice(e, r.PythonPackages, func(p *PythonPackage) {
		e.str(p.Name)
		e.spec(p.Version)
		e.str(p.Location)
	})
	e.flag(r.PythonPackagesNot)
}

func (e *encoder) include(in *Include) {
	e.flag(in.Never)
	e.flag(in.AdviserPipeline)
	e.flag(in.DependencyMonkeyPipeline)
	e.valueList(in.RecommendationTypes)
	e.valueList(in.DecisionTypes)
	encodeMap(e, in.Labels, e.str)
	e.optBool(in.Authenticated)
	encodeMap(e, in.LibraryUsage, e.strs)
	encodeMap(e, in.Dependencies, e.strs)
	e.runtime(in.Runtime)
}

func (e *encoder) run(r *Run) {
	if e.flag(r.Log != nil); r.Log != nil {
		e.str(r.Log.Type)
		e.str(r.Log.Message)
	}
	encodeSlice(e, r.StackInfo, func(s *Info) {
		e.str(s.Type)
		e.str(s.Message)
		e.str(s.Link)
	})
	encodeSlice(e, r.Justification, func(j *Justification) {
		for _, s := range []string{j.Type, j.Message, j.Link, j.PackageName, j.Advisory, j.CVEID, j.CVEName, j.VersionRange} {
			e.str(s)
		}
	})
	e.str(r.NotAcceptable)
	e.str(r.EagerStopPipeline)
	if e.flag(r.Score != nil); r.Score != nil {
		e.b = binary.LittleEndian.AppendUint64(e.b, math.Float64bits(*r.Score))
	}
	e.flag(r.MultiPackageResolution)
	e.locked(r.Yield)
	e.locked(r.AddPackage)
	if e.flag(r.ReleaseNotes != nil); r.ReleaseNotes != nil {
		e.str(r.ReleaseNotes.Organization)
		e.str(r.ReleaseNotes.Repository)
		e.str(r.ReleaseNotes.TagVersionPrefix)
	}
	e.value(r.AdvisedManifestChanges)
	e.value(r.Raw)
}

// unit writes the header lazyUnit reads eagerly, then the length of the
// body — match and run — that get decodes.
func (e *encoder) unit(u *Unit) {
	e.str(u.Name)
	e.str(string(u.Kind))
	e.uint(uint64(u.Line))
	e.include(&u.Include)
	e.strs(indexKeys(u))
	at := len(e.b)
	e.b = append(e.b, make([]byte, binary.MaxVarintLen64)...)
	start := len(e.b)
	e.body(u)
	// The body's length goes before it, in the room left for the longest
	// varint: shift the body back over what the length does not use.
	n := binary.PutUvarint(e.b[at:], uint64(len(e.b)-start))
	e.b = append(e.b[:at+n], e.b[start:]...)
}

func (e *encoder) body(u *Unit) {
	encodeSlice(e, u.Match, func(m *Match) {
		e.str(m.PackageName)
		if e.flag(m.Package != nil); m.Package != nil {
			e.packageMatch(m.Package)
		}
		e.packageMatches(m.Resolved)
		e.packageMatches(m.From)
		e.flag(m.FromAllowOther)
		e.value(m.Raw)
	})
	e.run(&u.Run)
}

// encodeResult appends what one file yielded. Its problems and units all
// name the file they came from, which is not written.
func (e *encoder) result(units []*Unit, problems []Problem) {
	e.uint(uint64(len(problems)))
	for _, p := range problems {
		e.uint(uint64(p.Line))
		e.str(p.Message)
	}
	e.uint(uint64(len(units)))
	for _, u := range units {
		e.unit(u)
	}
}

// decoder reads what encoder wrote. A malformed input sets err (and every
// read after returns zero values), never panics.
type decoder struct {
	b   []byte
	err error
	// src is the mapped cache file b is in, nil when b is Go memory. Strings
	// decoded from Go memory point into it, which must not change
	// afterwards; from a mapping they are copied, since it is unmapped once
	// no unit needs it (see mapped).
	src *mapped
}

var errCorrupt = errors.New("corrupt prescription cache")

func (d *decoder) fail() {
	if d.err == nil {
		d.err = errCorrupt
	}
	d.b = nil
}

func (d *decoder) uint() uint64 {
	x, n := binary.Uvarint(d.b)
	if n <= 0 {
		d.fail()
		return 0
	}
	d.b = d.b[n:]
	return x
}

// int undoes binary.AppendVarint's zig-zag encoding.
func (d *decoder) int() int64 {
	x := d.uint()
	return int64(x>>1) ^ -int64(x&1)
}

// length reads a count of items each at least one byte long.
func (d *decoder) length() int {
	n := d.uint()
	if n > uint64(len(d.b)) {
		d.fail()
		return 0
	}
	return int(n)
}

// count reads what encoder.count wrote: -1 for nil.
func (d *decoder) count() int {
	n := d.uint()
	if n == 0 {
		return -1
	}
	if n-1 > uint64(len(d.b)) {
		d.fail()
		return -1
	}
	return int(n - 1)
}

func (d *decoder) str() string { return d.text(d.bytes()) }

// view is str without the copy out of a mapping.
func (d *decoder) view() string {
	b := d.bytes()
	if len(b) == 0 {
		return ""
	}
	return unsafe.String(&b[0], len(b))
}

// text is b as a string: b itself in Go memory, a copy out of a mapping.
func (d *decoder) text(b []byte) string {
	switch {
	case len(b) == 0:
		return ""
	case d.src != nil:
		return string(b)
	}
	return unsafe.String(&b[0], len(b))
}

// kind returns the constant for a kind seshat knows: no copy per unit.
func (d *decoder) kind() Kind {
	b := d.bytes()
	if k, ok := knownKinds[string(b)]; ok {
		return k
	}
	return Kind(d.text(b))
}

var knownKinds = func() map[string]Kind {
	m := map[string]Kind{}
	for k := range kindGroup {
		m[string(k)] = k
	}
	return m
}()

func (d *decoder) bytes() []byte {
	n := d.length()
	b := d.b[:n:n]
	d.b = d.b[n:]
	return b
}

func (d *decoder) flag() bool {
	if len(d.b) == 0 {
		d.fail()
		return false
	}
	c := d.b[0]
	d.b = d.b[1:]
	if c > 1 {
		d.fail()
	}
	return c == 1
}

func (d *decoder) float() float64 {
	if len(d.b) < 8 {
		d.fail()
		return 0
	}
	f := math.Float64frombits(binary.LittleEndian.Uint64(d.b))
	d.b = d.b[8:]
	return f
}

// decodeSlice reads what encodeSlice wrote.
func decodeSlice[T any](d *decoder, item func(*T)) []T {
	n := d.count()
	if n < 0 {
		return nil
	}
	s := make([]T, n)
	for i := range s {
		item(&s[i])
	}
	return s
}

func (d *decoder) strs() []string { return decodeSlice(d, func(s *string) { *s = d.str() }) }

func (d *decoder) optBool() *bool {
	if len(d.b) == 0 {
		d.fail()
		return nil
	}
	c := d.b[0]
	d.b = d.b[1:]
	switch c {
	case 0:
		return nil
	case 1, 2:
		b := c == 2
		return &b
	}
	d.fail()
	return nil
}

func decodeMap[V any](d *decoder, value func() V) map[string]V {
	n := d.count()
	if n < 0 {
		return nil
	}
	m := make(map[string]V, n)
	for range n {
		k := d.str()
		m[k] = value()
	}
	return m
}

func (d *decoder) spec() *Spec {
	if !d.flag() {
		return nil
	}
	s := &Spec{Raw: d.str(), Legacy: d.str()}
	if s.Legacy == "" && d.err == nil {
		set, err := pep440.ParseSpecifiers(s.Raw)
		if err != nil {
			d.fail()
			return nil
		}
		s.Set = set
	}
	return s
}

func (d *decoder) valueList() *ValueList {
	if !d.flag() {
		return nil
	}
	l := &ValueList{Not: d.flag(), Null: d.flag()}
	l.Values = d.strs()
	return l
}

func (d *decoder) intList() *IntList {
	if !d.flag() {
		return nil
	}
	l := &IntList{Not: d.flag(), Null: d.flag()}
	l.Values = decodeSlice(d, func(v *int) { *v = int(d.int()) })
	return l
}

// value reads encoder.value's form; depth bounds a corrupt input's nesting.
func (d *decoder) value(depth int) any {
	if len(d.b) == 0 || depth > 100 {
		d.fail()
		return nil
	}
	tag := d.b[0]
	d.b = d.b[1:]
	switch tag {
	case 0:
		return nil
	case 1:
		return d.flag()
	case 2:
		return d.int()
	case 3:
		return d.float()
	case 4:
		return d.str()
	case 5:
		s := make([]any, d.length())
		for i := range s {
			s[i] = d.value(depth + 1)
		}
		return s
	case 6:
		n := d.length()
		m := make(map[string]any, n)
		for range n {
			k := d.str()
			m[k] = d.value(depth + 1)
		}
		return m
	}
	d.fail()
	return nil
}

func (d *decoder) packageMatch(p *PackageMatch) {
	p.Name = d.str()
	p.Version = d.spec()
	p.IndexURL = d.str()
	p.IndexNot = d.flag()
	p.Develop = d.optBool()
}

func (d *decoder) packageMatches() []PackageMatch { return decodeSlice(d, d.packageMatch) }

func (d *decoder) locked() *Locked {
	if !d.flag() {
		return nil
	}
	return &Locked{Name: d.str(), Version: d.str(), IndexURL: d.str(), Develop: d.flag(), MatchedVersion: d.flag()}
}

func (d *decoder) runtime() *RuntimeEnvironments {
	if !d.flag() {
		return nil
	}
	r := &RuntimeEnvironments{}
	r.OperatingSystems = decodeSlice(d, func(os *OS) { *os = OS{Name: d.str(), Version: d.str()} })
	r.OperatingSystemsNot = d.flag()
	r.Hardware = decodeSlice(d, func(hw *Hardware) {
		*hw = Hardware{CPUFamilies: d.intList(), CPUModels: d.intList(), CPUFlags: d.valueList(), GPUModels: d.valueList()}
	})
	for _, s := range []**Spec{&r.PythonVersion, &r.CUDAVersion, &r.CUDNNVersion, &r.OpenBLASVersion, &r.OpenMPIVersion, &r.MKLVersion} {
		*s = d.spec()
	}
	r.Platforms = d.valueList()
	r.BaseImages = d.valueList()
	r.ABI = d.valueList()
	r.RPMPackages = decodeSlice(d, func(p *RPM) {
		*p = RPM{Name: d.str(), Arch: d.str(), Epoch: d.str(), Identifier: d.str(), Version: d.str(), Release: d.str(), Src: d.optBool()}
	})
	r.RPMPackagesNot = d.flag()
	r.PythonPackages = decodeSlice(d, func(p *PythonPackage) {
		*p = PythonPackage{Name: d.str(), Version: d.spec(), Location: d.str()}
	})
	r.PythonPackagesNot = d.flag()
	return r
}

func (d *decoder) include(in *Include) {
	in.Never = d.flag()
	in.AdviserPipeline = d.flag()
	in.DependencyMonkeyPipeline = d.flag()
	in.RecommendationTypes = d.valueList()
	in.DecisionTypes = d.valueList()
	in.Labels = decodeMap(d, d.str)
	in.Authenticated = d.optBool()
	in.LibraryUsage = decodeMap(d, d.strs)
	in.Dependencies = decodeMap(d, d.strs)
	in.Runtime = d.runtime()
}

func (d *decoder) run(r *Run) {
	if d.flag() {
		r.Log = &Message{Type: d.str(), Message: d.str()}
	}
	r.StackInfo = decodeSlice(d, func(s *Info) { *s = Info{Type: d.str(), Message: d.str(), Link: d.str()} })
	r.Justification = decodeSlice(d, func(j *Justification) {
		*j = Justification{Type: d.str(), Message: d.str(), Link: d.str(), PackageName: d.str(), Advisory: d.str(), CVEID: d.str(), CVEName: d.str(), VersionRange: d.str()}
	})
	r.NotAcceptable = d.str()
	r.EagerStopPipeline = d.str()
	if d.flag() {
		f := d.float()
		r.Score = &f
	}
	r.MultiPackageResolution = d.flag()
	r.Yield = d.locked()
	r.AddPackage = d.locked()
	if d.flag() {
		r.ReleaseNotes = &ReleaseNotes{Organization: d.str(), Repository: d.str(), TagVersionPrefix: d.str()}
	}
	r.AdvisedManifestChanges = d.value(0)
	r.Raw = d.value(0)
}

// body decodes what encoder.body wrote into u.
func (d *decoder) body(u *Unit) {
	u.Match = decodeSlice(d, func(m *Match) {
		m.PackageName = d.str()
		if d.flag() {
			m.Package = &PackageMatch{}
			d.packageMatch(m.Package)
		}
		m.Resolved = d.packageMatches()
		m.From = d.packageMatches()
		m.FromAllowOther = d.flag()
		m.Raw = d.value(0)
	})
	d.run(&u.Run)
}

// result reads one file's result, naming file in its problems and units;
// the units' bodies stay encoded, in the input.
func (d *decoder) result(file string) (result, error) {
	var r result
	if n := d.length(); n > 0 {
		r.problems = make([]Problem, n)
		for i := range r.problems {
			r.problems[i] = Problem{File: file, Line: int(d.uint()), Message: d.str()}
		}
	}
	if n := d.length(); n > 0 {
		r.units = make([]lazyUnit, n)
		keys := make([]string, 0, n) // one per unit, nearly always
		for i := range r.units {
			keys = d.header(&r.units[i], file, keys)
		}
	}
	if d.err == nil && len(d.b) != 0 {
		d.fail()
	}
	return r, d.err
}

// header decodes what the engine needs of a unit up front, appending its
// keys to keys. The name and keys point into the input even when that is a
// mapping: they are used only while the unit is, which keeps the mapping
// (lazyUnit.src), and decode copies the name into the Unit.
func (d *decoder) header(l *lazyUnit, file string, keys []string) []string {
	l.Name, l.Kind, l.File, l.Line = d.view(), d.kind(), file, int(d.uint())
	var in Include
	d.include(&in)
	l.Include = shareInclude(in)
	n := d.count()
	start := len(keys)
	for range max(n, 0) {
		keys = append(keys, d.view())
	}
	if n >= 0 {
		l.keys = keys[start:len(keys):len(keys)]
	}
	n = d.length()
	l.body, l.src = d.b[:n:n], d.src
	d.b = d.b[n:]
	return keys
}

// lazyUnit is a unit as a Set keeps it: what the engine selects and indexes
// units by, decoded, and the rest encoded until get.
type lazyUnit struct {
	Name    string
	Kind    Kind
	File    string
	Line    int
	Include *Include // shared between units when it is only flags
	// keys are the canonical names of the packages the unit can match,
	// "" for any (see indexKeys).
	keys []string
	body []byte
	src  *mapped // what body is in, when it is a mapping
	ord  int     // position in the Set: the engine keeps load order
	unit atomic.Pointer[Unit]
}

// get decodes the unit, once. The body was written by encoder (checked by
// the cache's checksum when it comes from there); should it not decode, the
// unit keeps what did, rather than the resolution failing half-way.
func (l *lazyUnit) get() *Unit {
	if u := l.unit.Load(); u != nil {
		return u
	}
	u, _ := l.decode()
	if !l.unit.CompareAndSwap(nil, u) {
		return l.unit.Load()
	}
	return u
}

// decode decodes the unit afresh, with what did decode when the body is
// corrupt.
func (l *lazyUnit) decode() (*Unit, error) {
	u := &Unit{Name: l.Name, Kind: l.Kind, File: l.File, Line: l.Line, Include: *l.Include}
	if l.src != nil {
		u.Name = strings.Clone(l.Name)
	}
	d := decoder{b: l.body, src: l.src}
	d.body(u)
	if d.err == nil && len(d.b) != 0 {
		d.fail()
	}
	return u, d.err
}

// indexKeys lists what the engine finds u by: for units matching a
// candidate, the package it names (match.package_version.name or
// match.package_name); for units matching the resolved state (stride, wrap),
// the first package of resolved_dependencies, which the state must hold for
// them to fire. "" stands for a match on any package.
func indexKeys(u *Unit) []string {
	var keys []string
	add := func(k string) {
		for _, x := range keys {
			if x == k {
				return
			}
		}
		keys = append(keys, k)
	}
	byState := u.Kind == KindStride || u.Kind == KindWrap || u.Kind == KindGHReleaseNotes
	for _, m := range u.Match {
		switch {
		case byState && len(m.Resolved) > 0:
			add(m.Resolved[0].Name)
		case byState:
			add("")
		case m.Package != nil:
			add(m.Package.Name)
		case m.PackageName != "":
			add(m.PackageName)
		default:
			add("")
		}
	}
	if len(u.Match) == 0 {
		add("")
	}
	return keys
}

// flagIncludes are the should_include sections that are only flags — nearly
// every unit's is `adviser_pipeline: true` — one per combination, which
// units share rather than each holding 64 bytes of its own.
var flagIncludes [8]Include

func init() {
	for i := range flagIncludes {
		flagIncludes[i] = Include{Never: i&1 != 0, AdviserPipeline: i&2 != 0, DependencyMonkeyPipeline: i&4 != 0}
	}
}

// shareInclude returns in, or the shared copy of it when it is only flags.
func shareInclude(in Include) *Include {
	if in.RecommendationTypes != nil || in.DecisionTypes != nil || in.Labels != nil || in.Authenticated != nil ||
		in.LibraryUsage != nil || in.Dependencies != nil || in.Runtime != nil {
		return &in
	}
	i := 0
	if in.Never {
		i |= 1
	}
	if in.AdviserPipeline {
		i |= 2
	}
	if in.DependencyMonkeyPipeline {
		i |= 4
	}
	return &flagIncludes[i]
}
