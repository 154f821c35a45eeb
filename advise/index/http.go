package index

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"
)

// send issues one request with credentials, retrying network errors, 5xx
// and 429 with exponential backoff. The caller closes the body.
func (c *Client) send(ctx context.Context, method, rawURL string, hdr http.Header) (*http.Response, error) {
	if c.offline {
		return nil, fmt.Errorf("%s %s: %w", method, rawURL, ErrOffline)
	}
	delay := c.backoff
	var last error
	for attempt := 1; attempt <= c.attempts; attempt++ {
		wait := delay
		req, err := http.NewRequestWithContext(ctx, method, rawURL, nil)
		if err != nil {
			return nil, fmt.Errorf("%s %s: %w", method, rawURL, err)
		}
		for k, v := range hdr {
			req.Header[k] = v
		}
		req.Header.Set("User-Agent", "seshat")
		if user, pass, ok := c.credentials(req.URL); ok {
			req.SetBasicAuth(user, pass)
		}
		c.requests.Add(1)
		resp, err := c.http.Do(req)
		switch {
		case err != nil:
			if ctx.Err() != nil {
				return nil, fmt.Errorf("%s %s: %w", method, rawURL, ctx.Err())
			}
			last = err
		case resp.StatusCode >= 500 || resp.StatusCode == http.StatusTooManyRequests:
			last = fmt.Errorf("server answered %s", resp.Status)
			if s, err := strconv.Atoi(resp.Header.Get("Retry-After")); err == nil && s > 0 {
				wait = max(wait, min(time.Duration(s)*time.Second, 30*time.Second))
			}
			io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
			resp.Body.Close()
		default:
			resp.Body = &counted{resp.Body, c}
			return resp, nil
		}
		if attempt == c.attempts {
			break
		}
		c.retries.Add(1)
		select {
		case <-time.After(wait):
		case <-ctx.Done():
			return nil, fmt.Errorf("%s %s: %w", method, rawURL, ctx.Err())
		}
		delay *= 2
	}
	return nil, fmt.Errorf("%s %s: gave up after %d attempts: %w (check the index URL and that the index is up)", method, rawURL, c.attempts, last)
}

type counted struct {
	io.ReadCloser
	c *Client
}

func (r *counted) Read(p []byte) (int, error) {
	n, err := r.ReadCloser.Read(p)
	r.c.bytesReceived.Add(int64(n))
	return n, err
}

// credentials finds basic-auth credentials for u: an index's URL userinfo on
// the same host first, then netrc.
func (c *Client) credentials(u *url.URL) (string, string, bool) {
	for _, ix := range c.indexes {
		if ix.user != nil && ix.base.Host == u.Host {
			p, _ := ix.user.Password()
			return ix.user.Username(), p, true
		}
	}
	return c.netrcLookup(u.Hostname())
}

// page is a cached or fresh GET answer.
type page struct {
	Status       int       `json:"status"`
	URL          string    `json:"url"` // after redirects, to resolve relative links
	ContentType  string    `json:"contentType"`
	ETag         string    `json:"etag,omitempty"`
	LastModified string    `json:"lastModified,omitempty"`
	CacheControl string    `json:"cacheControl,omitempty"`
	Stored       time.Time `json:"stored"`
	body         []byte
}

var errPageNotFound = errors.New("404 not found")

// maxPage bounds a project page; PyPI's largest are a few tens of megabytes.
const maxPage = 256 << 20

// getPage GETs an index page through the disk cache.
func (c *Client) getPage(ctx context.Context, rawURL, accept string) (*page, error) {
	key := cacheKey(rawURL + "\x00" + accept)
	cached := c.readPage(key)
	if cached != nil && (c.offline || (!c.refresh && cached.fresh())) {
		c.cacheHits.Add(1)
		if cached.Status == http.StatusNotFound {
			return nil, errPageNotFound
		}
		return cached, nil
	}
	if c.offline {
		return nil, fmt.Errorf("GET %s: %w (run once online to fill the cache)", rawURL, ErrOffline)
	}
	hdr := http.Header{"Accept": {accept}}
	if cached != nil {
		if cached.ETag != "" {
			hdr.Set("If-None-Match", cached.ETag)
		}
		if cached.LastModified != "" {
			hdr.Set("If-Modified-Since", cached.LastModified)
		}
	}
	resp, err := c.send(ctx, http.MethodGet, rawURL, hdr)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	switch {
	case resp.StatusCode == http.StatusNotModified && cached != nil && cached.Status == http.StatusOK:
		c.notModified.Add(1)
		cached.Stored = time.Now()
		if cc := resp.Header.Get("Cache-Control"); cc != "" {
			cached.CacheControl = cc
		}
		c.writePage(key, cached)
		return cached, nil
	case resp.StatusCode == http.StatusNotFound:
		// Kept so that offline runs know which index lacks a project, and so
		// the first-index-wins order still holds without the network.
		c.writePage(key, &page{Status: resp.StatusCode, URL: rawURL, CacheControl: resp.Header.Get("Cache-Control"), Stored: time.Now()})
		return nil, errPageNotFound
	case resp.StatusCode == http.StatusUnauthorized || resp.StatusCode == http.StatusForbidden:
		return nil, fmt.Errorf("GET %s: %s: give credentials in the index URL (https://user:token@host/…) or in ~/.netrc", rawURL, resp.Status)
	case resp.StatusCode != http.StatusOK:
		return nil, fmt.Errorf("GET %s: unexpected %s", rawURL, resp.Status)
	}
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxPage))
	if err != nil {
		return nil, fmt.Errorf("GET %s: reading body: %w", rawURL, err)
	}
	p := &page{Status: resp.StatusCode, URL: resp.Request.URL.String(), ContentType: resp.Header.Get("Content-Type"),
		ETag: resp.Header.Get("ETag"), LastModified: resp.Header.Get("Last-Modified"),
		CacheControl: resp.Header.Get("Cache-Control"), Stored: time.Now(), body: body}
	c.writePage(key, p)
	return p, nil
}

func (p *page) fresh() bool {
	maxAge := -1
	for _, d := range strings.Split(strings.ToLower(p.CacheControl), ",") {
		d = strings.TrimSpace(d)
		switch {
		case d == "no-cache" || d == "no-store":
			return false
		case strings.HasPrefix(d, "max-age="):
			maxAge, _ = strconv.Atoi(strings.TrimPrefix(d, "max-age="))
		}
	}
	return maxAge > 0 && time.Since(p.Stored) < time.Duration(maxAge)*time.Second
}

func cacheKey(s string) string {
	sum := sha256.Sum256([]byte(s))
	return hex.EncodeToString(sum[:])
}

func (c *Client) readPage(key string) *page {
	if c.cacheDir == "" {
		return nil
	}
	dir := filepath.Join(c.cacheDir, "pages", key[:2])
	meta, err := os.ReadFile(filepath.Join(dir, key+".json"))
	if err != nil {
		return nil
	}
	var p page
	if json.Unmarshal(meta, &p) != nil {
		return nil
	}
	if p.body, err = os.ReadFile(filepath.Join(dir, key+".body")); err != nil {
		return nil
	}
	return &p
}

func (c *Client) writePage(key string, p *page) {
	if c.cacheDir == "" || strings.Contains(strings.ToLower(p.CacheControl), "no-store") {
		return
	}
	dir := filepath.Join(c.cacheDir, "pages", key[:2])
	meta, _ := json.Marshal(p)
	// Body first: a reader that finds the .json finds a complete body.
	if writeAtomic(dir, key+".body", p.body) == nil {
		writeAtomic(dir, key+".json", meta)
	}
}

// readBlob and writeBlob keep immutable things (core metadata) by key.
func (c *Client) readBlob(kind, key string) ([]byte, bool) {
	if c.cacheDir == "" {
		return nil, false
	}
	b, err := os.ReadFile(filepath.Join(c.cacheDir, kind, key[:2], key))
	return b, err == nil
}

func (c *Client) writeBlob(kind, key string, b []byte) {
	if c.cacheDir != "" {
		writeAtomic(filepath.Join(c.cacheDir, kind, key[:2]), key, b)
	}
}

// writeAtomic writes via a temp file and rename, so concurrent clients
// sharing a cache never see half a file. Cache write failures only cost a
// later request, so callers may ignore them.
func writeAtomic(dir, name string, b []byte) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	f, err := os.CreateTemp(dir, ".tmp-*")
	if err != nil {
		return err
	}
	if _, err := f.Write(b); err != nil {
		f.Close()
		os.Remove(f.Name())
		return err
	}
	if err := f.Close(); err != nil {
		os.Remove(f.Name())
		return err
	}
	return os.Rename(f.Name(), filepath.Join(dir, name))
}
