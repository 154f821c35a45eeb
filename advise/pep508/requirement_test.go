package pep508

import (
	"errors"
	"slices"
	"strings"
	"testing"
)

func TestParseRequirement(t *testing.T) {
	tests := []struct {
		in        string
		name      string
		extras    []string
		spec, url string
		marker    string
		str       string
	}{
		{in: "requests", name: "requests", str: "requests"},
		{in: "  requests  ", name: "requests", str: "requests"},
		{in: "Flask_SQLAlchemy>=2.0", name: "Flask_SQLAlchemy", spec: ">=2.0", str: "Flask_SQLAlchemy>=2.0"},
		{in: "requests[security,socks] >= 2.8.1, == 2.8.*", name: "requests", extras: []string{"security", "socks"}, spec: ">=2.8.1,==2.8.*", str: "requests[security,socks]>=2.8.1,==2.8.*"},
		{in: "name [ fred , bar ] ( >= 1.0 , < 2 )", name: "name", extras: []string{"fred", "bar"}, spec: ">=1.0,<2", str: "name[fred,bar]>=1.0,<2"},
		{in: "name[]", name: "name", str: "name"},
		{in: "name()", name: "name", str: "name"},
		{in: `importlib-metadata; python_version<"3.8"`, name: "importlib-metadata", marker: `python_version < "3.8"`, str: `importlib-metadata; python_version < "3.8"`},
		{in: `pip @ https://github.com/pypa/pip/archive/1.3.1.zip#sha1=da9234ee9982d4bbb3c72346a6de940a148ea686`, name: "pip", url: "https://github.com/pypa/pip/archive/1.3.1.zip#sha1=da9234ee9982d4bbb3c72346a6de940a148ea686", str: "pip @ https://github.com/pypa/pip/archive/1.3.1.zip#sha1=da9234ee9982d4bbb3c72346a6de940a148ea686"},
		{in: `name @ file:///x/y.whl ; os_name=="a"`, name: "name", url: "file:///x/y.whl", marker: `os_name == "a"`, str: `name @ file:///x/y.whl ; os_name == "a"`},
		{in: `name @ http://x/y;z`, name: "name", url: "http://x/y;z", str: "name @ http://x/y;z"},
		{in: `name;python_version>='2.7' and extra == "t"`, name: "name", marker: `python_version >= "2.7" and extra == "t"`, str: `name; python_version >= "2.7" and extra == "t"`},
		{in: `typing-extensions>=4.6.0,!=4.7.0`, name: "typing-extensions", spec: ">=4.6.0,!=4.7.0", str: "typing-extensions>=4.6.0,!=4.7.0"},
		{in: "pkg===1.0-weird", name: "pkg", spec: "===1.0-weird", str: "pkg===1.0-weird"},
		{in: "a==1.0 ;sys_platform=='linux'", name: "a", spec: "==1.0", marker: `sys_platform == "linux"`, str: `a==1.0; sys_platform == "linux"`},
	}
	for _, tt := range tests {
		r, err := ParseRequirement(tt.in)
		if err != nil {
			t.Errorf("ParseRequirement(%q): %v", tt.in, err)
			continue
		}
		if r.Name != tt.name || !slices.Equal(r.Extras, tt.extras) || r.Specifier.String() != tt.spec || r.URL != tt.url || r.Marker.String() != tt.marker {
			t.Errorf("ParseRequirement(%q) = name %q extras %q spec %q url %q marker %q", tt.in, r.Name, r.Extras, r.Specifier, r.URL, r.Marker)
		}
		if got := r.String(); got != tt.str {
			t.Errorf("ParseRequirement(%q).String() = %q, want %q", tt.in, got, tt.str)
		}
		again, err := ParseRequirement(r.String())
		if err != nil || again.String() != r.String() {
			t.Errorf("round trip of %q: %q, %v", tt.in, again.String(), err)
		}
	}
}

func TestParseRequirementErrors(t *testing.T) {
	tests := []struct {
		in     string
		column int
		msg    string
	}{
		{"", 1, "expected a package name"},
		{">=1.0", 1, "expected a package name"},
		{"foo bar", 5, "expected a version specifier or ';'"},
		{"requests >= 2.0 <3", 17, "expected ',' and another version specifier, or ';'"},
		{"foo[bar", 8, "expected ',' or ']'"},
		{"foo[,]", 5, "expected an extra name or ']'"},
		{"foo >= ", 8, "expected a version after"},
		{"foo => 1.0", 5, `"=>" is not a version operator`},
		{"foo >=1.0.*", 5, `specifier ">=1.0.*" is not valid under PEP 440: a .* wildcard is allowed only with == and !=`},
		{"foo (>=1.0", 11, "expected ',' or ')'"},
		{"foo @ ", 7, "expected a URL"},
		{"foo @ http://x extra", 16, "expected end of requirement"},
		{"foo; ", 6, "expected a marker after ';'"},
		{"foo; python_version", 20, "expected a comparison operator"},
		{"foo; python_version >= '3.8", 24, "unterminated string"},
		{"foo; os_nam == 'x'", 6, `unknown marker variable "os_nam"`},
		{"foo; os_name == 'x' and", 24, "expected a marker variable"},
		{"foo; (os_name == 'x'", 21, "expected ')', 'and' or 'or'"},
		{"foo; os_name == 'x')", 20, "unexpected ')'"},
		{"foo; os_name == 'x' os_name == 'y'", 21, "expected 'and', 'or' or the end"},
		{"-foo", 1, "not a valid package name"},
		{"foo-", 1, "not a valid package name"},
	}
	for _, tt := range tests {
		_, err := ParseRequirement(tt.in)
		var se *SyntaxError
		if !errors.As(err, &se) {
			t.Errorf("ParseRequirement(%q) error = %v, want a *SyntaxError", tt.in, err)
			continue
		}
		if se.Column != tt.column || !strings.Contains(se.Msg, tt.msg) {
			t.Errorf("ParseRequirement(%q) error = %q at column %d, want %q at column %d", tt.in, se.Msg, se.Column, tt.msg, tt.column)
		}
		if !strings.Contains(err.Error(), "at column") {
			t.Errorf("error text %q does not name the column", err)
		}
	}
}

func TestCanonicalName(t *testing.T) {
	for in, want := range map[string]string{
		"Flask":              "flask",
		"Flask_SQLAlchemy":   "flask-sqlalchemy",
		"zope.interface":     "zope-interface",
		"ruamel.yaml.clib":   "ruamel-yaml-clib",
		"a--b__c..d":         "a-b-c-d",
		"a-_.B":              "a-b",
		"typing_extensions":  "typing-extensions",
		"charset-normalizer": "charset-normalizer",
	} {
		if got := CanonicalName(in); got != want {
			t.Errorf("CanonicalName(%q) = %q, want %q", in, got, want)
		}
	}
	r, _ := ParseRequirement("Jinja2[I18N]>=3")
	if r.Canonical() != "jinja2" || !r.HasExtra("i18n") || r.HasExtra("babel") {
		t.Errorf("Canonical/HasExtra on %v", r)
	}
}

func FuzzParseRequirement(f *testing.F) {
	for _, s := range []string{
		"requests[security]>=2.8.1,==2.8.*;python_version<'2.7'",
		"name @ http://x/y ; os_name == 'a' or (extra == 'b' and platform_release >= '5')",
		"a (>=1, <2)",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		r, err := ParseRequirement(s)
		if err != nil {
			var se *SyntaxError
			if !errors.As(err, &se) || se.Column < 1 || se.Column > len(s)+1 {
				t.Fatalf("ParseRequirement(%q): error %v has no sane column", s, err)
			}
			return
		}
		again, err := ParseRequirement(r.String())
		if err != nil {
			t.Fatalf("String() %q of %q does not parse: %v", r.String(), s, err)
		}
		if again.String() != r.String() {
			t.Fatalf("round trip of %q: %q != %q", s, again.String(), r.String())
		}
	})
}
