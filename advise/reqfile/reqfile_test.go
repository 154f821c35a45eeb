package reqfile

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// writeFiles creates files (name → content) in a new temp dir and returns it.
func writeFiles(t *testing.T, files map[string]string) string {
	t.Helper()
	dir := t.TempDir()
	for name, content := range files {
		p := filepath.Join(dir, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

func reqStrings(rs []Requirement) []string {
	var out []string
	for _, r := range rs {
		s := r.String()
		if r.Index != "" {
			s += " index=" + r.Index
		}
		if len(r.Hashes) > 0 {
			s += " " + strings.Join(r.Hashes, " ")
		}
		out = append(out, s)
	}
	return out
}

func TestParseRequirementsFile(t *testing.T) {
	t.Setenv("SESHAT_TEST_TOKEN", "s3cret")
	dir := writeFiles(t, map[string]string{
		"requirements.txt": "# top comment\n" +
			"--index-url https://${SESHAT_TEST_TOKEN}@pypi.example/simple\n" +
			"--extra-index-url=http://127.0.0.1:8080/simple\n" +
			"--trusted-host 127.0.0.1:8080\n" +
			"\n" +
			"flask>=2.0  # web\n" +
			"requests[socks] >= 2.8 ; python_version >= \"3.8\"\n" +
			"urllib3==2.0.7 \\\n" +
			"    --hash=sha256:AAAA \\\n" +
			"    --hash sha256:bbbb\n" +
			"-r sub/more.txt\n" +
			"-c constraints.txt\n" +
			"--pre\n",
		"sub/more.txt":    "-r ../requirements.txt  # a cycle, read once\nclick\n",
		"constraints.txt": "jinja2<4\n-r sub/cons2.txt\n",
		"sub/cons2.txt":   "markupsafe!=2.1.0\n",
	})
	in, err := ParseRequirementsFile(filepath.Join(dir, "requirements.txt"))
	if err != nil {
		t.Fatal(err)
	}
	wantDefault := []string{
		"flask>=2.0",
		`requests[socks]>=2.8; python_version >= "3.8"`,
		"urllib3==2.0.7 sha256:aaaa sha256:bbbb",
		"click",
	}
	if got := reqStrings(in.Default); !slices.Equal(got, wantDefault) {
		t.Errorf("Default = %q\nwant %q", got, wantDefault)
	}
	if got := reqStrings(in.Constraints); !slices.Equal(got, []string{"jinja2<4", "markupsafe!=2.1.0"}) {
		t.Errorf("Constraints = %q", got)
	}
	wantIdx := []Index{{URL: "https://s3cret@pypi.example/simple", VerifySSL: true}, {URL: "http://127.0.0.1:8080/simple", VerifySSL: false, Extra: true}}
	if !slices.Equal(in.Indexes, wantIdx) {
		t.Errorf("Indexes = %+v, want %+v", in.Indexes, wantIdx)
	}
	if !in.AllowPrereleases || in.Kind != KindRequirements {
		t.Errorf("AllowPrereleases = %v, Kind = %v", in.AllowPrereleases, in.Kind)
	}
	if want := filepath.Join(dir, "requirements.txt") + ":8:1"; in.Default[2].Pos != want {
		t.Errorf("Pos = %q, want %q", in.Default[2].Pos, want)
	}
}

func TestExtraIndexOnly(t *testing.T) {
	in, err := ParseRequirements("requirements.txt", []byte("--extra-index-url https://a.example/simple\n-i https://b.example/simple\n--extra-index-url https://c.example/simple\n-i https://d.example/simple\n"))
	if err != nil {
		t.Fatal(err)
	}
	want := []Index{{URL: "https://d.example/simple", VerifySSL: true}, {URL: "https://a.example/simple", VerifySSL: true, Extra: true}, {URL: "https://c.example/simple", VerifySSL: true, Extra: true}}
	if !slices.Equal(in.Indexes, want) {
		t.Errorf("Indexes = %+v, want %+v (the last -i wins, extras keep their order)", in.Indexes, want)
	}
	in, err = ParseRequirements("requirements.txt", []byte("--extra-index-url https://a.example/simple\nflask\n"))
	if err != nil {
		t.Fatal(err)
	}
	if len(in.Indexes) != 1 || !in.Indexes[0].Extra {
		t.Errorf("only an extra index: %+v", in.Indexes)
	}
}

func TestParseRequirementsErrors(t *testing.T) {
	tests := []struct {
		name, content, want string
	}{
		{"malformed", "flask\nrequests >= 2.0 <3\n", "requirements.txt:2:17: expected ',' and another version specifier, or ';'"},
		{"continued", "flask \\\n  >= 2.0 \\\n  !!\n", "requirements.txt:3:3: "},
		{"indented", "   foo bar\n", "requirements.txt:1:8: expected a version specifier or ';'"},
		{"editable", "-e git+https://x/y#egg=y\n", "requirements.txt:1:1: editable requirement -e git+https://x/y#egg=y is not supported"},
		{"path", "./vendor/thing.whl\n", "is a path or URL; only named requirements"},
		{"unknown option", "--frobnicate\n", "requirements.txt:1:1: unknown option --frobnicate"},
		{"missing include", "-r nothere.txt\n", "requirements.txt:1:1: --requirement nothere.txt: reading requirements: open"},
		{"index not url", "-i pypi\n", `--index-url "pypi": want an http(s) or file URL`},
		{"hash alone", "--hash=sha256:abc\n", "--hash must follow a requirement"},
		{"find-links", "-f ./wheels\n", "--find-links ./wheels is not supported"},
		{"option value missing", "foo --hash\n", "option --hash needs a value"},
		{"error in include", "-r sub/inner.txt\n", "sub/inner.txt:2:5: expected a version specifier or ';'"},
		{"include a directory", "-c sub\n", "requirements.txt:1:1: --constraint sub: reading requirements: "},
		{"bad marker", "foo; python_version >= '3.8' and\n", "requirements.txt:1:33: expected a marker variable"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := writeFiles(t, map[string]string{"requirements.txt": tt.content, "sub/inner.txt": "flask\nfoo bar\n"})
			_, err := ParseRequirementsFile(filepath.Join(dir, "requirements.txt"))
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("error = %v, want one containing %q", err, tt.want)
			}
		})
	}
}

func TestParsePipfile(t *testing.T) {
	t.Setenv("SESHAT_TEST_HOST", "127.0.0.1:9999")
	dir := writeFiles(t, map[string]string{"Pipfile": `
[[source]]
url = "https://pypi.org/simple"
verify_ssl = true
name = "pypi"

[[source]]
url = "http://${SESHAT_TEST_HOST}/simple"
verify_ssl = false
name = "local"

[packages]
Flask = "*"
requests = {version = ">=2.8", extras = ["socks"], index = "local"}
pywin32 = {version = "*", sys_platform = "== 'win32'"}
numpy = {markers = "python_version >= '3.9'", platform_machine = "!= 'armv7l'"}

[dev-packages]
pytest = ">=7"

[requires]
python_version = "3.11"

[pipenv]
allow_prereleases = true
`})
	in, err := ParsePipfile(filepath.Join(dir, "Pipfile"))
	if err != nil {
		t.Fatal(err)
	}
	want := []string{
		"Flask",
		`numpy; python_version >= "3.9" and platform_machine != "armv7l"`,
		`pywin32; sys_platform == "win32"`,
		"requests[socks]>=2.8 index=local",
	}
	if got := reqStrings(in.Default); !slices.Equal(got, want) {
		t.Errorf("Default = %q\nwant %q", got, want)
	}
	if got := reqStrings(in.Develop); !slices.Equal(got, []string{"pytest>=7"}) {
		t.Errorf("Develop = %q", got)
	}
	wantIdx := []Index{{Name: "pypi", URL: "https://pypi.org/simple", VerifySSL: true}, {Name: "local", URL: "http://127.0.0.1:9999/simple"}}
	if !slices.Equal(in.Indexes, wantIdx) {
		t.Errorf("Indexes = %+v", in.Indexes)
	}
	if in.RequiresPython != "==3.11.*" || !in.AllowPrereleases || in.Pipfile == nil {
		t.Errorf("RequiresPython %q AllowPrereleases %v Pipfile %v", in.RequiresPython, in.AllowPrereleases, in.Pipfile)
	}
}

func TestParsePipfileErrors(t *testing.T) {
	tests := []struct{ content, want string }{
		{"[packages]\nrequests = {index = \"nope\"}\n", `[packages] requests: index "nope" is not the name of a [[source]] (have pypi)`},
		{"[packages]\nrequests = \">=2.x\"\n", `[packages] requests: version ">=2.x"`},
		{"[packages]\nmine = {path = \".\", editable = true}\n", "[packages] mine: path = … is not supported"},
		{"[dev-packages]\nx = {version = 3}\n", "[dev-packages] x: version must be a string"},
		{"[packages]\nx = {sys_platform = \"linux\"}\n", `[packages] x: sys_platform = "linux"`},
		{"[[source]]\nname = \"a\"\n", "[[source]]: source 1 has no url"},
		{"[requires]\npython_version = 3.11\n", "[requires]: python_version must be a string"},
		{"[packages\n", "reading Pipfile"},
		{"[[source]]\nurl = \"https://${SESHAT_UNSET_VAR}/simple\"\n", "environment variable SESHAT_UNSET_VAR is not set"},
	}
	for _, tt := range tests {
		dir := writeFiles(t, map[string]string{"Pipfile": tt.content})
		_, err := ParsePipfile(filepath.Join(dir, "Pipfile"))
		if err == nil || !strings.Contains(err.Error(), tt.want) || !strings.Contains(err.Error(), "Pipfile") {
			t.Errorf("Pipfile %q: error = %v, want one containing %q", tt.content, err, tt.want)
		}
	}
}

func TestParsePyproject(t *testing.T) {
	dir := writeFiles(t, map[string]string{"pyproject.toml": `
[project]
name = "app"
requires-python = ">=3.9"
dependencies = ["flask>=2", "requests; python_version >= '3.8'"]
[project.optional-dependencies]
Socks = ["pysocks"]
cli = ["click"]
[dependency-groups]
test = ["pytest", {include-group = "lint"}]
lint = ["ruff"]
`})
	in, err := ParsePyproject(filepath.Join(dir, "pyproject.toml"), []string{"socks"}, []string{"Test"})
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"flask>=2", `requests; python_version >= "3.8"`, "pysocks", "pytest", "ruff"}
	if got := reqStrings(in.Default); !slices.Equal(got, want) {
		t.Errorf("Default = %q, want %q", got, want)
	}
	if in.RequiresPython != ">=3.9" {
		t.Errorf("RequiresPython = %q", in.RequiresPython)
	}
	for _, tt := range []struct {
		content        string
		extras, groups []string
		want           string
	}{
		{"[project]\ndependencies = []\n", []string{"nope"}, nil, `extra "nope" is not in [project.optional-dependencies] (have none)`},
		{"[dependency-groups]\na = [{include-group = \"b\"}]\nb = [{include-group = \"a\"}]\n", nil, []string{"a"}, "groups include each other: a → b → a"},
		{"[project]\ndependencies = [\"x >\"]\n", nil, nil, "[project] dependencies[0]"},
		{"[project]\ndynamic = [\"dependencies\"]\n", nil, nil, "dependencies is dynamic"},
	} {
		dir := writeFiles(t, map[string]string{"pyproject.toml": tt.content})
		_, err := ParsePyproject(filepath.Join(dir, "pyproject.toml"), tt.extras, tt.groups)
		if err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("%q: error = %v, want %q", tt.content, err, tt.want)
		}
	}
}

func TestDiscover(t *testing.T) {
	all := map[string]string{"Pipfile": "", "pyproject.toml": "[project]\n", "requirements.in": "", "requirements.txt": ""}
	for _, want := range discoverOrder {
		dir := writeFiles(t, all)
		got, err := Discover(dir)
		if err != nil || filepath.Base(got) != want {
			t.Errorf("Discover with %v = %q, %v; want %s", all, got, err, want)
		}
		delete(all, want)
	}
	// A pyproject.toml that only configures tools is not an input.
	dir := writeFiles(t, map[string]string{"pyproject.toml": "[tool.black]\nline-length = 100\n", "requirements.txt": "flask\n"})
	if got, err := Discover(dir); err != nil || filepath.Base(got) != "requirements.txt" {
		t.Errorf("Discover with a tool-only pyproject.toml = %q, %v", got, err)
	}
	if _, err := ParsePyproject(filepath.Join(dir, "pyproject.toml"), nil, nil); err == nil || !strings.Contains(err.Error(), "has no [project] table") {
		t.Errorf("ParsePyproject on a tool-only file: %v", err)
	}
	if _, err := Discover(t.TempDir()); err == nil || !strings.Contains(err.Error(), "no Pipfile, pyproject.toml") {
		t.Errorf("empty dir: %v", err)
	}
}

func FuzzParseRequirements(f *testing.F) {
	f.Add([]byte("flask>=2 \\\n --hash=sha256:00\n# c\n-i https://x/simple\nrequests[a]; os_name=='posix'\n"))
	f.Add([]byte("-c c.txt\n-r r.txt\n-e .\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		dir := t.TempDir()
		_, _ = ParseRequirements(filepath.Join(dir, "requirements.txt"), data)
	})
}
