package extract

import (
	"bufio"
	"bytes"
	"errors"
	"io"
	"strings"
)

// maxMetadataHeader bounds how much of a METADATA / PKG-INFO file is read:
// the headers come first and are small; the long description after the
// blank line is never needed.
const maxMetadataHeader = 1 << 20

// CoreMetadata is the header part of a distribution's core metadata
// (METADATA in .dist-info, PKG-INFO in .egg-info).
type CoreMetadata struct {
	Name         string
	Version      string
	RequiresDist []string // verbatim, in file order
	// Truncated is set when the headers did not end within the size bound.
	Truncated bool
}

// errNoHeaders is returned for a file with no "Key: value" line at all.
var errNoHeaders = errors.New("no metadata headers")

// ParseCoreMetadata reads the RFC 822-style headers of core metadata from
// r: it stops at the first blank line or after maxMetadataHeader bytes,
// unfolds continuation lines, and replaces invalid UTF-8 rather than
// failing, since old tools wrote metadata in whatever encoding they had.
func ParseCoreMetadata(r io.Reader) (CoreMetadata, error) {
	var md CoreMetadata
	br := bufio.NewReader(io.LimitReader(r, maxMetadataHeader+1))
	var key string
	var val strings.Builder
	headers := 0
	read := 0
	flush := func() {
		if key == "" {
			return
		}
		v := strings.TrimSpace(val.String())
		switch strings.ToLower(key) {
		case "name":
			if md.Name == "" {
				md.Name = v
			}
		case "version":
			if md.Version == "" {
				md.Version = v
			}
		case "requires-dist":
			if v != "" {
				md.RequiresDist = append(md.RequiresDist, v)
			}
		}
		key = ""
		val.Reset()
	}
	// process handles one line; it reports whether the headers ended.
	process := func(line []byte) bool {
		if len(line) == 0 {
			// The blank line that ends the headers; blank lines before
			// the first header are tolerated.
			return headers > 0
		}
		text := strings.ToValidUTF8(string(line), "\uFFFD")
		if text[0] == ' ' || text[0] == '\t' {
			if key != "" { // a folded continuation of the previous header
				val.WriteByte(' ')
				val.WriteString(strings.TrimSpace(text))
			}
		} else if k, v, ok := strings.Cut(text, ":"); ok && !strings.ContainsAny(k, " \t") && k != "" {
			flush()
			key = k
			val.WriteString(v)
			headers++
		}
		// A line that is neither a header nor a continuation is skipped.
		return false
	}
	for done := false; !done; {
		line, err := br.ReadBytes('\n')
		read += len(line)
		if read > maxMetadataHeader {
			md.Truncated = true
			break
		}
		line = bytes.TrimRight(line, "\r\n")
		// A lone CR ends a line too, as Python's email parser has it.
		for _, part := range bytes.Split(line, []byte("\r")) {
			if done = process(part); done {
				break
			}
		}
		if err != nil {
			break
		}
	}
	flush()
	if headers == 0 {
		return md, errNoHeaders
	}
	return md, nil
}

// eggRequires turns an .egg-info's requires.txt into Requires-Dist
// strings, as importlib.metadata does: a "[extra:marker]" section adds
// `; (marker) and extra == "extra"` to each of its requirements.
func eggRequires(b []byte) []string {
	var out []string
	section := ""
	for _, raw := range strings.Split(strings.ToValidUTF8(string(b), "\uFFFD"), "\n") {
		line := strings.TrimSpace(raw)
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		if strings.HasPrefix(line, "[") && strings.HasSuffix(line, "]") {
			section = strings.TrimSpace(line[1 : len(line)-1])
			continue
		}
		extra, markers, _ := strings.Cut(section, ":")
		if extra != "" && markers != "" {
			markers = "(" + markers + ")"
		}
		var conds []string
		if markers != "" {
			conds = append(conds, markers)
		}
		if extra != "" {
			conds = append(conds, `extra == "`+extra+`"`)
		}
		req := line
		if len(conds) > 0 {
			if strings.Contains(req, "@") {
				req += " " // a URL requirement needs a space before ';'
			}
			req += "; " + strings.Join(conds, " and ")
		}
		out = append(out, req)
	}
	return out
}
