// Package target describes the interpreter and platform a lockfile is
// resolved for: the PEP 425 tags a wheel must carry to install there, and
// the PEP 508 marker values requirements are evaluated against.
//
// A Target comes from command-line flags or from an image Analysis; this
// package does not care which.
package target

import (
	"fmt"
	"strconv"
	"strings"
)

// Target is a Python interpreter on a platform.
type Target struct {
	// PythonVersion is "X.Y" or "X.Y.Z".
	PythonVersion string
	// Implementation is "cp" (CPython) or "pp" (PyPy).
	Implementation string
	// ABIFlags is "" or e.g. "t" for a free-threaded CPython.
	ABIFlags string
	// SOABI, when known (e.g. "pypy310-pp73-x86_64-linux-gnu"), gives PyPy its ABI tag.
	SOABI string
	// Platforms are wheel platform tags, most preferred first, e.g.
	// manylinux_2_36_x86_64 … manylinux_2_17_x86_64, manylinux2014_x86_64, linux_x86_64.
	Platforms []string
	// Machine is platform_machine, e.g. "x86_64"; derived from Platforms when empty.
	Machine string
}

// Validate reports a target that cannot be resolved for, in words the user can act on.
func (t Target) Validate() error {
	if _, _, _, err := t.version(); err != nil {
		return err
	}
	switch t.impl() {
	case "cp", "pp":
	default:
		return fmt.Errorf("implementation %q: want cp (CPython) or pp (PyPy)", t.Implementation)
	}
	if len(t.Platforms) == 0 {
		return fmt.Errorf("no platform tags: give --platform TAG or --glibc X.Y --arch ARCH")
	}
	return nil
}

func (t Target) impl() string {
	if t.Implementation == "" {
		return "cp"
	}
	return t.Implementation
}

func (t Target) version() (major, minor int, full string, err error) {
	parts := strings.Split(t.PythonVersion, ".")
	if len(parts) < 2 || len(parts) > 3 {
		return 0, 0, "", fmt.Errorf("python version %q: want X.Y or X.Y.Z, e.g. 3.11", t.PythonVersion)
	}
	nums := make([]int, len(parts))
	for i, p := range parts {
		n, convErr := strconv.Atoi(p)
		if convErr != nil || n < 0 {
			return 0, 0, "", fmt.Errorf("python version %q: %q is not a number", t.PythonVersion, p)
		}
		nums[i] = n
	}
	full = t.PythonVersion
	if len(parts) == 2 {
		// pip assumes the first release of a minor series when only X.Y is known.
		full += ".0"
	}
	return nums[0], nums[1], full, nil
}

// MachineName is platform_machine: Machine, else the architecture at the end
// of the first platform tag.
func (t Target) MachineName() string {
	if t.Machine != "" {
		return t.Machine
	}
	for _, p := range t.Platforms {
		if a := ArchOfPlatform(p); a != "" {
			return a
		}
	}
	return ""
}

// ArchOfPlatform returns the architecture a platform tag ends with
// ("manylinux_2_17_x86_64" → "x86_64"), or "" for "any".
func ArchOfPlatform(tag string) string {
	for _, prefix := range []string{"manylinux1_", "manylinux2010_", "manylinux2014_", "linux_"} {
		if strings.HasPrefix(tag, prefix) {
			return strings.TrimPrefix(tag, prefix)
		}
	}
	for _, prefix := range []string{"manylinux_", "musllinux_"} {
		if rest, ok := strings.CutPrefix(tag, prefix); ok {
			// prefix MAJOR _ MINOR _ ARCH; the arch itself may contain "_" (x86_64).
			f := strings.SplitN(rest, "_", 3)
			if len(f) == 3 {
				return f[2]
			}
		}
	}
	return ""
}

// Markers returns the PEP 508 environment marker values of the target.
func (t Target) Markers() map[string]string {
	major, minor, full, _ := t.version()
	implName, platformImpl := "cpython", "CPython"
	if t.impl() == "pp" {
		implName, platformImpl = "pypy", "PyPy"
	}
	return map[string]string{
		"python_version":                 fmt.Sprintf("%d.%d", major, minor),
		"python_full_version":            full,
		"implementation_name":            implName,
		"implementation_version":         full,
		"platform_python_implementation": platformImpl,
		"platform_machine":               t.MachineName(),
		"platform_system":                "Linux",
		"platform_release":               "",
		"platform_version":               "",
		"sys_platform":                   "linux",
		"os_name":                        "posix",
	}
}

// Tag is one PEP 425 compatibility tag.
type Tag struct{ Interpreter, ABI, Platform string }

func (g Tag) String() string { return g.Interpreter + "-" + g.ABI + "-" + g.Platform }

// Tags lists the tags a wheel may carry to install on the target, most
// preferred first, in the order pip's packaging.tags.sys_tags yields them:
// the interpreter's own ABI, then abi3 (stable ABI, CPython only, down to
// 3.2), then no ABI on each platform, then pure-Python tags.
func (t Target) Tags() []Tag {
	major, minor, _, err := t.version()
	if err != nil {
		return nil
	}
	var out []Tag
	platforms := expandLegacy(t.Platforms)
	add := func(interp, abi string) {
		for _, p := range platforms {
			out = append(out, Tag{interp, abi, p})
		}
	}
	interp := fmt.Sprintf("%s%d%d", t.impl(), major, minor)
	switch t.impl() {
	case "cp":
		add(interp, fmt.Sprintf("cp%d%d%s", major, minor, t.ABIFlags))
		// Free-threaded builds cannot load abi3 extensions.
		stable := t.ABIFlags == "" && major == 3 && minor >= 2
		if stable {
			add(interp, "abi3")
		}
		add(interp, "none")
		if stable {
			for m := minor - 1; m >= 2; m-- {
				add(fmt.Sprintf("cp%d%d", major, m), "abi3")
			}
		}
	case "pp":
		if abi := pypyABI(t.SOABI); abi != "" {
			add(interp, abi)
		}
		add(interp, "none")
	}
	pyRange := []string{fmt.Sprintf("py%d%d", major, minor), fmt.Sprintf("py%d", major)}
	for m := minor - 1; m >= 0; m-- {
		pyRange = append(pyRange, fmt.Sprintf("py%d%d", major, m))
	}
	for _, py := range pyRange {
		add(py, "none")
	}
	out = append(out, Tag{interp, "none", "any"})
	for _, py := range pyRange {
		out = append(out, Tag{py, "none", "any"})
	}
	return out
}

// pypyABI turns a PyPy SOABI ("pypy310-pp73-x86_64-linux-gnu") into its wheel
// ABI tag ("pypy310_pp73").
func pypyABI(soabi string) string {
	f := strings.Split(soabi, "-")
	if len(f) < 2 || !strings.HasPrefix(f[0], "pypy") {
		return ""
	}
	return f[0] + "_" + f[1]
}

// expandLegacy follows pip: a legacy manylinux tag implies the older legacy
// tags (manylinux2014 ⊇ manylinux2010 ⊇ manylinux1 on x86_64 and i686), so a
// `--platform manylinux2014_x86_64` target accepts what pip accepts for it.
// Duplicates keep their first, most preferred, position.
func expandLegacy(platforms []string) []string {
	seen := map[string]bool{}
	var out []string
	add := func(p string) {
		if !seen[p] {
			seen[p] = true
			out = append(out, p)
		}
	}
	for _, p := range platforms {
		add(p)
		arch := ArchOfPlatform(p)
		if arch != "x86_64" && arch != "i686" {
			continue
		}
		switch {
		case strings.HasPrefix(p, "manylinux2014_"):
			add("manylinux2010_" + arch)
			add("manylinux1_" + arch)
		case strings.HasPrefix(p, "manylinux2010_"):
			add("manylinux1_" + arch)
		}
	}
	return out
}
