package prescription

import (
	"fmt"
	"regexp"
	"sort"
	"strconv"
	"strings"

	"github.com/seshat-dev/seshat/advise/pep440"
	"github.com/seshat-dev/seshat/advise/pep508"
)

// checker decodes nodes into typed units and collects every problem in a
// file rather than stopping at the first, so one validate run lists them all.
type checker struct {
	file     string
	problems []Problem
	// slab holds the units checked: a reader's, reused file after file,
	// since a file's units are encoded before the next is read.
	slab []Unit
}

// newUnit returns a unit at n, from the slab.
func (c *checker) newUnit(n *node) *Unit {
	if len(c.slab) == cap(c.slab) {
		// A new slab; the units in the old one stay where they are.
		c.slab = make([]Unit, 0, max(16, 2*cap(c.slab)))
	}
	c.slab = append(c.slab, Unit{File: c.file, Line: n.line})
	return &c.slab[len(c.slab)-1]
}

func (c *checker) fail(n *node, format string, args ...any) {
	line := 0
	if n != nil {
		line = n.line
	}
	c.problems = append(c.problems, Problem{File: c.file, Line: line, Message: fmt.Sprintf(format, args...)})
}

// fields checks that m is a mapping with only the known keys and calls visit
// for each; required keys missing are reported at the mapping.
func (c *checker) fields(where string, m *node, known []string, required []string, visit func(key string, v *node)) bool {
	if m.kind != mappingNode {
		c.fail(m, "%s must be a mapping, got %s", where, m.typeName())
		return false
	}
	for i := 0; i+1 < len(m.children); i += 2 {
		k := m.children[i]
		if !contains(known, k.value) {
			if k.value == "not" {
				c.fail(k, "%s cannot be negated with `not:`; only lists (and index_url) can", where)
			} else {
				c.fail(k, "unknown key %q in %s (known: %s)", k.value, where, strings.Join(known, ", "))
			}
			continue
		}
		visit(k.value, m.children[i+1])
	}
	for _, r := range required {
		if m.get(r) == nil {
			c.fail(m, "%s is missing required key %q", where, r)
		}
	}
	return true
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

func (c *checker) str(where string, n *node) string {
	if n.kind != scalarNode || n.tag != tagStr {
		if n.kind == scalarNode && (n.tag == tagInt || n.tag == tagFloat) {
			c.fail(n, "%s must be a string, got the number %s; quote it: \"%s\"", where, n.value, n.value)
		} else {
			c.fail(n, "%s must be a string, got %s", where, n.typeName())
		}
		return ""
	}
	if n.value == "" {
		c.fail(n, "%s must not be empty", where)
	}
	return n.value
}

func (c *checker) boolean(where string, n *node) bool {
	if n.kind != scalarNode || n.tag != tagBool {
		c.fail(n, "%s must be true or false, got %s", where, n.typeName())
		return false
	}
	return n.value == "true" || n.value == "True" || n.value == "TRUE"
}

func (c *checker) spec(where string, n *node, nullable bool) *Spec {
	if nullable && n.kind == scalarNode && n.tag == tagNull {
		return nil
	}
	if n.kind == mappingNode && n.get("not") != nil {
		c.fail(n, "%s cannot be negated with `not:`; write the opposite specifier (e.g. \"<3.8\" for not \">=3.8\")", where)
		return nil
	}
	if n.kind != scalarNode || n.tag == tagNull || n.tag == tagBool {
		c.fail(n, "%s must be a version specifier such as \">=1.0,<2\", got %s", where, n.typeName())
		return nil
	}
	raw := n.value
	set, err := pep440.ParseSpecifiers(raw)
	if err != nil {
		// Thoth's packaging accepted "==<anything>" as a legacy specifier,
		// and generated files in the public repository use it for releases
		// such as "0.9j": keep it as an exact match on the version text.
		if v, ok := strings.CutPrefix(strings.TrimSpace(raw), "=="); ok && v != "" && !strings.ContainsAny(v, ",<>=!~ ") {
			return &Spec{Raw: raw, Legacy: v}
		}
		c.fail(n, "%s: %v", where, err)
		return nil
	}
	return &Spec{Raw: raw, Set: set}
}

func (c *checker) pkgName(where string, n *node) string {
	s := c.str(where, n)
	if s == "" || isCanonicalName(s) {
		return s
	}
	if !pep508.ValidName(s) {
		c.fail(n, "%s %q is not a valid Python package name", where, s)
		return ""
	}
	if canon := pep508.CanonicalName(s); canon != s {
		c.fail(n, "%s %q is not in normalized form; write %q", where, s, canon)
		return canon
	}
	return s
}

// isCanonicalName reports whether s is a valid name in normalized form —
// lowercase letters and digits joined by single hyphens, as nearly every name
// in a prescription is — without pep508's regular expression and copy, which
// took a twentieth of a load.
func isCanonicalName(s string) bool {
	for i := 0; i < len(s); i++ {
		switch c := s[i]; {
		case c >= 'a' && c <= 'z', c >= '0' && c <= '9':
		case c == '-' && i > 0 && i < len(s)-1 && s[i-1] != '-':
		default:
			return false
		}
	}
	return s != ""
}

// list accepts a list, or with allowNot a {not: list}.
func (c *checker) list(where string, n *node, allowNot bool) (items []*node, not bool, ok bool) {
	if n.kind == mappingNode && allowNot {
		if len(n.children) != 2 || n.children[0].value != "not" {
			c.fail(n, "%s must be a list or a mapping with the single key `not:`", where)
			return nil, false, false
		}
		n, not = n.children[1], true
		where += ".not"
	}
	if n.kind != sequenceNode {
		if allowNot {
			c.fail(n, "%s must be a list (or `not:` and a list), got %s", where, n.typeName())
		} else {
			c.fail(n, "%s must be a list, got %s", where, n.typeName())
		}
		return nil, not, false
	}
	if len(n.children) == 0 {
		c.fail(n, "%s must not be empty", where)
		return nil, not, false
	}
	return n.children, not, true
}

func (c *checker) valueList(where string, n *node, allowNull bool, enum []string) *ValueList {
	items, not, ok := c.list(where, n, true)
	if !ok {
		return nil
	}
	vl := &ValueList{Not: not}
	for _, it := range items {
		if allowNull && it.kind == scalarNode && it.tag == tagNull {
			vl.Null = true
			continue
		}
		s := c.str(where+" entry", it)
		if enum != nil && s != "" && !contains(enum, s) {
			c.fail(it, "%s: unknown value %q (known: %s)", where, s, strings.Join(enum, ", "))
		}
		vl.Values = append(vl.Values, s)
	}
	return vl
}

func (c *checker) intList(where string, n *node) *IntList {
	items, not, ok := c.list(where, n, true)
	if !ok {
		return nil
	}
	il := &IntList{Not: not}
	for _, it := range items {
		if it.kind == scalarNode && it.tag == tagNull {
			il.Null = true
			continue
		}
		if it.kind != scalarNode || it.tag != tagInt {
			c.fail(it, "%s entries must be integers, got %s", where, it.typeName())
			continue
		}
		v, _ := strconv.Atoi(it.value)
		il.Values = append(il.Values, v)
	}
	return il
}

var linkRE = regexp.MustCompile(`^[a-z0-9_-]+$`)

func (c *checker) link(where string, n *node) string {
	s := c.str(where, n)
	if s != "" && !strings.HasPrefix(s, "https://") && !strings.HasPrefix(s, "http://") && !linkRE.MatchString(s) {
		c.fail(n, "%s %q must be a URL or a justification id of [a-z0-9_-]", where, s)
	}
	return s
}

var messageTypes = []string{"INFO", "WARNING", "ERROR"}

func (c *checker) msgType(where string, n *node) string {
	s := c.str(where, n)
	if s != "" && !contains(messageTypes, s) {
		c.fail(n, "%s %q must be one of INFO, WARNING, ERROR", where, s)
	}
	return s
}

// RecommendationTypes and DecisionTypes are the values Thoth's enums accept.
var (
	RecommendationTypes = []string{"latest", "performance", "security", "stable", "testing"}
	decisionTypes       = []string{"all", "random"}
	unitGroups          = groupOrder
)

func (c *checker) include(n *node) Include {
	var inc Include
	c.fields("should_include", n, []string{"times", "adviser_pipeline", "dependency_monkey_pipeline", "labels", "dependencies", "recommendation_types", "decision_types", "runtime_environments", "library_usage", "authenticated"}, nil, func(k string, v *node) {
		switch k {
		case "times":
			if v.kind != scalarNode || v.tag != tagInt || (v.value != "0" && v.value != "1") {
				c.fail(v, "should_include.times must be 0 or 1")
			}
			inc.Never = v.value == "0"
		case "adviser_pipeline":
			inc.AdviserPipeline = c.boolean("should_include.adviser_pipeline", v)
		case "dependency_monkey_pipeline":
			inc.DependencyMonkeyPipeline = c.boolean("should_include.dependency_monkey_pipeline", v)
		case "authenticated":
			b := c.boolean("should_include.authenticated", v)
			inc.Authenticated = &b
		case "labels":
			inc.Labels = map[string]string{}
			if v.kind != mappingNode {
				c.fail(v, "should_include.labels must be a mapping, got %s", v.typeName())
				return
			}
			for i := 0; i+1 < len(v.children); i += 2 {
				inc.Labels[v.children[i].value] = c.str("label value", v.children[i+1])
			}
		case "dependencies":
			inc.Dependencies = map[string][]string{}
			c.fields("should_include.dependencies", v, unitGroups, nil, func(g string, l *node) {
				items, _, _ := c.list("should_include.dependencies."+g, l, false)
				for _, it := range items {
					inc.Dependencies[g] = append(inc.Dependencies[g], c.str("unit name", it))
				}
			})
		case "recommendation_types":
			inc.RecommendationTypes = c.valueList("should_include.recommendation_types", v, false, RecommendationTypes)
		case "decision_types":
			inc.DecisionTypes = c.valueList("should_include.decision_types", v, false, decisionTypes)
		case "library_usage":
			inc.LibraryUsage = map[string][]string{}
			if v.kind != mappingNode || len(v.children) == 0 {
				c.fail(v, "should_include.library_usage must be a non-empty mapping of library name to symbols")
				return
			}
			for i := 0; i+1 < len(v.children); i += 2 {
				lib := v.children[i].value
				items, _, _ := c.list("should_include.library_usage."+lib, v.children[i+1], false)
				for _, it := range items {
					inc.LibraryUsage[lib] = append(inc.LibraryUsage[lib], c.str("library symbol", it))
				}
			}
		case "runtime_environments":
			inc.Runtime = c.runtime(v)
		}
	})
	return inc
}

func (c *checker) runtime(n *node) *RuntimeEnvironments {
	re := &RuntimeEnvironments{}
	const w = "runtime_environments"
	c.fields(w, n, []string{"operating_systems", "hardware", "python_version", "cuda_version", "platforms", "openblas_version", "openmpi_version", "cudnn_version", "mkl_version", "base_images", "abi", "rpm_packages", "python_packages"}, nil, func(k string, v *node) {
		switch k {
		case "operating_systems":
			items, not, _ := c.list(w+".operating_systems", v, true)
			re.OperatingSystemsNot = not
			for _, it := range items {
				var os OS
				c.fields(w+".operating_systems entry", it, []string{"name", "version"}, nil, func(k string, v *node) {
					if k == "name" {
						os.Name = c.str("operating system name", v)
					} else {
						os.Version = c.str("operating system version", v)
					}
				})
				re.OperatingSystems = append(re.OperatingSystems, os)
			}
		case "hardware":
			items, _, _ := c.list(w+".hardware", v, false)
			for _, it := range items {
				var hw Hardware
				c.fields(w+".hardware entry", it, []string{"cpu_families", "cpu_models", "cpu_flags", "gpu_models"}, nil, func(k string, v *node) {
					switch k {
					case "cpu_families":
						hw.CPUFamilies = c.intList("cpu_families", v)
					case "cpu_models":
						hw.CPUModels = c.intList("cpu_models", v)
					case "cpu_flags":
						hw.CPUFlags = c.valueList("cpu_flags", v, false, nil)
					case "gpu_models":
						hw.GPUModels = c.valueList("gpu_models", v, true, nil)
					}
				})
				re.Hardware = append(re.Hardware, hw)
			}
		case "python_version":
			re.PythonVersion = c.spec(w+".python_version", v, true)
		case "cuda_version":
			re.CUDAVersion = c.spec(w+".cuda_version", v, true)
		case "cudnn_version":
			re.CUDNNVersion = c.spec(w+".cudnn_version", v, true)
		case "openblas_version":
			re.OpenBLASVersion = c.spec(w+".openblas_version", v, true)
		case "openmpi_version":
			re.OpenMPIVersion = c.spec(w+".openmpi_version", v, true)
		case "mkl_version":
			re.MKLVersion = c.spec(w+".mkl_version", v, true)
		case "platforms":
			re.Platforms = c.valueList(w+".platforms", v, true, nil)
		case "base_images":
			re.BaseImages = c.valueList(w+".base_images", v, true, nil)
		case "abi":
			re.ABI = c.valueList(w+".abi", v, false, nil)
		case "rpm_packages":
			items, not, _ := c.list(w+".rpm_packages", v, true)
			re.RPMPackagesNot = not
			for _, it := range items {
				var r RPM
				c.fields(w+".rpm_packages entry", it, []string{"package_name", "arch", "epoch", "package_identifier", "package_version", "release", "src"}, []string{"package_name"}, func(k string, v *node) {
					switch k {
					case "package_name":
						r.Name = c.str("package_name", v)
					case "arch":
						r.Arch = c.str("arch", v)
					case "epoch":
						r.Epoch = c.str("epoch", v)
					case "package_identifier":
						r.Identifier = c.str("package_identifier", v)
					case "package_version":
						r.Version = c.str("package_version", v)
					case "release":
						r.Release = c.str("release", v)
					case "src":
						b := c.boolean("src", v)
						r.Src = &b
					}
				})
				re.RPMPackages = append(re.RPMPackages, r)
			}
		case "python_packages":
			items, not, _ := c.list(w+".python_packages", v, true)
			re.PythonPackagesNot = not
			for _, it := range items {
				var p PythonPackage
				c.fields(w+".python_packages entry", it, []string{"name", "version", "location"}, []string{"name"}, func(k string, v *node) {
					switch k {
					case "name":
						p.Name = c.pkgName("python_packages name", v)
					case "version":
						p.Version = c.spec("python_packages version", v, false)
					case "location":
						if v.tag == tagNull && v.kind == scalarNode {
							return
						}
						p.Location = c.str("python_packages location", v)
						if _, err := regexp.Compile(p.Location); err != nil {
							c.fail(v, "python_packages location %q is not a valid regular expression: %v", p.Location, err)
						}
					}
				})
				re.PythonPackages = append(re.PythonPackages, p)
			}
		}
	})
	return re
}

// packageMatch decodes a package_version (or resolved_dependencies) entry.
func (c *checker) packageMatch(where string, n *node, nameRequired bool) PackageMatch {
	var pm PackageMatch
	var req []string
	if nameRequired {
		req = []string{"name"}
	}
	c.fields(where, n, []string{"name", "version", "index_url", "develop"}, req, func(k string, v *node) {
		switch k {
		case "name":
			if v.kind == scalarNode && v.tag == tagNull && !nameRequired {
				return
			}
			pm.Name = c.pkgName(where+".name", v)
		case "version":
			pm.Version = c.spec(where+".version", v, false)
		case "index_url":
			if v.kind == scalarNode && v.tag == tagNull {
				return
			}
			if v.kind == mappingNode {
				c.fields(where+".index_url", v, []string{"not"}, []string{"not"}, func(_ string, u *node) {
					pm.IndexURL, pm.IndexNot = c.str(where+".index_url.not", u), true
				})
				return
			}
			pm.IndexURL = c.str(where+".index_url", v)
		case "develop":
			b := c.boolean(where+".develop", v)
			pm.Develop = &b
		}
	})
	return pm
}

func (c *checker) packageMatches(where string, n *node) []PackageMatch {
	items, _, _ := c.list(where, n, false)
	var out []PackageMatch
	for _, it := range items {
		out = append(out, c.packageMatch(where+" entry", it, true))
	}
	return out
}

// matchEntries accepts one mapping or a non-empty list of them.
func (c *checker) matchEntries(n *node, allowList bool, entry func(*node) Match) []Match {
	if n.kind == sequenceNode {
		if !allowList {
			c.fail(n, "match must be a single mapping for this unit type, not a list")
			return nil
		}
		if len(n.children) == 0 {
			c.fail(n, "match must not be empty")
		}
		var out []Match
		for _, it := range n.children {
			out = append(out, entry(it))
		}
		return out
	}
	return []Match{entry(n)}
}

func (c *checker) state(where string, n *node, m *Match, withFrom bool, resolvedRequired bool) {
	known := []string{"resolved_dependencies"}
	if withFrom {
		known = append(known, "package_version_from", "package_version_from_allow_other")
	}
	var req []string
	if resolvedRequired {
		req = []string{"resolved_dependencies"}
	}
	c.fields(where, n, known, req, func(k string, v *node) {
		switch k {
		case "resolved_dependencies":
			m.Resolved = c.packageMatches(where+".resolved_dependencies", v)
		case "package_version_from":
			m.From = c.packageMatches(where+".package_version_from", v)
		case "package_version_from_allow_other":
			m.FromAllowOther = c.boolean(where+".package_version_from_allow_other", v)
		}
	})
}

func (c *checker) match(kind Kind, n *node) []Match {
	switch kind {
	case KindBoot, KindSkipPackageSieve:
		return c.matchEntries(n, true, func(e *node) Match {
			var m Match
			var req []string
			if kind == KindSkipPackageSieve {
				req = []string{"package_name"}
			}
			c.fields("match", e, []string{"package_name"}, req, func(_ string, v *node) {
				if v.kind == scalarNode && v.tag == tagNull {
					return
				}
				m.PackageName = pep508.CanonicalName(c.str("match.package_name", v))
			})
			return m
		})
	case KindPseudonym, KindSieve:
		return c.matchEntries(n, true, func(e *node) Match {
			var m Match
			c.fields("match", e, []string{"package_version"}, []string{"package_version"}, func(_ string, v *node) {
				pm := c.packageMatch("match.package_version", v, kind == KindPseudonym)
				m.Package = &pm
			})
			return m
		})
	case KindStep, KindSkipPackageStep, KindAddPackageStep:
		return c.matchEntries(n, kind != KindSkipPackageStep, func(e *node) Match {
			var m Match
			c.fields("match", e, []string{"package_version", "state"}, []string{"package_version"}, func(k string, v *node) {
				if k == "state" {
					c.state("match.state", v, &m, true, false)
					return
				}
				pm := c.packageMatch("match.package_version", v, false)
				m.Package = &pm
			})
			return m
		})
	case KindGroupStep:
		return c.groupMatches(n)
	case KindStride, KindWrap, KindGHReleaseNotes:
		return c.matchEntries(n, true, func(e *node) Match {
			var m Match
			var req []string
			if kind == KindStride {
				req = []string{"state"}
			}
			c.fields("match", e, []string{"state"}, req, func(_ string, v *node) {
				c.state("match.state", v, &m, false, true)
			})
			return m
		})
	}
	return []Match{{Raw: n.toValue()}}
}

// groupMatches checks a step.Group's match — a group of two or more
// package versions, or a list of such groups — and returns, per member of
// each group, the match of a step on that member with the others resolved.
func (c *checker) groupMatches(n *node) []Match {
	entries := []*node{n}
	if n.kind == sequenceNode {
		if len(n.children) == 0 {
			c.fail(n, "match must not be empty")
		}
		entries = n.children
	}
	var out []Match
	for _, e := range entries {
		var members []PackageMatch
		c.fields("match", e, []string{"group"}, []string{"group"}, func(_ string, g *node) {
			if g.kind != sequenceNode || len(g.children) < 2 {
				c.fail(g, "match.group must list at least two package versions")
				if g.kind != sequenceNode {
					return
				}
			}
			for _, it := range g.children {
				c.fields("match.group entry", it, []string{"package_version"}, []string{"package_version"}, func(_ string, v *node) {
					members = append(members, c.packageMatch("match.group.package_version", v, true))
				})
			}
		})
		if len(members) < 2 {
			// Reported above; a lone member would read as a step refusing
			// it whatever else is resolved.
			continue
		}
		for i := range members {
			m := Match{Package: &members[i]}
			for j := range members {
				if j != i {
					m.Resolved = append(m.Resolved, members[j])
				}
			}
			out = append(out, m)
		}
	}
	return out
}

func (c *checker) locked(where string, n *node, full bool) *Locked {
	l := &Locked{}
	known := []string{"name", "locked_version", "index_url"}
	req := []string{"name"}
	if full {
		known = append(known, "develop")
		req = known
	}
	c.fields(where, n, known, req, func(k string, v *node) {
		switch k {
		case "name":
			l.Name = c.pkgName(where+".name", v)
		case "locked_version":
			if v.kind == scalarNode && v.tag == tagNull && !full {
				return
			}
			s := c.str(where+".locked_version", v)
			switch {
			case strings.HasPrefix(s, "==="):
				l.Version = s[3:]
			case strings.HasPrefix(s, "=="):
				l.Version = s[2:]
			case s != "":
				c.fail(v, "%s.locked_version %q must be pinned with == (e.g. \"==1.0.0\")", where, s)
			}
		case "index_url":
			if v.kind == scalarNode && v.tag == tagNull && !full {
				return
			}
			l.IndexURL = c.str(where+".index_url", v)
		case "develop":
			l.Develop = c.boolean(where+".develop", v)
		}
	})
	return l
}

func (c *checker) run(kind Kind, n *node) Run {
	var r Run
	// Whole literals rather than appends to a common head, which allocated
	// for every unit.
	var known []string
	switch kind {
	case KindBoot, KindStride:
		known = []string{"stack_info", "log", "not_acceptable", "eager_stop_pipeline"}
	case KindPseudonym:
		known = []string{"stack_info", "log", "yield"}
	case KindStep:
		known = []string{"stack_info", "log", "not_acceptable", "eager_stop_pipeline", "score", "justification", "multi_package_resolution"}
	case KindGroupStep:
		known = []string{"stack_info", "log", "not_acceptable", "eager_stop_pipeline", "score", "justification"}
	case KindSkipPackageStep:
		known = []string{"stack_info", "log", "multi_package_resolution"}
	case KindAddPackageStep:
		known = []string{"stack_info", "log", "multi_package_resolution", "package_version"}
	case KindWrap:
		known = []string{"stack_info", "log", "justification", "advised_manifest_changes"}
	case KindGHReleaseNotes:
		known = []string{"release_notes"}
	default:
		known = []string{"stack_info", "log"}
	}
	var req []string
	switch kind {
	case KindPseudonym:
		req = []string{"yield"}
	case KindAddPackageStep:
		req = []string{"package_version"}
	case KindGHReleaseNotes:
		req = []string{"release_notes"}
	}
	c.fields("run", n, known, req, func(k string, v *node) {
		switch k {
		case "log":
			r.Log = &Message{}
			c.fields("run.log", v, []string{"message", "type"}, []string{"message", "type"}, func(k string, v *node) {
				if k == "message" {
					r.Log.Message = c.str("run.log.message", v)
				} else {
					r.Log.Type = c.msgType("run.log.type", v)
				}
			})
		case "stack_info":
			items, _, _ := c.list("run.stack_info", v, false)
			for _, it := range items {
				var si Info
				c.fields("run.stack_info entry", it, []string{"type", "message", "link"}, []string{"type", "message", "link"}, func(k string, v *node) {
					switch k {
					case "type":
						si.Type = c.msgType("stack_info type", v)
					case "message":
						si.Message = c.str("stack_info message", v)
					case "link":
						si.Link = c.link("stack_info link", v)
					}
				})
				r.StackInfo = append(r.StackInfo, si)
			}
		case "justification":
			items, _, _ := c.list("run.justification", v, false)
			for _, it := range items {
				var j Justification
				c.fields("run.justification entry", it, []string{"type", "message", "link", "package_name", "advisory", "cve_id", "cve_name", "version_range"}, []string{"type", "message", "link"}, func(k string, v *node) {
					switch k {
					case "type":
						j.Type = c.msgType("justification type", v)
					case "message":
						j.Message = c.str("justification message", v)
					case "link":
						j.Link = c.link("justification link", v)
					case "package_name":
						j.PackageName = c.pkgName("justification package_name", v)
					case "advisory":
						j.Advisory = c.str("justification advisory", v)
					case "cve_id":
						j.CVEID = c.str("justification cve_id", v)
					case "cve_name":
						j.CVEName = c.str("justification cve_name", v)
					case "version_range":
						if s := c.spec("justification version_range", v, false); s != nil {
							j.VersionRange = s.Raw
						}
					}
				})
				r.Justification = append(r.Justification, j)
			}
		case "not_acceptable":
			r.NotAcceptable = c.str("run.not_acceptable", v)
		case "eager_stop_pipeline":
			r.EagerStopPipeline = c.str("run.eager_stop_pipeline", v)
		case "score":
			if v.kind != scalarNode || (v.tag != tagFloat && v.tag != tagInt && v.tag != tagNull) {
				c.fail(v, "run.score must be a number, got %s", v.typeName())
				return
			}
			if f, err := strconv.ParseFloat(v.value, 64); err == nil {
				if f < -1 || f > 1 {
					c.fail(v, "run.score %v must be between -1.0 and 1.0", f)
				}
				r.Score = &f
			}
		case "multi_package_resolution":
			r.MultiPackageResolution = c.boolean("run.multi_package_resolution", v)
		case "yield":
			c.fields("run.yield", v, []string{"yield_matched_version", "package_version"}, []string{"package_version"}, func(k string, v *node) {
				if k == "package_version" {
					matched := false
					if r.Yield != nil {
						matched = r.Yield.MatchedVersion
					}
					r.Yield = c.locked("run.yield.package_version", v, false)
					r.Yield.MatchedVersion = matched
				}
			})
			if r.Yield != nil {
				if ym := v.get("yield_matched_version"); ym != nil {
					r.Yield.MatchedVersion = c.boolean("run.yield.yield_matched_version", ym)
					if r.Yield.MatchedVersion && r.Yield.Version != "" {
						c.fail(ym, "yield_matched_version together with locked_version is undefined; keep one")
					}
				}
			}
		case "package_version":
			r.AddPackage = c.locked("run.package_version", v, true)
		case "advised_manifest_changes":
			r.AdvisedManifestChanges = v.toValue()
		case "release_notes":
			rn := &ReleaseNotes{}
			c.fields("run.release_notes", v, []string{"organization", "repository", "tag_version_prefix"}, []string{"organization", "repository"}, func(k string, v *node) {
				switch k {
				case "organization":
					rn.Organization = c.str("run.release_notes.organization", v)
				case "repository":
					rn.Repository = c.str("run.release_notes.repository", v)
				case "tag_version_prefix":
					rn.TagVersionPrefix = c.str("run.release_notes.tag_version_prefix", v)
				}
			})
			r.ReleaseNotes = rn
		}
	})
	// Exclusive keys, as in Thoth's schema.
	if r.NotAcceptable != "" && r.EagerStopPipeline != "" {
		c.fail(n, "run has both not_acceptable and eager_stop_pipeline; keep one")
	}
	if kind == KindStep && (r.NotAcceptable != "" || r.EagerStopPipeline != "") && (r.Score != nil || len(r.Justification) > 0) {
		c.fail(n, "run combines not_acceptable/eager_stop_pipeline with score/justification; a refused candidate gets no score")
	}
	return r
}

// unit decodes one entry of a units group.
func (c *checker) unit(group string, n *node) *Unit {
	if n.kind != mappingNode {
		c.fail(n, "units.%s entries must be mappings, got %s", group, n.typeName())
		return nil
	}
	u := c.newUnit(n)
	implemented := true
	if t := n.get("type"); t != nil {
		u.Kind = Kind(c.str("type", t))
		impl, known := groupKinds[group][u.Kind]
		if !known && u.Kind != "" {
			kinds := make([]string, 0, 4)
			for k := range groupKinds[group] {
				kinds = append(kinds, string(k))
			}
			sort.Strings(kinds)
			c.fail(t, "unit type %q cannot be listed under units.%s (allowed: %s)", u.Kind, group, strings.Join(kinds, ", "))
			return nil
		}
		implemented = impl
	}
	// Whole literals, and the name quoted without fmt: this runs for
	// every unit.
	req := []string{"name", "type", "should_include"}
	if implemented {
		switch u.Kind {
		case KindPseudonym, KindStep, KindAddPackageStep, KindStride:
			req = []string{"name", "type", "should_include", "match", "run"}
		case KindSieve, KindSkipPackageSieve, KindSkipPackageStep:
			req = []string{"name", "type", "should_include", "match"}
		case KindBoot, KindWrap:
			req = []string{"name", "type", "should_include", "run"}
		case KindGHReleaseNotes, KindGroupStep:
			req = []string{"name", "type", "should_include", "match", "run"}
		}
	}
	where := "unit"
	if nm := n.get("name"); nm != nil && nm.kind == scalarNode {
		var buf [64]byte
		where = string(strconv.AppendQuote(append(buf[:0], "unit "...), nm.value))
	}
	c.fields(where, n, []string{"name", "type", "should_include", "match", "run", "metadata"}, req, func(k string, v *node) {
		switch k {
		case "name":
			u.Name = c.str("unit name", v)
		case "should_include":
			u.Include = c.include(v)
		case "match":
			if implemented {
				u.Match = c.match(u.Kind, v)
			} else {
				u.Match = []Match{{Raw: v.toValue()}}
			}
		case "run":
			if implemented {
				u.Run = c.run(u.Kind, v)
			} else {
				u.Run.Raw = v.toValue()
			}
		case "metadata":
			if v.kind != mappingNode {
				c.fail(v, "unit metadata must be a mapping, got %s", v.typeName())
			}
		}
	})
	return u
}

// unitsFile decodes the `units:` mapping of a file.
func (c *checker) units(n *node) []*Unit {
	var out []*Unit
	c.fields("units", n, groupOrder, nil, func(group string, v *node) {
		items, _, _ := c.list("units."+group, v, false)
		seen := map[string]int{}
		for _, it := range items {
			u := c.unit(group, it)
			if u == nil {
				continue
			}
			if u.Name != "" {
				if first, dup := seen[u.Name]; dup {
					c.fail(it, "%s unit %q is already defined on line %d", strings.TrimSuffix(group, "s"), u.Name, first)
					continue
				}
				seen[u.Name] = it.line
			}
			out = append(out, u)
		}
	})
	return out
}
