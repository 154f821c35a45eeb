package pyindex_test

import (
	"encoding/json"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/seshat-dev/seshat/internal/fixtures"
	"github.com/seshat-dev/seshat/internal/pyindex"
)

func get(t *testing.T, url, accept string, hdr ...string) (*http.Response, []byte) {
	t.Helper()
	req, _ := http.NewRequest("GET", url, nil)
	if accept != "" {
		req.Header.Set("Accept", accept)
	}
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp, b
}

func TestProjectPageJSONAndHTML(t *testing.T) {
	s := pyindex.Start(t, fixtures.Path(t, "wheels"))
	resp, body := get(t, s.URL+"/simple/flask/", "application/vnd.pypi.simple.v1+json, text/html;q=0.01")
	if ct := resp.Header.Get("Content-Type"); ct != pyindex.MediaJSON {
		t.Fatalf("Content-Type = %q, want %q", ct, pyindex.MediaJSON)
	}
	var doc struct {
		Name  string
		Files []struct {
			Filename       string
			URL            string
			Hashes         map[string]string
			RequiresPython string         `json:"requires-python"`
			CoreMetadata   map[string]any `json:"core-metadata"`
		}
	}
	if err := json.Unmarshal(body, &doc); err != nil {
		t.Fatalf("JSON page: %v\n%s", err, body)
	}
	var names []string
	for _, f := range doc.Files {
		names = append(names, f.Filename)
		if len(f.Hashes["sha256"]) != 64 || f.CoreMetadata["sha256"] == nil {
			t.Errorf("%s: hashes %v core-metadata %v", f.Filename, f.Hashes, f.CoreMetadata)
		}
	}
	want := []string{"flask-2.2.2-py3-none-any.whl", "flask-3.1.1-py3-none-any.whl"}
	if strings.Join(names, " ") != strings.Join(want, " ") {
		t.Fatalf("files = %v, want %v", names, want)
	}
	if doc.Files[1].RequiresPython != ">=3.9" {
		t.Errorf("flask 3.1.1 requires-python = %q, want >=3.9", doc.Files[1].RequiresPython)
	}

	resp, body = get(t, s.URL+"/simple/flask/", "")
	if !strings.Contains(resp.Header.Get("Content-Type"), "html") {
		t.Fatalf("no Accept: Content-Type = %q, want HTML", resp.Header.Get("Content-Type"))
	}
	if !strings.Contains(string(body), `data-requires-python="&gt;=3.9"`) || !strings.Contains(string(body), "flask-3.1.1-py3-none-any.whl#sha256=") {
		t.Fatalf("HTML page lacks requires-python or hash:\n%s", body)
	}

	// PEP 503: a non-normalized name redirects to the normalized one.
	resp, _ = get(t, s.URL+"/simple/Typing.Extensions/", pyindex.MediaJSON)
	if resp.StatusCode != 200 || resp.Request.URL.Path != "/simple/typing-extensions/" {
		t.Fatalf("non-normalized name: status %d at %s", resp.StatusCode, resp.Request.URL.Path)
	}
}

func TestETagAndRange(t *testing.T) {
	s := pyindex.Start(t, fixtures.Path(t, "wheels"))
	resp, _ := get(t, s.URL+"/simple/requests/", pyindex.MediaJSON)
	etag := resp.Header.Get("ETag")
	if etag == "" || !strings.Contains(resp.Header.Get("Cache-Control"), "max-age") {
		t.Fatalf("page lacks ETag/Cache-Control: %v", resp.Header)
	}
	resp, _ = get(t, s.URL+"/simple/requests/", pyindex.MediaJSON, "If-None-Match", etag)
	if resp.StatusCode != http.StatusNotModified {
		t.Fatalf("revalidation: status %d, want 304", resp.StatusCode)
	}
	resp, body := get(t, s.URL+"/files/requests-2.32.3-py3-none-any.whl", "", "Range", "bytes=-22")
	if resp.StatusCode != http.StatusPartialContent || len(body) != 22 || !strings.HasPrefix(string(body), "PK\x05\x06") {
		t.Fatalf("range of the zip's end record: status %d, %d bytes %q", resp.StatusCode, len(body), body)
	}
}

func TestYankedAndWithoutMetadata(t *testing.T) {
	dir := t.TempDir()
	for _, f := range []string{"six-1.16.0-py3-none-any.whl", "six-1.17.0-py3-none-any.whl"} {
		b, err := os.ReadFile(filepath.Join(fixtures.Path(t, "wheels"), f))
		if err != nil {
			t.Fatal(err)
		}
		os.WriteFile(filepath.Join(dir, f), b, 0o644)
	}
	os.WriteFile(filepath.Join(dir, "six-1.17.0-py3-none-any.whl.yanked"), []byte("broken on Tuesdays\n"), 0o644)
	s := pyindex.Start(t, dir, pyindex.WithoutMetadata())
	_, body := get(t, s.URL+"/simple/six/", pyindex.MediaJSON)
	if !strings.Contains(string(body), `"yanked":"broken on Tuesdays"`) || strings.Contains(string(body), "core-metadata") {
		t.Fatalf("page: %s", body)
	}
	resp, _ := get(t, s.URL+"/files/six-1.16.0-py3-none-any.whl.metadata", "")
	if resp.StatusCode != 404 {
		t.Fatalf(".metadata with metadata off: status %d", resp.StatusCode)
	}
}

func TestBasicAuth(t *testing.T) {
	s := pyindex.Start(t, fixtures.Path(t, "wheels"), pyindex.WithBasicAuth("alice", "s3cret"))
	resp, _ := get(t, s.URL+"/simple/", "")
	if resp.StatusCode != 401 {
		t.Fatalf("without credentials: %d", resp.StatusCode)
	}
	resp, _ = get(t, strings.Replace(s.URL, "http://", "http://alice:s3cret@", 1)+"/simple/", "")
	if resp.StatusCode != 200 {
		t.Fatalf("with credentials: %d", resp.StatusCode)
	}
}

func pip(t *testing.T, args ...string) []byte {
	t.Helper()
	pipBin := "/root/.pyenv/shims/pip"
	if _, err := os.Stat(pipBin); err != nil {
		if pipBin, err = exec.LookPath("pip"); err != nil {
			t.Fatal("pip not found: the pip checks need the machine's Python with pip")
		}
	}
	cmd := exec.Command(pipBin, args...)
	cmd.Env = append(os.Environ(), "PIP_NO_CACHE_DIR=1", "PIP_DISABLE_PIP_VERSION_CHECK=1", "PIP_CONFIG_FILE=/dev/null", "NO_COLOR=1")
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("pip %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return out
}

// The real pip must accept the index: download and resolve Flask through it.
func TestRealPip(t *testing.T) {
	for _, tc := range []struct {
		name   string
		opts   []pyindex.Option
		target []string
		want   string
	}{
		{"json", nil, []string{"--python-version", "3.13", "--platform", "manylinux_2_17_x86_64"},
			"blinker==1.9.0 click==8.1.8 flask==3.1.1 itsdangerous==2.2.0 jinja2==3.1.6 markupsafe==2.1.5 werkzeug==3.1.3"},
		// pip matches each --platform exactly: list every manylinux level.
		{"html-no-metadata", []pyindex.Option{pyindex.WithHTMLOnly(), pyindex.WithoutMetadata()},
			[]string{"--python-version", "3.11", "--platform", "manylinux_2_36_x86_64", "--platform", "manylinux_2_17_x86_64"},
			"blinker==1.9.0 click==8.1.8 flask==3.1.1 itsdangerous==2.2.0 jinja2==3.1.6 markupsafe==2.1.2 werkzeug==3.1.3"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := pyindex.Start(t, fixtures.Path(t, "wheels"), tc.opts...)
			dest := t.TempDir()
			pip(t, "download", "--no-deps", "--index-url", s.URL+"/simple", "--dest", dest, "flask")
			if _, err := os.Stat(filepath.Join(dest, "flask-3.1.1-py3-none-any.whl")); err != nil {
				t.Fatalf("pip download did not fetch flask 3.1.1: %v", err)
			}
			report := filepath.Join(t.TempDir(), "report.json")
			args := append([]string{"install", "--dry-run", "--ignore-installed", "--report", report, "--index-url", s.URL + "/simple",
				"--only-binary=:all:", "--target", t.TempDir()}, tc.target...)
			pip(t, append(args, "flask")...)
			b, err := os.ReadFile(report)
			if err != nil {
				t.Fatal(err)
			}
			var rep struct {
				Install []struct {
					Metadata struct{ Name, Version string }
				}
			}
			if err := json.Unmarshal(b, &rep); err != nil {
				t.Fatal(err)
			}
			var got []string
			for _, i := range rep.Install {
				got = append(got, strings.ToLower(i.Metadata.Name)+"=="+i.Metadata.Version)
			}
			sort.Strings(got)
			if strings.Join(got, " ") != tc.want {
				t.Fatalf("pip resolved %v, want %s", got, tc.want)
			}
		})
	}
}
