package pubgrub

import (
	"encoding/binary"
	"math/bits"
)

// vset is a set of one package's candidates: bit i stands for the i-th candidate in the provider's
// preference order. Every set of a package has the same length, so set algebra is exact and needs no
// knowledge of version syntax.
type vset []uint64

func fullSet(n int) vset {
	s := make(vset, (n+63)/64)
	for i := range s {
		s[i] = ^uint64(0)
	}
	if r := n % 64; r != 0 {
		s[len(s)-1] = 1<<r - 1
	}
	return s
}

func singleton(n, i int) vset {
	s := make(vset, (n+63)/64)
	s[i/64] = 1 << (i % 64)
	return s
}

func (s vset) has(i int) bool { return s[i/64]&(1<<(i%64)) != 0 }

func (s vset) add(i int) { s[i/64] |= 1 << (i % 64) }

func (s vset) empty() bool {
	for _, w := range s {
		if w != 0 {
			return false
		}
	}
	return true
}

func (s vset) equal(t vset) bool {
	for i := range s {
		if s[i] != t[i] {
			return false
		}
	}
	return true
}

func (s vset) subsetOf(t vset) bool {
	for i := range s {
		if s[i]&^t[i] != 0 {
			return false
		}
	}
	return true
}

func (s vset) disjoint(t vset) bool {
	for i := range s {
		if s[i]&t[i] != 0 {
			return false
		}
	}
	return true
}

func (s vset) and(t vset) vset {
	r := make(vset, len(s))
	for i := range s {
		r[i] = s[i] & t[i]
	}
	return r
}

func (s vset) or(t vset) vset {
	r := make(vset, len(s))
	for i := range s {
		r[i] = s[i] | t[i]
	}
	return r
}

func (s vset) andNot(t vset) vset {
	r := make(vset, len(s))
	for i := range s {
		r[i] = s[i] &^ t[i]
	}
	return r
}

func (s vset) count() int {
	n := 0
	for _, w := range s {
		n += bits.OnesCount64(w)
	}
	return n
}

// first returns the most preferred candidate in s, or -1.
func (s vset) first() int {
	for i, w := range s {
		if w != 0 {
			return i*64 + bits.TrailingZeros64(w)
		}
	}
	return -1
}

// key makes s usable as a map key.
func (s vset) key() string {
	b := make([]byte, 0, 8*len(s))
	for _, w := range s {
		b = binary.LittleEndian.AppendUint64(b, w)
	}
	return string(b)
}

// term is a statement about one package: positive "pkg is chosen at a version in set", or negative
// "pkg is not chosen at a version in set" (which includes pkg not being chosen at all). The
// representation is canonical, so two terms mean the same thing exactly when their fields are equal.
type term struct {
	pkg int
	pos bool
	set vset
}

func (t term) negate() term { return term{t.pkg, !t.pos, t.set} }

// isAny reports whether t holds whatever is chosen.
func (t term) isAny() bool { return !t.pos && t.set.empty() }

func intersect(a, b term) term {
	switch {
	case a.pos && b.pos:
		return term{a.pkg, true, a.set.and(b.set)}
	case a.pos:
		return term{a.pkg, true, a.set.andNot(b.set)}
	case b.pos:
		return term{a.pkg, true, b.set.andNot(a.set)}
	default:
		return term{a.pkg, false, a.set.or(b.set)}
	}
}

func union(a, b term) term { return intersect(a.negate(), b.negate()).negate() }

// satisfies reports whether a ⊆ b: whenever a holds, b holds.
func satisfies(a, b term) bool {
	switch {
	case a.pos && b.pos:
		return a.set.subsetOf(b.set)
	case a.pos:
		return a.set.disjoint(b.set)
	case b.pos:
		return false // a allows pkg not to be chosen, b does not
	default:
		return b.set.subsetOf(a.set)
	}
}

// contradicts reports whether a and b cannot both hold.
func contradicts(a, b term) bool {
	switch {
	case a.pos && b.pos:
		return a.set.disjoint(b.set)
	case a.pos:
		return a.set.subsetOf(b.set)
	case b.pos:
		return b.set.subsetOf(a.set)
	default:
		return false
	}
}
