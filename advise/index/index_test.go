package index_test

import (
	"archive/tar"
	"archive/zip"
	"bytes"
	"compress/gzip"
	"context"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/seshat-dev/seshat/advise/index"
	"github.com/seshat-dev/seshat/advise/wheel"
	"github.com/seshat-dev/seshat/internal/fixtures"
	"github.com/seshat-dev/seshat/internal/pyindex"
)

var ctx = context.Background()

func corpus(t testing.TB) string { return fixtures.Path(t, "wheels") }

// newClient makes a client with a private cache and no netrc of the machine.
func newClient(t testing.TB, urls []index.IndexURL, opts ...index.Option) *index.Client {
	t.Helper()
	base := []index.Option{index.WithCacheDir(t.TempDir()), index.WithNetrc(""), index.WithRetries(2, 10*time.Millisecond)}
	c, err := index.New(urls, append(base, opts...)...)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func one(url string) []index.IndexURL { return []index.IndexURL{{Name: "local", URL: url + "/simple"}} }

// copyWheels copies named files of the corpus into a fresh directory.
func copyWheels(t *testing.T, names ...string) string {
	t.Helper()
	dir := t.TempDir()
	for _, n := range names {
		b, err := os.ReadFile(filepath.Join(corpus(t), n))
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, n), b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

func TestJSONAndHTMLGiveTheSameFiles(t *testing.T) {
	js := pyindex.Start(t, corpus(t))
	ht := pyindex.Start(t, corpus(t), pyindex.WithHTMLOnly())
	cj, ch := newClient(t, one(js.URL)), newClient(t, one(ht.URL))
	for _, p := range []string{"flask", "pydantic-core", "MarkupSafe", "typing_extensions", "pip"} {
		fj, err := cj.Project(ctx, p)
		if err != nil {
			t.Fatal(err)
		}
		fh, err := ch.Project(ctx, p)
		if err != nil {
			t.Fatal(err)
		}
		if len(fj) == 0 || len(fj) != len(fh) {
			t.Fatalf("%s: JSON gave %d files, HTML %d", p, len(fj), len(fh))
		}
		for i := range fj {
			a, b := fj[i], fh[i]
			a.URL = strings.Replace(a.URL, js.URL, "", 1)
			b.URL = strings.Replace(b.URL, ht.URL, "", 1)
			if a.Filename != b.Filename || a.URL != b.URL || a.Hashes["sha256"] != b.Hashes["sha256"] ||
				a.RequiresPython != b.RequiresPython || a.CoreMetadata != b.CoreMetadata ||
				a.CoreMetadataHashes["sha256"] != b.CoreMetadataHashes["sha256"] || a.Project != wheel.Normalize(p) {
				t.Errorf("%s file %d differs:\n JSON %+v\n HTML %+v", p, i, a, b)
			}
			if a.Size == 0 || a.UploadTime.IsZero() {
				t.Errorf("%s: JSON lacks size or upload-time: %+v", a.Filename, a)
			}
		}
	}
	if got := js.Requests()[0].Accept; !strings.HasPrefix(got, "application/vnd.pypi.simple.v1+json") {
		t.Errorf("client sent Accept %q", got)
	}
}

func find(t *testing.T, files []index.File, name string) index.File {
	t.Helper()
	for _, f := range files {
		if f.Filename == name {
			return f
		}
	}
	t.Fatalf("%s not listed", name)
	return index.File{}
}

func TestMetadataFromPEP658File(t *testing.T) {
	s := pyindex.Start(t, corpus(t))
	c := newClient(t, one(s.URL))
	files, err := c.Project(ctx, "flask")
	if err != nil {
		t.Fatal(err)
	}
	s.ResetRequests()
	meta, err := c.Metadata(ctx, find(t, files, "flask-3.1.1-py3-none-any.whl"))
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Contains(meta, []byte("Requires-Dist: werkzeug>=3.1.0")) {
		t.Fatalf("metadata lacks flask's werkzeug requirement:\n%s", meta)
	}
	reqs := s.Requests()
	if len(reqs) != 1 || !strings.HasSuffix(reqs[0].Path, ".whl.metadata") {
		t.Fatalf("requests = %+v, want one .metadata GET", reqs)
	}
}

// Without PEP 658, metadata comes from range reads: the log must show only
// ranged GETs of the wheel, adding up to a small part of it.
func TestMetadataByRangeReads(t *testing.T) {
	for _, mode := range []struct {
		name string
		opts []pyindex.Option
	}{{"json", []pyindex.Option{pyindex.WithoutMetadata()}}, {"html-no-size", []pyindex.Option{pyindex.WithoutMetadata(), pyindex.WithHTMLOnly()}}} {
		t.Run(mode.name, func(t *testing.T) {
			s := pyindex.Start(t, corpus(t), mode.opts...)
			c := newClient(t, one(s.URL))
			for _, fn := range []string{"pydantic_core-2.27.2-cp313-cp313-manylinux_2_38_x86_64.whl", "pygments-2.18.0-py3-none-any.whl"} {
				project, _ := wheel.ParseFilename(fn)
				files, err := c.Project(ctx, project.Project())
				if err != nil {
					t.Fatal(err)
				}
				f := find(t, files, fn)
				if f.CoreMetadata {
					t.Fatal("index advertises .metadata though it should not")
				}
				s.ResetRequests()
				meta, err := c.Metadata(ctx, f)
				if err != nil {
					t.Fatal(err)
				}
				local, _ := os.ReadFile(filepath.Join(corpus(t), fn))
				want, _ := wheel.Metadata(bytes.NewReader(local), int64(len(local)), project.Project())
				if !bytes.Equal(meta, want) {
					t.Fatalf("%s: metadata by range reads differs from the wheel's own", fn)
				}
				var sent int64
				for _, r := range s.Requests() {
					if r.Range == "" || r.Status != http.StatusPartialContent {
						t.Errorf("%s: request without range or not 206: %+v", fn, r)
					}
					sent += r.Bytes
				}
				if sent == 0 || sent > int64(len(local))/4 {
					t.Errorf("%s: %d of %d bytes sent for metadata", fn, sent, len(local))
				}
				t.Logf("%s: %d requests, %d of %d bytes", fn, len(s.Requests()), sent, len(local))
			}
		})
	}
}

func TestDownloadVerifiesHash(t *testing.T) {
	good, bad := "six-1.17.0-py3-none-any.whl", "idna-3.10-py3-none-any.whl"
	dir := copyWheels(t, good, bad)
	s := pyindex.Start(t, dir, pyindex.WithoutMetadata())
	// Fault injector: alter a file after the index hashed it, as a corrupted
	// mirror or a tampering proxy would.
	b, _ := os.ReadFile(filepath.Join(dir, bad))
	b[len(b)/2] ^= 0xff
	os.WriteFile(filepath.Join(dir, bad), b, 0o644)

	c := newClient(t, one(s.URL))
	files, _ := c.Project(ctx, "six")
	var buf bytes.Buffer
	if err := c.Download(ctx, find(t, files, good), &buf); err != nil {
		t.Fatal(err)
	}
	orig, _ := os.ReadFile(filepath.Join(dir, good))
	if !bytes.Equal(buf.Bytes(), orig) {
		t.Fatal("downloaded bytes differ")
	}
	files, _ = c.Project(ctx, "idna")
	buf.Reset()
	err := c.Download(ctx, find(t, files, bad), &buf)
	if !errors.Is(err, index.ErrHashMismatch) || !strings.Contains(err.Error(), bad) || buf.Len() != 0 {
		t.Fatalf("altered file: err = %v, %d bytes written", err, buf.Len())
	}
	t.Log(err)
}

func TestYanked(t *testing.T) {
	dir := copyWheels(t, "six-1.16.0-py3-none-any.whl", "six-1.17.0-py3-none-any.whl")
	os.WriteFile(filepath.Join(dir, "six-1.17.0-py3-none-any.whl.yanked"), []byte("breaks py2"), 0o644)
	os.WriteFile(filepath.Join(dir, "six-1.16.0-py3-none-any.whl.yanked"), nil, 0o644)
	for _, opts := range [][]pyindex.Option{nil, {pyindex.WithHTMLOnly()}} {
		s := pyindex.Start(t, dir, opts...)
		files, err := newClient(t, one(s.URL)).Project(ctx, "six")
		if err != nil {
			t.Fatal(err)
		}
		a, b := find(t, files, "six-1.16.0-py3-none-any.whl"), find(t, files, "six-1.17.0-py3-none-any.whl")
		if !a.Yanked || a.YankedReason != "" || !b.Yanked || b.YankedReason != "breaks py2" {
			t.Fatalf("yanked: %+v / %+v", a, b)
		}
	}
}

func TestAuth(t *testing.T) {
	s := pyindex.Start(t, corpus(t), pyindex.WithBasicAuth("alice", "s3cret"))
	withUser := strings.Replace(s.URL, "http://", "http://alice:s3cret@", 1)
	c := newClient(t, one(withUser))
	files, err := c.Project(ctx, "six")
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(files[0].URL, "s3cret") {
		t.Fatalf("file URL carries the password: %s", files[0].URL)
	}
	if _, err := c.Metadata(ctx, files[0]); err != nil {
		t.Fatalf("metadata with userinfo credentials: %v", err)
	}

	_, err = newClient(t, one(s.URL)).Project(ctx, "six")
	if err == nil || !strings.Contains(err.Error(), "401") || !strings.Contains(err.Error(), "netrc") {
		t.Fatalf("without credentials: %v", err)
	}

	netrc := filepath.Join(t.TempDir(), "netrc")
	os.WriteFile(netrc, []byte("# test\nmachine example.org login bob password nope\nmachine 127.0.0.1\n  login alice\n  password s3cret\n"), 0o600)
	if _, err := newClient(t, one(s.URL), index.WithNetrc(netrc)).Project(ctx, "six"); err != nil {
		t.Fatalf("netrc credentials: %v", err)
	}
	// $NETRC is read when no netrc option is given.
	t.Setenv("NETRC", netrc)
	c2, err := index.New(one(s.URL), index.WithCacheDir(t.TempDir()))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c2.Project(ctx, "six"); err != nil {
		t.Fatalf("$NETRC credentials: %v", err)
	}
}

func TestOfflineAfterWarmRun(t *testing.T) {
	srv, err := pyindex.New(corpus(t), pyindex.WithoutMetadata())
	if err != nil {
		t.Fatal(err)
	}
	stop, err := srv.Listen("127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	cache := t.TempDir()
	warm := newClient(t, one(srv.URL), index.WithCacheDir(cache))
	files, err := warm.Project(ctx, "rich")
	if err != nil {
		t.Fatal(err)
	}
	want, err := warm.Metadata(ctx, files[len(files)-1])
	if err != nil {
		t.Fatal(err)
	}
	stop()

	off := newClient(t, one(srv.URL), index.WithCacheDir(cache), index.WithOffline())
	files2, err := off.Project(ctx, "rich")
	if err != nil || len(files2) != len(files) {
		t.Fatalf("offline project: %v (%d files)", err, len(files2))
	}
	got, err := off.Metadata(ctx, files2[len(files2)-1])
	if err != nil || !bytes.Equal(got, want) {
		t.Fatalf("offline metadata: %v", err)
	}
	if st := off.Stats(); st.Requests != 0 || st.CacheHits != 2 {
		t.Fatalf("offline stats %+v", st)
	}
	_, err = off.Project(ctx, "flask")
	if !errors.Is(err, index.ErrOffline) || !strings.Contains(err.Error(), "--offline") {
		t.Fatalf("offline miss: %v", err)
	}
}

func TestETagRevalidation(t *testing.T) {
	s := pyindex.Start(t, corpus(t), pyindex.WithMaxAge(0))
	cache := t.TempDir()
	first := newClient(t, one(s.URL), index.WithCacheDir(cache))
	if _, err := first.Project(ctx, "click"); err != nil {
		t.Fatal(err)
	}
	second := newClient(t, one(s.URL), index.WithCacheDir(cache))
	files, err := second.Project(ctx, "click")
	if err != nil || len(files) != 2 {
		t.Fatalf("revalidated page: %v, %d files", err, len(files))
	}
	if st := second.Stats(); st.Requests != 1 || st.NotModified != 1 {
		t.Fatalf("stats %+v, want one request answered 304", st)
	}
	if last := s.Requests()[len(s.Requests())-1]; last.Status != http.StatusNotModified {
		t.Fatalf("server saw %+v", last)
	}

	// A fresh page is used without asking; --refresh asks anyway.
	s2 := pyindex.Start(t, corpus(t))
	cache2 := t.TempDir()
	newClient(t, one(s2.URL), index.WithCacheDir(cache2)).Project(ctx, "click")
	fresh := newClient(t, one(s2.URL), index.WithCacheDir(cache2))
	fresh.Project(ctx, "click")
	if st := fresh.Stats(); st.Requests != 0 || st.CacheHits != 1 {
		t.Fatalf("fresh cache: %+v", st)
	}
	refresh := newClient(t, one(s2.URL), index.WithCacheDir(cache2), index.WithRefresh())
	refresh.Project(ctx, "click")
	if st := refresh.Stats(); st.Requests != 1 || st.NotModified != 1 {
		t.Fatalf("refresh: %+v", st)
	}
}

// garbage serves fixed answers: a fake for faults a real index does not
// produce on demand (error pages, wrong types, broken JSON, outages).
func garbage(t *testing.T, status int, ctype, body string) (string, *int) {
	n := new(int)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		*n++
		w.Header().Set("Content-Type", ctype)
		w.WriteHeader(status)
		fmt.Fprint(w, body)
	}))
	t.Cleanup(srv.Close)
	return srv.URL, n
}

func TestGarbageAnswers(t *testing.T) {
	for _, tc := range []struct {
		name, ctype, body string
		status            int
		want              string
	}{
		{"html error page", "text/html; charset=utf-8", "<html><head><title>Proxy Error</title></head><body><h1>Oops</h1><a href=\"/\">home</a></body></html>", 200, `got an HTML page with no file links (title "Proxy Error")`},
		{"invalid json", "application/vnd.pypi.simple.v1+json", `{"meta": {"api-version": "1.1"}, "files": [`, 200, "invalid PEP 691 JSON"},
		{"wrong content type", "text/plain", "hello", 200, `content type "text/plain" is neither PEP 691 JSON`},
		{"json api 2", "application/vnd.pypi.simple.v1+json", `{"meta": {"api-version": "2.0"}, "files": []}`, 200, `api-version "2.0"`},
		{"server error", "text/plain", "down", 503, "gave up after 2 attempts: server answered 503"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			u, n := garbage(t, tc.status, tc.ctype, tc.body)
			_, err := newClient(t, one(u)).Project(ctx, "flask")
			if err == nil || !strings.Contains(err.Error(), tc.want) || !strings.Contains(err.Error(), u+"/simple/flask/") {
				t.Fatalf("error = %v\nwant it to name %s/simple/flask/ and say %q", err, u, tc.want)
			}
			if tc.status == 503 && *n != 2 {
				t.Fatalf("503 tried %d times, want 2", *n)
			}
		})
	}
}

func TestDeadPort(t *testing.T) {
	ln, _ := net.Listen("tcp", "127.0.0.1:0")
	u := "http://" + ln.Addr().String()
	ln.Close()
	c := newClient(t, one(u))
	_, err := c.Project(ctx, "flask")
	if err == nil || !strings.Contains(err.Error(), u) || !strings.Contains(err.Error(), "gave up after 2 attempts") {
		t.Fatalf("dead port: %v", err)
	}
	if c.Stats().Retries != 1 {
		t.Fatalf("retries = %d", c.Stats().Retries)
	}
}

func TestFirstIndexWinsAndPins(t *testing.T) {
	private := pyindex.Start(t, copyWheels(t, "flask-2.2.2-py3-none-any.whl"))
	public := pyindex.Start(t, corpus(t))
	urls := []index.IndexURL{{Name: "private", URL: private.URL + "/simple"}, {Name: "public", URL: public.URL + "/simple/"}}
	c := newClient(t, urls)
	flask, err := c.Project(ctx, "Flask")
	if err != nil {
		t.Fatal(err)
	}
	if len(flask) != 1 || flask[0].Index != "private" {
		t.Fatalf("flask from %+v, want only the private index's one file", flask)
	}
	wz, err := c.Project(ctx, "werkzeug")
	if err != nil || len(wz) != 2 || wz[0].Index != "public" {
		t.Fatalf("werkzeug: %v %+v", err, wz)
	}
	for _, r := range public.Requests() {
		if strings.Contains(r.Path, "flask") {
			t.Fatalf("public index asked for flask: %+v", r)
		}
	}
	pinned := newClient(t, urls, index.WithPin("flask", "public"))
	flask, err = pinned.Project(ctx, "flask")
	if err != nil || len(flask) != 2 || flask[0].Index != "public" {
		t.Fatalf("pinned flask: %v %+v", err, flask)
	}
	pinnedPriv := newClient(t, urls, index.WithPin("six", "private"))
	if _, err := pinnedPriv.Project(ctx, "six"); !errors.Is(err, index.ErrNotFound) || !strings.Contains(err.Error(), "private") {
		t.Fatalf("six pinned to an index without it: %v", err)
	}
	if _, err := index.New(urls, index.WithPin("six", "nope")); err == nil || !strings.Contains(err.Error(), `"nope"`) {
		t.Fatalf("pin to unknown index: %v", err)
	}
}

func sdist(t *testing.T, dir, name, version, pkgInfo string) {
	t.Helper()
	var buf bytes.Buffer
	gz := gzip.NewWriter(&buf)
	tw := tar.NewWriter(gz)
	for path, body := range map[string]string{name + "-" + version + "/PKG-INFO": pkgInfo, name + "-" + version + "/setup.py": "raise SystemExit('do not run me')\n"} {
		tw.WriteHeader(&tar.Header{Name: path, Mode: 0o644, Size: int64(len(body)), ModTime: time.Unix(0, 0)})
		tw.Write([]byte(body))
	}
	tw.Close()
	gz.Close()
	os.WriteFile(filepath.Join(dir, name+"-"+version+".tar.gz"), buf.Bytes(), 0o644)
}

// Synthetic sdists: the corpus has none, and these cases need exact PKG-INFO.
func TestSdistMetadata(t *testing.T) {
	dir := t.TempDir()
	sdist(t, dir, "static_pkg", "1.0", "Metadata-Version: 2.2\nName: static-pkg\nVersion: 1.0\nRequires-Dist: six>=1.16\n\nbody\n")
	sdist(t, dir, "dynamic_pkg", "1.0", "Metadata-Version: 2.3\nName: dynamic-pkg\nVersion: 1.0\nDynamic: Requires-Dist\n\n")
	sdist(t, dir, "old_pkg", "1.0", "Metadata-Version: 2.1\nName: old-pkg\nVersion: 1.0\n\n")
	s := pyindex.Start(t, dir, pyindex.WithoutMetadata())
	c := newClient(t, one(s.URL))
	files, err := c.Project(ctx, "static-pkg")
	if err != nil {
		t.Fatal(err)
	}
	meta, err := c.Metadata(ctx, files[0])
	if err != nil || !bytes.Contains(meta, []byte("Requires-Dist: six>=1.16")) {
		t.Fatalf("static sdist: %v\n%s", err, meta)
	}
	for _, p := range []string{"dynamic-pkg", "old-pkg"} {
		files, err := c.Project(ctx, p)
		if err != nil {
			t.Fatal(err)
		}
		_, err = c.Metadata(ctx, files[0])
		if !errors.Is(err, index.ErrNeedsBuild) || !strings.Contains(err.Error(), p) || !strings.Contains(err.Error(), "seshat does not run one") {
			t.Fatalf("%s: %v", p, err)
		}
	}
}

func TestPrefetch(t *testing.T) {
	s := pyindex.Start(t, corpus(t), pyindex.WithoutMetadata())
	c := newClient(t, one(s.URL), index.WithConcurrency(4))
	projects := []string{"flask", "werkzeug", "jinja2", "markupsafe", "click", "blinker", "itsdangerous", "requests", "urllib3", "idna", "certifi", "rich", "pygments"}
	newest := func(fs []index.File) []index.File { return fs[len(fs)-1:] }
	c.Prefetch(ctx, projects, newest)
	before := c.Stats()
	t.Logf("prefetch of %d projects and their newest wheels' metadata by range reads: %+v", len(projects), before)
	if before.Requests < int64(len(projects))*2 {
		t.Fatalf("prefetch sent only %d requests", before.Requests)
	}
	for _, p := range projects {
		files, err := c.Project(ctx, p)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := c.Metadata(ctx, newest(files)[0]); err != nil {
			t.Fatal(err)
		}
	}
	if after := c.Stats(); after.Requests != before.Requests {
		t.Fatalf("after prefetch the resolver still sent %d requests", after.Requests-before.Requests)
	}
}

func TestNew(t *testing.T) {
	for _, tc := range []struct {
		urls []index.IndexURL
		want string
	}{
		{nil, "no index URL"},
		{[]index.IndexURL{{Name: "x", URL: "ftp://example.org/simple"}}, `"ftp://example.org/simple" is not an http(s) URL`},
		{[]index.IndexURL{{Name: "x", URL: "http://a/simple"}, {Name: "x", URL: "http://b/simple"}}, `two indexes named "x"`},
	} {
		if _, err := index.New(tc.urls); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("New(%v) = %v, want %q", tc.urls, err, tc.want)
		}
	}
}

func BenchmarkProjectWarmCache(b *testing.B) {
	s := pyindex.Start(b, corpus(b))
	cache := b.TempDir()
	warm, _ := index.New(one(s.URL), index.WithCacheDir(cache), index.WithNetrc(""))
	projects := []string{"flask", "werkzeug", "jinja2", "markupsafe", "click", "requests", "urllib3", "pydantic", "rich", "pygments"}
	for _, p := range projects {
		if _, err := warm.Project(ctx, p); err != nil {
			b.Fatal(err)
		}
	}
	b.ResetTimer()
	for b.Loop() {
		c, _ := index.New(one(s.URL), index.WithCacheDir(cache), index.WithNetrc(""))
		for _, p := range projects {
			if _, err := c.Project(ctx, p); err != nil {
				b.Fatal(err)
			}
		}
		if c.Stats().Requests != 0 {
			b.Fatal("warm cache still sent requests")
		}
	}
}

// Offline, the first-index-wins order must still hold: the cache remembers
// which index lacked a project.
func TestOfflineSeveralIndexes(t *testing.T) {
	private := pyindex.Start(t, copyWheels(t, "flask-2.2.2-py3-none-any.whl"))
	public := pyindex.Start(t, corpus(t))
	urls := []index.IndexURL{{Name: "private", URL: private.URL + "/simple"}, {Name: "public", URL: public.URL + "/simple"}}
	cache := t.TempDir()
	warm := newClient(t, urls, index.WithCacheDir(cache))
	for _, p := range []string{"flask", "six"} {
		if _, err := warm.Project(ctx, p); err != nil {
			t.Fatal(err)
		}
	}
	off := newClient(t, urls, index.WithCacheDir(cache), index.WithOffline())
	six, err := off.Project(ctx, "six")
	if err != nil || six[0].Index != "public" {
		t.Fatalf("offline six: %v %+v", err, six)
	}
	flask, err := off.Project(ctx, "flask")
	if err != nil || len(flask) != 1 || flask[0].Index != "private" {
		t.Fatalf("offline flask: %v %+v", err, flask)
	}
}

// writeWheel writes a synthetic wheel whose METADATA comes first and a large
// incompressible module after it, so the zip directory and the METADATA entry
// lie far apart: real wheels put .dist-info last, and this is the layout that
// needs a second range request.
func writeWheel(t *testing.T, dir string) string {
	t.Helper()
	name := "farapart-1.0-py3-none-any.whl"
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	w, _ := zw.CreateHeader(&zip.FileHeader{Name: "farapart-1.0.dist-info/METADATA", Method: zip.Deflate})
	io.WriteString(w, "Metadata-Version: 2.1\nName: farapart\nVersion: 1.0\nRequires-Dist: six\n\n")
	w, _ = zw.CreateHeader(&zip.FileHeader{Name: "farapart/blob.bin", Method: zip.Store})
	blob := make([]byte, 600<<10)
	r := rand.New(rand.NewPCG(1, 2))
	for i := range blob {
		blob[i] = byte(r.Uint32())
	}
	w.Write(blob)
	for _, f := range []string{"farapart-1.0.dist-info/WHEEL", "farapart-1.0.dist-info/RECORD"} {
		w, _ = zw.CreateHeader(&zip.FileHeader{Name: f, Method: zip.Deflate})
		io.WriteString(w, "Wheel-Version: 1.0\n")
	}
	zw.Close()
	os.WriteFile(filepath.Join(dir, name), buf.Bytes(), 0o644)
	return name
}

func TestMetadataRangeReadsFarApart(t *testing.T) {
	dir := t.TempDir()
	fn := writeWheel(t, dir)
	for _, opts := range [][]pyindex.Option{{pyindex.WithoutMetadata()}, {pyindex.WithoutMetadata(), pyindex.WithHTMLOnly()}} {
		s := pyindex.Start(t, dir, opts...)
		c := newClient(t, one(s.URL))
		files, err := c.Project(ctx, "farapart")
		if err != nil {
			t.Fatal(err)
		}
		s.ResetRequests()
		meta, err := c.Metadata(ctx, find(t, files, fn))
		if err != nil || !bytes.Contains(meta, []byte("Requires-Dist: six")) {
			t.Fatalf("metadata: %v\n%s", err, meta)
		}
		reqs := s.Requests()
		var sent int64
		for _, r := range reqs {
			sent += r.Bytes
			if r.Range == "" {
				t.Errorf("unranged request %+v", r)
			}
		}
		if len(reqs) != 2 || sent > 200<<10 {
			t.Fatalf("%d requests, %d bytes: want 2 range requests of the ends: %+v", len(reqs), sent, reqs)
		}
	}
}

// flaky answers 503 to the first n requests, then hands over to next: a
// fake, because a real index does not fail on demand.
type flaky struct {
	n      int
	status int
	next   http.Handler
}

func (f *flaky) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if f.n > 0 {
		f.n--
		if f.status == http.StatusTooManyRequests {
			w.Header().Set("Retry-After", "1")
		}
		http.Error(w, "try later", f.status)
		return
	}
	f.next.ServeHTTP(w, r)
}

func TestRetryThenSucceed(t *testing.T) {
	idx, err := pyindex.New(corpus(t))
	if err != nil {
		t.Fatal(err)
	}
	for _, status := range []int{http.StatusServiceUnavailable, http.StatusBadGateway, http.StatusTooManyRequests} {
		srv := httptest.NewServer(&flaky{n: 2, status: status, next: idx})
		defer srv.Close()
		c := newClient(t, one(srv.URL), index.WithRetries(3, time.Millisecond))
		files, err := c.Project(ctx, "six")
		if err != nil || len(files) != 2 {
			t.Fatalf("after two %ds: %v", status, err)
		}
		if st := c.Stats(); st.Retries != 2 || st.Requests != 3 {
			t.Fatalf("%d: stats %+v", status, st)
		}
	}
}

// A server slower than the client's timeout: retried, then explained.
func TestTimeout(t *testing.T) {
	block := make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-block:
		case <-r.Context().Done():
		}
	}))
	defer srv.Close()
	defer close(block)
	c := newClient(t, one(srv.URL), index.WithHTTPClient(&http.Client{Timeout: 50 * time.Millisecond}))
	_, err := c.Project(ctx, "six")
	if err == nil || !strings.Contains(err.Error(), "gave up after 2 attempts") || !strings.Contains(err.Error(), "Timeout") {
		t.Fatalf("timeout: %v", err)
	}
}
