package index

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"hash"
	"io"
	"net/http"
	"os"
	"strconv"
	"strings"
	"sync"

	"github.com/seshat-dev/seshat/advise/wheel"
)

// Metadata returns the core metadata (METADATA / PKG-INFO text) of f: from the
// disk cache, else its PEP 658 .metadata file (hash-verified), else range
// reads of the wheel's zip directory, else a full download. An sdist gives
// its PKG-INFO only when that is static (Metadata-Version 2.2 or later and
// Requires-Dist not Dynamic); otherwise the error wraps ErrNeedsBuild.
func (c *Client) Metadata(ctx context.Context, f File) ([]byte, error) {
	key := metadataKey(f)
	return c.metadata.do(key, func() ([]byte, error) {
		if b, ok := c.readBlob("metadata", key); ok {
			c.cacheHits.Add(1)
			return b, nil
		}
		if c.offline {
			return nil, fmt.Errorf("metadata of %s: %w (run once online to fill the cache)", f.Filename, ErrOffline)
		}
		b, err := c.fetchMetadata(ctx, f)
		if err != nil {
			return nil, err
		}
		c.writeBlob("metadata", key, b)
		return b, nil
	})
}

// metadataKey names the metadata by the artifact's hash when the index gave
// one, so a mirror serving the same file shares the entry.
func metadataKey(f File) string {
	if h := f.Hashes["sha256"]; len(h) == 64 {
		return "sha256-" + h
	}
	return "url-" + cacheKey(f.URL)
}

func (c *Client) fetchMetadata(ctx context.Context, f File) ([]byte, error) {
	b, err := c.fetchMetadataBytes(ctx, f)
	if err != nil {
		return nil, err
	}
	if name := header(b, "Name"); f.Project != "" && wheel.Normalize(name) != f.Project {
		return nil, fmt.Errorf("metadata of %s (%s) is for project %q, not %s: the index serves a mislabelled file", f.Filename, f.URL, name, f.Project)
	}
	if !f.IsWheel() {
		// An sdist's metadata counts only when static, wherever it came
		// from (PEP 643 lets an index serve it as a .metadata file too).
		if err := staticSdist(f, b); err != nil {
			return nil, err
		}
	}
	return b, nil
}

func (c *Client) fetchMetadataBytes(ctx context.Context, f File) ([]byte, error) {
	if f.CoreMetadata {
		b, err := c.coreMetadataFile(ctx, f)
		if err == nil || !errors.Is(err, errPageNotFound) {
			return b, err
		}
	}
	if !f.IsWheel() {
		return c.sdistMetadata(ctx, f)
	}
	ra := &rangeReader{c: c, ctx: ctx, url: f.URL, size: f.Size}
	if err := ra.init(); err != nil {
		return nil, fmt.Errorf("metadata of %s: %w", f.Filename, err)
	}
	b, err := wheel.Metadata(ra, ra.size, f.Project)
	if err != nil {
		return nil, fmt.Errorf("metadata of %s (%s): %w", f.Filename, f.URL, err)
	}
	if ra.full != nil {
		// The server sent the whole file: we can check it against the index.
		if err := verify(f, ra.full); err != nil {
			return nil, err
		}
	}
	return b, nil
}

func (c *Client) coreMetadataFile(ctx context.Context, f File) ([]byte, error) {
	u := f.URL + ".metadata"
	resp, err := c.send(ctx, http.MethodGet, u, nil)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	if resp.StatusCode == http.StatusNotFound {
		return nil, errPageNotFound
	}
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("GET %s: unexpected %s", u, resp.Status)
	}
	b, err := io.ReadAll(io.LimitReader(resp.Body, wheel.MaxMetadataSize))
	if err != nil {
		return nil, fmt.Errorf("GET %s: %w", u, err)
	}
	for alg, want := range f.CoreMetadataHashes {
		if alg != "sha256" {
			continue
		}
		sum := sha256.Sum256(b)
		if got := hex.EncodeToString(sum[:]); got != want {
			return nil, &HashError{File: f.Filename + ".metadata", URL: u, Want: want, Got: got}
		}
	}
	return b, nil
}

// HashError reports bytes that differ from what the index promised. It
// matches ErrHashMismatch with errors.Is.
type HashError struct {
	File, URL string
	Want, Got string // sha256, hex
}

func (e *HashError) Error() string {
	return fmt.Sprintf("%s from %s: sha256 is %s but the index says %s: refusing it (the file changed after it was indexed, or something between you and the index altered it)", e.File, e.URL, e.Got, e.Want)
}

func (e *HashError) Is(target error) bool { return target == ErrHashMismatch }

func verify(f File, b []byte) error {
	want := f.Hashes["sha256"]
	if want == "" {
		return nil
	}
	sum := sha256.Sum256(b)
	if got := hex.EncodeToString(sum[:]); got != want {
		return &HashError{File: f.Filename, URL: f.URL, Want: want, Got: got}
	}
	return nil
}

// sdistMetadata downloads an sdist and takes its PKG-INFO when static.
func (c *Client) sdistMetadata(ctx context.Context, f File) ([]byte, error) {
	if !strings.HasSuffix(f.Filename, ".tar.gz") {
		return nil, fmt.Errorf("%s (%s): only .tar.gz sdists are read: %w", f.Project, f.Filename, ErrNeedsBuild)
	}
	var buf bytes.Buffer
	if err := c.Download(ctx, f, &buf); err != nil {
		return nil, err
	}
	pkgInfo, err := sdistPKGInfo(buf.Bytes())
	if err != nil {
		return nil, fmt.Errorf("sdist %s: %w", f.Filename, err)
	}
	return pkgInfo, nil
}

// staticSdist accepts an sdist's PKG-INFO only when its requirements are
// final: Metadata-Version 2.2 or later (PEP 643) and neither Requires-Dist
// nor Requires-Python marked Dynamic.
func staticSdist(f File, pkgInfo []byte) error {
	version := header(pkgInfo, "Metadata-Version")
	if !atLeast22(version) {
		return fmt.Errorf("%s (%s): PKG-INFO has Metadata-Version %q, before 2.2 its requirements may be incomplete: %w", f.Project, f.Filename, version, ErrNeedsBuild)
	}
	for _, d := range headers(pkgInfo, "Dynamic") {
		if strings.EqualFold(d, "Requires-Dist") || strings.EqualFold(d, "Requires-Python") {
			return fmt.Errorf("%s (%s): PKG-INFO marks %s as dynamic: %w", f.Project, f.Filename, d, ErrNeedsBuild)
		}
	}
	return nil
}

func atLeast22(v string) bool {
	maj, min, _ := strings.Cut(v, ".")
	a, err1 := strconv.Atoi(maj)
	b, err2 := strconv.Atoi(min)
	return err1 == nil && err2 == nil && (a > 2 || (a == 2 && b >= 2))
}

func sdistPKGInfo(b []byte) ([]byte, error) {
	gz, err := gzip.NewReader(bytes.NewReader(b))
	if err != nil {
		return nil, err
	}
	tr := tar.NewReader(gz)
	for {
		h, err := tr.Next()
		if err == io.EOF {
			return nil, errors.New("no top-level PKG-INFO")
		}
		if err != nil {
			return nil, err
		}
		if parts := strings.Split(strings.TrimPrefix(h.Name, "./"), "/"); len(parts) == 2 && parts[1] == "PKG-INFO" {
			return io.ReadAll(io.LimitReader(tr, wheel.MaxMetadataSize))
		}
	}
}

// header and headers read RFC 822 style metadata headers (before the body).
func header(meta []byte, key string) string {
	if v := headers(meta, key); len(v) > 0 {
		return v[0]
	}
	return ""
}

func headers(meta []byte, key string) []string {
	var out []string
	for _, line := range strings.Split(string(meta), "\n") {
		line = strings.TrimRight(line, "\r")
		if line == "" {
			break
		}
		if k, v, ok := strings.Cut(line, ":"); ok && strings.EqualFold(k, key) {
			out = append(out, strings.TrimSpace(v))
		}
	}
	return out
}

// Download writes f's bytes to w after checking them against the index's
// sha256; on a mismatch nothing is written and the error is a *HashError.
func (c *Client) Download(ctx context.Context, f File, w io.Writer) error {
	resp, err := c.send(ctx, http.MethodGet, f.URL, nil)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("GET %s: unexpected %s", f.URL, resp.Status)
	}
	// Spool to a temp file: nothing reaches w until the hash is known good.
	tmp, err := os.CreateTemp("", "seshat-download-*")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name())
	defer tmp.Close()
	var h hash.Hash = sha256.New()
	if _, err := io.Copy(io.MultiWriter(tmp, h), resp.Body); err != nil {
		return fmt.Errorf("GET %s: %w", f.URL, err)
	}
	if want := f.Hashes["sha256"]; want != "" {
		if got := hex.EncodeToString(h.Sum(nil)); got != want {
			return &HashError{File: f.Filename, URL: f.URL, Want: want, Got: got}
		}
	}
	if _, err := tmp.Seek(0, io.SeekStart); err != nil {
		return err
	}
	_, err = io.Copy(w, tmp)
	return err
}

// rangeReader is an io.ReaderAt over a remote file, read with HTTP range
// requests whose answers are kept, so the zip reader's many small reads of
// the end record, central directory and one entry cost two or three requests.
type rangeReader struct {
	c    *Client
	ctx  context.Context
	url  string
	size int64

	mu    sync.Mutex
	spans []span
	full  []byte // set when the server ignored Range and sent everything
}

type span struct {
	off int64
	b   []byte
}

const blockSize = 64 << 10

// init reads the file's last 64 KiB, which learns the size when the index
// did not give it and holds the zip directory of most wheels.
func (r *rangeReader) init() error {
	n := int64(blockSize)
	if r.size > 0 {
		n = min(n, r.size)
	}
	return r.fetch(fmt.Sprintf("bytes=-%d", n))
}

func (r *rangeReader) fetch(rng string) error {
	r.c.rangeRequests.Add(1)
	resp, err := r.c.send(r.ctx, http.MethodGet, r.url, http.Header{"Range": {rng}})
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	switch resp.StatusCode {
	case http.StatusOK:
		b, err := io.ReadAll(resp.Body)
		if err != nil {
			return fmt.Errorf("GET %s: %w", r.url, err)
		}
		r.full, r.size = b, int64(len(b))
		return nil
	case http.StatusPartialContent:
	default:
		return fmt.Errorf("GET %s (Range %s): unexpected %s", r.url, rng, resp.Status)
	}
	var first, last, total int64
	if _, err := fmt.Sscanf(resp.Header.Get("Content-Range"), "bytes %d-%d/%d", &first, &last, &total); err != nil {
		return fmt.Errorf("GET %s (Range %s): bad Content-Range %q", r.url, rng, resp.Header.Get("Content-Range"))
	}
	b, err := io.ReadAll(io.LimitReader(resp.Body, last-first+1))
	if err != nil || int64(len(b)) != last-first+1 {
		return fmt.Errorf("GET %s (Range %s): short body (%d bytes, want %d): %v", r.url, rng, len(b), last-first+1, err)
	}
	r.size = total
	r.spans = append(r.spans, span{first, b})
	return nil
}

func (r *rangeReader) ReadAt(p []byte, off int64) (int, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if off < 0 {
		return 0, fmt.Errorf("range read of %s: negative offset", r.url)
	}
	if r.full == nil && off < r.size && r.covering(off, min(int64(len(p)), r.size-off)) == nil {
		// Read whole 64 KiB blocks around the request: the zip reader
		// reads a header and then the data right after it.
		from := off / blockSize * blockSize
		to := min((off+int64(len(p))+blockSize-1)/blockSize*blockSize, r.size)
		if err := r.fetch(fmt.Sprintf("bytes=%d-%d", from, to-1)); err != nil {
			return 0, err
		}
	}
	src := r.full
	base := int64(0)
	if src == nil {
		if off >= r.size {
			return 0, io.EOF
		}
		s := r.covering(off, min(int64(len(p)), r.size-off))
		if s == nil {
			return 0, fmt.Errorf("range read of %s at %d: server sent less than asked", r.url, off)
		}
		src, base = s.b, s.off
	}
	if off-base >= int64(len(src)) {
		return 0, io.EOF
	}
	n := copy(p, src[off-base:])
	if n < len(p) {
		return n, io.EOF
	}
	return n, nil
}

// covering finds a kept span holding [off, off+n).
func (r *rangeReader) covering(off, n int64) *span {
	for i := range r.spans {
		s := &r.spans[i]
		if off >= s.off && off+n <= s.off+int64(len(s.b)) {
			return s
		}
	}
	return nil
}
