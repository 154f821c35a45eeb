// Package wheel parses wheel file names (PEP 427 with PEP 425 compressed tag
// sets) and reads a wheel's core metadata straight from its zip archive.
//
// It knows nothing about indexes, versions ordering or tag priority: it turns
// strings and bytes into plain values for the packages that do.
package wheel

import (
	"fmt"
	"regexp"
	"strings"
)

// Name is a parsed wheel file name:
// {distribution}-{version}(-{build tag})?-{python tag}-{abi tag}-{platform tag}.whl
type Name struct {
	// Distribution is the name as written in the file name (escaped, e.g. "typing_extensions").
	Distribution string
	// Version is the version string as written (not normalized).
	Version string
	// Build is the optional build tag ("" when absent); it starts with a digit.
	Build string
	// Python, ABI and Platform are the compressed tag sets split on ".",
	// e.g. "py2.py3" → ["py2", "py3"].
	Python, ABI, Platform []string
}

// Tag is one expanded (python, abi, platform) triple.
type Tag struct{ Python, ABI, Platform string }

func (t Tag) String() string { return t.Python + "-" + t.ABI + "-" + t.Platform }

// ParseFilename parses a wheel's file name (a base name, not a path or URL).
func ParseFilename(filename string) (Name, error) {
	stem, ok := strings.CutSuffix(filename, ".whl")
	if !ok {
		return Name{}, fmt.Errorf("wheel file name %q: does not end in .whl", filename)
	}
	parts := strings.Split(stem, "-")
	var n Name
	switch len(parts) {
	case 5:
		n = Name{Distribution: parts[0], Version: parts[1]}
	case 6:
		n = Name{Distribution: parts[0], Version: parts[1], Build: parts[2]}
		if n.Build == "" || n.Build[0] < '0' || n.Build[0] > '9' {
			return Name{}, fmt.Errorf("wheel file name %q: build tag %q must start with a digit", filename, n.Build)
		}
	default:
		return Name{}, fmt.Errorf("wheel file name %q: want name-version[-build]-python-abi-platform.whl, got %d dash-separated parts", filename, len(parts))
	}
	tags := parts[len(parts)-3:]
	for i, field := range []string{"python", "abi", "platform"} {
		if tags[i] == "" {
			return Name{}, fmt.Errorf("wheel file name %q: empty %s tag", filename, field)
		}
		set := strings.Split(tags[i], ".")
		for _, t := range set {
			if t == "" {
				return Name{}, fmt.Errorf("wheel file name %q: empty entry in %s tag set %q", filename, field, tags[i])
			}
		}
		switch i {
		case 0:
			n.Python = set
		case 1:
			n.ABI = set
		case 2:
			n.Platform = set
		}
	}
	if n.Distribution == "" || n.Version == "" {
		return Name{}, fmt.Errorf("wheel file name %q: empty name or version", filename)
	}
	return n, nil
}

// Tags expands the compressed tag sets into every triple the wheel supports.
func (n Name) Tags() []Tag {
	out := make([]Tag, 0, len(n.Python)*len(n.ABI)*len(n.Platform))
	for _, py := range n.Python {
		for _, abi := range n.ABI {
			for _, plat := range n.Platform {
				out = append(out, Tag{py, abi, plat})
			}
		}
	}
	return out
}

// Project is the distribution's PEP 503 normalized name.
func (n Name) Project() string { return Normalize(n.Distribution) }

// IsPure reports whether the wheel claims to run anywhere (platform "any").
func (n Name) IsPure() bool {
	for _, p := range n.Platform {
		if p != "any" {
			return false
		}
	}
	return true
}

var runs = regexp.MustCompile(`[-_.]+`)

// Normalize is PEP 503 name normalization: runs of "-", "_", "." become one
// "-" and letters are lower-cased.
func Normalize(name string) string { return strings.ToLower(runs.ReplaceAllString(name, "-")) }
