package lock

import (
	"fmt"
	"io"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"
)

// WritePylock writes l as a PEP 751 pylock.toml (lock-version 1.0), keys in
// the order of the PEP's examples. Packages needed only by
// [dev-packages] carry the marker `'dev' in dependency_groups` and the
// file lists the "dev" group.
func WritePylock(w io.Writer, l *Lock) error {
	pkgs, err := l.sortedPackages()
	if err != nil {
		return err
	}
	t := &tomlWriter{}
	t.kv("lock-version", t.str("1.0"))
	if len(l.Environments) > 0 {
		var envs []string
		for _, m := range l.Environments {
			envs = append(envs, t.str(m.Format('\'')))
		}
		t.kv("environments", "["+strings.Join(envs, ", ")+"]")
	}
	if l.RequiresPython != "" {
		t.kv("requires-python", t.str(l.RequiresPython))
	}
	hasDev := slices.ContainsFunc(pkgs, func(p Package) bool { return !p.inDefault() })
	if hasDev {
		t.kv("dependency-groups", `["dev"]`)
		t.kv("default-groups", "[]")
	}
	t.kv("created-by", t.str("seshat"))
	for _, p := range pkgs {
		if len(p.Artifacts) == 0 {
			return fmt.Errorf("writing pylock.toml: %s %s has no artifact", p.Name, p.Version)
		}
		t.line("")
		t.line("[[packages]]")
		t.kv("name", t.str(p.Name))
		t.kv("version", t.str(p.Version))
		marker := p.Marker.Format('\'')
		if !p.inDefault() {
			if marker == "" {
				marker = "'dev' in dependency_groups"
			} else {
				marker = "'dev' in dependency_groups and (" + marker + ")"
			}
		}
		if marker != "" {
			t.kv("marker", t.str(marker))
		}
		if p.RequiresPython != "" {
			t.kv("requires-python", t.str(p.RequiresPython))
		}
		if p.IndexURL != "" {
			t.kv("index", t.str(p.IndexURL))
		}
		arts := slices.Clone(p.Artifacts)
		slices.SortFunc(arts, func(a, b Artifact) int { return strings.Compare(a.Filename, b.Filename) })
		var sdists, wheels []Artifact
		for _, a := range arts {
			if a.Kind == Sdist {
				sdists = append(sdists, a)
			} else {
				wheels = append(wheels, a)
			}
		}
		if len(sdists) > 1 {
			return fmt.Errorf("writing pylock.toml: %s %s keeps %d sdists; a package has at most one", p.Name, p.Version, len(sdists))
		}
		if len(sdists) == 1 {
			t.line("sdist = " + t.file(sdists[0]))
		}
		if len(wheels) > 0 {
			t.line("wheels = [")
			for _, a := range wheels {
				t.line("    " + t.file(a) + ",")
			}
			t.line("]")
		}
	}
	if t.err != nil {
		return fmt.Errorf("writing pylock.toml: %w", t.err)
	}
	_, err = io.WriteString(w, t.b.String())
	return err
}

// tomlWriter writes the small subset of TOML pylock.toml needs, by hand,
// so key order is the PEP's and output never depends on map order.
type tomlWriter struct {
	b   strings.Builder
	err error
}

func (t *tomlWriter) line(s string) {
	t.b.WriteString(s)
	t.b.WriteByte('\n')
}

func (t *tomlWriter) kv(k, v string) { t.line(k + " = " + v) }

// file is an inline table {name, upload-time, url, size, hashes}.
func (t *tomlWriter) file(a Artifact) string {
	parts := []string{"name = " + t.str(a.Filename)}
	if !a.UploadTime.IsZero() {
		parts = append(parts, "upload-time = "+a.UploadTime.UTC().Format(time.RFC3339Nano))
	}
	if a.URL != "" {
		parts = append(parts, "url = "+t.str(a.URL))
	}
	if a.Size > 0 {
		parts = append(parts, "size = "+strconv.FormatInt(a.Size, 10))
	}
	parts = append(parts, "hashes = {sha256 = "+t.str(a.SHA256)+"}")
	return "{" + strings.Join(parts, ", ") + "}"
}

// str is a TOML basic string. TOML must be UTF-8, so invalid bytes are
// an error rather than something to pass along.
func (t *tomlWriter) str(s string) string {
	if !utf8.ValidString(s) && t.err == nil {
		t.err = fmt.Errorf("%q is not valid UTF-8", s)
	}
	var b strings.Builder
	b.WriteByte('"')
	for _, r := range s {
		switch {
		case r == '"':
			b.WriteString(`\"`)
		case r == '\\':
			b.WriteString(`\\`)
		case r == '\n':
			b.WriteString(`\n`)
		case r == '\t':
			b.WriteString(`\t`)
		case r == '\r':
			b.WriteString(`\r`)
		case r < 0x20 || r == 0x7f:
			fmt.Fprintf(&b, `\u%04X`, r)
		default:
			b.WriteRune(r)
		}
	}
	b.WriteByte('"')
	return b.String()
}
