package lock

import (
	"fmt"
	"regexp"
	"slices"
	"strings"

	"github.com/seshat-dev/seshat/advise/reqfile"
)

// MicropipenvCompatible reports why micropipenv would compute a
// different _meta hash than pipenv for pf, or nil when both agree.
// micropipenv hashes only [packages], [dev-packages], [requires] and an
// explicit [[source]]; pipenv adds PyPI when no source is named and
// hashes custom package categories too.
func MicropipenvCompatible(pf *reqfile.Pipfile) error {
	if _, ok := pf.Data["source"]; !ok {
		return fmt.Errorf("%s names no [[source]]: micropipenv cannot check its Pipfile.lock hash; add a [[source]] table", pf.Path)
	}
	var custom []string
	for k := range pf.Data {
		if !pipfileSections[k] {
			custom = append(custom, "["+k+"]")
		}
	}
	if len(custom) > 0 {
		slices.Sort(custom)
		return fmt.Errorf("%s has custom package categories %s: micropipenv's hash leaves them out, so it will call the Pipfile.lock stale", pf.Path, strings.Join(custom, ", "))
	}
	return nil
}

var bareKey = regexp.MustCompile(`^[A-Za-z0-9_-]+$`)

// PipfileFor returns the Pipfile a Pipfile.lock of in is hashed against:
// in's own, or one synthesized from in with the indexes the resolution
// used, whose text (ending in a newline) is returned too so that it can be
// written beside the lock. name is the synthesized file's path, for errors.
func PipfileFor(in *reqfile.Input, indexes []reqfile.Index, name string) (pf *reqfile.Pipfile, synthesized []byte, err error) {
	if in.Pipfile != nil {
		return in.Pipfile, nil, nil
	}
	synth := *in
	synth.Indexes = indexes
	data, err := SynthesizePipfile(&synth)
	if err != nil {
		return nil, nil, err
	}
	parsed, err := reqfile.ParsePipfileData(name, data)
	if err != nil {
		return nil, nil, fmt.Errorf("reading the synthesized Pipfile: %w", err)
	}
	return parsed.Pipfile, append(data, '\n'), nil
}

// SynthesizePipfile writes a Pipfile holding in's requirements, for
// inputs that are not Pipfiles (requirements files, pyproject.toml) when
// a Pipfile.lock is wanted: pipenv needs the Pipfile beside the lock, and
// the lock's hash is computed from it (parse the returned bytes with
// reqfile.ParsePipfileData). Index URLs are written as the input had them
// after variable expansion, so credentials in them land in the file.
func SynthesizePipfile(in *reqfile.Input) ([]byte, error) {
	t := &tomlWriter{}
	idx := in.Indexes
	if len(idx) == 0 {
		idx = []reqfile.Index{{Name: "pypi", URL: "https://pypi.org/simple", VerifySSL: true}}
	}
	names := map[string]bool{}
	for i, x := range idx {
		name := x.Name
		if name == "" {
			name = fmt.Sprintf("index-%d", i)
			if i == 0 {
				name = "default"
			}
		}
		names[name] = true
		t.line("[[source]]")
		t.kv("url", t.str(x.URL))
		t.kv("verify_ssl", fmt.Sprint(x.VerifySSL))
		t.kv("name", t.str(name))
		t.line("")
	}
	for _, sec := range []struct {
		table string
		reqs  []reqfile.Requirement
	}{{"packages", in.Default}, {"dev-packages", in.Develop}} {
		t.line("[" + sec.table + "]")
		seen := map[string]string{}
		for _, r := range sec.reqs {
			c := r.Canonical()
			if prev, dup := seen[c]; dup {
				return nil, fmt.Errorf("writing a Pipfile: %s is required twice (%s and %s); a Pipfile lists each package once", r.Name, prev, r.Pos)
			}
			seen[c] = r.Pos
			if r.URL != "" {
				return nil, fmt.Errorf("writing a Pipfile: %s is a direct URL reference (%s); Pipfile.lock output cannot pin it", r.Name, r.Pos)
			}
			if r.Index != "" && !names[r.Index] {
				return nil, fmt.Errorf("writing a Pipfile: %s names index %q, which is not a source", r.Name, r.Index)
			}
			key := r.Name
			if !bareKey.MatchString(key) {
				key = t.str(key)
			}
			version := r.Specifier.String()
			if version == "" {
				version = "*"
			}
			if len(r.Extras) == 0 && r.Marker.IsEmpty() && r.Index == "" {
				t.kv(key, t.str(version))
				continue
			}
			parts := []string{"version = " + t.str(version)}
			if len(r.Extras) > 0 {
				var ex []string
				for _, e := range r.Extras {
					ex = append(ex, t.str(e))
				}
				parts = append(parts, "extras = ["+strings.Join(ex, ", ")+"]")
			}
			if !r.Marker.IsEmpty() {
				parts = append(parts, "markers = "+t.str(r.Marker.Format('\'')))
			}
			if r.Index != "" {
				parts = append(parts, "index = "+t.str(r.Index))
			}
			t.kv(key, "{"+strings.Join(parts, ", ")+"}")
		}
		t.line("")
	}
	if pv, ok := pythonVersion(in.RequiresPython); ok {
		t.line("[requires]")
		t.kv(pv.key, t.str(pv.value))
	}
	if t.err != nil {
		return nil, fmt.Errorf("writing a Pipfile: %w", t.err)
	}
	return []byte(strings.TrimSuffix(t.b.String(), "\n")), nil
}

type requiresEntry struct{ key, value string }

// pythonVersion maps "==3.11.*" to python_version and "==3.11.7" to
// python_full_version, the only forms [requires] can say.
func pythonVersion(spec string) (requiresEntry, bool) {
	v, ok := strings.CutPrefix(strings.TrimSpace(spec), "==")
	if !ok || strings.ContainsAny(v, ",<>!~= ") {
		return requiresEntry{}, false
	}
	if x, ok := strings.CutSuffix(v, ".*"); ok && strings.Count(x, ".") == 1 {
		return requiresEntry{"python_version", x}, true
	}
	if strings.Count(v, ".") == 2 && !strings.Contains(v, "*") {
		return requiresEntry{"python_full_version", v}, true
	}
	return requiresEntry{}, false
}
