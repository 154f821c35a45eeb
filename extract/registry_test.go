package extract_test

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/seshat-dev/seshat/extract"
	"github.com/seshat-dev/seshat/internal/testregistry"
)

// regIsolate keeps the machine's own registry credentials out of a test.
func regIsolate(t *testing.T) {
	t.Helper()
	home := t.TempDir()
	t.Setenv("HOME", home)
	t.Setenv("DOCKER_CONFIG", filepath.Join(home, ".docker"))
	t.Setenv("REGISTRY_AUTH_FILE", "")
	t.Setenv("XDG_RUNTIME_DIR", "")
	t.Setenv("XDG_CONFIG_HOME", filepath.Join(home, ".config"))
}

// fast keeps failing tests quick: retries still happen, without waiting.
var fast = extract.WithRetries(3, time.Millisecond)

func TestRegistrySource(t *testing.T) {
	regIsolate(t)
	reg := testregistry.Start(t)
	img := srcImage(t, "linux/amd64",
		srcFiles{"etc/os-release": "ID=base\n", "usr/lib/os-release": "ID=lib\n"},
		srcFiles{"etc/os-release": "ID=top\n"})
	ref := reg.Push(t, "seshat/app:1.0", img)
	digest := srcDigest(t, img)

	for _, r := range []string{ref, "docker://" + ref, reg.Ref("seshat/app@" + digest)} {
		t.Run(r, func(t *testing.T) {
			src, err := extract.Open(context.Background(), r, fast)
			if err != nil {
				t.Fatal(err)
			}
			if src.Digest() != digest || src.Reference() != r {
				t.Errorf("Digest() = %s, Reference() = %s; want %s and %s", src.Digest(), src.Reference(), digest, r)
			}
			info, err := src.Info(context.Background())
			if err != nil {
				t.Fatal(err)
			}
			if info.Reference != r {
				t.Errorf("info.Reference = %q, want %q", info.Reference, r)
			}
			srcCheckInfo(t, info, img)
			if got := srcRead(t, src, "/etc/os-release"); got != "ID=top\n" {
				t.Errorf("/etc/os-release = %q, want the top layer's", got)
			}
		})
	}
}

func TestRegistryMultiPlatform(t *testing.T) {
	regIsolate(t)
	reg := testregistry.Start(t)
	idx, imgs := srcIndex(t, "linux/amd64", "linux/arm64/v8", "linux/arm/v7")
	ref := reg.PushIndex(t, "seshat/multi:1", idx)

	for _, tc := range []struct{ platform, want string }{
		{"", "linux/amd64"},
		{"linux/arm64", "linux/arm64/v8"},
		{"linux/arm64/v8", "linux/arm64/v8"},
		{"linux/arm", "linux/arm/v7"},
	} {
		t.Run("platform "+tc.platform, func(t *testing.T) {
			opts := []extract.Option{fast}
			if tc.platform != "" {
				opts = append(opts, extract.WithPlatform(tc.platform))
			}
			src, err := extract.Open(context.Background(), ref, opts...)
			if err != nil {
				t.Fatal(err)
			}
			if got, want := src.Digest(), srcDigest(t, imgs[tc.want]); got != want {
				t.Errorf("Digest() = %s, want %s's %s", got, tc.want, want)
			}
			info, err := src.Info(context.Background())
			if err != nil {
				t.Fatal(err)
			}
			srcCheckInfo(t, info, imgs[tc.want])
			if got := srcRead(t, src, "/etc/platform"); got != tc.want {
				t.Errorf("/etc/platform = %q, want %q", got, tc.want)
			}
		})
	}
	for _, p := range []string{"linux/s390x", "windows/amd64", "linux/arm/v6"} {
		t.Run("missing "+p, func(t *testing.T) {
			_, err := extract.Open(context.Background(), ref, fast, extract.WithPlatform(p))
			srcWantErr(t, err, extract.ErrPlatformNotFound, ref, p, "linux/amd64, linux/arm/v7, linux/arm64/v8")
		})
	}
}

func TestRegistryAuth(t *testing.T) {
	const user, pass = "seshat", "correct horse"
	regIsolate(t)
	reg := testregistry.Start(t, testregistry.WithTLSAuth(user, pass))
	img := srcImage(t, "linux/amd64", srcFiles{"etc/os-release": "ID=secret\n"})
	ref := reg.Push(t, "private/app:1", img)
	trust := extract.WithTransport(reg.Transport())

	dockerConfig := func(t *testing.T, u, p string) string {
		dir := t.TempDir()
		b, _ := json.Marshal(map[string]any{"auths": map[string]any{
			reg.Host(): map[string]string{"auth": base64.StdEncoding.EncodeToString([]byte(u + ":" + p))}}})
		if err := os.WriteFile(filepath.Join(dir, "config.json"), b, 0o600); err != nil {
			t.Fatal(err)
		}
		return dir
	}

	ok := []struct {
		name  string
		setup func(t *testing.T) []extract.Option
	}{
		{"--creds", func(t *testing.T) []extract.Option {
			return []extract.Option{trust, extract.WithCredentials(user, pass)}
		}},
		{"--creds and --insecure for the self-signed certificate", func(t *testing.T) []extract.Option {
			return []extract.Option{extract.WithInsecure(true), extract.WithCredentials(user, pass)}
		}},
		{"DOCKER_CONFIG", func(t *testing.T) []extract.Option {
			t.Setenv("DOCKER_CONFIG", dockerConfig(t, user, pass))
			return []extract.Option{trust}
		}},
		{"~/.docker/config.json", func(t *testing.T) []extract.Option {
			home := t.TempDir()
			if err := os.Rename(dockerConfig(t, user, pass), filepath.Join(home, ".docker")); err != nil {
				t.Fatal(err)
			}
			t.Setenv("HOME", home)
			t.Setenv("DOCKER_CONFIG", "")
			return []extract.Option{trust}
		}},
		{"REGISTRY_AUTH_FILE over a wrong Docker config", func(t *testing.T) []extract.Option {
			t.Setenv("DOCKER_CONFIG", dockerConfig(t, user, "wrong"))
			t.Setenv("REGISTRY_AUTH_FILE", filepath.Join(dockerConfig(t, user, pass), "config.json"))
			return []extract.Option{trust}
		}},
		{"WithAuthFile", func(t *testing.T) []extract.Option {
			return []extract.Option{trust, extract.WithAuthFile(filepath.Join(dockerConfig(t, user, pass), "config.json"))}
		}},
	}
	for _, tc := range ok {
		t.Run(tc.name, func(t *testing.T) {
			src, err := extract.Open(context.Background(), ref, append(tc.setup(t), fast)...)
			if err != nil {
				t.Fatal(err)
			}
			if src.Digest() != srcDigest(t, img) {
				t.Errorf("Digest() = %s, want %s", src.Digest(), srcDigest(t, img))
			}
			if got := srcRead(t, src, "/etc/os-release"); got != "ID=secret\n" {
				t.Errorf("/etc/os-release = %q", got)
			}
		})
	}

	bad := []struct {
		name     string
		opts     func(t *testing.T) []extract.Option
		kind     error
		mentions []string
	}{
		{"wrong password", func(t *testing.T) []extract.Option {
			return []extract.Option{trust, extract.WithCredentials(user, "wrong")}
		}, extract.ErrUnauthorized, []string{"--creds", "docker login", "REGISTRY_AUTH_FILE"}},
		{"no credentials", func(t *testing.T) []extract.Option {
			return []extract.Option{trust}
		}, extract.ErrUnauthorized, []string{"--creds"}},
		{"wrong password in DOCKER_CONFIG", func(t *testing.T) []extract.Option {
			t.Setenv("DOCKER_CONFIG", dockerConfig(t, user, "wrong"))
			return []extract.Option{trust}
		}, extract.ErrUnauthorized, nil},
		{"self-signed certificate without --insecure", func(t *testing.T) []extract.Option {
			return []extract.Option{extract.WithCredentials(user, pass)}
		}, extract.ErrRegistryUnreachable, []string{"--insecure", "certificate"}},
		{"missing auth file", func(t *testing.T) []extract.Option {
			return []extract.Option{trust, extract.WithAuthFile(filepath.Join(t.TempDir(), "auth.json"))}
		}, nil, []string{"auth.json"}},
	}
	for _, tc := range bad {
		t.Run(tc.name, func(t *testing.T) {
			_, err := extract.Open(context.Background(), ref, append(tc.opts(t), fast)...)
			if tc.kind == nil {
				if err == nil || !strings.Contains(err.Error(), tc.mentions[0]) {
					t.Fatalf("Open = %v, want an error naming %s", err, tc.mentions[0])
				}
				return
			}
			srcWantErr(t, err, tc.kind, ref, tc.mentions...)
		})
	}
}

func TestRegistryErrors(t *testing.T) {
	regIsolate(t)
	reg := testregistry.Start(t)
	reg.Push(t, "seshat/app:1.0", srcImage(t, "linux/amd64", srcFiles{"etc/hostname": "x"}))

	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	closed := l.Addr().String()
	l.Close()

	// A name that is not loopback makes go-containerregistry insist on
	// HTTPS, as it would for a real remote registry; this transport only
	// maps that name to the local registry's address.
	_, port, _ := net.SplitHostPort(reg.Host())
	remoteName := "registry.seshat.test:" + port
	mapped := &http.Transport{DialContext: func(ctx context.Context, network, addr string) (net.Conn, error) {
		if addr == remoteName {
			addr = reg.Host()
		}
		return (&net.Dialer{}).DialContext(ctx, network, addr)
	}}

	for _, tc := range []struct {
		name, ref string
		opts      []extract.Option
		kind      error
		mentions  []string
	}{
		{"missing tag", reg.Ref("seshat/app:2.0"), nil, extract.ErrImageNotFound, nil},
		{"missing repository", reg.Ref("seshat/nothing:1.0"), nil, extract.ErrImageNotFound, nil},
		{"missing digest", reg.Ref("seshat/app@sha256:" + strings.Repeat("a", 64)), nil, extract.ErrImageNotFound, nil},
		{"nothing listening", closed + "/seshat/app:1.0", nil, extract.ErrRegistryUnreachable, []string{"refused"}},
		{"plain HTTP registry without --insecure", remoteName + "/seshat/app:1.0",
			[]extract.Option{extract.WithTransport(mapped)}, extract.ErrRegistryUnreachable, []string{"--insecure"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := extract.Open(context.Background(), tc.ref, append(tc.opts, fast)...)
			srcWantErr(t, err, tc.kind, tc.ref, tc.mentions...)
		})
	}

	t.Run("plain HTTP registry with --insecure", func(t *testing.T) {
		src, err := extract.Open(context.Background(), remoteName+"/seshat/app:1.0",
			extract.WithTransport(mapped), extract.WithInsecure(true), fast)
		if err != nil {
			t.Fatal(err)
		}
		if got := srcRead(t, src, "/etc/hostname"); got != "x" {
			t.Errorf("/etc/hostname = %q", got)
		}
	})
}

// faultProxy is a fault injector, not a registry: a loopback reverse proxy
// in front of the real registry that answers status to the first n
// requests, because a real registry cannot be made to fail on demand.
type faultProxy struct {
	n, status int
	failed    atomic.Int64
	served    atomic.Int64
}

func (f *faultProxy) start(t *testing.T, reg *testregistry.Registry) string {
	u, _ := url.Parse(reg.URL())
	rp := httputil.NewSingleHostReverseProxy(u)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if f.failed.Load() < int64(f.n) {
			f.failed.Add(1)
			w.Header().Set("Retry-After", "0")
			http.Error(w, fmt.Sprintf(`{"errors":[{"code":"UNAVAILABLE","message":"injected %d"}]}`, f.status), f.status)
			return
		}
		f.served.Add(1)
		rp.ServeHTTP(w, r)
	}))
	t.Cleanup(srv.Close)
	return strings.TrimPrefix(srv.URL, "http://")
}

func TestRegistryRetries(t *testing.T) {
	regIsolate(t)
	reg := testregistry.Start(t)
	img := srcImage(t, "linux/amd64", srcFiles{"etc/os-release": "ID=retry\n"})
	reg.Push(t, "seshat/app:1.0", img)

	for _, tc := range []struct {
		name     string
		status   int
		failures int
		tries    int
		ok       bool
	}{
		{"503 twice, then served", http.StatusServiceUnavailable, 2, 4, true},
		{"429 once, then served", http.StatusTooManyRequests, 1, 4, true},
		{"502 past the retry budget", http.StatusBadGateway, 1000, 3, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			fp := &faultProxy{n: tc.failures, status: tc.status}
			host := fp.start(t, reg)
			ref := host + "/seshat/app:1.0"
			src, err := extract.Open(context.Background(), ref, extract.WithRetries(tc.tries, time.Millisecond))
			if !tc.ok {
				srcWantErr(t, err, extract.ErrRegistryUnreachable, ref, fmt.Sprint(tc.status))
				if got := fp.failed.Load(); got < int64(tc.tries) {
					t.Errorf("%d requests reached the proxy, want at least %d tries", got, tc.tries)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got := fp.failed.Load(); got != int64(tc.failures) {
				t.Errorf("%d requests failed, want %d", got, tc.failures)
			}
			if src.Digest() != srcDigest(t, img) {
				t.Errorf("Digest() = %s, want %s", src.Digest(), srcDigest(t, img))
			}
			if got := srcRead(t, src, "/etc/os-release"); got != "ID=retry\n" {
				t.Errorf("/etc/os-release = %q", got)
			}
		})
	}
}

// TestRegistryStalledDownload: a layer whose bytes stop coming ends in a
// network error, not a hang. The proxy is a fault injector: it stops
// sending the layer blob halfway, as a dying connection would.
func TestRegistryStalledDownload(t *testing.T) {
	regIsolate(t)
	reg := testregistry.Start(t)
	noise := make([]byte, 256<<10)
	rand.Read(noise) // incompressible, so the blob is large enough to cut
	img := srcImage(t, "linux/amd64", srcFiles{"noise": string(noise)})
	reg.Push(t, "seshat/app:1.0", img)
	ls, _ := img.Layers()
	layerDigest, _ := ls[0].Digest()

	u, _ := url.Parse(reg.URL())
	rp := httputil.NewSingleHostReverseProxy(u)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !strings.HasSuffix(r.URL.Path, "/blobs/"+layerDigest.String()) || r.Method != http.MethodGet {
			rp.ServeHTTP(w, r)
			return
		}
		rec := httptest.NewRecorder()
		rp.ServeHTTP(rec, r)
		for k, v := range rec.Header() {
			w.Header()[k] = v
		}
		w.WriteHeader(rec.Code)
		body := rec.Body.Bytes()
		w.Write(body[:len(body)/2])
		w.(http.Flusher).Flush()
		<-r.Context().Done()
	}))
	t.Cleanup(srv.Close)

	ref := strings.TrimPrefix(srv.URL, "http://") + "/seshat/app:1.0"
	src, err := extract.Open(context.Background(), ref, fast, extract.WithStallTimeout(300*time.Millisecond))
	if err != nil {
		t.Fatal(err)
	}
	_, _, err = src.Walk(context.Background(), nil, extract.WalkOptions{})
	srcWantErr(t, err, extract.ErrRegistryUnreachable, ref, "sent no data for 300ms", layerDigest.String())
}
