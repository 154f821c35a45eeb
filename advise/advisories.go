package advise

import (
	"encoding/json"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"gopkg.in/yaml.v3"

	"github.com/seshat-dev/seshat/advise/pep440"
	"github.com/seshat-dev/seshat/advise/pep508"
)

// Advisory is one known vulnerability of one package, in the OSV schema
// (which the PyPA advisory database uses too, as YAML).
type Advisory struct {
	ID       string   `json:"id" yaml:"id"`
	Summary  string   `json:"summary" yaml:"summary"`
	Details  string   `json:"details" yaml:"details"`
	Aliases  []string `json:"aliases" yaml:"aliases"`
	Affected []struct {
		Package struct {
			Ecosystem string `json:"ecosystem" yaml:"ecosystem"`
			Name      string `json:"name" yaml:"name"`
		} `json:"package" yaml:"package"`
		Ranges []struct {
			Type   string              `json:"type" yaml:"type"`
			Events []map[string]string `json:"events" yaml:"events"`
		} `json:"ranges" yaml:"ranges"`
		Versions []string `json:"versions" yaml:"versions"`
	} `json:"affected" yaml:"affected"`
	// File is where the advisory was read from.
	File string `json:"-" yaml:"-"`
}

// Advisories are the advisories of a directory, by canonical package name.
type Advisories struct {
	byName map[string][]*Advisory
	// Files is how many advisory files were read.
	Files int
}

// LoadAdvisories reads every OSV advisory under dir: *.json (OSV's own
// layout) and *.yaml / *.yml (the PyPA advisory database's vulns/PKG/ID.yaml).
// Entries for other ecosystems than PyPI are ignored.
func LoadAdvisories(dir string) (*Advisories, error) {
	out := &Advisories{byName: map[string][]*Advisory{}}
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() {
			if strings.HasPrefix(d.Name(), ".") && p != dir {
				return filepath.SkipDir // .git and the like
			}
			return nil
		}
		ext := strings.ToLower(filepath.Ext(p))
		if ext != ".json" && ext != ".yaml" && ext != ".yml" {
			return nil
		}
		b, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		a := &Advisory{File: p}
		if ext == ".json" {
			err = json.Unmarshal(b, a)
		} else {
			err = yaml.Unmarshal(b, a)
		}
		if err != nil {
			return fmt.Errorf("advisory %s: %w", p, err)
		}
		if a.ID == "" {
			return nil // not an advisory (an index file, a schema)
		}
		out.Files++
		for _, af := range a.Affected {
			if af.Package.Ecosystem != "" && !strings.EqualFold(af.Package.Ecosystem, "PyPI") {
				continue
			}
			name := pep508.CanonicalName(af.Package.Name)
			if !slices.Contains(out.byName[name], a) {
				out.byName[name] = append(out.byName[name], a)
			}
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("reading advisories from %s: %w", dir, err)
	}
	return out, nil
}

// Affecting returns the advisories that say version v of name is affected.
func (as *Advisories) Affecting(name string, v pep440.Version) []*Advisory {
	var out []*Advisory
	for _, a := range as.byName[name] {
		if a.affects(name, v) {
			out = append(out, a)
		}
	}
	return out
}

func (as *Advisories) exclude(name string, v pep440.Version) string {
	hit := as.Affecting(name, v)
	if len(hit) == 0 {
		return ""
	}
	var ids []string
	for _, a := range hit {
		id := a.ID
		if a.Summary != "" {
			id += " (" + a.Summary + ")"
		}
		ids = append(ids, id)
	}
	return "affected by " + strings.Join(ids, ", ") + " (--recommendation-type security)"
}

// affects evaluates the advisory's versions list and ECOSYSTEM ranges (OSV:
// "introduced" starts an affected interval, "fixed" ends it before that
// version, "last_affected" ends it after).
func (a *Advisory) affects(name string, v pep440.Version) bool {
	for _, af := range a.Affected {
		if pep508.CanonicalName(af.Package.Name) != name {
			continue
		}
		for _, s := range af.Versions {
			if w, err := pep440.Parse(s); err == nil && w.Equal(v) {
				return true
			}
		}
		for _, r := range af.Ranges {
			if r.Type != "" && r.Type != "ECOSYSTEM" {
				continue // GIT ranges name commits, not releases
			}
			type event struct {
				kind string
				at   pep440.Version
				zero bool
			}
			var evs []event
			for _, m := range r.Events {
				for k, s := range m {
					if s == "0" && k == "introduced" {
						evs = append(evs, event{kind: k, zero: true})
						continue
					}
					if w, err := pep440.Parse(s); err == nil {
						evs = append(evs, event{kind: k, at: w})
					}
				}
			}
			slices.SortStableFunc(evs, func(x, y event) int {
				switch {
				case x.zero && y.zero:
					return 0
				case x.zero:
					return -1
				case y.zero:
					return 1
				}
				return pep440.Compare(x.at, y.at)
			})
			affected := false
			for _, e := range evs {
				if !e.zero && v.Less(e.at) {
					break
				}
				switch e.kind {
				case "introduced":
					affected = true
				case "fixed":
					affected = false
				case "last_affected":
					if !v.Equal(e.at) {
						affected = false
					}
				}
			}
			if affected {
				return true
			}
		}
	}
	return false
}
