package pep440

import (
	"slices"
	"testing"
)

func TestParseNormalizes(t *testing.T) {
	tests := []struct{ in, want string }{
		{"1.0", "1.0"},
		{"v1.0", "1.0"},
		{"V1.0", "1.0"},
		{" 1.0\n", "1.0"},
		{"01.002", "1.2"},
		{"1.0a", "1.0a0"},
		{"1.0alpha1", "1.0a1"},
		{"1.0-a-1", "1.0a1"},
		{"1.0.beta.2", "1.0b2"},
		{"1.0c1", "1.0rc1"},
		{"1.0pre1", "1.0rc1"},
		{"1.0preview1", "1.0rc1"},
		{"1.0RC1", "1.0rc1"},
		{"1.0-1", "1.0.post1"},
		{"1.0post", "1.0.post0"},
		{"1.0.rev2", "1.0.post2"},
		{"1.0r3", "1.0.post3"},
		{"1.0_post_4", "1.0.post4"},
		{"1.0dev", "1.0.dev0"},
		{"1.0-dev2", "1.0.dev2"},
		{"1!1.0", "1!1.0"},
		{"0!1.0", "1.0"},
		{"1.0+ubuntu-1", "1.0+ubuntu.1"},
		{"1.0+Ubuntu_01.X", "1.0+ubuntu.1.x"},
		{"1.0a1.post2.dev3+abc", "1.0a1.post2.dev3+abc"},
		{"2024.10.1", "2024.10.1"},
	}
	for _, tt := range tests {
		v, err := Parse(tt.in)
		if err != nil {
			t.Errorf("Parse(%q): %v", tt.in, err)
			continue
		}
		if got := v.String(); got != tt.want {
			t.Errorf("Parse(%q).String() = %q, want %q", tt.in, got, tt.want)
		}
	}
}

func TestParseRejects(t *testing.T) {
	for _, in := range []string{
		"", "french toast", "1.0+", "1.0+a..b", "1.0-", "1.0.", ".1", "1.0a1a1",
		"1!", "v", "1.0++x", "1.0 .1", "99999999999999999999999",
	} {
		if v, err := Parse(in); err == nil {
			t.Errorf("Parse(%q) = %s, want an error", in, v)
		}
	}
}

// The ordering example from PEP 440's "Summary of permitted suffixes and
// relative ordering", plus epochs and local labels.
func TestCompareOrdering(t *testing.T) {
	ordered := []string{
		"1.dev0",
		"1.0.dev456",
		"1.0a1",
		"1.0a2.dev456",
		"1.0a12.dev456",
		"1.0a12",
		"1.0b1.dev456",
		"1.0b2",
		"1.0b2.post345.dev456",
		"1.0b2.post345",
		"1.0rc1.dev456",
		"1.0rc1",
		"1.0",
		"1.0+abc.5",
		"1.0+abc.7",
		"1.0+5",
		"1.0.post456.dev34",
		"1.0.post456",
		"1.0.15",
		"1.1.dev1",
		"1.1",
		"2.0",
		"1!0.1",
		"1!1.0",
	}
	vs := make([]Version, len(ordered))
	for i, s := range ordered {
		vs[i] = MustParse(s)
	}
	for i := range vs {
		for j := range vs {
			want := cmpInt(i, j)
			if got := Compare(vs[i], vs[j]); got != want {
				t.Errorf("Compare(%s, %s) = %d, want %d", ordered[i], ordered[j], got, want)
			}
		}
	}
}

func TestCompareEqualForms(t *testing.T) {
	for _, p := range [][2]string{
		{"1.0", "1"}, {"1.0", "1.0.0.0"}, {"1.0a", "1.0a0"}, {"1.0+AbC", "1.0+abc"},
		{"1.0+1-2", "1.0+1.2"}, {"0!1.0", "1.0"}, {"1.0-1", "1.0.post1"},
	} {
		if !MustParse(p[0]).Equal(MustParse(p[1])) {
			t.Errorf("%s and %s should be equal", p[0], p[1])
		}
	}
}

func TestAccessors(t *testing.T) {
	v := MustParse("2!1.2.3rc4.post5.dev6+local.7")
	if v.Epoch() != 2 || !slices.Equal(v.Release(), []uint64{1, 2, 3}) {
		t.Errorf("epoch/release of %s: %d %v", v, v.Epoch(), v.Release())
	}
	if got := v.Public().String(); got != "2!1.2.3rc4.post5.dev6" {
		t.Errorf("Public = %s", got)
	}
	if got := v.BaseVersion().String(); got != "2!1.2.3" {
		t.Errorf("BaseVersion = %s", got)
	}
	if got := v.Local(); got != "local.7" {
		t.Errorf("Local = %s", got)
	}
	for _, tt := range []struct {
		v         string
		pre, post bool
	}{
		{"1.0", false, false}, {"1.0a1", true, false}, {"1.0.dev1", true, false},
		{"1.0.post1", false, true}, {"1.0.post1.dev1", true, true}, {"1.0rc1+x", true, false},
	} {
		v := MustParse(tt.v)
		if v.IsPrerelease() != tt.pre || v.IsPostrelease() != tt.post {
			t.Errorf("%s: IsPrerelease=%v IsPostrelease=%v, want %v %v", tt.v, v.IsPrerelease(), v.IsPostrelease(), tt.pre, tt.post)
		}
	}
	var zero Version
	if zero.String() != "0" || !zero.Equal(MustParse("0.0")) {
		t.Errorf("zero Version = %s", zero)
	}
}

func FuzzParse(f *testing.F) {
	for _, s := range []string{"1.0", "1!2.0rc1.post2.dev3+a.b", "v1.0-1", "1.0+", "01.0.0a"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		v, err := Parse(s)
		if err != nil {
			return
		}
		// Both parsers must agree wherever the fast one answers.
		if fast, ok := parseCanonical(s); ok {
			slow, err := parseSlow(s)
			if err != nil || Compare(fast, slow) != 0 || fast.String() != slow.String() || fast.String() != s {
				t.Fatalf("parseCanonical(%q) = %s, parseSlow = %s, %v", s, fast, slow, err)
			}
		}
		// The normalized form must parse back to an equal version with the same text.
		w, err := Parse(v.String())
		if err != nil {
			t.Fatalf("normalized %q of %q does not parse: %v", v, s, err)
		}
		if !v.Equal(w) || w.String() != v.String() {
			t.Fatalf("round trip of %q: %s != %s", s, v, w)
		}
	})
}
