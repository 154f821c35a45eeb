package advise

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/seshat-dev/seshat/advise/index"
	"github.com/seshat-dev/seshat/advise/pep440"
	"github.com/seshat-dev/seshat/advise/pep508"
	"github.com/seshat-dev/seshat/extract"
)

// InstalledMode says what to do with the distributions already installed
// in the image's target environment.
type InstalledMode string

const (
	// InstalledKeep (the default) keeps a package the image already has at
	// its installed version and out of the lock, as long as every
	// requirement accepts that version; otherwise the lock carries the
	// version that fits and the report names the change.
	InstalledKeep InstalledMode = "keep"
	// InstalledPrefer tries the installed version first, but locks it like
	// any other (with the index's hashes), so a fresh install gets it too.
	InstalledPrefer InstalledMode = "prefer"
	// InstalledIgnore resolves as if the environment were empty.
	InstalledIgnore InstalledMode = "ignore"
)

// InstalledModes lists the valid modes, for usage messages.
var InstalledModes = []InstalledMode{InstalledKeep, InstalledPrefer, InstalledIgnore}

// ParseInstalledMode checks a --installed value.
func ParseInstalledMode(s string) (InstalledMode, error) {
	for _, m := range InstalledModes {
		if string(m) == s {
			return m, nil
		}
	}
	return "", fmt.Errorf("--installed %q: want keep, prefer or ignore", s)
}

// installedScheme marks the stand-in file of a version that is installed in
// the image but that no index offers; it never reaches a lock, since the
// version it stands for is kept out of it.
const installedScheme = "installed:"

// installedSource adds what the image has installed to what the indexes
// offer: in keep mode, every installed version is a candidate even when no
// index has it, and its dependencies are those the image's own metadata
// records (what is installed is what counts).
type installedSource struct {
	Source
	dists map[string]extract.Distribution
}

func (s *installedSource) Project(ctx context.Context, name string) ([]index.File, error) {
	files, err := s.Source.Project(ctx, name)
	d, ok := s.dists[name]
	if !ok {
		return files, err
	}
	if err != nil && !errors.Is(err, index.ErrNotFound) {
		return files, err
	}
	iv, perr := pep440.Parse(d.Version)
	if perr != nil {
		return files, err
	}
	for _, f := range files {
		if v := fileVersion(name, f.Filename); v != "" {
			if fv, e := pep440.Parse(v); e == nil && fv.Equal(iv) {
				return files, nil // the index has it: its files serve for the lock
			}
		}
	}
	stem := strings.ReplaceAll(name, "-", "_") + "-" + iv.String()
	return append(files, index.File{
		Filename: stem + "-py3-none-any.whl",
		URL:      installedScheme + d.Location + "/" + stem,
		Hashes:   map[string]string{"sha256": "installed"},
		Index:    "installed",
		Project:  name,
	}), nil
}

func (s *installedSource) Metadata(ctx context.Context, f index.File) ([]byte, error) {
	if d, ok := s.dists[f.Project]; ok {
		if v := fileVersion(f.Project, f.Filename); v != "" {
			fv, e1 := pep440.Parse(v)
			iv, e2 := pep440.Parse(d.Version)
			if e1 == nil && e2 == nil && fv.Equal(iv) {
				return installedMetadata(d), nil
			}
		}
	}
	return s.Source.Metadata(ctx, f)
}

// fileVersion is the version in a wheel or sdist file name, "" if none.
func fileVersion(name, filename string) string {
	if strings.HasSuffix(filename, ".whl") {
		parts := strings.Split(filename, "-")
		if len(parts) >= 5 {
			return parts[1]
		}
		return ""
	}
	return sdistVersion(name, filename)
}

// installedMetadata writes an installed distribution's facts as core
// metadata, so the resolver reads them like any other release's.
func installedMetadata(d extract.Distribution) []byte {
	var b strings.Builder
	fmt.Fprintf(&b, "Metadata-Version: 2.1\nName: %s\nVersion: %s\n", d.Name, d.Version)
	for _, r := range d.Requires {
		if _, err := pep508.ParseRequirement(r); err != nil {
			continue // an egg-info line that is not PEP 508: the package is installed anyway
		}
		fmt.Fprintf(&b, "Requires-Dist: %s\n", r)
	}
	b.WriteString("\n")
	return []byte(b.String())
}

// InstalledChange is a package the image has that the lock installs at
// another version.
type InstalledChange struct {
	Name      string `json:"name"`
	Installed string `json:"installed"`
	Locked    string `json:"locked"`
	Location  string `json:"location"`
	// Why is the pin's justification: what forced the change.
	Why string `json:"why"`
}
