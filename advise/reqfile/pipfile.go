package reqfile

import (
	"fmt"
	"net/url"
	"os"
	"regexp"
	"sort"
	"strings"

	"github.com/BurntSushi/toml"

	"github.com/seshat-dev/seshat/advise/pep440"
	"github.com/seshat-dev/seshat/advise/pep508"
)

// Pipfile is a decoded Pipfile, kept whole: the Pipfile.lock writer hashes
// its data exactly as pipenv does.
type Pipfile struct {
	// Path is the file read.
	Path string
	// Data is the TOML document as BurntSushi/toml decodes it into
	// map[string]any: strings, int64, float64, bool, time values, []any,
	// []map[string]any and map[string]any.
	Data map[string]any
}

// maxPipfile bounds a Pipfile; real ones are a few KiB.
const maxPipfile = 4 << 20

// markerKeys are the PEP 508 variables pipenv accepts as package keys,
// e.g. sys_platform = "== 'linux'".
var markerKeys = []string{
	"os_name", "sys_platform", "platform_machine", "platform_python_implementation",
	"platform_release", "platform_system", "platform_version", "python_version",
	"python_full_version", "implementation_name", "implementation_version",
}

// ParsePipfile reads a Pipfile: [[source]], [packages], [dev-packages],
// [requires] and [pipenv] allow_prereleases. Each package is "*", a
// specifier, or a table with version, extras, markers, index and marker keys.
func ParsePipfile(path string) (*Input, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("reading Pipfile: %w", err)
	}
	return ParsePipfileData(path, data)
}

// ParsePipfileData is ParsePipfile on bytes already read; path names them in errors.
func ParsePipfileData(path string, data []byte) (*Input, error) {
	if len(data) > maxPipfile {
		return nil, fmt.Errorf("reading Pipfile %s: larger than %d MiB", path, maxPipfile>>20)
	}
	doc := map[string]any{}
	if _, err := toml.Decode(string(data), &doc); err != nil {
		return nil, fmt.Errorf("reading Pipfile %s: %w", path, err)
	}
	in := &Input{Source: path, Kind: KindPipfile, Pipfile: &Pipfile{Path: path, Data: doc}}
	bad := func(where, format string, args ...any) error {
		return fmt.Errorf("%s: %s: %s", path, where, fmt.Sprintf(format, args...))
	}
	sources, err := pipfileSources(doc["source"])
	if err != nil {
		return nil, bad("[[source]]", "%v", err)
	}
	in.Indexes = sources
	if req, ok := doc["requires"]; ok {
		t, ok := req.(map[string]any)
		if !ok {
			return nil, bad("[requires]", "want a table")
		}
		if rp, err := pipfileRequiresPython(t); err != nil {
			return nil, bad("[requires]", "%v", err)
		} else {
			in.RequiresPython = rp
		}
	}
	if pv, ok := doc["pipenv"].(map[string]any); ok {
		if pre, ok := pv["allow_prereleases"].(bool); ok {
			in.AllowPrereleases = pre
		}
	}
	for _, sec := range []struct {
		key  string
		dest *[]Requirement
	}{{"packages", &in.Default}, {"dev-packages", &in.Develop}} {
		raw, ok := doc[sec.key]
		if !ok {
			continue
		}
		t, ok := raw.(map[string]any)
		if !ok {
			return nil, bad("["+sec.key+"]", "want a table of packages")
		}
		names := make([]string, 0, len(t))
		for name := range t {
			names = append(names, name)
		}
		sort.Strings(names)
		for _, name := range names {
			where := fmt.Sprintf("[%s] %s", sec.key, name)
			r, err := pipfilePackage(name, t[name], sources)
			if err != nil {
				return nil, bad(where, "%v", err)
			}
			r.Pos = path + " " + where
			*sec.dest = append(*sec.dest, r)
		}
	}
	return in, nil
}

func pipfileSources(raw any) ([]Index, error) {
	if raw == nil {
		// pipenv adds PyPI when a Pipfile names no source.
		return []Index{{Name: "pypi", URL: "https://pypi.org/simple", VerifySSL: true}}, nil
	}
	list, ok := raw.([]map[string]any)
	if !ok {
		return nil, fmt.Errorf("want an array of tables ([[source]])")
	}
	var out []Index
	seen := map[string]bool{}
	for i, s := range list {
		u, ok := s["url"].(string)
		if !ok || u == "" {
			return nil, fmt.Errorf("source %d has no url", i+1)
		}
		expanded := expandVars(u)
		if m := envRE.FindString(expanded); m != "" {
			return nil, fmt.Errorf("source %d: url %q: environment variable %s is not set", i+1, u, strings.Trim(m, "${}"))
		}
		if !isIndexURL(expanded) {
			return nil, fmt.Errorf("source %d: url %q: want an http(s) or file URL of a simple index", i+1, u)
		}
		idx := Index{URL: expanded}
		switch n := s["name"].(type) {
		case string:
			idx.Name = n
		case nil:
			pu, _ := url.Parse(expanded)
			idx.Name = pu.Hostname() // as pipenv names an unnamed source
		default:
			return nil, fmt.Errorf("source %d: name must be a string", i+1)
		}
		if seen[idx.Name] {
			return nil, fmt.Errorf("two sources are named %q", idx.Name)
		}
		seen[idx.Name] = true
		switch v := s["verify_ssl"].(type) {
		case bool:
			idx.VerifySSL = v
		case nil:
			idx.VerifySSL = strings.Contains(u, "https://")
		default:
			idx.VerifySSL = strings.EqualFold(fmt.Sprint(v), "true")
		}
		out = append(out, idx)
	}
	return out, nil
}

// envRE matches $VAR and ${VAR} as Python's os.path.expandvars does.
var envRE = regexp.MustCompile(`\$(\w+|\{[^}]*\})`)

// expandVars expands environment variables in source URLs the way pipenv
// does (os.path.expandvars: unset variables stay as written).
func expandVars(s string) string {
	return envRE.ReplaceAllStringFunc(s, func(ref string) string {
		name := strings.Trim(ref[1:], "{}")
		if v, ok := os.LookupEnv(name); ok {
			return v
		}
		return ref
	})
}

func pipfileRequiresPython(t map[string]any) (string, error) {
	if v, ok := t["python_full_version"]; ok {
		s, ok := v.(string)
		if !ok {
			return "", fmt.Errorf("python_full_version must be a string such as \"3.11.7\"")
		}
		if _, err := pep440.Parse(s); err != nil {
			return "", fmt.Errorf("python_full_version: %w", err)
		}
		return "==" + s, nil
	}
	if v, ok := t["python_version"]; ok {
		s, ok := v.(string)
		if !ok {
			return "", fmt.Errorf("python_version must be a string such as \"3.11\"")
		}
		if _, err := pep440.Parse(s); err != nil {
			return "", fmt.Errorf("python_version: %w", err)
		}
		return "==" + s + ".*", nil
	}
	return "", nil
}

func pipfilePackage(name string, raw any, sources []Index) (Requirement, error) {
	if !pep508.ValidName(name) {
		return Requirement{}, fmt.Errorf("%q is not a valid package name", name)
	}
	r := Requirement{Requirement: pep508.Requirement{Name: name}}
	var version string
	switch v := raw.(type) {
	case string:
		version = v
	case map[string]any:
		for _, k := range []string{"git", "path", "file", "hg", "svn", "bzr"} {
			if _, ok := v[k]; ok {
				return r, fmt.Errorf("%s = … is not supported: seshat pins packages from indexes; depend on a released version", k)
			}
		}
		if e, ok := v["editable"].(bool); ok && e {
			return r, fmt.Errorf("editable = true is not supported: seshat pins packages from indexes")
		}
		switch vv := v["version"].(type) {
		case string:
			version = vv
		case nil:
			version = "*"
		default:
			return r, fmt.Errorf("version must be a string such as \">=1.0\" or \"*\"")
		}
		if ex, ok := v["extras"]; ok {
			list, ok := ex.([]any)
			if !ok {
				return r, fmt.Errorf("extras must be a list of strings")
			}
			for _, e := range list {
				s, ok := e.(string)
				if !ok || !pep508.ValidName(s) {
					return r, fmt.Errorf("extras: %v is not a valid extra name", e)
				}
				r.Extras = append(r.Extras, s)
			}
		}
		var markers []pep508.Marker
		if ms, ok := v["markers"]; ok {
			s, ok := ms.(string)
			if !ok {
				return r, fmt.Errorf("markers must be a string such as \"sys_platform == 'linux'\"")
			}
			m, err := pep508.ParseMarker(s)
			if err != nil {
				return r, fmt.Errorf("markers: %w", err)
			}
			markers = append(markers, m)
		}
		for _, k := range markerKeys {
			mv, ok := v[k]
			if !ok {
				continue
			}
			s, ok := mv.(string)
			if !ok {
				return r, fmt.Errorf("%s must be a string such as \"== 'linux'\"", k)
			}
			m, err := pep508.ParseMarker(k + " " + s)
			if err != nil {
				return r, fmt.Errorf("%s = %q: %w", k, s, err)
			}
			markers = append(markers, m)
		}
		r.Marker = pep508.And(markers...)
		if ix, ok := v["index"]; ok {
			s, ok := ix.(string)
			if !ok {
				return r, fmt.Errorf("index must be the name of a [[source]]")
			}
			known := false
			var names []string
			for _, src := range sources {
				names = append(names, src.Name)
				known = known || src.Name == s
			}
			if !known {
				return r, fmt.Errorf("index %q is not the name of a [[source]] (have %s)", s, strings.Join(names, ", "))
			}
			r.Index = s
		}
	default:
		return r, fmt.Errorf("want \"*\", a version specifier or a table, not %T", raw)
	}
	version = strings.TrimSpace(version)
	if version != "*" && version != "" {
		spec, err := pep440.ParseSpecifiers(version)
		if err != nil {
			return r, fmt.Errorf("version %q: %w", version, err)
		}
		r.Specifier = spec
	}
	return r, nil
}
