package abi

import (
	"bytes"
	"debug/elf"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math"
	"sort"
	"strings"
)

// ErrNotELF is returned by ReadELF when the input does not start with the
// ELF magic number. Callers skip such files quietly.
var ErrNotELF = errors.New("not an ELF file")

// errNotKept is what the sparse reader returns for bytes ReadELF let pass.
var errNotKept = errors.New("bytes not kept while streaming")

// Object is what ReadELF learns of one ELF file: enough to tell what it
// provides to the dynamic loader and what it asks of it.
type Object struct {
	Class   elf.Class
	Data    elf.Data
	Machine elf.Machine
	Type    elf.Type
	// Interp is the program interpreter (PT_INTERP), empty for libraries.
	Interp string
	Soname string
	Needed []string
	// VersionDefinitions are the symbol versions the object defines
	// (DT_VERDEF), in file order, without the base (file name) entry.
	VersionDefinitions []string
	// VersionNeeds maps each library named in DT_VERNEED to the versions
	// the object requires from it, in file order.
	VersionNeeds map[string][]string
}

// Arch is the wheel-tag architecture name of the object's machine, or ""
// when wheels have no name for it.
func (o *Object) Arch() string { return ArchFromMachine(o.Machine, o.Data) }

// Defaults for how much of a stream ReadELF keeps.
const (
	defaultHeadMin = 1 << 20  // always keep the first MiB
	defaultHeadMax = 64 << 20 // never keep more than this of the head
	maxSpan        = 16 << 20 // bound for any other kept range (.dynamic, section headers)
	shstrWindow    = 64 << 10 // bytes kept before the section header table, for .shstrtab
)

type options struct {
	headMin, headMax int64
}

// Option adjusts ReadELF.
type Option func(*options)

// WithHeadBounds sets how much of the file's head ReadELF keeps: always min
// bytes, and up to max when the first loadable segment (which holds
// .dynstr and the version sections) is larger.
func WithHeadBounds(min, max int64) Option {
	return func(o *options) {
		o.headMin, o.headMax = min, max
		if o.headMax < o.headMin {
			o.headMax = o.headMin
		}
	}
}

// ReadELF reads an ELF object from a stream of size bytes (size < 0 when
// unknown) in one pass, keeping only the byte ranges that hold the
// headers, .dynamic, .dynstr and the GNU version sections, so that memory
// stays bounded however large the object is. Input that is not ELF yields
// ErrNotELF after its first four bytes. It never panics on hostile input.
func ReadELF(r io.Reader, size int64, opts ...Option) (obj *Object, err error) {
	o := options{headMin: defaultHeadMin, headMax: defaultHeadMax}
	for _, opt := range opts {
		opt(&o)
	}
	var magic [4]byte
	if _, err := io.ReadFull(r, magic[:]); err != nil {
		if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
			return nil, ErrNotELF
		}
		return nil, err
	}
	if string(magic[:]) != elf.ELFMAG {
		return nil, ErrNotELF
	}
	defer func() {
		// debug/elf has panicked on crafted input before (index out of
		// range in section parsing); a bad file must cost a warning only.
		if p := recover(); p != nil {
			obj, err = nil, fmt.Errorf("malformed ELF: %v", p)
		}
	}()
	s := &streamer{r: r, size: size, opt: o, sp: sparse{length: -1}}
	head := o.headMin
	if size >= 0 && size < head {
		head = size
	}
	s.sp.spans = []span{{0, append(make([]byte, 0, max(head, 4)), magic[:]...)}}
	s.pos = 4
	if err := s.run(); err != nil {
		return nil, err
	}
	return s.object()
}

// header is the part of the ELF header the streamer needs to plan.
type header struct {
	class              elf.Class
	bo                 binary.ByteOrder
	phoff, shoff       int64
	phentsize, phnum   int64
	shentsize, shnum   int64
	planProgs, planShs bool
}

type streamer struct {
	r    io.Reader
	size int64
	opt  options
	pos  int64
	sp   sparse
	hdr  *header
	want []rng // ranges to keep, possibly ahead of pos
}

type rng struct{ off, end int64 }

func (s *streamer) addWant(off, n int64) {
	if n <= 0 || off < 0 {
		return
	}
	if n > maxSpan {
		n = maxSpan
	}
	end := off + n
	if s.size >= 0 && end > s.size {
		end = s.size
	}
	if end > off {
		s.want = append(s.want, rng{off, end})
	}
}

// mergeRanges sorts rs and joins overlapping or touching ranges, so that
// the pieces of one chunk are kept in increasing, disjoint order.
func mergeRanges(rs []rng) []rng {
	sort.Slice(rs, func(i, j int) bool { return rs[i].off < rs[j].off })
	out := rs[:0]
	for _, r := range rs {
		if n := len(out); n > 0 && r.off <= out[n-1].end {
			out[n-1].end = max(out[n-1].end, r.end)
			continue
		}
		out = append(out, r)
	}
	return out
}

// run streams the input, keeping what the plan asks for and extending the
// plan as headers arrive.
func (s *streamer) run() error {
	s.addWant(0, s.opt.headMin)
	bufSize := int64(64 << 10)
	if s.size >= 0 && s.size < bufSize {
		bufSize = s.size + 1 // +1 so the read that meets EOF needs no second call
	}
	buf := make([]byte, bufSize)
	for {
		s.plan()
		if !s.needMore() {
			// Nothing further is wanted; the caller need not drain r.
			return nil
		}
		n, err := s.r.Read(buf)
		if n > 0 {
			chunk := buf[:n]
			s.want = mergeRanges(s.want)
			for _, w := range s.want {
				lo, hi := max(w.off, s.pos), min(w.end, s.pos+int64(n))
				if lo < hi {
					s.sp.addWithin(lo, chunk[lo-s.pos:hi-s.pos], w.end)
				}
			}
			s.pos += int64(n)
		}
		if err == io.EOF {
			s.sp.length = s.pos
			return nil
		}
		if err != nil {
			return fmt.Errorf("reading at offset %d: %w", s.pos, err)
		}
	}
}

func (s *streamer) needMore() bool {
	if s.hdr == nil || !s.hdr.planShs {
		return true
	}
	for _, w := range s.want {
		if w.end > s.pos {
			return true
		}
	}
	return false
}

// plan learns from the kept bytes what else must be kept.
func (s *streamer) plan() {
	if s.hdr == nil {
		s.readHeader()
		if s.hdr == nil {
			return
		}
	}
	h := s.hdr
	if !h.planProgs && h.phnum > 0 {
		phdata, ok := s.sp.bytes(h.phoff, h.phnum*h.phentsize)
		if ok {
			h.planProgs = true
			s.planFromProgs(phdata)
		}
	} else if h.phnum == 0 {
		h.planProgs = true
	}
	if !h.planShs {
		if h.shoff == 0 || h.shnum == 0 {
			// No section table (or the extended count we do not plan for):
			// nothing beyond the head is known to be needed.
			h.planShs = true
			return
		}
		shdata, ok := s.sp.bytes(h.shoff, h.shnum*h.shentsize)
		if ok {
			h.planShs = true
			s.planFromSections(shdata)
		}
	}
}

func (s *streamer) readHeader() {
	ident, ok := s.sp.bytes(0, elf.EI_NIDENT)
	if !ok {
		return
	}
	h := &header{class: elf.Class(ident[elf.EI_CLASS])}
	switch elf.Data(ident[elf.EI_DATA]) {
	case elf.ELFDATA2LSB:
		h.bo = binary.LittleEndian
	case elf.ELFDATA2MSB:
		h.bo = binary.BigEndian
	default:
		// Let debug/elf report the bad encoding; keep only the head.
		h.bo = binary.LittleEndian
		h.planProgs, h.planShs = true, true
		s.hdr = h
		return
	}
	switch h.class {
	case elf.ELFCLASS64:
		b, ok := s.sp.bytes(0, 64)
		if !ok {
			return
		}
		h.phoff = int64(h.bo.Uint64(b[32:]))
		h.shoff = int64(h.bo.Uint64(b[40:]))
		h.phentsize = int64(h.bo.Uint16(b[54:]))
		h.phnum = int64(h.bo.Uint16(b[56:]))
		h.shentsize = int64(h.bo.Uint16(b[58:]))
		h.shnum = int64(h.bo.Uint16(b[60:]))
	case elf.ELFCLASS32:
		b, ok := s.sp.bytes(0, 52)
		if !ok {
			return
		}
		h.phoff = int64(h.bo.Uint32(b[28:]))
		h.shoff = int64(h.bo.Uint32(b[32:]))
		h.phentsize = int64(h.bo.Uint16(b[42:]))
		h.phnum = int64(h.bo.Uint16(b[44:]))
		h.shentsize = int64(h.bo.Uint16(b[46:]))
		h.shnum = int64(h.bo.Uint16(b[48:]))
	default:
		h.planProgs, h.planShs = true, true
	}
	if h.phoff < 0 || h.shoff < 0 {
		h.planProgs, h.planShs = true, true
	}
	// Entry sizes below the structs' own would make the planners loop
	// forever on a zero stride; debug/elf rejects such files anyway.
	minPh, minSh := int64(56), int64(64)
	if h.class == elf.ELFCLASS32 {
		minPh, minSh = 32, 40
	}
	if h.phentsize < minPh {
		h.phnum = 0
	}
	if h.shentsize < minSh {
		h.shnum = 0
	}
	s.hdr = h
	s.addWant(h.phoff, h.phnum*h.phentsize)
	if h.shoff > 0 && h.shnum > 0 {
		s.addWant(h.shoff, h.shnum*h.shentsize)
		// .shstrtab is, in the output of every common linker, written
		// just before the section header table.
		lo := max(h.shoff-shstrWindow, 0)
		s.addWant(lo, h.shoff-lo)
	}
}

func (s *streamer) planFromProgs(phdata []byte) {
	h := s.hdr
	firstLoad := true
	if h.phentsize <= 0 {
		return
	}
	for i := int64(0); i+h.phentsize <= int64(len(phdata)); i += h.phentsize {
		p := phdata[i:]
		var typ, flags uint32
		var off, filesz int64
		if h.class == elf.ELFCLASS64 {
			if len(p) < 56 {
				return
			}
			typ, flags = h.bo.Uint32(p[0:]), h.bo.Uint32(p[4:])
			off, filesz = int64(h.bo.Uint64(p[8:])), int64(h.bo.Uint64(p[32:]))
		} else {
			if len(p) < 32 {
				return
			}
			typ, flags = h.bo.Uint32(p[0:]), h.bo.Uint32(p[24:])
			off, filesz = int64(h.bo.Uint32(p[4:])), int64(h.bo.Uint32(p[16:]))
		}
		switch elf.ProgType(typ) {
		case elf.PT_LOAD:
			// The first, read-only load segment holds the dynamic symbol
			// and string tables and the version sections: keep it whole.
			if firstLoad && elf.ProgFlag(flags)&elf.PF_X == 0 && off == 0 && filesz > s.opt.headMin {
				s.want = append(s.want, rng{0, min(filesz, s.opt.headMax)})
			}
			firstLoad = false
		case elf.PT_DYNAMIC, elf.PT_INTERP:
			s.addWant(off, filesz)
		}
	}
}

// planFromSections keeps the sections ReadELF reads that lie ahead of the
// stream (when the section table is not at the end of the file).
func (s *streamer) planFromSections(shdata []byte) {
	for _, sh := range parseSections(s.hdr, shdata) {
		if sh.off+sh.size > s.pos && wantedSection(sh.typ) {
			s.addWant(sh.off, sh.size)
		}
	}
}

type rawSection struct {
	typ             elf.SectionType
	flags           uint64
	off, size       int64
	flagsAt, flagsN int // where the flags word sits in shdata, and its width
}

func parseSections(h *header, shdata []byte) []rawSection {
	var out []rawSection
	if h.shentsize <= 0 {
		return nil
	}
	for i := int64(0); i+h.shentsize <= int64(len(shdata)); i += h.shentsize {
		p := shdata[i:]
		var sh rawSection
		if h.class == elf.ELFCLASS64 {
			if len(p) < 64 {
				break
			}
			sh = rawSection{typ: elf.SectionType(h.bo.Uint32(p[4:])), flags: h.bo.Uint64(p[8:]),
				off: int64(h.bo.Uint64(p[24:])), size: int64(h.bo.Uint64(p[32:])), flagsAt: int(i) + 8, flagsN: 8}
		} else {
			if len(p) < 40 {
				break
			}
			sh = rawSection{typ: elf.SectionType(h.bo.Uint32(p[4:])), flags: uint64(h.bo.Uint32(p[8:])),
				off: int64(h.bo.Uint32(p[16:])), size: int64(h.bo.Uint32(p[20:])), flagsAt: int(i) + 8, flagsN: 4}
		}
		out = append(out, sh)
	}
	return out
}

func wantedSection(t elf.SectionType) bool {
	switch t {
	case elf.SHT_DYNAMIC, elf.SHT_STRTAB, elf.SHT_GNU_VERDEF, elf.SHT_GNU_VERNEED:
		return true
	}
	return false
}

// object hands the kept ranges to debug/elf and reads the dynamic facts.
func (s *streamer) object() (*Object, error) {
	// Refuse tables that were not kept before debug/elf sees them: it
	// would allocate buffers for their claimed size before failing.
	if h := s.hdr; h != nil {
		if h.phnum > 0 && !s.sp.has(h.phoff, h.phnum*h.phentsize) {
			return nil, s.missing("program header table", h.phoff, h.phnum*h.phentsize)
		}
		if h.shnum > 0 && h.shoff > 0 && !s.sp.has(h.shoff, h.shnum*h.shentsize) {
			return nil, s.missing("section header table", h.shoff, h.shnum*h.shentsize)
		}
	}
	s.unflagCompressed()
	f, err := elf.NewFile(&s.sp)
	if err != nil {
		return nil, explain(err)
	}
	obj := &Object{Class: f.Class, Data: f.Data, Machine: f.Machine, Type: f.Type}
	for _, p := range f.Progs {
		if p.Type == elf.PT_INTERP {
			b, err := io.ReadAll(io.LimitReader(p.Open(), 4096))
			if err != nil {
				return nil, fmt.Errorf("reading PT_INTERP: %w", explain(err))
			}
			obj.Interp = string(bytes.TrimRight(b, "\x00"))
		}
	}
	dyn := f.SectionByType(elf.SHT_DYNAMIC)
	if dyn == nil {
		return obj, nil
	}
	for _, sec := range []*elf.Section{dyn, f.SectionByType(elf.SHT_GNU_VERDEF), f.SectionByType(elf.SHT_GNU_VERNEED)} {
		if sec == nil {
			continue
		}
		if !s.sp.has(int64(sec.Offset), int64(sec.FileSize)) {
			return nil, s.missing("section "+sec.Name, int64(sec.Offset), int64(sec.FileSize))
		}
		if l := int(sec.Link); l > 0 && l < len(f.Sections) {
			if st := f.Sections[l]; !s.sp.has(int64(st.Offset), int64(st.FileSize)) {
				return nil, s.missing("section "+st.Name, int64(st.Offset), int64(st.FileSize))
			}
		}
	}
	if sonames, err := f.DynString(elf.DT_SONAME); err != nil {
		return nil, fmt.Errorf("reading DT_SONAME: %w", explain(err))
	} else if len(sonames) > 0 {
		obj.Soname = sonames[0]
	}
	if obj.Needed, err = f.DynString(elf.DT_NEEDED); err != nil {
		return nil, fmt.Errorf("reading DT_NEEDED: %w", explain(err))
	}
	if err := readVersions(f, obj); err != nil {
		return nil, err
	}
	return obj, nil
}

// unflagCompressed clears SHF_COMPRESSED in the kept copy of the section
// table for sections whose compression header streamed past unkept:
// debug/elf reads that header eagerly, and ReadELF never needs those
// (debug) sections, so they must not make the whole file unreadable.
func (s *streamer) unflagCompressed() {
	h := s.hdr
	if h == nil || h.shoff == 0 || h.shnum == 0 {
		return
	}
	shdata, ok := s.sp.bytes(h.shoff, h.shnum*h.shentsize)
	if !ok {
		return
	}
	for _, sh := range parseSections(h, shdata) {
		if sh.flags&uint64(elf.SHF_COMPRESSED) == 0 {
			continue
		}
		if _, ok := s.sp.bytes(sh.off, 24); ok {
			continue
		}
		f := shdata[sh.flagsAt : sh.flagsAt+sh.flagsN]
		if sh.flagsN == 8 {
			h.bo.PutUint64(f, sh.flags&^uint64(elf.SHF_COMPRESSED))
		} else {
			h.bo.PutUint32(f, uint32(sh.flags&^uint64(elf.SHF_COMPRESSED)))
		}
	}
}

// readVersions parses .gnu.version_d and .gnu.version_r directly: unlike
// debug/elf's DynamicVersions it needs neither .dynsym nor .gnu.version,
// which can be tens of MiB in large libraries.
func readVersions(f *elf.File, obj *Object) error {
	if vd := f.SectionByType(elf.SHT_GNU_VERDEF); vd != nil {
		d, str, err := sectionAndStrings(f, vd)
		if err != nil {
			return fmt.Errorf("reading %s: %w", vd.Name, err)
		}
		defs, err := parseVerdef(f.ByteOrder, d, str, int(vd.Info))
		if err != nil {
			return fmt.Errorf("parsing %s: %w", vd.Name, err)
		}
		obj.VersionDefinitions = defs
	}
	if vn := f.SectionByType(elf.SHT_GNU_VERNEED); vn != nil {
		d, str, err := sectionAndStrings(f, vn)
		if err != nil {
			return fmt.Errorf("reading %s: %w", vn.Name, err)
		}
		needs, err := parseVerneed(f.ByteOrder, d, str, int(vn.Info))
		if err != nil {
			return fmt.Errorf("parsing %s: %w", vn.Name, err)
		}
		obj.VersionNeeds = needs
	}
	return nil
}

func sectionAndStrings(f *elf.File, s *elf.Section) ([]byte, []byte, error) {
	d, err := s.Data()
	if err != nil {
		return nil, nil, explain(err)
	}
	if int(s.Link) <= 0 || int(s.Link) >= len(f.Sections) {
		return nil, nil, fmt.Errorf("string table index %d out of range", s.Link)
	}
	st := f.Sections[s.Link]
	if st.Type != elf.SHT_STRTAB {
		return nil, nil, fmt.Errorf("linked section %d is %v, not a string table", s.Link, st.Type)
	}
	str, err := st.Data()
	if err != nil {
		return nil, nil, fmt.Errorf("string table %s: %w", st.Name, explain(err))
	}
	return d, str, nil
}

// maxVersionEntries bounds the walk of version chains in crafted files.
const maxVersionEntries = 1 << 14

func parseVerdef(bo binary.ByteOrder, d, str []byte, count int) ([]string, error) {
	var out []string
	i := 0
	for n := 0; n < maxVersionEntries; n++ {
		if i < 0 || i+20 > len(d) {
			return nil, fmt.Errorf("entry at %#x runs past the section", i)
		}
		if v := bo.Uint16(d[i:]); v != 1 {
			return nil, fmt.Errorf("entry at %#x has revision %d, want 1", i, v)
		}
		flags := bo.Uint16(d[i+2:])
		cnt := bo.Uint16(d[i+6:])
		aux := int(bo.Uint32(d[i+12:]))
		next := int(bo.Uint32(d[i+16:]))
		if cnt > 0 && flags&uint16(elf.VER_FLG_BASE) == 0 {
			j := i + aux
			if aux <= 0 || j+8 > len(d) {
				return nil, fmt.Errorf("entry at %#x: name out of range", i)
			}
			name, ok := cstring(str, bo.Uint32(d[j:]))
			if !ok {
				return nil, fmt.Errorf("entry at %#x: bad name offset", i)
			}
			out = append(out, name)
		}
		if next == 0 || (count > 0 && n+1 >= count) {
			return out, nil
		}
		i += next
	}
	return nil, errors.New("too many entries")
}

func parseVerneed(bo binary.ByteOrder, d, str []byte, count int) (map[string][]string, error) {
	out := map[string][]string{}
	i := 0
	total := 0
	for n := 0; n < maxVersionEntries; n++ {
		if i < 0 || i+16 > len(d) {
			return nil, fmt.Errorf("entry at %#x runs past the section", i)
		}
		if v := bo.Uint16(d[i:]); v != 1 {
			return nil, fmt.Errorf("entry at %#x has version %d, want 1", i, v)
		}
		cnt := int(bo.Uint16(d[i+2:]))
		file, ok := cstring(str, bo.Uint32(d[i+4:]))
		if !ok {
			return nil, fmt.Errorf("entry at %#x: bad file name offset", i)
		}
		aux := int(bo.Uint32(d[i+8:]))
		next := int(bo.Uint32(d[i+12:]))
		j := i + aux
		for c := 0; c < cnt; c++ {
			if total++; total > maxVersionEntries {
				return nil, errors.New("too many entries")
			}
			if j < 0 || j+16 > len(d) {
				return nil, fmt.Errorf("entry for %s runs past the section", file)
			}
			name, ok := cstring(str, bo.Uint32(d[j+8:]))
			if !ok {
				return nil, fmt.Errorf("entry for %s: bad name offset", file)
			}
			out[file] = append(out[file], name)
			an := int(bo.Uint32(d[j+12:]))
			if an == 0 {
				break
			}
			j += an
		}
		if _, seen := out[file]; !seen {
			out[file] = nil
		}
		if next == 0 || (count > 0 && n+1 >= count) {
			return out, nil
		}
		i += next
	}
	return nil, errors.New("too many entries")
}

func cstring(b []byte, off uint32) (string, bool) {
	if int64(off) >= int64(len(b)) {
		return "", false
	}
	s := b[off:]
	if k := bytes.IndexByte(s, 0); k >= 0 {
		return string(s[:k]), true
	}
	return "", false
}

// explain turns the sparse reader's refusal into words a user can act on.
func explain(err error) error {
	if errors.Is(err, errNotKept) {
		return fmt.Errorf("%w (a needed section lies beyond the head ReadELF keeps; see WithHeadBounds)", err)
	}
	if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
		return fmt.Errorf("truncated ELF: %w", err)
	}
	return err
}

// sparse is an io.ReaderAt over the byte ranges kept from a stream; a read
// that touches anything else fails with errNotKept.
type sparse struct {
	spans  []span // sorted by off, non-overlapping, merged when adjacent
	length int64  // bytes in the whole stream when it was read to its end, else -1
}

type span struct {
	off int64
	b   []byte
}

func (s *sparse) add(off int64, b []byte) {
	if len(b) == 0 {
		return
	}
	// Pieces arrive in increasing, disjoint order (see mergeRanges).
	if n := len(s.spans); n > 0 {
		last := &s.spans[n-1]
		if off == last.off+int64(len(last.b)) {
			last.b = append(last.b, b...)
			return
		}
	}
	s.spans = append(s.spans, span{off, append([]byte(nil), b...)})
}

// addWithin is add for a piece of a wanted range ending at end: a new
// span gets the range's capacity up front, so growing it copies nothing.
func (s *sparse) addWithin(off int64, b []byte, end int64) {
	if n := len(s.spans); n > 0 && off == s.spans[n-1].off+int64(len(s.spans[n-1].b)) {
		s.add(off, b)
		return
	}
	if len(b) == 0 {
		return
	}
	c := end - off
	if c < int64(len(b)) || c > defaultHeadMax {
		c = int64(len(b))
	}
	buf := make([]byte, len(b), c)
	copy(buf, b)
	s.spans = append(s.spans, span{off, buf})
}

// missing explains a needed range that is not among the kept bytes.
func (s *streamer) missing(what string, off, n int64) error {
	if s.sp.length >= 0 && (off+n > s.sp.length || off+n < off) {
		return fmt.Errorf("truncated ELF: %s at offset %#x (%d bytes) runs past the end of the %d-byte file", what, off, n, s.sp.length)
	}
	return fmt.Errorf("%s at offset %#x (%d bytes): %w", what, off, n, explain(errNotKept))
}

// has reports whether [off, off+n) is kept.
func (s *sparse) has(off, n int64) bool {
	_, ok := s.bytes(off, n)
	return ok
}

// bytes returns the kept bytes [off, off+n) when all are kept in one span.
func (s *sparse) bytes(off, n int64) ([]byte, bool) {
	if off < 0 || n < 0 || off > math.MaxInt64-n {
		return nil, false
	}
	for _, sp := range s.spans {
		if off >= sp.off && off+n <= sp.off+int64(len(sp.b)) {
			return sp.b[off-sp.off : off-sp.off+n], true
		}
	}
	return nil, false
}

func (s *sparse) ReadAt(p []byte, off int64) (int, error) {
	if b, ok := s.bytes(off, int64(len(p))); ok {
		return copy(p, b), nil
	}
	if s.length >= 0 && off+int64(len(p)) > s.length {
		return 0, fmt.Errorf("reading %d bytes at offset %d of a %d-byte file: %w", len(p), off, s.length, io.ErrUnexpectedEOF)
	}
	return 0, fmt.Errorf("reading %d bytes at offset %d: %w", len(p), off, errNotKept)
}

// String lists the kept ranges, for error messages and tests.
func (s *sparse) String() string {
	var parts []string
	for _, sp := range s.spans {
		parts = append(parts, fmt.Sprintf("[%#x,%#x)", sp.off, sp.off+int64(len(sp.b))))
	}
	return strings.Join(parts, " ")
}
