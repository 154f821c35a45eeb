package advise

import (
	"fmt"
	"path"
	"slices"
	"strings"

	"github.com/seshat-dev/seshat/abi"
	"github.com/seshat-dev/seshat/advise/pep508"
	"github.com/seshat-dev/seshat/advise/target"
	"github.com/seshat-dev/seshat/extract"
)

// defaultPath is what a container's PATH is when its config sets none (the
// value Docker and Podman use).
const defaultPath = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"

// ImageEnvironment is what the resolver needs to know of an image: the
// interpreter a lockfile is for, the target derived from it, what is already
// installed where that interpreter looks, and the image's CUDA.
type ImageEnvironment struct {
	// Reference names the image (or root) the Analysis came from.
	Reference string
	// Interpreter is the chosen interpreter; Invoked is the path it was
	// chosen by (a PATH entry such as /opt/app-root/bin/python3, or --python).
	Interpreter extract.Interpreter
	Invoked     string
	// Target is the interpreter and platform derived from the image.
	Target target.Target
	// Environments are the site directories the interpreter uses: the venv
	// when it was invoked from one, else its system site directories.
	Environments []string
	// Installed are the distributions found in Environments, by canonical
	// name (the first one found wins, as on sys.path).
	Installed map[string]extract.Distribution
	// CUDA is the image's CUDA toolkit version ("12.1"), "" when none.
	CUDA string
	// Libc is the image's C library ("glibc 2.36"), "" when unknown.
	Libc string
	// Symbols are the version definitions the image's libraries offer, by
	// family (GLIBC, GLIBCXX, …), for the ABI check of compiled wheels.
	Symbols map[string][]string
	// OS is the image's PRETTY_NAME or ID and version.
	OS string
	// Analysis is what the environment was derived from (prescriptions
	// match on more of it: RPMs, base image, …).
	Analysis *extract.Analysis
}

// NoPythonError says that an image has no Python interpreter to advise for.
type NoPythonError struct {
	Reference string
	Found     string
}

func (e *NoPythonError) Error() string {
	return fmt.Sprintf("%s has no Python interpreter (found %s); install Python in the image, or resolve for a target given with --python-version and --platform", e.Reference, e.Found)
}

// AmbiguousPythonError says that an image has several interpreters and
// nothing tells which one the lockfile is for.
type AmbiguousPythonError struct {
	Reference  string
	Candidates []string
}

func (e *AmbiguousPythonError) Error() string {
	return fmt.Sprintf("%s has %d Python interpreters and none is python3 on the image's PATH: %s; choose one with --python PATH",
		e.Reference, len(e.Candidates), strings.Join(e.Candidates, ", "))
}

// NewImageEnvironment derives the environment from an Analysis. python
// names the interpreter (its path or one of its links) when not "": else
// the python3 the image's PATH resolves to is taken, or the only
// interpreter there is.
func NewImageEnvironment(a *extract.Analysis, python string) (*ImageEnvironment, error) {
	ref := a.Image.Reference
	if ref == "" {
		ref = "the image"
	}
	var interps []extract.Interpreter
	if a.Python != nil {
		interps = a.Python.Interpreters
	}
	if len(interps) == 0 {
		return nil, &NoPythonError{Reference: ref, Found: describeFound(a)}
	}
	interp, invoked, err := chooseInterpreter(ref, interps, python, imagePath(a.Image.Config.Env))
	if err != nil {
		return nil, err
	}
	e := &ImageEnvironment{Reference: ref, Interpreter: interp, Invoked: invoked, Installed: map[string]extract.Distribution{}, Analysis: a}
	e.Target, err = targetOf(interp, a)
	if err != nil {
		return nil, fmt.Errorf("%s: interpreter %s: %w", ref, interp.Path, err)
	}
	if a.Python != nil {
		e.Environments, e.Installed = installedFor(a.Python.Environments, interp, invoked)
	}
	if a.CUDA != nil {
		e.CUDA = majorMinor(a.CUDA.Version)
	}
	if a.ABI != nil {
		if a.ABI.Libc != nil {
			e.Libc = strings.TrimSpace(a.ABI.Libc.Family + " " + a.ABI.Libc.Version)
		}
		e.Symbols = a.ABI.Symbols
	}
	if a.OS != nil {
		e.OS = a.OS.PrettyName
		if e.OS == "" {
			e.OS = strings.TrimSpace(a.OS.ID + " " + a.OS.VersionID)
		}
	}
	return e, nil
}

// describeFound says what an image without Python does have, so the user
// can tell whether the right image was named.
func describeFound(a *extract.Analysis) string {
	var parts []string
	if a.OS != nil && (a.OS.PrettyName != "" || a.OS.ID != "") {
		os := a.OS.PrettyName
		if os == "" {
			os = a.OS.ID + " " + a.OS.VersionID
		}
		parts = append(parts, os)
	} else {
		parts = append(parts, "no os-release")
	}
	parts = append(parts, fmt.Sprintf("%d OS packages", len(a.Packages)))
	if a.ABI != nil && a.ABI.Libc != nil {
		parts = append(parts, a.ABI.Libc.Family+" "+a.ABI.Libc.Version)
	}
	return strings.Join(parts, ", ")
}

// imagePath is the directories of the image's PATH, in order.
func imagePath(env []string) []string {
	p := defaultPath
	for _, kv := range env {
		if v, ok := strings.CutPrefix(kv, "PATH="); ok {
			p = v
		}
	}
	var dirs []string
	for _, d := range strings.Split(p, ":") {
		if d != "" {
			dirs = append(dirs, path.Clean(d))
		}
	}
	return dirs
}

// chooseInterpreter picks the interpreter: the one python names, else the
// first python3 on PATH, else the only one. invoked is the path it is run as.
func chooseInterpreter(ref string, interps []extract.Interpreter, python string, pathDirs []string) (extract.Interpreter, string, error) {
	names := func(in extract.Interpreter) []string { return append([]string{in.Path}, in.Links...) }
	if python != "" {
		want := path.Clean(python)
		for _, in := range interps {
			if slices.Contains(names(in), want) {
				return in, want, nil
			}
		}
		var all []string
		for _, in := range interps {
			all = append(all, in.Path)
		}
		return extract.Interpreter{}, "", fmt.Errorf("--python %s: %s has no interpreter at that path (it has %s)", python, ref, strings.Join(all, ", "))
	}
	for _, dir := range pathDirs {
		p := path.Join(dir, "python3")
		for _, in := range interps {
			if slices.Contains(names(in), p) {
				return in, p, nil
			}
		}
	}
	if len(interps) == 1 {
		return interps[0], interps[0].Path, nil
	}
	var all []string
	for _, in := range interps {
		all = append(all, in.Path+" ("+in.Version+")")
	}
	return extract.Interpreter{}, "", &AmbiguousPythonError{Reference: ref, Candidates: all}
}

// targetOf turns the interpreter and the image's ABI into a target.
func targetOf(in extract.Interpreter, a *extract.Analysis) (target.Target, error) {
	t := target.Target{PythonVersion: in.Version, ABIFlags: in.ABIFlags, SOABI: in.SOABI}
	switch in.Implementation {
	case "cpython", "":
		t.Implementation = "cp"
	case "pypy":
		t.Implementation = "pp"
	default:
		return t, fmt.Errorf("implementation %q is not one seshat resolves for (cpython, pypy)", in.Implementation)
	}
	if t.PythonVersion == "" {
		return t, fmt.Errorf("its version is unknown; give --python-version")
	}
	// "3.11.2+" or "3.13.0rc1": the target wants the X.Y.Z digits.
	if i := strings.IndexFunc(t.PythonVersion, func(r rune) bool { return r != '.' && (r < '0' || r > '9') }); i >= 0 {
		t.PythonVersion = t.PythonVersion[:i]
	}
	t.PythonVersion = strings.TrimSuffix(t.PythonVersion, ".")
	t.Machine = abi.WheelArch(a.Image.Platform.Architecture, a.Image.Platform.Variant)
	if a.ABI != nil {
		t.Platforms = slices.Clone(a.ABI.PlatformTags)
	}
	if len(t.Platforms) == 0 && t.Machine != "" {
		// No libc found: only wheels built for any Linux of this arch.
		t.Platforms = []string{"linux_" + t.Machine}
	}
	return t, nil
}

// isVenv tells a venv root (/opt/app-root) from a site directory
// (/usr/lib/python3/dist-packages): a venv's environment path is its root.
func isVenv(envPath string) bool {
	base := path.Base(envPath)
	return base != "site-packages" && base != "dist-packages"
}

// installedFor returns the site directories the interpreter, invoked as
// invoked, imports from, and the distributions in them. Invoked from a
// venv's bin, that is the venv alone (the default, without
// --system-site-packages); else every non-venv environment of the
// interpreter.
func installedFor(envs []extract.Environment, in extract.Interpreter, invoked string) ([]string, map[string]extract.Distribution) {
	var chosen []extract.Environment
	for _, e := range envs {
		if isVenv(e.Path) && strings.HasPrefix(invoked, strings.TrimSuffix(e.Path, "/")+"/") {
			chosen = []extract.Environment{e}
			break
		}
	}
	if chosen == nil {
		for _, e := range envs {
			if e.Interpreter == in.Path && !isVenv(e.Path) {
				chosen = append(chosen, e)
			}
		}
	}
	var paths []string
	dists := map[string]extract.Distribution{}
	for _, e := range chosen {
		paths = append(paths, e.Path)
		for _, d := range e.Distributions {
			name := pep508.CanonicalName(d.Name)
			if _, ok := dists[name]; !ok {
				dists[name] = d
			}
		}
	}
	return paths, dists
}

// majorMinor cuts "12.1.105" to "12.1".
func majorMinor(v string) string {
	f := strings.Split(v, ".")
	if len(f) > 2 {
		f = f[:2]
	}
	return strings.Join(f, ".")
}
