// Package index is a client for Python package indexes: the PEP 691 JSON
// simple API with a PEP 503 HTML fallback, core metadata from PEP 658/714
// .metadata files, else HTTP range reads of a wheel's zip directory, else a
// full download, and hash-verified downloads. It keeps an HTTP cache on disk
// that honours Cache-Control and ETag, can run offline from that cache, and
// prefetches pages and metadata in parallel so a resolver rarely waits.
//
// It does not choose versions: it lists what an index offers and reads
// metadata. Version ordering, tag compatibility and resolution live
// elsewhere.
//
// Several indexes: the FIRST index (in the order given) that has a project
// serves every file of that project; later indexes are never consulted for
// it. This is deliberate: merging files across indexes lets anyone who
// registers a private project's name on a public index inject code into
// builds (dependency confusion). A project can also be pinned to one index
// by name, and then only that index is asked.
package index

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/seshat-dev/seshat/advise/wheel"
)

// IndexURL names one index. URL is the simple API root, e.g.
// "https://pypi.org/simple"; it may carry credentials as userinfo.
type IndexURL struct {
	Name string
	URL  string
}

// File is one artifact a project page lists.
type File struct {
	Filename string
	// URL is absolute, without credentials.
	URL string
	// Hashes maps algorithm ("sha256", …) to lower-case hex digest.
	Hashes         map[string]string
	RequiresPython string
	Yanked         bool
	YankedReason   string
	// Size in bytes, 0 when the index did not say (PEP 503 HTML).
	Size int64
	// UploadTime is zero when the index did not say.
	UploadTime time.Time
	// CoreMetadata is true when the index serves URL+".metadata" (PEP 658/714);
	// CoreMetadataHashes are its hashes, possibly empty.
	CoreMetadata       bool
	CoreMetadataHashes map[string]string
	// Index is the Name of the index the file came from.
	Index string
	// Project is the PEP 503 normalized name of the project.
	Project string
}

// IsWheel reports whether the file is a wheel (else an sdist).
func (f File) IsWheel() bool { return strings.HasSuffix(f.Filename, ".whl") }

// Errors callers can test with errors.Is.
var (
	// ErrNotFound: no index (that may serve the project) has it.
	ErrNotFound = errors.New("project not found")
	// ErrOffline: the answer is not in the cache and the client is offline.
	ErrOffline = errors.New("not in the cache and --offline is set")
	// ErrHashMismatch: an artifact's bytes differ from the index's hash.
	ErrHashMismatch = errors.New("hash mismatch")
	// ErrNeedsBuild: an sdist whose metadata is only known after a build.
	ErrNeedsBuild = errors.New("needs a build backend; seshat does not run one")
)

// Stats counts the client's work since it was created.
type Stats struct {
	Requests      int64 // HTTP requests sent
	NotModified   int64 // 304 answers to revalidations
	CacheHits     int64 // answers served from the disk cache without a request
	RangeRequests int64 // HTTP range requests (wheel zip reads)
	Retries       int64 // requests repeated after a timeout, 5xx or 429
	BytesReceived int64 // response body bytes read from the network
}

// Option configures a Client.
type Option func(*Client) error

// WithCacheDir puts the HTTP cache in dir (default $XDG_CACHE_HOME/seshat/http).
// An empty dir disables the disk cache.
func WithCacheDir(dir string) Option { return func(c *Client) error { c.cacheDir = dir; return nil } }

// WithOffline answers only from the cache; a miss is an ErrOffline error.
func WithOffline() Option { return func(c *Client) error { c.offline = true; return nil } }

// WithRefresh ignores cached freshness: every page is revalidated.
func WithRefresh() Option { return func(c *Client) error { c.refresh = true; return nil } }

// WithHTTPClient sets the HTTP client (default: 10s to connect, 30s to the
// first byte of an answer, connections kept for reuse, proxies from the
// environment).
func WithHTTPClient(h *http.Client) Option { return func(c *Client) error { c.http = h; return nil } }

// WithNetrc reads credentials from the netrc file at path instead of
// $NETRC or ~/.netrc. An empty path disables netrc.
func WithNetrc(path string) Option {
	return func(c *Client) error { c.netrcPath, c.netrcSet = path, true; return nil }
}

// WithRetries sets how many times a request is tried in all (default 4) and
// the first backoff delay (default 200ms, doubled each time).
func WithRetries(attempts int, backoff time.Duration) Option {
	return func(c *Client) error {
		if attempts < 1 {
			return fmt.Errorf("index: retries: attempts must be at least 1, got %d", attempts)
		}
		c.attempts, c.backoff = attempts, backoff
		return nil
	}
}

// WithPin serves project only from the index named indexName.
func WithPin(project, indexName string) Option {
	return func(c *Client) error { c.pins[wheel.Normalize(project)] = indexName; return nil }
}

// WithConcurrency bounds the parallel requests of Prefetch (default 8).
func WithConcurrency(n int) Option {
	return func(c *Client) error {
		if n < 1 {
			return fmt.Errorf("index: concurrency must be at least 1, got %d", n)
		}
		c.workers = n
		return nil
	}
}

type index struct {
	name string
	base *url.URL // without userinfo, no trailing slash
	user *url.Userinfo
}

// Client talks to one or more indexes. It is safe for concurrent use.
type Client struct {
	indexes   []index
	pins      map[string]string
	http      *http.Client
	cacheDir  string
	offline   bool
	refresh   bool
	netrcPath string
	netrcSet  bool
	netrc     []netrcEntry
	attempts  int
	backoff   time.Duration
	workers   int

	projects memo[[]File]
	metadata memo[[]byte]

	requests, notModified, cacheHits, rangeRequests, retries, bytesReceived atomic.Int64
}

// New makes a client for the indexes in order of precedence.
func New(urls []IndexURL, opts ...Option) (*Client, error) {
	if len(urls) == 0 {
		return nil, errors.New("index: no index URL given")
	}
	c := &Client{pins: map[string]string{}, attempts: 4, backoff: 200 * time.Millisecond, workers: 8, http: defaultHTTP()}
	if d, err := os.UserCacheDir(); err == nil {
		c.cacheDir = filepath.Join(d, "seshat", "http")
	}
	seen := map[string]bool{}
	for i, u := range urls {
		p, err := url.Parse(strings.TrimRight(u.URL, "/"))
		if err != nil || (p.Scheme != "http" && p.Scheme != "https") || p.Host == "" {
			return nil, fmt.Errorf("index %q: %q is not an http(s) URL", u.Name, u.URL)
		}
		name := u.Name
		if name == "" {
			name = fmt.Sprintf("index-%d", i)
		}
		if seen[name] {
			return nil, fmt.Errorf("index: two indexes named %q", name)
		}
		seen[name] = true
		ix := index{name: name, user: p.User}
		p.User = nil
		ix.base = p
		c.indexes = append(c.indexes, ix)
	}
	for _, o := range opts {
		if err := o(c); err != nil {
			return nil, err
		}
	}
	for project, name := range c.pins {
		if !seen[name] {
			return nil, fmt.Errorf("index: %s is pinned to index %q, but no index has that name (have %s)", project, name, strings.Join(c.IndexNames(), ", "))
		}
	}
	if err := c.loadNetrc(); err != nil {
		return nil, err
	}
	return c, nil
}

// defaultHTTP bounds connecting and waiting for an answer but not reading a
// body, so a large wheel downloads however long it takes; the context
// cancels it. Idle connections are kept for every prefetch worker, so
// parallel requests reuse them instead of reconnecting.
func defaultHTTP() *http.Client {
	return &http.Client{Transport: &http.Transport{
		Proxy:                 http.ProxyFromEnvironment,
		DialContext:           (&net.Dialer{Timeout: 10 * time.Second, KeepAlive: 30 * time.Second}).DialContext,
		TLSHandshakeTimeout:   10 * time.Second,
		ResponseHeaderTimeout: 30 * time.Second,
		IdleConnTimeout:       90 * time.Second,
		MaxIdleConnsPerHost:   32,
		ForceAttemptHTTP2:     true,
	}}
}

// IndexNames lists the index names in order of precedence.
func (c *Client) IndexNames() []string {
	var out []string
	for _, ix := range c.indexes {
		out = append(out, ix.name)
	}
	return out
}

// Stats returns the counters so far.
func (c *Client) Stats() Stats {
	return Stats{Requests: c.requests.Load(), NotModified: c.notModified.Load(), CacheHits: c.cacheHits.Load(),
		RangeRequests: c.rangeRequests.Load(), Retries: c.retries.Load(), BytesReceived: c.bytesReceived.Load()}
}

// Project lists the files of project from the first index that has it (or
// from the index it is pinned to). Yanked files are included, marked.
func (c *Client) Project(ctx context.Context, name string) ([]File, error) {
	norm := wheel.Normalize(name)
	files, err := c.projects.do(norm, func() ([]File, error) { return c.project(ctx, norm) })
	// A copy: callers may sort or filter it without racing each other.
	return slices.Clone(files), err
}

func (c *Client) project(ctx context.Context, name string) ([]File, error) {
	candidates := c.indexes
	if pin, ok := c.pins[name]; ok {
		for _, ix := range c.indexes {
			if ix.name == pin {
				candidates = []index{ix}
			}
		}
	}
	for _, ix := range candidates {
		files, err := c.projectPage(ctx, ix, name)
		if errors.Is(err, errPageNotFound) {
			continue
		}
		if err != nil {
			return nil, err
		}
		return files, nil
	}
	var names []string
	for _, ix := range candidates {
		names = append(names, ix.name+" ("+ix.base.String()+")")
	}
	return nil, fmt.Errorf("%s: %w on %s", name, ErrNotFound, strings.Join(names, ", "))
}

// memo runs each key's function once, sharing the result among concurrent
// and later callers. Failures are not kept, so a later call retries.
type memo[T any] struct {
	mu sync.Mutex
	m  map[string]*call[T]
}

type call[T any] struct {
	done chan struct{}
	val  T
	err  error
}

func (m *memo[T]) do(key string, f func() (T, error)) (T, error) {
	m.mu.Lock()
	if m.m == nil {
		m.m = map[string]*call[T]{}
	}
	if c, ok := m.m[key]; ok {
		m.mu.Unlock()
		<-c.done
		return c.val, c.err
	}
	c := &call[T]{done: make(chan struct{})}
	m.m[key] = c
	m.mu.Unlock()
	c.val, c.err = f()
	if c.err != nil {
		m.mu.Lock()
		delete(m.m, key)
		m.mu.Unlock()
	}
	close(c.done)
	return c.val, c.err
}
