package advise

import (
	"bufio"
	"bytes"
	"strings"
)

// coreMetadata is the part of a distribution's core metadata (METADATA or
// PKG-INFO) the resolver reads.
type coreMetadata struct {
	MetadataVersion string
	Name, Version   string
	RequiresPython  string
	RequiresDist    []string
	ProvidesExtra   []string
	Dynamic         []string
}

// parseCoreMetadata reads the RFC 822-style header block of core metadata.
// The body (the long description) is ignored; header continuation lines
// (starting with a space or tab) are folded into the previous value.
func parseCoreMetadata(b []byte) coreMetadata {
	var md coreMetadata
	var key string
	var val strings.Builder
	flush := func() {
		if key == "" {
			return
		}
		v := strings.TrimSpace(val.String())
		switch strings.ToLower(key) {
		case "metadata-version":
			md.MetadataVersion = v
		case "name":
			md.Name = v
		case "version":
			md.Version = v
		case "requires-python":
			md.RequiresPython = v
		case "requires-dist":
			md.RequiresDist = append(md.RequiresDist, v)
		case "provides-extra":
			md.ProvidesExtra = append(md.ProvidesExtra, v)
		case "dynamic":
			md.Dynamic = append(md.Dynamic, v)
		}
		key = ""
		val.Reset()
	}
	sc := bufio.NewScanner(bytes.NewReader(b))
	sc.Buffer(make([]byte, 64<<10), 16<<20)
	for sc.Scan() {
		line := strings.TrimRight(sc.Text(), "\r")
		if line == "" {
			break // end of headers; the description follows
		}
		if line[0] == ' ' || line[0] == '\t' {
			if key != "" {
				val.WriteByte(' ')
				val.WriteString(strings.TrimSpace(line))
			}
			continue
		}
		flush()
		k, v, ok := strings.Cut(line, ":")
		if !ok {
			continue
		}
		key = strings.TrimSpace(k)
		val.WriteString(v)
	}
	flush()
	return md
}
