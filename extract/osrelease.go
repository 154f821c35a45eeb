package extract

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"strings"
)

// osReleasePaths are read in this order, as os-release(5) says: the first
// that exists wins. Debian's /etc/os-release is a symlink into /usr/lib, so
// both are read through the index, which resolves links inside the image.
var osReleasePaths = []string{"/etc/os-release", "/usr/lib/os-release"}

// maxOSReleaseSize bounds the os-release file kept: real ones are under 1 KiB.
const maxOSReleaseSize = 64 << 10

// OSExtractor fills Analysis.OS from /etc/os-release, else /usr/lib/os-release.
type OSExtractor struct{}

// NewOSExtractor returns the os-release extractor.
func NewOSExtractor() *OSExtractor { return &OSExtractor{} }

// Name implements Extractor.
func (*OSExtractor) Name() string { return "os" }

// Wants implements Extractor: both os-release locations, small files only.
func (*OSExtractor) Wants(p string, size int64) bool {
	return size <= maxOSReleaseSize && isOSReleasePath(p)
}

func isOSReleasePath(p string) bool {
	for _, q := range osReleasePaths {
		if p == q {
			return true
		}
	}
	return false
}

// Extract implements Extractor. No os-release leaves a.OS nil; an empty or
// unreadable one does too, with a warning naming it.
func (*OSExtractor) Extract(_ context.Context, ix *FileIndex, a *Analysis) error {
	for _, p := range osReleasePaths {
		m, err := ix.Stat(p)
		if errors.Is(err, fs.ErrNotExist) {
			continue
		}
		if err != nil {
			a.Warnings = append(a.Warnings, Warning{Path: p, Message: fmt.Sprintf("os-release: %v", err)})
			continue
		}
		if m.Type != TypeRegular {
			continue
		}
		data, err := ix.ReadFile(p)
		if err != nil {
			a.Warnings = append(a.Warnings, Warning{Path: p, Message: fmt.Sprintf("os-release not read: %v", err)})
			return nil
		}
		osr := ParseOSRelease(data)
		if osr == nil {
			a.Warnings = append(a.Warnings, Warning{Path: p, Message: "os-release has no ID, NAME or VERSION_ID; operating system unknown"})
			return nil
		}
		a.OS = osr
		return nil
	}
	return nil
}

// ParseOSRelease reads the os-release(5) format: KEY=VALUE lines, values
// optionally in single or double quotes, backslash escapes inside double
// quotes, '#' comments. It returns nil when no field that names the system
// (ID, NAME, VERSION_ID, PRETTY_NAME) is present.
func ParseOSRelease(data []byte) *OSRelease {
	kv := ParseOSReleaseFields(data)
	osr := &OSRelease{
		ID:         kv["ID"],
		VersionID:  kv["VERSION_ID"],
		Name:       kv["NAME"],
		PrettyName: kv["PRETTY_NAME"],
		IDLike:     strings.Fields(kv["ID_LIKE"]),
	}
	if osr.ID == "" && osr.Name == "" && osr.VersionID == "" && osr.PrettyName == "" {
		return nil
	}
	if osr.IDLike == nil {
		osr.IDLike = []string{}
	}
	return osr
}

// ParseOSReleaseFields returns every KEY=VALUE assignment of an os-release
// file, values unquoted. Lines that are not assignments are skipped, as
// os-release(5) asks of readers.
func ParseOSReleaseFields(data []byte) map[string]string {
	out := map[string]string{}
	for _, line := range strings.Split(string(data), "\n") {
		line = strings.TrimSpace(strings.TrimSuffix(line, "\r"))
		if line == "" || line[0] == '#' {
			continue
		}
		key, val, ok := strings.Cut(line, "=")
		if !ok || !validOSReleaseKey(key) {
			continue
		}
		v, ok := unquoteShell(val)
		if !ok {
			continue
		}
		out[key] = v
	}
	return out
}

func validOSReleaseKey(k string) bool {
	if k == "" {
		return false
	}
	for i, r := range k {
		switch {
		case r >= 'A' && r <= 'Z', r == '_':
		case r >= '0' && r <= '9' && i > 0:
		case r >= 'a' && r <= 'z': // not in the spec, but harmless to accept
		default:
			return false
		}
	}
	return true
}

// unquoteShell undoes the shell quoting os-release allows: a value may mix
// unquoted, "double-quoted" (with \" \\ \$ \` escapes) and 'single-quoted'
// parts; an unquoted part ends at whitespace or a comment. It reports false
// for an unterminated quote.
func unquoteShell(s string) (string, bool) {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch c {
		case '"':
			i++
			for ; i < len(s) && s[i] != '"'; i++ {
				if s[i] == '\\' && i+1 < len(s) && strings.IndexByte("\"\\$`", s[i+1]) >= 0 {
					i++
				}
				b.WriteByte(s[i])
			}
			if i >= len(s) {
				return "", false
			}
		case '\'':
			end := strings.IndexByte(s[i+1:], '\'')
			if end < 0 {
				return "", false
			}
			b.WriteString(s[i+1 : i+1+end])
			i += end + 1
		case '\\':
			if i+1 < len(s) {
				i++
				b.WriteByte(s[i])
			}
		case ' ', '\t':
			// An unquoted blank ends the value; what follows may be a comment.
			return b.String(), true
		default:
			b.WriteByte(c)
		}
	}
	return b.String(), true
}
