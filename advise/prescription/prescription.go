// Package prescription loads, validates and evaluates declarative
// prescriptions in the schema of Thoth's public prescriptions repository
// (github.com/thoth-station/prescriptions): YAML units that steer a
// resolution — boot, pseudonym, sieve, sieve.SkipPackage, step,
// step.SkipPackage, step.AddPackage, stride and wrap — each gated by
// should_include on the runtime environment.
//
// It does no resolving and no I/O beyond reading the YAML files (and, with
// LoadCached, its cache of them): Load builds a Set, which keeps its units
// encoded until they are needed, Set.For binds it to one runtime
// environment (a Context), and the resolver asks the returned Engine about
// each candidate, state and final lock. Every unit that fires comes back as
// a Fired value carrying what a report shows: the unit's name, message, link
// and stack_info.
package prescription

import (
	"fmt"
	"strings"

	"github.com/seshat-dev/seshat/advise/pep440"
)

// Kind is a unit's type as written in its `type:` key.
type Kind string

// The unit kinds this engine evaluates.
const (
	KindBoot             Kind = "boot"
	KindPseudonym        Kind = "pseudonym"
	KindSieve            Kind = "sieve"
	KindSkipPackageSieve Kind = "sieve.SkipPackage"
	KindStep             Kind = "step"
	KindSkipPackageStep  Kind = "step.SkipPackage"
	KindAddPackageStep   Kind = "step.AddPackage"
	// KindGroupStep is a step over a group of packages: it acts when all of
	// them are resolved together. It loads as a step with one match per
	// member — that member, with the others as resolved dependencies — as
	// Thoth registers it.
	KindGroupStep      Kind = "step.Group"
	KindStride         Kind = "stride"
	KindWrap           Kind = "wrap"
	KindGHReleaseNotes Kind = "wrap.GHReleaseNotes"
)

// groupKinds lists, per `units:` key, the kinds Thoth's schema allows there
// and whether this engine implements them. Known but unimplemented kinds load
// (with a Warning) so a checkout of the public repository still works.
var groupKinds = map[string]map[Kind]bool{
	"boots":      {KindBoot: true},
	"pseudonyms": {KindPseudonym: true},
	"sieves":     {KindSieve: true, KindSkipPackageSieve: true},
	"steps":      {KindStep: true, KindSkipPackageStep: true, KindAddPackageStep: true, KindGroupStep: true},
	"strides":    {KindStride: true},
	"wraps":      {KindWrap: true, KindGHReleaseNotes: true},
}

var groupOrder = []string{"boots", "pseudonyms", "sieves", "steps", "strides", "wraps"}

// Unit is one prescription unit, validated.
type Unit struct {
	// Name is namespaced by the prescription's name, e.g.
	// "thoth.FlaskOpenIDSetuptools2to3Step".
	Name string
	Kind Kind
	File string
	Line int

	Include Include
	// Match holds one entry per item of a `match:` list (a single mapping
	// is a list of one); a unit without match has none.
	Match []Match
	Run   Run
}

// Include is a unit's should_include section.
type Include struct {
	Never                    bool // times: 0
	AdviserPipeline          bool
	DependencyMonkeyPipeline bool
	RecommendationTypes      *ValueList
	DecisionTypes            *ValueList
	Labels                   map[string]string
	Authenticated            *bool
	LibraryUsage             map[string][]string
	// Dependencies maps a units group ("boots", …) to unit names that must
	// be included for this one to be.
	Dependencies map[string][]string
	// Runtime is nil without runtime_environments, as most units are: the
	// struct is 200 bytes and there are 90,000 units in Thoth's repository.
	Runtime *RuntimeEnvironments
}

// ValueList is a list of allowed values, or with Not a list of excluded
// ones. Null records a YAML null in the list ("no value", e.g. no GPU).
type ValueList struct {
	Not    bool
	Values []string
	Null   bool
}

// Contains reports whether v (empty for "none") passes the list.
func (l *ValueList) Contains(v string) bool {
	in := false
	if v == "" {
		in = l.Null
	} else {
		for _, x := range l.Values {
			if x == v {
				in = true
				break
			}
		}
	}
	return in != l.Not
}

// RuntimeEnvironments is should_include.runtime_environments.
type RuntimeEnvironments struct {
	OperatingSystems    []OS
	OperatingSystemsNot bool
	Hardware            []Hardware
	PythonVersion       *Spec
	CUDAVersion         *Spec
	CUDNNVersion        *Spec
	OpenBLASVersion     *Spec
	OpenMPIVersion      *Spec
	MKLVersion          *Spec
	Platforms           *ValueList
	BaseImages          *ValueList
	ABI                 *ValueList
	RPMPackages         []RPM
	RPMPackagesNot      bool
	PythonPackages      []PythonPackage
	PythonPackagesNot   bool
}

// OS is an operating system by name and version, e.g. fedora 34; an empty
// field matches any.
type OS struct{ Name, Version string }

// Hardware constrains CPU and GPU; nil lists do not constrain.
type Hardware struct {
	CPUFamilies, CPUModels *IntList
	CPUFlags               *ValueList
	GPUModels              *ValueList
}

// IntList is ValueList for integers (CPU families and models).
type IntList struct {
	Not    bool
	Values []int
	Null   bool
}

// RPM is an RPM package; empty fields match any.
type RPM struct {
	Name, Arch, Epoch, Identifier, Version, Release string
	Src                                             *bool
}

// PythonPackage is a package installed in the image (should_include) with
// an optional version specifier and location regular expression.
type PythonPackage struct {
	Name     string
	Version  *Spec
	Location string
}

// Spec is a version specifier as written and parsed.
type Spec struct {
	Raw string
	Set pep440.SpecifierSet
	// Legacy is the version text of a "==" pin that is not PEP 440; it
	// matches only that exact text.
	Legacy string
}

// Contains matches version against the specifier; allowPre admits
// pre-releases that the specifier does not name itself.
func (s *Spec) Contains(version string, allowPre bool) bool {
	if s.Legacy != "" {
		return version == s.Legacy
	}
	v, err := pep440.Parse(version)
	if err != nil {
		return false
	}
	return s.Set.Contains(v, allowPre || s.Set.ExplicitlyAllowsPre())
}

// PackageMatch is a match.package_version or resolved_dependencies entry.
type PackageMatch struct {
	Name     string // canonical; empty matches any
	Version  *Spec
	IndexURL string
	IndexNot bool // index_url: {not: URL}
	Develop  *bool
}

// Match is one entry of a unit's match section.
type Match struct {
	// PackageName is boot's and sieve.SkipPackage's match.package_name.
	PackageName string
	Package     *PackageMatch
	Resolved    []PackageMatch // state.resolved_dependencies
	// From is state.package_version_from: packages that must have
	// introduced the matched one.
	From           []PackageMatch
	FromAllowOther bool
	Raw            any // unimplemented kinds keep their match as written
}

// Message is a run.log entry.
type Message struct {
	Type    string `json:"type"`
	Message string `json:"message"`
}

// Info is a stack_info entry.
type Info struct {
	Type    string `json:"type"`
	Message string `json:"message"`
	Link    string `json:"link"`
}

// Justification is a run.justification entry.
type Justification struct {
	Type         string `json:"type"`
	Message      string `json:"message"`
	Link         string `json:"link"`
	PackageName  string `json:"package_name,omitempty"`
	Advisory     string `json:"advisory,omitempty"`
	CVEID        string `json:"cve_id,omitempty"`
	CVEName      string `json:"cve_name,omitempty"`
	VersionRange string `json:"version_range,omitempty"`
}

// Locked is a package pinned by a unit: a pseudonym's yield or an
// add_package step's package_version.
type Locked struct {
	Name     string
	Version  string // without "==", empty for any
	IndexURL string
	Develop  bool
	// MatchedVersion is yield_matched_version: the alternative takes the
	// version of the candidate it replaces.
	MatchedVersion bool
}

// ReleaseNotes is wrap.GHReleaseNotes's run.release_notes: where a
// package's GitHub releases are, tagged TagVersionPrefix + version.
type ReleaseNotes struct {
	Organization, Repository, TagVersionPrefix string
}

// Run is a unit's run section.
type Run struct {
	Log                    *Message
	StackInfo              []Info
	Justification          []Justification
	NotAcceptable          string
	EagerStopPipeline      string
	Score                  *float64
	MultiPackageResolution bool
	Yield                  *Locked       // pseudonym
	AddPackage             *Locked       // step.AddPackage
	ReleaseNotes           *ReleaseNotes // wrap.GHReleaseNotes
	AdvisedManifestChanges any
	Raw                    any // unimplemented kinds keep their run as written
}

// Problem is a schema or syntax error at a place in a file.
type Problem struct {
	File    string
	Line    int
	Message string
}

func (p Problem) String() string {
	if p.Line == 0 {
		return fmt.Sprintf("%s: %s", p.File, p.Message)
	}
	return fmt.Sprintf("%s:%d: %s", p.File, p.Line, p.Message)
}

// ProblemsError is returned by Load when any file has problems.
type ProblemsError struct{ Problems []Problem }

func (e *ProblemsError) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "%d problem(s) in prescriptions", len(e.Problems))
	for i, p := range e.Problems {
		if i == 10 {
			fmt.Fprintf(&b, "\n… and %d more (run `seshat prescriptions validate` for all)", len(e.Problems)-10)
			break
		}
		b.WriteString("\n")
		b.WriteString(p.String())
	}
	return b.String()
}

// Warning reports units loaded but not evaluated: a kind Thoth knows that
// this engine does not implement. Each kind is reported once.
type Warning struct {
	Kind  Kind
	Count int
	// File and Line are those of the first such unit.
	File string
	Line int
}

func (w Warning) String() string {
	return fmt.Sprintf("%s:%d: %d unit(s) of type %q are not implemented by seshat and are ignored", w.File, w.Line, w.Count, w.Kind)
}

// Meta names a loaded prescription (from _prescription_metadata.yaml).
type Meta struct {
	Name, Release, Dir string
}

// Set is every unit loaded from the given directories.
type Set struct {
	Prescriptions []Meta
	Warnings      []Warning
	// Files is how many YAML files were read.
	Files int
	// Cached is how many of them a LoadCached took from its cache.
	Cached int

	// units keeps the units encoded, in load order; the engine decodes
	// those it looks at (see lazyUnit).
	units []*lazyUnit
}

// Len is the number of units loaded (of the kinds seshat evaluates).
func (s *Set) Len() int { return len(s.units) }

// Units decodes every unit, in load order. A Set holds units encoded and
// its engine decodes only those a resolution meets: listing them all costs
// the memory that saves.
func (s *Set) Units() []*Unit {
	out := make([]*Unit, len(s.units))
	for i, l := range s.units {
		out[i] = l.get()
	}
	return out
}

// linkURL expands Thoth's short justification ids to their page, as
// thoth-common's get_justification_link does.
func linkURL(link string) string {
	if link == "" || strings.HasPrefix(link, "https://") || strings.HasPrefix(link, "http://") {
		return link
	}
	return "https://thoth-station.ninja/j/" + link
}
