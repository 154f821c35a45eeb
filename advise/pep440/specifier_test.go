package pep440

import (
	"strings"
	"testing"
)

func TestSpecifierContains(t *testing.T) {
	tests := []struct {
		spec     string
		version  string
		allowPre bool
		want     bool
	}{
		// Inclusive ordered comparison ignores local labels.
		{">=1.0", "1.0", false, true},
		{">=1.0", "0.9", false, false},
		{">=1.0", "1.0+local", false, true},
		{"<=1.0", "1.0+local", false, true},
		{"<=1.0", "1.0.post1", false, false},
		// Exclusive ordered comparison: PEP 440's own examples.
		{">1.7", "1.7.1", false, true},
		{">1.7", "1.7.0.post1", false, false},
		{">1.7.post2", "1.7.1", false, true},
		{">1.7.post2", "1.7.0.post3", false, true},
		{">1.7", "1.7+local", false, false},
		{">1.7", "1.8+local", false, true},
		{"<3.1", "3.1.dev0", true, false},
		{"<3.1", "3.0", false, true},
		{"<3.1rc1", "3.1a1", true, true},
		{"<3.1rc1", "3.1a1", false, false}, // < never names a pre-release it allows
		{"<3.1rc1", "3.1rc1", false, false},
		// Version matching, with local labels.
		{"==1.0", "1.0+local", false, true},
		{"==1.0+local", "1.0", false, false},
		{"==1.0+local", "1.0+local", false, true},
		{"==1.0+local", "1.0+other", false, false},
		{"==1.1", "1.1.0", false, true},
		{"==1.1", "1.1.post1", false, false},
		{"!=1.1", "1.1.post1", false, true},
		// Prefix matching: PEP 440's examples.
		{"==1.1.*", "1.1.post1", false, true},
		{"==1.1.*", "1.1a1", true, true},
		{"==1.1.*", "1.1a1", false, false},
		{"==1.1.*", "1.10", false, false},
		{"==1.1.0.*", "1.1", false, true},
		{"==1.*", "1.9.9", false, true},
		{"==1.*", "2.0", false, false},
		{"!=1.3.*", "1.3.4", false, false},
		{"!=1.3.*", "1.4", false, true},
		{"==1!1.*", "1.1", false, false},
		{"==1.0.*", "1.0+local", false, true},
		// Compatible release.
		{"~=2.2", "2.3", false, true},
		{"~=2.2", "2.2", false, true},
		{"~=2.2", "2.1", false, false},
		{"~=2.2", "3.0", false, false},
		{"~=1.4.5", "1.4.9", false, true},
		{"~=1.4.5", "1.5.0", false, false},
		{"~=2.2.post3", "2.9", false, true},
		{"~=2.2.post3", "2.2", false, false},
		{"~=1.4.5a4", "1.4.5", false, true},
		{"~=1.4.5a4", "1.4.6a1", false, true}, // the clause names a pre-release
		{"~=1.4.5a4", "1.5", false, false},
		{"~=1!2.2", "1!2.5", false, true},
		{"~=1!2.2", "2.5", false, false},
		// Arbitrary equality.
		{"===1.0", "1.0", false, true},
		{"===1.0", "1.0.0", false, false},
		{"===1.0+LOCAL", "1.0+local", false, true},
		// Pre-releases are excluded unless allowed or named.
		{">=1.0", "2.0b1", false, false},
		{">=1.0", "2.0b1", true, true},
		{">=2.0b1", "2.0b2", false, true},
		{">=2.0b1", "3.0.dev1", false, true},
		{"", "1.0", false, true},
		{"", "1.0rc1", false, false},
		{"", "1.0rc1", true, true},
		{">1.0a1", "1.0a2", false, false}, // > does not name one it would allow
		// Sets.
		{">=1.0,!=1.3.*,<2", "1.3.1", false, false},
		{">=1.0,!=1.3.*,<2", "1.4", false, true},
		{">=1.0,!=1.3.*,<2", "2.0", false, false},
		{">=1.0, <2.0", "1.5", false, true},
		{">= 1.0 ,, < 2.0 ", "1.5", false, true},
	}
	for _, tt := range tests {
		ss, err := ParseSpecifiers(tt.spec)
		if err != nil {
			t.Errorf("ParseSpecifiers(%q): %v", tt.spec, err)
			continue
		}
		if got := ss.Contains(MustParse(tt.version), tt.allowPre); got != tt.want {
			t.Errorf("%q.Contains(%s, allowPre=%v) = %v, want %v", tt.spec, tt.version, tt.allowPre, got, tt.want)
		}
	}
}

func TestParseSpecifiersErrors(t *testing.T) {
	tests := []struct{ in, wantErr string }{
		{"1.0", "want an operator"},
		{">=", "no version after"},
		{"=>1.0", "want an operator"},
		{">=1.0.*", "only with == and !="},
		{"==1.0a1.*", "must follow a release"},
		{"~=1", "at least two release numbers"},
		{"~=1.0+local", "local version label"},
		{"<1.0+local", "local version label"},
		{"==foo", `version "foo" is not valid under PEP 440`},
		{">=1.0 <2", "want an operator"},
	}
	for _, tt := range tests {
		_, err := ParseSpecifiers(tt.in)
		if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
			t.Errorf("ParseSpecifiers(%q) error = %v, want one containing %q", tt.in, err, tt.wantErr)
		}
	}
}

func TestSpecifierString(t *testing.T) {
	for in, want := range map[string]string{
		">= 1.0 , != 1.3.* ,<2": ">=1.0,!=1.3.*,<2",
		"~=2.2.0":               "~=2.2.0",
		"==v1.0-1":              "==1.0.post1",
		"===foobar":             "===foobar",
		"==1.0+Ubuntu-1":        "==1.0+ubuntu.1",
		"":                      "",
		">=1!2.0rc1,<3":         ">=1!2.0rc1,<3",
	} {
		ss, err := ParseSpecifiers(in)
		if err != nil {
			t.Fatalf("ParseSpecifiers(%q): %v", in, err)
		}
		if got := ss.String(); got != want {
			t.Errorf("ParseSpecifiers(%q).String() = %q, want %q", in, got, want)
		}
	}
}

func TestExplicitlyAllowsPre(t *testing.T) {
	for in, want := range map[string]bool{
		">=1.0": false, ">=1.0rc1": true, "==2.0.dev1": true, "<2.0a1": false,
		"~=1.0b2": true, "===1.0a1": true, "!=1.0a1": false, ">1.0,<=2.0b1": true,
		"==1.*": false,
	} {
		if got := mustSet(t, in).ExplicitlyAllowsPre(); got != want {
			t.Errorf("%q.ExplicitlyAllowsPre() = %v, want %v", in, got, want)
		}
	}
}

func mustSet(t *testing.T, s string) SpecifierSet {
	t.Helper()
	ss, err := ParseSpecifiers(s)
	if err != nil {
		t.Fatal(err)
	}
	return ss
}

func FuzzParseSpecifiers(f *testing.F) {
	for _, s := range []string{">=1.0,!=1.3.*,<2", "~=2.2", "===x", "==1.0+l", ">1!2.0.post1"} {
		f.Add(s, "1.3.1")
	}
	f.Fuzz(func(t *testing.T, spec, version string) {
		ss, err := ParseSpecifiers(spec)
		if err != nil {
			return
		}
		// The normalized text must parse back to the same clauses.
		again, err := ParseSpecifiers(ss.String())
		if err != nil {
			t.Fatalf("normalized %q of %q does not parse: %v", ss, spec, err)
		}
		if again.String() != ss.String() {
			t.Fatalf("round trip of %q: %q != %q", spec, ss, again)
		}
		if v, err := Parse(version); err == nil {
			if ss.Contains(v, true) != again.Contains(v, true) {
				t.Fatalf("%q and %q disagree on %s", spec, again, v)
			}
		}
	})
}
