package lock

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"net/url"
	"strings"

	"github.com/seshat-dev/seshat/advise/reqfile"
)

// pipfileSpec is the Pipfile.lock format version pipenv writes.
const pipfileSpec = 6

// pipfileSections are the Pipfile tables that are not package categories
// (plette's PIPFILE_SECTIONS).
var pipfileSections = map[string]bool{
	"source": true, "packages": true, "dev-packages": true, "requires": true,
	"scripts": true, "pipfile": true, "pipenv": true,
}

// defaultSource is what pipenv assumes when a Pipfile names no source.
func defaultSource() map[string]any {
	return map[string]any{"name": "pypi", "url": "https://pypi.org/simple", "verify_ssl": true}
}

// PipfileHash computes _meta.hash.sha256 exactly as pipenv does (plette's
// Pipfile.get_hash): SHA-256 of the compact, key-sorted, ASCII-escaped
// JSON of {"_meta": {"sources", "requires"}, "default", "develop"} plus
// any custom package categories, over the Pipfile as written (source URLs
// unexpanded, PyPI added when no source is named).
func PipfileHash(pf *reqfile.Pipfile) (string, error) {
	data := pf.Data
	sources, ok := data["source"]
	if !ok {
		sources = []any{defaultSource()}
	}
	requires, ok := data["requires"]
	if !ok {
		requires = map[string]any{}
	}
	doc := map[string]any{
		"_meta":   map[string]any{"sources": sources, "requires": requires},
		"default": orEmpty(data["packages"]),
		"develop": orEmpty(data["dev-packages"]),
	}
	for k, v := range data {
		if pipfileSections[k] || k == "default" || k == "develop" {
			continue
		}
		doc[k] = v
	}
	var b strings.Builder
	if err := pyJSON(&b, doc, 0, 0); err != nil {
		return "", fmt.Errorf("hashing Pipfile %s: %w", pf.Path, err)
	}
	sum := sha256.Sum256([]byte(b.String()))
	return hex.EncodeToString(sum[:]), nil
}

func orEmpty(v any) any {
	if v == nil {
		return map[string]any{}
	}
	return v
}

// WritePipfileLock writes l in pipenv's Pipfile.lock format: keys sorted,
// 4-space indent, non-ASCII escaped, a trailing newline. _meta comes from
// pf (hash, requires, sources as written, completed as pipenv completes
// them); with pf nil, sources come from l.Indexes and the hash covers a
// Pipfile with only those sources, so pipenv will call the lock stale
// unless a matching Pipfile is written beside it.
func WritePipfileLock(w io.Writer, l *Lock, pf *reqfile.Pipfile) error {
	pkgs, err := l.sortedPackages()
	if err != nil {
		return err
	}
	if pf == nil {
		pf = &reqfile.Pipfile{Path: "(no Pipfile)", Data: map[string]any{"source": indexSources(l.Indexes)}}
	}
	hash, err := PipfileHash(pf)
	if err != nil {
		return err
	}
	var sources []any
	raw, ok := pf.Data["source"].([]map[string]any)
	if !ok {
		raw = []map[string]any{defaultSource()}
	}
	for _, s := range raw {
		sources = append(sources, populateSource(s))
	}
	requires, ok := pf.Data["requires"].(map[string]any)
	if !ok {
		requires = map[string]any{}
	}
	// A package that names its index only by URL gets the source's name.
	urlName := map[string]string{}
	for _, s := range indexSources(l.Indexes) {
		urlName[s["url"].(string)] = s["name"].(string)
	}
	for _, s := range sources {
		m := s.(map[string]any)
		if u, ok := m["url"].(string); ok {
			if n, ok := m["name"].(string); ok {
				urlName[u] = n
			}
		}
	}
	defaults, develop := map[string]any{}, map[string]any{}
	for _, p := range pkgs {
		if p.Index == "" && p.IndexURL != "" {
			p.Index = urlName[p.IndexURL]
		}
		e := map[string]any{
			"hashes":  toAny(p.hashes()),
			"version": "==" + p.Version,
		}
		if p.Index != "" {
			e["index"] = p.Index
		}
		if !p.Marker.IsEmpty() {
			// pipenv writes markers with single quotes.
			e["markers"] = p.Marker.Format('\'')
		}
		if ex := p.sortedExtras(); len(ex) > 0 {
			e["extras"] = toAny(ex)
		}
		if p.inDefault() {
			defaults[p.Name] = e
		}
		if p.Develop {
			develop[p.Name] = e
		}
	}
	doc := map[string]any{
		"_meta": map[string]any{
			"hash":         map[string]any{"sha256": hash},
			"pipfile-spec": pipfileSpec,
			"requires":     requires,
			"sources":      sources,
		},
		"default": defaults,
		"develop": develop,
	}
	var b strings.Builder
	if err := pyJSON(&b, doc, 4, 0); err != nil {
		return fmt.Errorf("writing Pipfile.lock: %w", err)
	}
	b.WriteByte('\n')
	_, err = io.WriteString(w, b.String())
	return err
}

// populateSource fills name and verify_ssl as pipenv's populate_source does.
func populateSource(s map[string]any) map[string]any {
	out := make(map[string]any, len(s)+2)
	for k, v := range s {
		out[k] = v
	}
	u, _ := out["url"].(string)
	if _, ok := out["name"]; !ok {
		if pu, err := url.Parse(u); err == nil {
			out["name"] = pu.Hostname()
		}
	}
	switch v := out["verify_ssl"].(type) {
	case bool:
	case nil:
		out["verify_ssl"] = strings.Contains(u, "https://")
	default:
		out["verify_ssl"] = strings.EqualFold(fmt.Sprint(v), "true")
	}
	return out
}

func indexSources(idx []Index) []map[string]any {
	if len(idx) == 0 {
		return []map[string]any{defaultSource()}
	}
	var out []map[string]any
	for i, x := range idx {
		name := x.Name
		if name == "" {
			name = fmt.Sprintf("index-%d", i)
			if i == 0 {
				name = "default"
			}
		}
		out = append(out, map[string]any{"name": name, "url": x.URL, "verify_ssl": x.VerifySSL})
	}
	return out
}

func toAny(ss []string) []any {
	out := make([]any, len(ss))
	for i, s := range ss {
		out[i] = s
	}
	return out
}
