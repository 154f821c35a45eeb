package index

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"mime"
	"net/url"
	"strings"
	"time"

	"golang.org/x/net/html"

	"github.com/seshat-dev/seshat/advise/wheel"
)

// accept asks for PEP 691 JSON and takes PEP 503 HTML only from an index that
// has nothing better (PEP 691's recommended negotiation).
const accept = "application/vnd.pypi.simple.v1+json, application/vnd.pypi.simple.v1+html;q=0.2, text/html;q=0.01"

func (c *Client) projectPage(ctx context.Context, ix index, name string) ([]File, error) {
	pageURL := ix.base.String() + "/" + url.PathEscape(name) + "/"
	p, err := c.getPage(ctx, pageURL, accept)
	if err != nil {
		return nil, err
	}
	base, err := url.Parse(p.URL)
	if err != nil {
		return nil, fmt.Errorf("GET %s: bad final URL %q: %w", pageURL, p.URL, err)
	}
	mt, _, _ := mime.ParseMediaType(p.ContentType)
	var files []File
	switch mt {
	case "application/vnd.pypi.simple.v1+json", "application/vnd.pypi.simple.latest+json":
		files, err = parseJSON(p.body, base)
	case "application/vnd.pypi.simple.v1+html", "application/vnd.pypi.simple.latest+html", "text/html":
		files, err = parseHTML(p.body, base, name)
	default:
		err = fmt.Errorf("content type %q is neither PEP 691 JSON (application/vnd.pypi.simple.v1+json) nor PEP 503 HTML", p.ContentType)
	}
	if err != nil {
		return nil, fmt.Errorf("index %s: project page %s: %w", ix.name, pageURL, err)
	}
	for i := range files {
		files[i].Index = ix.name
		files[i].Project = name
	}
	return files, nil
}

type jsonPage struct {
	Meta struct {
		APIVersion string `json:"api-version"`
	} `json:"meta"`
	Name  string `json:"name"`
	Files []struct {
		Filename       string            `json:"filename"`
		URL            string            `json:"url"`
		Hashes         map[string]string `json:"hashes"`
		RequiresPython *string           `json:"requires-python"`
		Yanked         json.RawMessage   `json:"yanked"`
		Size           int64             `json:"size"`
		UploadTime     string            `json:"upload-time"`
		CoreMetadata   json.RawMessage   `json:"core-metadata"`
		DistInfo       json.RawMessage   `json:"data-dist-info-metadata"`
	} `json:"files"`
}

func parseJSON(body []byte, base *url.URL) ([]File, error) {
	var doc jsonPage
	if err := json.Unmarshal(body, &doc); err != nil {
		return nil, fmt.Errorf("invalid PEP 691 JSON: %w", err)
	}
	if major, _, _ := strings.Cut(doc.Meta.APIVersion, "."); major != "1" {
		return nil, fmt.Errorf("PEP 691 api-version %q: only 1.x is understood", doc.Meta.APIVersion)
	}
	files := make([]File, 0, len(doc.Files))
	for _, jf := range doc.Files {
		u, err := base.Parse(jf.URL)
		if err != nil || jf.Filename == "" {
			return nil, fmt.Errorf("file entry %q has a bad url %q", jf.Filename, jf.URL)
		}
		u.User = nil
		f := File{Filename: jf.Filename, URL: u.String(), Hashes: lowerHashes(jf.Hashes), Size: jf.Size}
		if jf.RequiresPython != nil {
			f.RequiresPython = *jf.RequiresPython
		}
		f.Yanked, f.YankedReason = yanked(jf.Yanked)
		if jf.UploadTime != "" {
			if t, err := time.Parse(time.RFC3339Nano, jf.UploadTime); err == nil {
				f.UploadTime = t.UTC()
			}
		}
		// PEP 714: core-metadata is the name; data-dist-info-metadata the
		// older spelling some indexes still send alone.
		meta := jf.CoreMetadata
		if len(meta) == 0 {
			meta = jf.DistInfo
		}
		f.CoreMetadata, f.CoreMetadataHashes = metadataField(meta)
		files = append(files, f)
	}
	return files, nil
}

func lowerHashes(h map[string]string) map[string]string {
	out := make(map[string]string, len(h))
	for k, v := range h {
		out[strings.ToLower(k)] = strings.ToLower(v)
	}
	return out
}

// yanked reads PEP 691's "yanked": false, true, or a reason string.
func yanked(raw json.RawMessage) (bool, string) {
	var b bool
	if json.Unmarshal(raw, &b) == nil {
		return b, ""
	}
	var s string
	if json.Unmarshal(raw, &s) == nil {
		return true, s
	}
	return false, ""
}

// metadataField reads core-metadata: false, true, or {"sha256": "…"}.
func metadataField(raw json.RawMessage) (bool, map[string]string) {
	var b bool
	if json.Unmarshal(raw, &b) == nil {
		return b, nil
	}
	var h map[string]string
	if json.Unmarshal(raw, &h) == nil {
		return true, lowerHashes(h)
	}
	return false, nil
}

// parseHTML reads a PEP 503 page: one anchor per file, the hash in the URL
// fragment, PEP 592/658/714 data attributes. Anchors that are not artifacts
// of the project are skipped; a page with none and no PEP 629 version meta
// is taken for what it most likely is, an error page.
func parseHTML(body []byte, base *url.URL, project string) ([]File, error) {
	z := html.NewTokenizer(bytes.NewReader(body))
	var files []File
	var title strings.Builder
	inTitle, isSimple, anchors := false, false, 0
	var cur *File
	var text strings.Builder
	for {
		tt := z.Next()
		switch tt {
		case html.ErrorToken:
			if len(files) == 0 && !isSimple {
				what := "an HTML page with no file links"
				if t := strings.TrimSpace(title.String()); t != "" {
					what += fmt.Sprintf(" (title %q)", t)
				}
				return nil, fmt.Errorf("expected a PEP 691 JSON or PEP 503 HTML project page, got %s: is the URL the simple API root?", what)
			}
			return files, nil
		case html.StartTagToken, html.SelfClosingTagToken:
			tok := z.Token()
			switch tok.Data {
			case "title":
				inTitle = tt == html.StartTagToken
			case "meta":
				if attr(tok, "name") == "pypi:repository-version" {
					isSimple = true
					if major, _, _ := strings.Cut(attr(tok, "content"), "."); major != "1" {
						return nil, fmt.Errorf("PEP 629 repository-version %q: only 1.x is understood", attr(tok, "content"))
					}
				}
			case "a":
				anchors++
				href := attr(tok, "href")
				if href == "" {
					continue
				}
				u, err := base.Parse(href)
				if err != nil {
					continue
				}
				f := File{Hashes: map[string]string{}}
				if frag := u.Fragment; frag != "" {
					if alg, hex, ok := strings.Cut(frag, "="); ok {
						f.Hashes[strings.ToLower(alg)] = strings.ToLower(hex)
					}
				}
				u.Fragment, u.User = "", nil
				f.URL = u.String()
				f.RequiresPython = attr(tok, "data-requires-python")
				if v, ok := attrOK(tok, "data-yanked"); ok {
					f.Yanked, f.YankedReason = true, v
				}
				meta, ok := attrOK(tok, "data-core-metadata")
				if !ok {
					meta, ok = attrOK(tok, "data-dist-info-metadata")
				}
				if ok && meta != "false" {
					f.CoreMetadata = true
					if alg, hex, ok := strings.Cut(meta, "="); ok {
						f.CoreMetadataHashes = map[string]string{strings.ToLower(alg): strings.ToLower(hex)}
					}
				}
				f.Filename = pathBase(u.Path)
				cur = &f
				text.Reset()
			}
		case html.TextToken:
			if inTitle {
				title.Write(z.Text())
			}
			if cur != nil {
				text.Write(z.Text())
			}
		case html.EndTagToken:
			tok := z.Token()
			if tok.Data == "title" {
				inTitle = false
			}
			if tok.Data == "a" && cur != nil {
				// PEP 503 wants the text to equal the URL's last path
				// segment; the URL is what gets downloaded, so it wins.
				if t := strings.TrimSpace(text.String()); cur.Filename == "" && t != "" {
					cur.Filename = t
				}
				if artifactOf(cur.Filename) == project {
					files = append(files, *cur)
				}
				cur = nil
			}
		}
	}
}

func attr(t html.Token, key string) string { v, _ := attrOK(t, key); return v }

func attrOK(t html.Token, key string) (string, bool) {
	for _, a := range t.Attr {
		if a.Key == key {
			return a.Val, true
		}
	}
	return "", false
}

func pathBase(p string) string {
	if i := strings.LastIndex(p, "/"); i >= 0 {
		p = p[i+1:]
	}
	if u, err := url.PathUnescape(p); err == nil {
		return u
	}
	return p
}

// artifactOf returns the normalized project name a wheel or sdist file name
// belongs to, or "" when the name is neither.
func artifactOf(filename string) string {
	if strings.HasSuffix(filename, ".whl") {
		n, err := wheel.ParseFilename(filename)
		if err != nil {
			return ""
		}
		return n.Project()
	}
	name, _, ok := splitSdist(filename)
	if !ok {
		return ""
	}
	return wheel.Normalize(name)
}

// splitSdist splits "name-version.tar.gz" (or .zip); names may hold dashes,
// versions never do.
func splitSdist(filename string) (name, version string, ok bool) {
	var stem string
	for _, ext := range []string{".tar.gz", ".zip", ".tar.bz2", ".tgz"} {
		if s, found := strings.CutSuffix(filename, ext); found {
			stem = s
			break
		}
	}
	i := strings.LastIndex(stem, "-")
	if i <= 0 || i == len(stem)-1 {
		return "", "", false
	}
	return stem[:i], stem[i+1:], true
}
