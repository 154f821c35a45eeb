package prescription

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"sort"
	"strings"
	"sync"
)

// MetadataFile names a prescription directory: its `prescription.name`
// namespaces the units below it, as in Thoth's repository layout.
const MetadataFile = "_prescription_metadata.yaml"

// defaultName is Thoth's namespace when no metadata file is found.
const defaultName = "UNKNOWN"

// Load reads every *.yaml and *.yml file under each directory (or a file
// given directly) into a Set. Hidden files and directories are skipped. Any
// problem in any file makes Load fail with a *ProblemsError listing them;
// units of kinds this engine does not implement load with a Warning.
func Load(paths ...string) (*Set, error) {
	set, problems := load(paths)
	if len(problems) > 0 {
		return set, &ProblemsError{Problems: problems}
	}
	return set, nil
}

// Validate reports every problem in the prescriptions under the paths, in
// file order; none means they load.
func Validate(paths ...string) []Problem {
	_, problems := load(paths)
	return problems
}

type job struct {
	path string
	meta *Meta
}

type result struct {
	units    []*Unit
	problems []Problem
}

func load(paths []string) (*Set, []Problem) {
	set := &Set{}
	var jobs []job
	var problems []Problem
	for _, p := range paths {
		problems = append(problems, collectRoot(p, &Meta{Name: defaultName, Release: defaultName, Dir: p}, set, &jobs)...)
	}
	set.Files = len(jobs)

	// Reading and parsing dominate; both scale with cores.
	results := make([]result, len(jobs))
	workers := runtime.GOMAXPROCS(0)
	var next int64
	var mu sync.Mutex
	var wg sync.WaitGroup
	const batch = 64
	for w := 0; w < workers; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			r := &reader{buf: make([]byte, 64<<10)}
			for {
				mu.Lock()
				start := int(next)
				next += batch
				mu.Unlock()
				if start >= len(jobs) {
					return
				}
				for i := start; i < start+batch && i < len(jobs); i++ {
					results[i] = r.loadFile(jobs[i])
				}
			}
		}()
	}
	wg.Wait()

	warn := map[Kind]int{}
	for _, r := range results {
		problems = append(problems, r.problems...)
		for _, u := range r.units {
			if impl, ok := groupKinds[groupOf(u.Kind)][u.Kind]; ok && !impl {
				i, seen := warn[u.Kind]
				if !seen {
					warn[u.Kind] = len(set.Warnings)
					set.Warnings = append(set.Warnings, Warning{Kind: u.Kind, File: u.File, Line: u.Line})
					i = warn[u.Kind]
				}
				set.Warnings[i].Count++
				continue
			}
			set.Units = append(set.Units, u)
		}
	}
	problems = append(problems, duplicates(set.Units)...)
	return set, problems
}

func groupOf(k Kind) string {
	for g, kinds := range groupKinds {
		if _, ok := kinds[k]; ok {
			return g
		}
	}
	return ""
}

// collectRoot is collect with the root's subdirectories walked in parallel:
// listing ~10,000 directories one after the other was a fifth of the load.
// Results are joined in directory order, so the order of units does not
// depend on scheduling.
func collectRoot(path string, meta *Meta, set *Set, jobs *[]job) []Problem {
	fi, err := os.Stat(path)
	if err != nil || !fi.IsDir() {
		return collect(path, meta, set, jobs)
	}
	entries, err := os.ReadDir(path)
	if err != nil {
		return collect(path, meta, set, jobs)
	}
	problems := readMeta(path, entries, &meta, set)
	type part struct {
		set      Set
		jobs     []job
		problems []Problem
	}
	parts := make([]part, len(entries))
	sem := make(chan struct{}, runtime.GOMAXPROCS(0)*2)
	var wg sync.WaitGroup
	for i, e := range entries {
		name := e.Name()
		if strings.HasPrefix(name, ".") || name == MetadataFile {
			continue
		}
		child := filepath.Join(path, name)
		if !e.IsDir() {
			if isYAML(name) && (e.Type().IsRegular() || e.Type()&os.ModeSymlink != 0) {
				parts[i].jobs = []job{{path: child, meta: meta}}
			}
			continue
		}
		wg.Add(1)
		sem <- struct{}{}
		go func(i int) {
			defer wg.Done()
			parts[i].problems = collect(child, meta, &parts[i].set, &parts[i].jobs)
			<-sem
		}(i)
	}
	wg.Wait()
	for _, p := range parts {
		*jobs = append(*jobs, p.jobs...)
		problems = append(problems, p.problems...)
		set.Prescriptions = append(set.Prescriptions, p.set.Prescriptions...)
	}
	return problems
}

// readMeta reads a directory's metadata file, if it has one, into *meta.
func readMeta(path string, entries []os.DirEntry, meta **Meta, set *Set) []Problem {
	for _, e := range entries {
		if e.Name() == MetadataFile && !e.IsDir() {
			m, p := readMetadata(filepath.Join(path, MetadataFile))
			if m != nil {
				m.Dir = path
				*meta = m
				set.Prescriptions = append(set.Prescriptions, *m)
			}
			return p
		}
	}
	return nil
}

// collect walks a directory the way Thoth's loader does: a metadata file
// names everything below its directory, so it is read before the entries.
func collect(path string, meta *Meta, set *Set, jobs *[]job) []Problem {
	fi, err := os.Stat(path)
	if err != nil {
		return []Problem{{File: path, Message: fmt.Sprintf("cannot read prescriptions: %v", errors.Unwrap(err))}}
	}
	if !fi.IsDir() {
		if isYAML(path) {
			*jobs = append(*jobs, job{path: path, meta: meta})
		}
		return nil
	}
	entries, err := os.ReadDir(path)
	if err != nil {
		return []Problem{{File: path, Message: fmt.Sprintf("cannot list prescriptions: %v", err)}}
	}
	problems := readMeta(path, entries, &meta, set)
	for _, e := range entries {
		name := e.Name()
		if strings.HasPrefix(name, ".") || name == MetadataFile {
			continue
		}
		child := filepath.Join(path, name)
		if e.IsDir() {
			problems = append(problems, collect(child, meta, set, jobs)...)
		} else if isYAML(name) && (e.Type().IsRegular() || e.Type()&os.ModeSymlink != 0) {
			*jobs = append(*jobs, job{path: child, meta: meta})
		}
	}
	return problems
}

func isYAML(name string) bool {
	return strings.HasSuffix(name, ".yaml") || strings.HasSuffix(name, ".yml")
}

func readMetadata(path string) (*Meta, []Problem) {
	c := &checker{file: path}
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, []Problem{{File: path, Message: fmt.Sprintf("cannot read: %v", err)}}
	}
	n, err := parseYAML(data)
	if err != nil {
		return nil, []Problem{syntaxProblem(path, err)}
	}
	m := &Meta{}
	c.fields("metadata file", n, []string{"prescription"}, []string{"prescription"}, func(_ string, v *node) {
		c.fields("prescription", v, []string{"name", "release"}, []string{"name", "release"}, func(k string, v *node) {
			if k == "name" {
				m.Name = c.str("prescription.name", v)
			} else {
				m.Release = c.scalarString("prescription.release", v)
			}
		})
	})
	return m, c.problems
}

// scalarString accepts any scalar: a release such as 2021.06.15 parses as
// a number but means its text.
func (c *checker) scalarString(where string, n *node) string {
	if n.kind != scalarNode || n.tag == tagNull {
		c.fail(n, "%s must be a string, got %s", where, n.typeName())
		return ""
	}
	return n.value
}

func syntaxProblem(path string, err error) Problem {
	var se *syntaxError
	if errors.As(err, &se) {
		return Problem{File: path, Line: se.line, Message: "YAML syntax: " + se.msg}
	}
	return Problem{File: path, Message: err.Error()}
}

// reader is one worker's reusable state.
type reader struct {
	buf []byte
	p   fastParser
}

func (r *reader) loadFile(j job) result {
	data, err := r.read(j.path)
	if err != nil {
		return result{problems: []Problem{{File: j.path, Message: fmt.Sprintf("cannot read: %v", err)}}}
	}
	n, ok := r.p.parse(data)
	if !ok {
		if n, err = slowParse(data); err != nil {
			return result{problems: []Problem{syntaxProblem(j.path, err)}}
		}
	}
	c := &checker{file: j.path}
	var units []*Unit
	ns := j.meta.Name
	switch {
	case n.kind == scalarNode && n.tag == tagNull:
		c.fail(n, "file is empty; a prescription file holds `units:`")
	case n.get("apiVersion") != nil:
		// The single-file form of early Thoth prescriptions:
		// apiVersion/kind/spec{name, release, units}.
		c.fields("prescription file", n, []string{"apiVersion", "kind", "spec", "metadata"}, []string{"apiVersion", "kind", "spec"}, func(k string, v *node) {
			switch k {
			case "apiVersion":
				if s := c.str("apiVersion", v); s != "" && s != "thoth-station.ninja/v1" {
					c.fail(v, "apiVersion %q is not supported; use thoth-station.ninja/v1", s)
				}
			case "kind":
				if s := c.str("kind", v); s != "" && s != "prescription" {
					c.fail(v, "kind %q is not supported; use prescription", s)
				}
			case "spec":
				c.fields("spec", v, []string{"name", "release", "units"}, []string{"name", "units"}, func(k string, v *node) {
					switch k {
					case "name":
						ns = c.str("spec.name", v)
					case "release":
						c.scalarString("spec.release", v)
					case "units":
						units = c.units(v)
					}
				})
			}
		})
	default:
		c.fields("prescription file", n, []string{"units", "metadata"}, []string{"units"}, func(k string, v *node) {
			if k == "units" {
				units = c.units(v)
			} else if v.kind != mappingNode {
				c.fail(v, "file metadata must be a mapping, got %s", v.typeName())
			}
		})
	}
	for _, u := range units {
		u.Name = ns + "." + u.Name
	}
	return result{units: units, problems: c.problems}
}

// duplicates finds units of one group and namespace defined in two files.
func duplicates(units []*Unit) []Problem {
	type key struct{ group, name string }
	first := map[key]*Unit{}
	var problems []Problem
	for _, u := range units {
		k := key{groupOf(u.Kind), u.Name}
		if f, dup := first[k]; dup {
			if f.File != u.File {
				problems = append(problems, Problem{File: u.File, Line: u.Line, Message: fmt.Sprintf("unit %q is already defined at %s:%d", u.Name, f.File, f.Line)})
			}
			continue
		}
		first[k] = u
	}
	sort.SliceStable(problems, func(i, j int) bool { return problems[i].File < problems[j].File })
	return problems
}
