// Package reqfile reads what a user asks seshat to resolve — a pip
// requirements file, a Pipfile or a pyproject.toml — into one Input:
// requirements (PEP 508), constraints, indexes and the Python version wanted.
//
// It parses and checks; it never contacts an index and never runs anything
// the files name (no editable installs, no build backends).
package reqfile

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"github.com/BurntSushi/toml"

	"github.com/seshat-dev/seshat/advise/pep508"
)

// Kind says which file format an Input came from.
type Kind string

const (
	KindRequirements Kind = "requirements"
	KindPipfile      Kind = "pipfile"
	KindPyproject    Kind = "pyproject"
)

// Input is everything a user asked for, whatever file it came from.
type Input struct {
	// Source is the path of the file read.
	Source string
	Kind   Kind
	// Default are the requirements to install.
	Default []Requirement
	// Develop are Pipfile [dev-packages]: installed only when asked.
	Develop []Requirement
	// Constraints (pip -c) limit versions without adding packages.
	Constraints []Requirement
	// Indexes in the order given. The first is the default index unless
	// it is marked Extra (a requirements file with only
	// --extra-index-url), in which case the usual default (PIP_INDEX_URL,
	// else PyPI) comes before all of them. Empty when the input names none.
	Indexes []Index
	// RequiresPython is a PEP 440 specifier set the target interpreter
	// must satisfy ("" when the input says nothing), e.g. "==3.11.*" from a
	// Pipfile's python_version or ">=3.9" from requires-python.
	RequiresPython string
	// AllowPrereleases is set by pip's --pre or Pipfile [pipenv] allow_prereleases.
	AllowPrereleases bool
	// Pipfile is the parsed Pipfile for KindPipfile inputs; the
	// Pipfile.lock writer needs it for _meta.
	Pipfile *Pipfile
	// Warnings are options accepted but ignored, each naming file and line.
	Warnings []string
}

// Requirement is a PEP 508 requirement with what the input file added to it.
type Requirement struct {
	pep508.Requirement
	// Index is the name of the index this package must come from
	// (Pipfile `index = "…"`); "" for the usual index order.
	Index string
	// Hashes are the `--hash` values given, e.g. "sha256:2c…", in order.
	Hashes []string
	// Pos is where it was written: "requirements.txt:3:1", "Pipfile [packages] requests".
	Pos string
}

// Index is a package index the input names.
type Index struct {
	// Name is the Pipfile source name; "" for indexes from requirements files.
	Name string
	// URL is the simple API root, environment variables expanded.
	URL string
	// VerifySSL is false for Pipfile verify_ssl = false and pip --trusted-host.
	VerifySSL bool
	// Extra marks an --extra-index-url: searched after the default index.
	Extra bool
}

// ErrNotFound is returned by Discover when a directory holds no input file.
var ErrNotFound = errors.New("no Pipfile, pyproject.toml, requirements.in or requirements.txt")

// discoverOrder is the preference Discover follows.
var discoverOrder = []string{"Pipfile", "pyproject.toml", "requirements.in", "requirements.txt"}

// Discover returns the input file in dir seshat uses when none is named:
// Pipfile, else pyproject.toml, else requirements.in, else requirements.txt.
// A pyproject.toml with neither [project] nor [dependency-groups] (tool
// configuration only) is passed over.
func Discover(dir string) (string, error) {
	for _, name := range discoverOrder {
		p := filepath.Join(dir, name)
		fi, err := os.Stat(p)
		if err != nil || !fi.Mode().IsRegular() {
			continue
		}
		if name == "pyproject.toml" && !declaresDependencies(p) {
			continue
		}
		return p, nil
	}
	return "", fmt.Errorf("looking for an input in %s: %w; name one with -r, --pipfile or --pyproject", dir, ErrNotFound)
}

// Option changes how Load reads an input.
type Option func(*options)

type options struct {
	extras, groups []string
}

// WithExtras selects pyproject.toml optional-dependencies by name.
func WithExtras(extras ...string) Option {
	return func(o *options) { o.extras = append(o.extras, extras...) }
}

// WithGroups selects pyproject.toml [dependency-groups] by name (PEP 735).
func WithGroups(groups ...string) Option {
	return func(o *options) { o.groups = append(o.groups, groups...) }
}

// Load reads path by its file name: "Pipfile" as a Pipfile, "*.toml" as
// pyproject.toml, anything else as a requirements file.
func Load(path string, opts ...Option) (*Input, error) {
	var o options
	for _, opt := range opts {
		opt(&o)
	}
	base := filepath.Base(path)
	switch {
	case base == "Pipfile":
		return ParsePipfile(path)
	case filepath.Ext(base) == ".toml":
		return ParsePyproject(path, o.extras, o.groups)
	}
	if len(o.extras) > 0 || len(o.groups) > 0 {
		return nil, fmt.Errorf("%s: extras and dependency groups apply only to pyproject.toml", path)
	}
	return ParseRequirementsFile(path)
}

// declaresDependencies reports a pyproject.toml with a [project] or
// [dependency-groups] table; an unreadable one counts, so that its error
// is reported rather than skipped.
func declaresDependencies(path string) bool {
	var doc map[string]any
	if _, err := toml.DecodeFile(path, &doc); err != nil {
		return true
	}
	_, project := doc["project"]
	_, groups := doc["dependency-groups"]
	return project || groups
}
