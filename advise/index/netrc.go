package index

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
)

type netrcEntry struct {
	machine         string // "" for the default entry
	login, password string
}

func (c *Client) loadNetrc() error {
	path := c.netrcPath
	if !c.netrcSet {
		path = os.Getenv("NETRC")
		if path == "" {
			home, err := os.UserHomeDir()
			if err != nil {
				return nil
			}
			path = filepath.Join(home, ".netrc")
		}
	}
	if path == "" {
		return nil
	}
	b, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("reading netrc %s: %w", path, err)
	}
	c.netrc, err = parseNetrc(string(b))
	if err != nil {
		return fmt.Errorf("netrc %s: %w", path, err)
	}
	return nil
}

// parseNetrc reads the netrc format of ftp(1) and curl: whitespace-separated
// tokens "machine NAME", "default", "login", "password", "account", where a
// value may be double-quoted with backslash escapes (as curl allows); a
// "macdef" runs to the next blank line and is skipped.
func parseNetrc(s string) ([]netrcEntry, error) {
	var out []netrcEntry
	var cur *netrcEntry
	lines := strings.Split(s, "\n")
	for ln := 0; ln < len(lines); ln++ {
		line := lines[ln]
		if i := strings.Index(line, "#"); i >= 0 && strings.TrimSpace(line[:i]) == "" {
			continue // comment line
		}
		toks, err := netrcTokens(line)
		if err != nil {
			return nil, fmt.Errorf("line %d: %w", ln+1, err)
		}
		for i := 0; i < len(toks); i++ {
			next := func() (string, error) {
				if i+1 >= len(toks) {
					return "", fmt.Errorf("line %d: %q needs a value on the same line", ln+1, toks[i])
				}
				i++
				return toks[i], nil
			}
			switch toks[i] {
			case "machine":
				name, err := next()
				if err != nil {
					return nil, err
				}
				out = append(out, netrcEntry{machine: name})
				cur = &out[len(out)-1]
			case "default":
				out = append(out, netrcEntry{})
				cur = &out[len(out)-1]
			case "login", "password", "account":
				key := toks[i]
				v, err := next()
				if err != nil {
					return nil, err
				}
				if cur == nil {
					return nil, fmt.Errorf("line %d: %q before any machine", ln+1, key)
				}
				switch key {
				case "login":
					cur.login = v
				case "password":
					cur.password = v
				}
			case "macdef":
				for ln+1 < len(lines) && strings.TrimSpace(lines[ln+1]) != "" {
					ln++
				}
				i = len(toks)
			default:
				return nil, fmt.Errorf("line %d: unexpected token %q", ln+1, toks[i])
			}
		}
	}
	return out, nil
}

// netrcLookup finds credentials for host; an exact machine entry wins over
// default, wherever they stand in the file.
func (c *Client) netrcLookup(host string) (string, string, bool) {
	var def *netrcEntry
	for i, e := range c.netrc {
		if e.machine == host {
			return e.login, e.password, true
		}
		if e.machine == "" && def == nil {
			def = &c.netrc[i]
		}
	}
	if def != nil {
		return def.login, def.password, true
	}
	return "", "", false
}

// netrcTokens splits one line into blank-separated tokens, honouring
// "double quotes" with \" and \\ escapes.
func netrcTokens(line string) ([]string, error) {
	var toks []string
	for i := 0; i < len(line); {
		switch c := line[i]; {
		case c == ' ' || c == '\t' || c == '\r':
			i++
		case c == '"':
			var b strings.Builder
			i++
			for ; i < len(line) && line[i] != '"'; i++ {
				if line[i] == '\\' && i+1 < len(line) {
					i++
				}
				b.WriteByte(line[i])
			}
			if i >= len(line) {
				return nil, fmt.Errorf("unterminated quoted value")
			}
			i++
			toks = append(toks, b.String())
		default:
			j := i
			for j < len(line) && line[j] != ' ' && line[j] != '\t' && line[j] != '\r' {
				j++
			}
			toks = append(toks, line[i:j])
			i = j
		}
	}
	return toks, nil
}
