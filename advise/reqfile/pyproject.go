package reqfile

import (
	"fmt"
	"os"
	"sort"
	"strings"

	"github.com/BurntSushi/toml"

	"github.com/seshat-dev/seshat/advise/pep440"
	"github.com/seshat-dev/seshat/advise/pep508"
)

type projectTable struct {
	Dependencies         []string            `toml:"dependencies"`
	OptionalDependencies map[string][]string `toml:"optional-dependencies"`
	RequiresPython       string              `toml:"requires-python"`
	Dynamic              []string            `toml:"dynamic"`
}

type pyproject struct {
	Project          *projectTable    `toml:"project"`
	DependencyGroups map[string][]any `toml:"dependency-groups"`
}

// ParsePyproject reads a pyproject.toml: [project] dependencies, the
// optional-dependencies named by extras, the PEP 735 [dependency-groups]
// named by groups (with {include-group = "…"}), and requires-python.
// Selected extras and groups all land in Default.
func ParsePyproject(path string, extras, groups []string) (*Input, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("reading pyproject.toml: %w", err)
	}
	return ParsePyprojectData(path, data, extras, groups)
}

// ParsePyprojectData is ParsePyproject on bytes already read.
func ParsePyprojectData(path string, data []byte, extras, groups []string) (*Input, error) {
	if len(data) > maxPipfile {
		return nil, fmt.Errorf("reading %s: larger than %d MiB", path, maxPipfile>>20)
	}
	var pp pyproject
	if _, err := toml.Decode(string(data), &pp); err != nil {
		return nil, fmt.Errorf("reading %s: %w", path, err)
	}
	if pp.Project == nil && pp.DependencyGroups == nil {
		return nil, fmt.Errorf("%s has no [project] table and no [dependency-groups]: seshat reads PEP 621 and PEP 735 metadata (a Poetry-only project needs a requirements file)", path)
	}
	if pp.Project == nil {
		pp.Project = &projectTable{}
	}
	in := &Input{Source: path, Kind: KindPyproject}
	if rp := strings.TrimSpace(pp.Project.RequiresPython); rp != "" {
		if _, err := pep440.ParseSpecifiers(rp); err != nil {
			return nil, fmt.Errorf("%s: [project] requires-python: %w", path, err)
		}
		in.RequiresPython = rp
	}
	for _, d := range pp.Project.Dynamic {
		if d == "dependencies" || (d == "optional-dependencies" && len(extras) > 0) {
			return nil, fmt.Errorf("%s: [project] %s is dynamic: only the build backend knows it and seshat runs none; list the requirements statically or in a requirements file", path, d)
		}
	}
	add := func(where string, list []string) error {
		for i, s := range list {
			req, err := pep508.ParseRequirement(s)
			if err != nil {
				return fmt.Errorf("%s: %s[%d]: %w", path, where, i, err)
			}
			in.Default = append(in.Default, Requirement{Requirement: req, Pos: fmt.Sprintf("%s %s[%d]", path, where, i)})
		}
		return nil
	}
	if err := add("[project] dependencies", pp.Project.Dependencies); err != nil {
		return nil, err
	}
	optional := map[string]string{} // canonical → as written
	for k := range pp.Project.OptionalDependencies {
		optional[pep508.CanonicalName(k)] = k
	}
	for _, e := range extras {
		k, ok := optional[pep508.CanonicalName(e)]
		if !ok {
			return nil, fmt.Errorf("%s: extra %q is not in [project.optional-dependencies] (have %s)", path, e, names(optional))
		}
		if err := add("[project.optional-dependencies] "+k, pp.Project.OptionalDependencies[k]); err != nil {
			return nil, err
		}
	}
	dgroups := map[string]string{}
	for k := range pp.DependencyGroups {
		c := pep508.CanonicalName(k)
		if prev, dup := dgroups[c]; dup {
			return nil, fmt.Errorf("%s: [dependency-groups] %q and %q are the same group once normalized", path, prev, k)
		}
		dgroups[c] = k
	}
	for _, g := range groups {
		if _, ok := dgroups[pep508.CanonicalName(g)]; !ok {
			return nil, fmt.Errorf("%s: group %q is not in [dependency-groups] (have %s)", path, g, names(dgroups))
		}
		reqs, err := expandGroup(pp.DependencyGroups, dgroups, pep508.CanonicalName(g), nil)
		if err != nil {
			return nil, fmt.Errorf("%s: [dependency-groups] %w", path, err)
		}
		in.Default = append(in.Default, reqs...)
	}
	return in, nil
}

func names(m map[string]string) string {
	if len(m) == 0 {
		return "none"
	}
	var out []string
	for _, v := range m {
		out = append(out, v)
	}
	sort.Strings(out)
	return strings.Join(out, ", ")
}

// expandGroup lists a group's requirements, following include-group
// entries; stack holds the groups being expanded, to name a cycle.
func expandGroup(raw map[string][]any, byCanon map[string]string, canon string, stack []string) ([]Requirement, error) {
	name, ok := byCanon[canon]
	if !ok {
		return nil, fmt.Errorf("%s: includes group %q, which does not exist", strings.Join(stack, " → "), canon)
	}
	for _, s := range stack {
		if pep508.CanonicalName(s) == canon {
			return nil, fmt.Errorf("groups include each other: %s → %s", strings.Join(stack, " → "), name)
		}
	}
	stack = append(stack, name)
	var out []Requirement
	for i, item := range raw[name] {
		where := fmt.Sprintf("%s[%d]", name, i)
		switch v := item.(type) {
		case string:
			req, err := pep508.ParseRequirement(v)
			if err != nil {
				return nil, fmt.Errorf("%s: %w", where, err)
			}
			out = append(out, Requirement{Requirement: req, Pos: "[dependency-groups] " + where})
		case map[string]any:
			inc, ok := v["include-group"].(string)
			if !ok || len(v) != 1 {
				return nil, fmt.Errorf("%s: a table entry must be {include-group = \"name\"}", where)
			}
			reqs, err := expandGroup(raw, byCanon, pep508.CanonicalName(inc), stack)
			if err != nil {
				return nil, err
			}
			out = append(out, reqs...)
		default:
			return nil, fmt.Errorf("%s: want a requirement string or {include-group = \"name\"}", where)
		}
	}
	return out, nil
}
