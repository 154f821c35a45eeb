// Package pyindex serves a directory of wheels and sdists as a Python package
// index: the PEP 691 JSON simple API, PEP 503 HTML for clients that do not ask
// for JSON, PEP 658/714 .metadata files, HTTP range requests on files, yanked
// files and requires-python. It exists to give tests and demos a real index on
// loopback; it is not a production index (no uploads, everything in memory).
//
// Layout of the directory: flat, one file per artifact (name-version-….whl,
// name-version.tar.gz). A sidecar "<file>.yanked" marks the file yanked, its
// content being the reason. Requires-Python comes from the artifact's own
// metadata. Hashes are computed once, when the server starts: changing a
// file afterwards makes the index lie about it, which is how tests provoke a
// hash mismatch.
package pyindex

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/seshat-dev/seshat/advise/wheel"
)

// Media types of the simple API (PEP 691).
const (
	MediaJSON = "application/vnd.pypi.simple.v1+json"
	MediaHTML = "application/vnd.pypi.simple.v1+html"
)

// Option configures a Server.
type Option func(*config)

type config struct {
	noMetadata bool
	htmlOnly   bool
	user, pass string
	maxAge     time.Duration
}

// WithoutMetadata stops serving PEP 658 .metadata files and advertising them,
// so clients must fall back to range reads of the wheels.
func WithoutMetadata() Option { return func(c *config) { c.noMetadata = true } }

// WithHTMLOnly answers every page in PEP 503 HTML, like an index that predates
// PEP 691, whatever the client's Accept header says.
func WithHTMLOnly() Option { return func(c *config) { c.htmlOnly = true } }

// WithBasicAuth requires HTTP basic credentials on every request.
func WithBasicAuth(user, pass string) Option {
	return func(c *config) { c.user, c.pass = user, pass }
}

// WithMaxAge sets the Cache-Control max-age of index pages (default 10 minutes).
func WithMaxAge(d time.Duration) Option { return func(c *config) { c.maxAge = d } }

// Artifact is one file the index serves.
type Artifact struct {
	Filename       string
	Project        string // PEP 503 normalized
	Version        string
	SHA256         string // hex, of the file as it was when the server started
	Size           int64
	UploadTime     time.Time
	RequiresPython string
	Yanked         bool
	YankedReason   string
	// Metadata is the core metadata (METADATA or PKG-INFO), nil if unreadable.
	Metadata []byte
}

// Request is one entry of the server's request log.
type Request struct {
	Method, Path, Accept, Range string
	Status                      int
	Bytes                       int64 // body bytes sent
}

// Server is an http.Handler serving one directory.
type Server struct {
	// URL is the server's base URL once started with Start or Listen; the
	// simple API is at URL + "/simple/".
	URL string

	dir      string
	cfg      config
	projects map[string][]*Artifact
	names    []string
	byFile   map[string]*Artifact

	mu       sync.Mutex
	idle     *sync.Cond // signalled when inflight drops to 0
	inflight int
	log      []Request
}

// New indexes dir. Every .whl, .tar.gz and .zip in it is served.
func New(dir string, opts ...Option) (*Server, error) {
	s := &Server{dir: dir, cfg: config{maxAge: 10 * time.Minute}, projects: map[string][]*Artifact{}, byFile: map[string]*Artifact{}}
	s.idle = sync.NewCond(&s.mu)
	for _, o := range opts {
		o(&s.cfg)
	}
	ents, err := os.ReadDir(dir)
	if err != nil {
		return nil, fmt.Errorf("indexing %s: %w", dir, err)
	}
	for _, e := range ents {
		if !e.Type().IsRegular() {
			continue
		}
		a, err := s.load(e.Name())
		if err != nil {
			return nil, fmt.Errorf("indexing %s: %w", filepath.Join(dir, e.Name()), err)
		}
		if a == nil {
			continue
		}
		s.projects[a.Project] = append(s.projects[a.Project], a)
		s.byFile[a.Filename] = a
	}
	for name, as := range s.projects {
		sort.Slice(as, func(i, j int) bool { return as[i].Filename < as[j].Filename })
		s.names = append(s.names, name)
	}
	sort.Strings(s.names)
	return s, nil
}

func (s *Server) load(filename string) (*Artifact, error) {
	a := &Artifact{Filename: filename}
	switch {
	case strings.HasSuffix(filename, ".whl"):
		n, err := wheel.ParseFilename(filename)
		if err != nil {
			return nil, err
		}
		a.Project, a.Version = n.Project(), n.Version
	case strings.HasSuffix(filename, ".tar.gz"), strings.HasSuffix(filename, ".zip"):
		stem := strings.TrimSuffix(strings.TrimSuffix(filename, ".tar.gz"), ".zip")
		i := strings.LastIndex(stem, "-")
		if i <= 0 {
			return nil, fmt.Errorf("sdist name %q is not name-version.tar.gz", filename)
		}
		a.Project, a.Version = wheel.Normalize(stem[:i]), stem[i+1:]
	default:
		return nil, nil
	}
	p := filepath.Join(s.dir, filename)
	b, err := os.ReadFile(p)
	if err != nil {
		return nil, err
	}
	st, err := os.Stat(p)
	if err != nil {
		return nil, err
	}
	sum := sha256.Sum256(b)
	a.SHA256, a.Size, a.UploadTime = hex.EncodeToString(sum[:]), int64(len(b)), st.ModTime().UTC().Truncate(time.Second)
	if strings.HasSuffix(filename, ".whl") {
		a.Metadata, err = wheel.Metadata(bytes.NewReader(b), int64(len(b)), a.Project)
		if err != nil {
			return nil, err
		}
	} else if strings.HasSuffix(filename, ".tar.gz") {
		a.Metadata = sdistPKGInfo(b)
	}
	a.RequiresPython = header(a.Metadata, "Requires-Python")
	if reason, err := os.ReadFile(p + ".yanked"); err == nil {
		a.Yanked, a.YankedReason = true, strings.TrimSpace(string(reason))
	}
	return a, nil
}

// sdistPKGInfo returns the top-level PKG-INFO of a .tar.gz sdist, or nil.
func sdistPKGInfo(b []byte) []byte {
	gz, err := gzip.NewReader(bytes.NewReader(b))
	if err != nil {
		return nil
	}
	tr := tar.NewReader(gz)
	for {
		h, err := tr.Next()
		if err != nil {
			return nil
		}
		if parts := strings.Split(strings.TrimPrefix(h.Name, "./"), "/"); len(parts) == 2 && parts[1] == "PKG-INFO" {
			out, _ := io.ReadAll(io.LimitReader(tr, wheel.MaxMetadataSize))
			return out
		}
	}
}

func header(meta []byte, key string) string {
	for _, line := range strings.Split(string(meta), "\n") {
		line = strings.TrimRight(line, "\r")
		if line == "" {
			break
		}
		if k, v, ok := strings.Cut(line, ":"); ok && strings.EqualFold(k, key) {
			return strings.TrimSpace(v)
		}
	}
	return ""
}

// Artifacts lists what the index serves for a normalized project name.
func (s *Server) Artifacts(project string) []*Artifact { return s.projects[project] }

// Requests returns a copy of the request log. It waits for requests in
// progress: a client can have read a whole answer before the handler that
// sent it has returned and logged it.
func (s *Server) Requests() []Request {
	s.mu.Lock()
	defer s.mu.Unlock()
	for s.inflight > 0 {
		s.idle.Wait()
	}
	return append([]Request(nil), s.log...)
}

// ResetRequests clears the request log.
func (s *Server) ResetRequests() {
	s.mu.Lock()
	for s.inflight > 0 {
		s.idle.Wait()
	}
	s.log = nil
	s.mu.Unlock()
}

// RequestCount is how many requests the server has answered since the last reset.
func (s *Server) RequestCount() int { return len(s.Requests()) }

type recorder struct {
	http.ResponseWriter
	status int
	n      int64
}

func (r *recorder) WriteHeader(code int) { r.status = code; r.ResponseWriter.WriteHeader(code) }
func (r *recorder) Write(b []byte) (int, error) {
	if r.status == 0 {
		r.status = http.StatusOK
	}
	n, err := r.ResponseWriter.Write(b)
	r.n += int64(n)
	return n, err
}

// ServeHTTP routes /simple/, /simple/<project>/, /files/<file> and
// /files/<file>.metadata.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	rec := &recorder{ResponseWriter: w}
	s.mu.Lock()
	s.inflight++
	s.mu.Unlock()
	defer func() {
		s.mu.Lock()
		s.log = append(s.log, Request{Method: r.Method, Path: r.URL.Path, Accept: r.Header.Get("Accept"), Range: r.Header.Get("Range"), Status: rec.status, Bytes: rec.n})
		if s.inflight--; s.inflight == 0 {
			s.idle.Broadcast()
		}
		s.mu.Unlock()
	}()
	if s.cfg.user != "" {
		u, p, ok := r.BasicAuth()
		if !ok || subtle.ConstantTimeCompare([]byte(u), []byte(s.cfg.user)) != 1 || subtle.ConstantTimeCompare([]byte(p), []byte(s.cfg.pass)) != 1 {
			rec.Header().Set("WWW-Authenticate", `Basic realm="pyindex"`)
			http.Error(rec, "unauthorized", http.StatusUnauthorized)
			return
		}
	}
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		http.Error(rec, "method not allowed", http.StatusMethodNotAllowed)
		return
	}
	p := r.URL.Path
	switch {
	case p == "/simple" || p == "/":
		http.Redirect(rec, r, "/simple/", http.StatusMovedPermanently)
	case p == "/simple/":
		s.serveRoot(rec, r)
	case strings.HasPrefix(p, "/simple/"):
		name := strings.TrimSuffix(strings.TrimPrefix(p, "/simple/"), "/")
		if strings.Contains(name, "/") {
			http.NotFound(rec, r)
			return
		}
		// PEP 503: non-normalized names redirect to the normalized URL.
		if norm := wheel.Normalize(name); norm != name || !strings.HasSuffix(p, "/") {
			http.Redirect(rec, r, "/simple/"+norm+"/", http.StatusMovedPermanently)
			return
		}
		s.serveProject(rec, r, name)
	case strings.HasPrefix(p, "/files/"):
		s.serveFile(rec, r, strings.TrimPrefix(p, "/files/"))
	default:
		http.NotFound(rec, r)
	}
}

func (s *Server) wantsJSON(r *http.Request) bool {
	if s.cfg.htmlOnly {
		return false
	}
	best, bestQ := "", -1.0
	for _, part := range strings.Split(r.Header.Get("Accept"), ",") {
		fields := strings.Split(part, ";")
		mt := strings.TrimSpace(fields[0])
		q := 1.0
		for _, f := range fields[1:] {
			if v, ok := strings.CutPrefix(strings.TrimSpace(f), "q="); ok {
				fmt.Sscanf(v, "%g", &q)
			}
		}
		switch mt {
		case MediaJSON, "application/vnd.pypi.simple.latest+json", MediaHTML, "application/vnd.pypi.simple.latest+html", "text/html":
		default:
			continue
		}
		if q > bestQ {
			best, bestQ = mt, q
		}
	}
	return strings.HasSuffix(best, "+json")
}

func (s *Server) page(w http.ResponseWriter, r *http.Request, asJSON bool, body []byte) {
	sum := sha256.Sum256(body)
	etag := `"` + hex.EncodeToString(sum[:16]) + `"`
	h := w.Header()
	h.Set("ETag", etag)
	h.Set("Cache-Control", fmt.Sprintf("max-age=%d, public", int(s.cfg.maxAge.Seconds())))
	h.Add("Vary", "Accept")
	if asJSON {
		h.Set("Content-Type", MediaJSON)
	} else {
		h.Set("Content-Type", MediaHTML)
	}
	if inm := r.Header.Get("If-None-Match"); inm != "" && strings.Contains(inm, etag) {
		w.WriteHeader(http.StatusNotModified)
		return
	}
	h.Set("Content-Length", fmt.Sprint(len(body)))
	if r.Method == http.MethodHead {
		return
	}
	w.Write(body)
}

func (s *Server) serveFile(w http.ResponseWriter, r *http.Request, name string) {
	if base, ok := strings.CutSuffix(name, ".metadata"); ok {
		a := s.byFile[base]
		if a == nil || a.Metadata == nil || s.cfg.noMetadata || !strings.HasSuffix(base, ".whl") {
			http.NotFound(w, r)
			return
		}
		w.Header().Set("Content-Type", "application/octet-stream")
		http.ServeContent(w, r, "", a.UploadTime, bytes.NewReader(a.Metadata))
		return
	}
	a := s.byFile[name]
	if a == nil {
		http.NotFound(w, r)
		return
	}
	f, err := os.Open(filepath.Join(s.dir, name))
	if err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	defer f.Close()
	w.Header().Set("Content-Type", "application/octet-stream")
	w.Header().Set("ETag", `"`+a.SHA256+`"`)
	w.Header().Set("Cache-Control", "max-age=31536000, immutable")
	http.ServeContent(w, r, "", a.UploadTime, f)
}

// Start serves dir on 127.0.0.1 at a free port until the test ends.
func Start(t testing, dir string, opts ...Option) *Server {
	t.Helper()
	s, err := New(dir, opts...)
	if err != nil {
		t.Fatalf("pyindex: %v", err)
	}
	stop, err := s.Listen("127.0.0.1:0")
	if err != nil {
		t.Fatalf("pyindex: %v", err)
	}
	t.Cleanup(stop)
	return s
}

// testing is the part of testing.TB that Start uses, so this package does not
// import "testing" into non-test binaries.
type testing interface {
	Helper()
	Fatalf(format string, args ...any)
	Cleanup(func())
}
