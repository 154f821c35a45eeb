package pep508

import (
	"encoding/json"
	"os/exec"
	"slices"
	"strings"
	"testing"

	"github.com/seshat-dev/seshat/advise/pep440"
)

// crossRequirements are requirement lines seen in real metadata and a
// few broken ones; packaging and this package must agree on all of them.
var crossRequirements = []string{
	"requests",
	"requests[socks,security]>=2.8.1,==2.8.*",
	"Flask_SQLAlchemy (>=2.0, <3)",
	`importlib-metadata>=3.6.0; python_version < "3.10"`,
	`colorama; platform_system == "Windows"`,
	`pytest>=7; extra == "test"`,
	`typing-extensions>=4.6.0,!=4.7.0`,
	`pywin32>=226; sys_platform == "win32" and platform_python_implementation != "PyPy"`,
	`pip @ https://example.org/pip-23.0-py3-none-any.whl`,
	`pip @ https://example.org/pip.whl ; python_version >= "3.7"`,
	`exceptiongroup>=1.0.0rc8; python_version < "3.11"`,
	`tomli>=1.1.0; python_version < "3.11"`,
	`charset_normalizer<4,>=2`,
	`zope.interface`,
	`a.b-c_d[E.F]~=1.4.2`,
	`name;os_name=='a'or os_name=='b'`,
	`name>=1.0.*`,
	`name==1.0+local`,
	`name<1.0+local`,
	`name bar`,
	`name[`,
	`name>=`,
	`name @`,
	`-name`,
	`name; python_version >= "3" and`,
	`name; unknown == "x"`,
	`name~=1`,
	`name===anything-goes`,
}

func TestRequirementsMatchPackaging(t *testing.T) {
	in, _ := json.Marshal(crossRequirements)
	cmd := exec.Command("/usr/bin/python3", "-c", `
import json, sys
from packaging.requirements import Requirement
out = []
for line in json.load(sys.stdin):
    try:
        r = Requirement(line)
    except Exception:
        out.append(None)
        continue
    out.append({"name": r.name, "extras": sorted(r.extras), "url": r.url or "",
                "specs": sorted(str(s) for s in r.specifier), "marker": str(r.marker) if r.marker else ""})
print(json.dumps(out))
`)
	cmd.Stdin = strings.NewReader(string(in))
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("running packaging (install Debian's python3-packaging: make deps): %v", err)
	}
	var want []*struct {
		Name, URL, Marker string
		Extras, Specs     []string
	}
	if err := json.Unmarshal(out, &want); err != nil {
		t.Fatal(err)
	}
	for i, line := range crossRequirements {
		r, err := ParseRequirement(line)
		w := want[i]
		if w == nil {
			if err == nil {
				t.Errorf("%q: packaging rejects it, we parse %q", line, r.String())
			}
			continue
		}
		if err != nil {
			t.Errorf("%q: packaging accepts it, we say %v", line, err)
			continue
		}
		extras := slices.Clone(r.Extras)
		slices.Sort(extras)
		var specs []string
		for _, s := range r.Specifier {
			// Compare clauses after normalizing packaging's text the same way.
			ps, err := pep440.ParseSpecifier(s.String())
			if err != nil {
				t.Fatal(err)
			}
			specs = append(specs, ps.String())
		}
		var wantSpecs []string
		for _, s := range w.Specs {
			ps, err := pep440.ParseSpecifier(s)
			if err != nil {
				t.Fatalf("%q: packaging clause %q: %v", line, s, err)
			}
			wantSpecs = append(wantSpecs, ps.String())
		}
		slices.Sort(specs)
		slices.Sort(wantSpecs)
		if r.Name != w.Name || !slices.Equal(extras, w.Extras) || r.URL != w.URL || !slices.Equal(specs, wantSpecs) {
			t.Errorf("%q: we read name %q extras %q url %q specs %q; packaging %q %q %q %q", line, r.Name, extras, r.URL, specs, w.Name, w.Extras, w.URL, wantSpecs)
		}
		if w.Marker != "" {
			m, err := ParseMarker(w.Marker)
			if err != nil || m.String() != r.Marker.String() {
				t.Errorf("%q: marker %q, packaging writes %q (%v)", line, r.Marker.String(), w.Marker, err)
			}
		}
	}
}
