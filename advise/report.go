package advise

import (
	"encoding/json"
	"fmt"
	"io"
	"slices"
	"strings"

	"github.com/seshat-dev/seshat/advise/pep440"
	"github.com/seshat-dev/seshat/advise/pep508"
	"github.com/seshat-dev/seshat/advise/prescription"
	"github.com/seshat-dev/seshat/advise/target"
)

// ReportSchema names the version of the --report JSON.
const ReportSchema = "seshat.advise-report/v1"

// Report says what an image-aware resolution was based on and why each pin
// is what it is, in the spirit of Thoth's adviser report.
type Report struct {
	Schema         string             `json:"schema"`
	Environment    ReportEnvironment  `json:"environment"`
	Recommendation RecommendationType `json:"recommendationType"`
	InstalledMode  InstalledMode      `json:"installedMode"`
	// Kept are installed packages the resolution left as they are (not in the lock).
	Kept []ReportKept `json:"kept"`
	// Changed are installed packages the lock installs at another version.
	Changed []InstalledChange `json:"changed"`
	// Skipped are packages the resolution chose but a step.SkipPackage
	// prescription left out of the lock.
	Skipped []ReportSkipped `json:"skipped"`
	// Pins justify every package of the lock.
	Pins []ReportPin `json:"pins"`
	// Prescriptions are the units that fired, each once per package.
	Prescriptions []prescription.Fired `json:"prescriptions"`
	Warnings      []string             `json:"warnings"`
}

// ReportEnvironment is the environment the lock was resolved for.
type ReportEnvironment struct {
	Image          string   `json:"image"`
	OS             string   `json:"os,omitempty"`
	Interpreter    string   `json:"interpreter"`
	Invoked        string   `json:"invokedAs"`
	PythonVersion  string   `json:"pythonVersion"`
	Implementation string   `json:"implementation"`
	ABIFlags       string   `json:"abiFlags,omitempty"`
	SOABI          string   `json:"soabi,omitempty"`
	Machine        string   `json:"machine"`
	Platforms      []string `json:"platforms"`
	Libc           string   `json:"libc,omitempty"`
	CUDA           string   `json:"cuda,omitempty"`
	Environments   []string `json:"environments"`
	InstalledCount int      `json:"installedCount"`
}

// ReportKept is an installed package the lock relies on without pinning.
type ReportKept struct {
	Name     string `json:"name"`
	Version  string `json:"version"`
	Location string `json:"location"`
}

// ReportSkipped is a package a prescription left out of the lock.
type ReportSkipped struct {
	Name    string `json:"name"`
	Version string `json:"version"`
}

// ReportPin is one pin and its justification.
type ReportPin struct {
	Name    string   `json:"name"`
	Version string   `json:"version"`
	Why     string   `json:"why"`
	Details []string `json:"details,omitempty"`
}

func newReport(env *ImageEnvironment, t target.Target, s ImageSettings, res *Result, h *hooks) *Report {
	r := &Report{
		Schema:         ReportSchema,
		Recommendation: s.Recommendation,
		InstalledMode:  s.Installed,
		Environment: ReportEnvironment{
			Image:          env.Reference,
			OS:             env.OS,
			Interpreter:    env.Interpreter.Path,
			Invoked:        env.Invoked,
			PythonVersion:  t.PythonVersion,
			Implementation: t.Implementation,
			ABIFlags:       t.ABIFlags,
			SOABI:          t.SOABI,
			Machine:        t.MachineName(),
			Platforms:      t.Platforms,
			Libc:           env.Libc,
			CUDA:           env.CUDA,
			Environments:   env.Environments,
			InstalledCount: len(env.Installed),
		},
		Kept: []ReportKept{}, Changed: []InstalledChange{}, Skipped: []ReportSkipped{}, Prescriptions: []prescription.Fired{},
		Warnings: slices.Clone(res.Warnings),
	}
	if r.Warnings == nil {
		r.Warnings = []string{}
	}
	for name, v := range h.kept {
		r.Kept = append(r.Kept, ReportKept{Name: name, Version: v, Location: env.Installed[name].Location})
	}
	slices.SortFunc(r.Kept, func(a, b ReportKept) int { return strings.Compare(a.Name, b.Name) })
	for name, v := range h.skipped {
		r.Skipped = append(r.Skipped, ReportSkipped{Name: name, Version: v})
	}
	slices.SortFunc(r.Skipped, func(a, b ReportSkipped) int { return strings.Compare(a.Name, b.Name) })
	for i := range res.Pins {
		p := &res.Pins[i]
		if d, ok := env.Installed[p.Name]; ok && s.Installed != InstalledIgnore {
			if equalVersions(d.Version, p.Version) {
				p.Why = fmt.Sprintf("installed in the image (%s) and preferred (--installed prefer)", d.Location)
			} else {
				why := "the requirements rule the installed version out; the lock's is " + p.Why
				if iv, err := pep440.Parse(d.Version); err == nil {
					if r := h.exclude(p.Name, iv); r != "" {
						why = "the installed " + d.Version + " is refused: " + r
					}
				}
				p.Details = append([]string{fmt.Sprintf("the image has %s %s in %s, which this resolution replaces", p.Name, d.Version, d.Location)}, p.Details...)
				r.Changed = append(r.Changed, InstalledChange{Name: p.Name, Installed: d.Version, Locked: p.Version, Location: d.Location, Why: why})
			}
		}
		for _, why := range h.rejected[p.Name+"=="+p.Version] {
			p.Details = append(p.Details, "file refused: "+why)
		}
		r.Pins = append(r.Pins, ReportPin{Name: p.Name, Version: p.Version, Why: p.Why, Details: p.Details})
	}
	if r.Pins == nil {
		r.Pins = []ReportPin{}
	}
	for _, c := range r.Changed {
		res.Warnings = append(res.Warnings, fmt.Sprintf("%s: the image has %s, the lock installs %s (%s)", c.Name, c.Installed, c.Locked, c.Why))
	}
	if s.Installed != InstalledIgnore {
		broken := brokenInstalled(env, t, res)
		r.Warnings = append(r.Warnings, broken...)
		res.Warnings = append(res.Warnings, broken...)
	}
	return r
}

// brokenInstalled names the installed distributions the lock would leave
// with an unmet requirement: those it does not replace but whose
// requirement on a package it changes no longer holds.
func brokenInstalled(env *ImageEnvironment, t target.Target, res *Result) []string {
	locked := map[string]string{}
	for _, p := range res.Lock.Packages {
		locked[p.Name] = p.Version
	}
	menv := environment(t)
	var out []string
	names := make([]string, 0, len(env.Installed))
	for name := range env.Installed {
		names = append(names, name)
	}
	slices.Sort(names)
	for _, name := range names {
		if _, replaced := locked[name]; replaced {
			continue
		}
		d := env.Installed[name]
		for _, line := range d.Requires {
			req, err := pep508.ParseRequirement(line)
			if err != nil || !req.Marker.Evaluate(menv, "") {
				continue
			}
			v, ok := locked[req.Canonical()]
			if !ok {
				continue
			}
			pv, err := pep440.Parse(v)
			if err == nil && !req.Specifier.Contains(pv, true) {
				out = append(out, fmt.Sprintf("the lock's %s %s breaks %s %s installed in %s, which requires %s; add %s to the requirements to have it resolved too",
					req.Canonical(), v, d.Name, d.Version, d.Location, requirementText(req), name))
			}
		}
	}
	return out
}

func equalVersions(a, b string) bool {
	return strings.EqualFold(a, b) || normalizedVersion(a) == normalizedVersion(b)
}

// WriteJSON writes the report, indented, with a trailing newline.
func (r *Report) WriteJSON(w io.Writer) error {
	b, err := json.MarshalIndent(r, "", "  ")
	if err != nil {
		return err
	}
	_, err = w.Write(append(b, '\n'))
	return err
}

// Explain writes the report for a person: the environment, what was kept
// or changed, and why each pin.
func (r *Report) Explain(w io.Writer) {
	e := r.Environment
	fmt.Fprintf(w, "environment: %s", e.Image)
	if e.OS != "" {
		fmt.Fprintf(w, " (%s)", e.OS)
	}
	impl := "CPython"
	if e.Implementation == "pp" {
		impl = "PyPy"
	}
	fmt.Fprintf(w, "\n  interpreter: %s (as %s), %s %s", e.Interpreter, e.Invoked, impl, e.PythonVersion)
	if e.SOABI != "" {
		fmt.Fprintf(w, ", %s", e.SOABI)
	}
	fmt.Fprintf(w, "\n  platform: %s", e.Machine)
	if e.Libc != "" {
		fmt.Fprintf(w, ", %s", e.Libc)
	}
	if len(e.Platforms) > 0 {
		fmt.Fprintf(w, ", wheel tags %s … %s (%d)", e.Platforms[0], e.Platforms[len(e.Platforms)-1], len(e.Platforms))
	}
	cuda := e.CUDA
	if cuda == "" {
		cuda = "none"
	}
	where := strings.Join(e.Environments, ", ")
	if where == "" {
		where = "no site directory"
	}
	fmt.Fprintf(w, "\n  CUDA: %s\n  installed: %d distributions in %s (--installed %s)\n  recommendation type: %s\n",
		cuda, e.InstalledCount, where, r.InstalledMode, r.Recommendation)
	for _, f := range r.Prescriptions {
		fmt.Fprintf(w, "prescription %s (%s:%d)", f.Unit, f.File, f.Line)
		if f.Package != "" {
			fmt.Fprintf(w, " on %s", f.Package)
		}
		if f.Message != "" {
			fmt.Fprintf(w, ": %s", f.Message)
		}
		if f.Link != "" {
			fmt.Fprintf(w, " (%s)", f.Link)
		}
		fmt.Fprintln(w)
		for _, si := range f.StackInfo {
			fmt.Fprintf(w, "    %s: %s %s\n", si.Type, si.Message, si.Link)
		}
	}
	for _, k := range r.Kept {
		fmt.Fprintf(w, "kept %s==%s: installed in the image, left out of the lock\n", k.Name, k.Version)
	}
	for _, c := range r.Changed {
		fmt.Fprintf(w, "changed %s: installed %s, locked %s (%s)\n", c.Name, c.Installed, c.Locked, c.Why)
	}
	for _, p := range r.Pins {
		fmt.Fprintf(w, "%s==%s: %s\n", p.Name, p.Version, p.Why)
		for _, d := range p.Details {
			fmt.Fprintf(w, "    %s\n", strings.ReplaceAll(d, "\n", "\n    "))
		}
	}
}

func normalizedVersion(s string) string {
	v, err := pep440.Parse(s)
	if err != nil {
		return s
	}
	return v.String()
}
