package pep440

import (
	"encoding/json"
	"os/exec"
	"strings"
	"testing"
)

// Versions and specifiers for the cross-check with "packaging", picked to
// sit on every boundary the rules care about.
var (
	crossVersions = []string{
		"0.9", "1.0.dev0", "1.0a1", "1.0a2.dev1", "1.0b1", "1.0rc1", "1.0rc1.post1", "1.0",
		"1.0+local.1", "1.0+local.a", "1.0.post1.dev1", "1.0.post1", "1.0.post1+x", "1.0.1",
		"1.1.dev1", "1.1a1", "1.1", "1.1.post0", "1.10", "2.0", "2.0.0+cu121", "2.2", "2.2.post3",
		"2.9", "3.0.dev0", "1!0.5", "1!1.0", "3.11.7",
	}
	crossSpecs = []string{
		"", ">=1.0", ">1.0", "<1.0", "<=1.0", "==1.0", "!=1.0", "==1.0+local.1", "==1.0.*", "!=1.0.*",
		"==1.*", "~=1.0", "~=1.0.0", "~=2.2.post3", ">1.0.post1", "<1.1", "<1.1a1", ">=1.0a1",
		"<=2.0", ">=1.0,<2.0,!=1.1.*", "==1!1.*", ">=1!0", "===1.0", "==2.0.0", "~=3.11", ">1.0.dev0",
	}
)

// TestMatchesPackaging compares ordering and every specifier × version
// pair with the "packaging" library pip uses (Debian's python3-packaging).
// Contains(v, false) is packaging's default (prereleases=None): a clause
// naming a pre-release still admits them, as pip does without --pre.
func TestMatchesPackaging(t *testing.T) {
	in, _ := json.Marshal(map[string]any{"versions": crossVersions, "specs": crossSpecs})
	cmd := exec.Command("/usr/bin/python3", "-c", `
import json, sys
from packaging.version import Version
from packaging.specifiers import SpecifierSet
d = json.load(sys.stdin)
vs = [Version(v) for v in d["versions"]]
order = [str(v) for v in sorted(vs)]
norm = [str(v) for v in vs]
contains = {}
for s in d["specs"]:
    ss = SpecifierSet(s)
    contains[s] = [[ss.contains(v) for v in vs], [ss.contains(v, prereleases=True) for v in vs], ss.prereleases is True]
print(json.dumps({"order": order, "norm": norm, "contains": contains}))
`)
	cmd.Stdin = strings.NewReader(string(in))
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("running packaging (install Debian's python3-packaging: make deps): %v", err)
	}
	var want struct {
		Order    []string
		Norm     []string
		Contains map[string][3]json.RawMessage
	}
	if err := json.Unmarshal(out, &want); err != nil {
		t.Fatal(err)
	}
	vs := make([]Version, len(crossVersions))
	for i, s := range crossVersions {
		vs[i] = MustParse(s)
		if vs[i].String() != want.Norm[i] {
			t.Errorf("normalized %q = %s, packaging says %s", s, vs[i], want.Norm[i])
		}
	}
	sorted := append([]Version(nil), vs...)
	for i := range sorted {
		for j := i + 1; j < len(sorted); j++ {
			if Compare(sorted[j], sorted[i]) < 0 {
				sorted[i], sorted[j] = sorted[j], sorted[i]
			}
		}
	}
	for i, v := range sorted {
		if v.String() != want.Order[i] {
			t.Errorf("sorted position %d: %s, packaging has %s", i, v, want.Order[i])
		}
	}
	for _, s := range crossSpecs {
		ss, err := ParseSpecifiers(s)
		if err != nil {
			t.Errorf("ParseSpecifiers(%q): %v", s, err)
			continue
		}
		var noPre, withPre []bool
		var explicit bool
		r := want.Contains[s]
		_ = json.Unmarshal(r[0], &noPre)
		_ = json.Unmarshal(r[1], &withPre)
		_ = json.Unmarshal(r[2], &explicit)
		if ss.ExplicitlyAllowsPre() != explicit {
			t.Errorf("%q.ExplicitlyAllowsPre() = %v, packaging says %v", s, ss.ExplicitlyAllowsPre(), explicit)
		}
		for i, v := range vs {
			if got := ss.Contains(v, false); got != noPre[i] {
				t.Errorf("%q.Contains(%s, false) = %v, packaging says %v", s, v, got, noPre[i])
			}
			if got := ss.Contains(v, true); got != withPre[i] {
				t.Errorf("%q.Contains(%s, true) = %v, packaging says %v", s, v, got, withPre[i])
			}
		}
	}
}
