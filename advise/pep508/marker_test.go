package pep508

import (
	"encoding/json"
	"os/exec"
	"slices"
	"strings"
	"testing"
)

// linux311 is CPython 3.11.7 on x86_64 Linux, as a Debian image reports it.
var linux311 = Environment{
	PythonVersion:                "3.11",
	PythonFullVersion:            "3.11.7",
	ImplementationName:           "cpython",
	ImplementationVersion:        "3.11.7",
	PlatformPythonImplementation: "CPython",
	PlatformMachine:              "x86_64",
	PlatformRelease:              "6.1.0-13-amd64",
	PlatformSystem:               "Linux",
	PlatformVersion:              "#1 SMP PREEMPT_DYNAMIC Debian 6.1.55-1 (2023-09-29)",
	SysPlatform:                  "linux",
	OSName:                       "posix",
}

var markerCases = []struct {
	marker string
	extra  string
	want   bool
}{
	{`python_version >= "3.8"`, "", true},
	{`python_version < "3.8"`, "", false},
	// As versions, 3.11 > 3.9; as strings it would not be.
	{`python_version > "3.9"`, "", true},
	{`python_version >= "3.11.0"`, "", true},
	{`python_full_version < "3.11.8"`, "", true},
	{`python_full_version == "3.11.*"`, "", true},
	{`python_version ~= "3.8"`, "", true},
	{`python_version ~= "3.12"`, "", false},
	{`python_version != "3.11"`, "", false},
	{`python_version === "3.11"`, "", true},
	{`"3.8" <= python_version`, "", true},
	{`"3.12" <= python_version`, "", false},
	{`python_full_version >= "3.11.0rc1"`, "", true},
	{`implementation_version >= "3.11"`, "", true},
	{`sys_platform == "linux"`, "", true},
	{`sys_platform == "win32"`, "", false},
	{`sys_platform != "win32" and platform_machine == "x86_64"`, "", true},
	{`platform_system == "Windows" or os_name == "posix"`, "", true},
	{`platform_machine in "x86_64 aarch64"`, "", true},
	{`platform_machine not in "x86_64 aarch64"`, "", false},
	{`"linux" in sys_platform`, "", true},
	{`"arm" in platform_machine`, "", false},
	{`platform_python_implementation == "CPython"`, "", true},
	{`implementation_name == "pypy"`, "", false},
	{`platform_version < "#2"`, "", true}, // string comparison
	{`os_name == "posix" and (python_version < "3.8" or sys_platform == "linux")`, "", true},
	{`os_name == "nt" and python_version < "3.8" or sys_platform == "linux"`, "", true},
	{`os_name == "nt" and (python_version < "3.8" or sys_platform == "linux")`, "", false},
	{`sys_platform == "linux" or os_name == "nt" and python_version < "3.8"`, "", true},
	{`extra == "socks"`, "socks", true},
	{`extra == "socks"`, "", false},
	{`extra == "Test_Suite"`, "test-suite", true},
	{`extra == "test.suite"`, "Test_Suite", true},
	{`extra != "socks"`, "", true},
	{`python_version < "3.11" and extra == "socks"`, "socks", false},
	{`python_version >= "3.10" and extra == "socks"`, "socks", true},
	{`(extra == "a" or extra == "b") and os_name == "posix"`, "b", true},
	{`os.name == "posix"`, "", true},
	{`sys.platform == "linux"`, "", true},
	{`python_implementation == "CPython"`, "", true},
	{`platform.machine == "x86_64"`, "", true},
	{`python_version=='3.11'and os_name=='posix'`, "", true},
	{`(((python_version >= "3")))`, "", true},
}

func TestMarkerEvaluate(t *testing.T) {
	for _, tt := range markerCases {
		m, err := ParseMarker(tt.marker)
		if err != nil {
			t.Errorf("ParseMarker(%q): %v", tt.marker, err)
			continue
		}
		if got := m.Evaluate(linux311, tt.extra); got != tt.want {
			t.Errorf("%q with extra %q = %v, want %v", tt.marker, tt.extra, got, tt.want)
		}
		// The normalized text must mean the same.
		again, err := ParseMarker(m.String())
		if err != nil {
			t.Errorf("String() %q of %q does not parse: %v", m.String(), tt.marker, err)
		} else if again.Evaluate(linux311, tt.extra) != tt.want {
			t.Errorf("String() %q of %q evaluates differently", m.String(), tt.marker)
		}
	}
}

// TestMarkerEvaluateLikePackaging checks every case against the
// "packaging" library that pip and pipenv use (Debian's python3-packaging),
// skipping cases where packaging itself raises.
func TestMarkerEvaluateLikePackaging(t *testing.T) {
	py, err := exec.LookPath("/usr/bin/python3")
	if err != nil {
		t.Skip("no /usr/bin/python3; run make deps")
	}
	type pycase struct {
		Marker string `json:"marker"`
		Extra  string `json:"extra"`
	}
	var cases []pycase
	for _, c := range markerCases {
		cases = append(cases, pycase{c.marker, c.extra})
	}
	in, _ := json.Marshal(map[string]any{"env": linux311, "cases": cases})
	script := `
import json, sys
from packaging.markers import Marker
d = json.load(sys.stdin)
out = []
for c in d["cases"]:
    env = dict(d["env"]); env["extra"] = c["extra"]
    try:
        out.append(Marker(c["marker"]).evaluate(env))
    except Exception as e:
        out.append(None)
print(json.dumps(out))
`
	cmd := exec.Command(py, "-c", script)
	cmd.Stdin = strings.NewReader(string(in))
	outb, err := cmd.Output()
	if err != nil {
		t.Fatalf("running packaging (install Debian's python3-packaging: make deps): %v", err)
	}
	var results []*bool
	if err := json.Unmarshal(outb, &results); err != nil {
		t.Fatalf("packaging output %q: %v", outb, err)
	}
	compared := 0
	for i, c := range markerCases {
		if results[i] == nil {
			continue
		}
		compared++
		m, err := ParseMarker(c.marker)
		if err != nil {
			t.Errorf("%q: packaging accepts it, we say %v", c.marker, err)
			continue
		}
		if got := m.Evaluate(linux311, c.extra); got != *results[i] {
			t.Errorf("%q with extra %q: we say %v, packaging says %v", c.marker, c.extra, got, *results[i])
		}
	}
	if compared < len(markerCases)/2 {
		t.Errorf("packaging evaluated only %d of %d cases", compared, len(markerCases))
	}
}

func TestEnvironmentFromMap(t *testing.T) {
	m := map[string]string{}
	for name := range variables {
		if canon := variables[name]; canon == name && name != "extra" {
			m[name] = linux311.Get(name)
		}
	}
	if got := EnvironmentFromMap(m); got != linux311 {
		t.Errorf("EnvironmentFromMap = %+v, want %+v", got, linux311)
	}
}

func TestMarkerString(t *testing.T) {
	for in, want := range map[string]string{
		`python_version>'3.6'`: `python_version > "3.6"`,
		`os.name=="posix"`:     `os_name == "posix"`,
		`(a_b)`:                ``,
		`os_name == "a" and (sys_platform == "b" or extra == "c")`: `os_name == "a" and (sys_platform == "b" or extra == "c")`,
		`(os_name == "a" and sys_platform == "b") or extra == "c"`: `os_name == "a" and sys_platform == "b" or extra == "c"`,
		`((os_name == "a"))`:                 `os_name == "a"`,
		`platform_version == 'has "quotes"'`: `platform_version == 'has "quotes"'`,
		`os_name not   in "x"`:               `os_name not in "x"`,
	} {
		m, err := ParseMarker(in)
		if want == "" {
			if err == nil {
				t.Errorf("ParseMarker(%q) should fail", in)
			}
			continue
		}
		if err != nil {
			t.Errorf("ParseMarker(%q): %v", in, err)
			continue
		}
		if got := m.String(); got != want {
			t.Errorf("ParseMarker(%q).String() = %q, want %q", in, got, want)
		}
	}
}

func TestWithoutExtrasAndJoin(t *testing.T) {
	for in, want := range map[string]string{
		`python_version < "3.11" and extra == "socks"`:                   `python_version < "3.11"`,
		`extra == "a" or extra == "b"`:                                   ``,
		`extra == "a"`:                                                   ``,
		`(extra == "a" or extra == "b") and sys_platform == "linux"`:     `sys_platform == "linux"`,
		`sys_platform == "win32" and extra == "a" or os_name == "posix"`: `sys_platform == "win32" or os_name == "posix"`,
		`sys_platform == "win32" or extra == "a"`:                        ``,
		`os_name == "posix"`:                                             `os_name == "posix"`,
	} {
		m, err := ParseMarker(in)
		if err != nil {
			t.Fatal(err)
		}
		if got := m.WithoutExtras().String(); got != want {
			t.Errorf("WithoutExtras(%q) = %q, want %q", in, got, want)
		}
	}
	a, _ := ParseMarker(`os_name == "posix" or sys_platform == "linux"`)
	b, _ := ParseMarker(`python_version >= "3.8"`)
	c, _ := ParseMarker(`extra == "X_Y" and extra == "z"`)
	if got := And(a, Marker{}, b).String(); got != `(os_name == "posix" or sys_platform == "linux") and python_version >= "3.8"` {
		t.Errorf("And = %q", got)
	}
	if got := Or(a, b).String(); got != `os_name == "posix" or sys_platform == "linux" or python_version >= "3.8"` {
		t.Errorf("Or = %q", got)
	}
	if !Or(a, Marker{}).IsEmpty() || !And().IsEmpty() {
		t.Error("Or with an empty marker should be empty, And of nothing empty")
	}
	if got := a.Format('\''); got != `os_name == 'posix' or sys_platform == 'linux'` {
		t.Errorf("Format('\\'') = %q", got)
	}
	if got := c.Extras(); !slices.Equal(got, []string{"x-y", "z"}) {
		t.Errorf("Extras = %q", got)
	}
}

func TestParseMarkerDepthBounded(t *testing.T) {
	deep := strings.Repeat("(", 10000) + `os_name == "a"` + strings.Repeat(")", 10000)
	if _, err := ParseMarker(deep); err == nil || !strings.Contains(err.Error(), "nested deeper") {
		t.Errorf("deeply nested marker: err = %v", err)
	}
}

func FuzzParseMarker(f *testing.F) {
	for _, c := range markerCases {
		f.Add(c.marker, c.extra)
	}
	f.Fuzz(func(t *testing.T, s, extra string) {
		m, err := ParseMarker(s)
		if err != nil {
			return
		}
		again, err := ParseMarker(m.String())
		if err != nil {
			t.Fatalf("String() %q of %q does not parse: %v", m.String(), s, err)
		}
		if again.String() != m.String() || again.Evaluate(linux311, extra) != m.Evaluate(linux311, extra) {
			t.Fatalf("round trip of %q changed it: %q", s, again.String())
		}
		m.WithoutExtras().Evaluate(linux311, extra)
		// The parse-time specifier cache must not change any answer.
		for _, env := range []Environment{linux311, {PythonVersion: "3.7", PythonFullVersion: "3.7.0rc1", PlatformRelease: s}} {
			if (Marker{root: stripSpecs(m.root)}).Evaluate(env, extra) != m.Evaluate(env, extra) {
				t.Fatalf("%q: cached and uncached evaluation differ", s)
			}
		}
	})
}

func stripSpecs(n node) node {
	switch n := n.(type) {
	case cmpNode:
		n.spec = nil
		return n
	case boolNode:
		terms := make([]node, len(n.terms))
		for i, t := range n.terms {
			terms[i] = stripSpecs(t)
		}
		return boolNode{and: n.and, terms: terms}
	}
	return n
}
