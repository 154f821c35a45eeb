package pyindex

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"html"
	"net"
	"net/http"
	"strings"
	"time"
)

type jsonMeta struct {
	APIVersion string `json:"api-version"`
}

type jsonFile struct {
	Filename       string            `json:"filename"`
	URL            string            `json:"url"`
	Hashes         map[string]string `json:"hashes"`
	RequiresPython *string           `json:"requires-python,omitempty"`
	Yanked         any               `json:"yanked,omitempty"`
	Size           int64             `json:"size"`
	UploadTime     string            `json:"upload-time"`
	CoreMetadata   any               `json:"core-metadata,omitempty"`
	DistInfo       any               `json:"data-dist-info-metadata,omitempty"`
}

func (s *Server) serveRoot(w http.ResponseWriter, r *http.Request) {
	if s.wantsJSON(r) {
		type proj struct {
			Name string `json:"name"`
		}
		doc := struct {
			Meta     jsonMeta `json:"meta"`
			Projects []proj   `json:"projects"`
		}{Meta: jsonMeta{"1.1"}, Projects: []proj{}}
		for _, n := range s.names {
			doc.Projects = append(doc.Projects, proj{n})
		}
		s.page(w, r, true, marshal(doc))
		return
	}
	var b bytes.Buffer
	b.WriteString("<!DOCTYPE html>\n<html><head><meta name=\"pypi:repository-version\" content=\"1.1\"><title>Simple index</title></head><body>\n")
	for _, n := range s.names {
		fmt.Fprintf(&b, "<a href=\"%s/\">%s</a>\n", n, n)
	}
	b.WriteString("</body></html>\n")
	s.page(w, r, false, b.Bytes())
}

func (s *Server) metadataHash(a *Artifact) string {
	// Like PyPI, .metadata files only for wheels.
	if s.cfg.noMetadata || a.Metadata == nil || !strings.HasSuffix(a.Filename, ".whl") {
		return ""
	}
	sum := sha256.Sum256(a.Metadata)
	return hex.EncodeToString(sum[:])
}

func (s *Server) serveProject(w http.ResponseWriter, r *http.Request, name string) {
	arts := s.projects[name]
	if len(arts) == 0 {
		http.NotFound(w, r)
		return
	}
	// Relative URLs, as PyPI's mirrors use: clients must resolve them
	// against the page URL.
	href := func(a *Artifact) string { return "../../files/" + a.Filename }
	if s.wantsJSON(r) {
		doc := struct {
			Meta     jsonMeta   `json:"meta"`
			Name     string     `json:"name"`
			Versions []string   `json:"versions"`
			Files    []jsonFile `json:"files"`
		}{Meta: jsonMeta{"1.1"}, Name: name, Versions: []string{}, Files: []jsonFile{}}
		seen := map[string]bool{}
		for _, a := range arts {
			if !seen[a.Version] {
				seen[a.Version] = true
				doc.Versions = append(doc.Versions, a.Version)
			}
			f := jsonFile{Filename: a.Filename, URL: href(a), Hashes: map[string]string{"sha256": a.SHA256},
				Size: a.Size, UploadTime: a.UploadTime.Format(time.RFC3339)}
			if a.RequiresPython != "" {
				rp := a.RequiresPython
				f.RequiresPython = &rp
			}
			if a.Yanked {
				f.Yanked = true
				if a.YankedReason != "" {
					f.Yanked = a.YankedReason
				}
			}
			if h := s.metadataHash(a); h != "" {
				f.CoreMetadata = map[string]string{"sha256": h}
				f.DistInfo = f.CoreMetadata
			}
			doc.Files = append(doc.Files, f)
		}
		s.page(w, r, true, marshal(doc))
		return
	}
	var b bytes.Buffer
	fmt.Fprintf(&b, "<!DOCTYPE html>\n<html><head><meta name=\"pypi:repository-version\" content=\"1.1\"><title>Links for %s</title></head><body>\n<h1>Links for %s</h1>\n", name, name)
	for _, a := range arts {
		fmt.Fprintf(&b, "<a href=\"%s#sha256=%s\"", html.EscapeString(href(a)), a.SHA256)
		if a.RequiresPython != "" {
			fmt.Fprintf(&b, " data-requires-python=\"%s\"", html.EscapeString(a.RequiresPython))
		}
		if a.Yanked {
			fmt.Fprintf(&b, " data-yanked=\"%s\"", html.EscapeString(a.YankedReason))
		}
		if h := s.metadataHash(a); h != "" {
			fmt.Fprintf(&b, " data-dist-info-metadata=\"sha256=%s\" data-core-metadata=\"sha256=%s\"", h, h)
		}
		fmt.Fprintf(&b, ">%s</a><br/>\n", html.EscapeString(a.Filename))
	}
	b.WriteString("</body></html>\n")
	s.page(w, r, false, b.Bytes())
}

// Listen serves on addr (e.g. "127.0.0.1:0"), sets URL, and returns a func
// that stops the server.
func (s *Server) Listen(addr string) (stop func(), err error) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("pyindex: listening on %s: %w", addr, err)
	}
	srv := &http.Server{Handler: s, ReadHeaderTimeout: 10 * time.Second}
	go srv.Serve(ln)
	s.URL = "http://" + ln.Addr().String()
	return func() { srv.Close() }, nil
}

// marshal writes JSON without escaping <, > and &, as PyPI does: ">=3.9"
// reads better than "\u003e=3.9" to whoever looks at a page.
func marshal(v any) []byte {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	enc.Encode(v)
	return b.Bytes()
}
