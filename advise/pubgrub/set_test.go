package pubgrub

import (
	"fmt"
	"testing"
)

// states lists the outcomes a term allows for a package with n candidates: candidate i chosen
// (0..n-1), or the package not chosen at all (n).
func states(t term, n int) map[int]bool {
	out := map[int]bool{}
	for i := range n {
		if t.set.has(i) == t.pos {
			out[i] = true
		}
	}
	if !t.pos {
		out[n] = true
	}
	return out
}

func allTerms(n int) []term {
	var ts []term
	for mask := range 1 << n {
		for _, pos := range []bool{true, false} {
			set := make(vset, 1)
			for i := range n {
				if mask&(1<<i) != 0 {
					set.add(i)
				}
			}
			ts = append(ts, term{pos: pos, set: set})
		}
	}
	return ts
}

func name(t term) string {
	if t.pos {
		return fmt.Sprintf("%03b", t.set[0])
	}
	return fmt.Sprintf("not %03b", t.set[0])
}

// TestTermAlgebra checks every pair of terms over three candidates against the outcomes they allow.
func TestTermAlgebra(t *testing.T) {
	const n = 3
	for _, a := range allTerms(n) {
		sa := states(a, n)
		if neg := states(a.negate(), n); len(neg)+len(sa) != n+1 {
			t.Errorf("negate(%s) allows %v, not the complement of %v", name(a), neg, sa)
		}
		for _, b := range allTerms(n) {
			sb := states(b, n)
			inter, uni, sub, disj := map[int]bool{}, map[int]bool{}, true, true
			for s := range n + 1 {
				if sa[s] && sb[s] {
					inter[s] = true
					disj = false
				}
				if sa[s] || sb[s] {
					uni[s] = true
				}
				if sa[s] && !sb[s] {
					sub = false
				}
			}
			if got := states(intersect(a, b), n); fmt.Sprint(got) != fmt.Sprint(inter) {
				t.Errorf("intersect(%s, %s) allows %v, want %v", name(a), name(b), got, inter)
			}
			if got := states(union(a, b), n); fmt.Sprint(got) != fmt.Sprint(uni) {
				t.Errorf("union(%s, %s) allows %v, want %v", name(a), name(b), got, uni)
			}
			if got := satisfies(a, b); got != sub {
				t.Errorf("satisfies(%s, %s) = %v, want %v", name(a), name(b), got, sub)
			}
			if got := contradicts(a, b); got != disj {
				t.Errorf("contradicts(%s, %s) = %v, want %v", name(a), name(b), got, disj)
			}
		}
	}
}

func TestSetsBeyondOneWord(t *testing.T) {
	const n = 130
	full := fullSet(n)
	if got := full.count(); got != n {
		t.Errorf("fullSet(%d) has %d members", n, got)
	}
	s := singleton(n, 129)
	if !s.has(129) || s.has(128) || s.first() != 129 || !s.subsetOf(full) || s.disjoint(full) {
		t.Errorf("singleton(%d, 129) = %x is wrong", n, s)
	}
	if rest := full.andNot(s); rest.count() != n-1 || rest.has(129) || rest.first() != 0 {
		t.Errorf("fullSet minus {129} = %x", rest)
	}
	if (vset{0, 0, 0}).first() != -1 {
		t.Error("first of the empty set is not -1")
	}
}
