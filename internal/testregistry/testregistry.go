// Package testregistry runs Debian's real docker-registry (distribution 2.8)
// on 127.0.0.1 for tests: plain HTTP, or TLS with a self-signed certificate
// and htpasswd (bcrypt) basic auth. It is for tests only.
package testregistry

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"fmt"
	"math/big"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"golang.org/x/crypto/bcrypt"
)

// Binary is where Debian's docker-registry package installs the server.
const Binary = "/usr/bin/docker-registry"

// Registry is one running registry process, stopped at the end of the test.
type Registry struct {
	host   string
	user   string
	pass   string
	caPEM  []byte
	pool   *x509.CertPool
	stderr *bytes.Buffer
}

type options struct {
	user, pass string
	tls        bool
}

// Option configures Start.
type Option func(*options)

// WithTLSAuth serves HTTPS with a fresh self-signed certificate for
// 127.0.0.1 and requires basic auth as user/pass.
func WithTLSAuth(user, pass string) Option {
	return func(o *options) { o.tls, o.user, o.pass = true, user, pass }
}

// Start runs a registry with a temporary storage directory on a free
// loopback port and waits until it answers /v2/. The process is killed and
// its files removed when the test ends.
func Start(t testing.TB, opts ...Option) *Registry {
	t.Helper()
	var o options
	for _, opt := range opts {
		opt(&o)
	}
	if _, err := os.Stat(Binary); err != nil {
		t.Fatalf("testregistry: %s not found (Debian package docker-registry): run make deps", Binary)
	}
	dir := t.TempDir()
	r := &Registry{user: o.user, pass: o.pass, stderr: &bytes.Buffer{}}
	var tlsConf, authConf string
	if o.tls {
		certPEM, keyPEM, err := selfSigned()
		if err != nil {
			t.Fatalf("testregistry: making a certificate: %v", err)
		}
		writeFile(t, filepath.Join(dir, "cert.pem"), certPEM)
		writeFile(t, filepath.Join(dir, "key.pem"), keyPEM)
		hash, err := bcrypt.GenerateFromPassword([]byte(o.pass), bcrypt.MinCost)
		if err != nil {
			t.Fatalf("testregistry: hashing password: %v", err)
		}
		writeFile(t, filepath.Join(dir, "htpasswd"), []byte(o.user+":"+string(hash)+"\n"))
		r.caPEM = certPEM
		r.pool = x509.NewCertPool()
		r.pool.AppendCertsFromPEM(certPEM)
		tlsConf = fmt.Sprintf("  tls:\n    certificate: %s\n    key: %s\n",
			filepath.Join(dir, "cert.pem"), filepath.Join(dir, "key.pem"))
		authConf = fmt.Sprintf("auth:\n  htpasswd:\n    realm: seshat-test\n    path: %s\n",
			filepath.Join(dir, "htpasswd"))
	}

	// The free port can be taken between our probe and the registry's bind;
	// a few attempts make that race harmless.
	var lastErr error
	for attempt := 0; attempt < 5; attempt++ {
		port, err := freePort()
		if err != nil {
			t.Fatalf("testregistry: finding a free port: %v", err)
		}
		r.host = fmt.Sprintf("127.0.0.1:%d", port)
		conf := fmt.Sprintf(`version: 0.1
log:
  level: error
  accesslog:
    disabled: true
storage:
  filesystem:
    rootdirectory: %s
  delete:
    enabled: true
http:
  addr: %s
%s%s`, filepath.Join(dir, "storage"), r.host, tlsConf, authConf)
		confPath := filepath.Join(dir, "config.yml")
		writeFile(t, confPath, []byte(conf))
		r.stderr.Reset()
		lastErr = r.run(t, confPath)
		if lastErr == nil {
			return r
		}
	}
	t.Fatalf("testregistry: %v\nregistry output:\n%s", lastErr, r.stderr.String())
	return nil
}

// run starts the process and waits for /v2/ to answer.
func (r *Registry) run(t testing.TB, confPath string) error {
	cmd := exec.Command(Binary, "serve", confPath)
	// distribution reads REGISTRY_SECTION_KEY variables as configuration:
	// REGISTRY_AUTH_FILE, which clients use for credentials, would make it
	// look for an access controller named "file".
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "REGISTRY_") {
			cmd.Env = append(cmd.Env, kv)
		}
	}
	dieWithParent(cmd)
	cmd.Stdout = r.stderr
	cmd.Stderr = r.stderr
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("starting %s: %w", Binary, err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	stop := func() {
		_ = cmd.Process.Kill()
		<-exited
	}
	client := &http.Client{Transport: r.Transport(), Timeout: 2 * time.Second}
	deadline := time.Now().Add(20 * time.Second)
	for time.Now().Before(deadline) {
		select {
		case err := <-exited:
			exited <- err
			return fmt.Errorf("%s exited before serving: %v", Binary, err)
		default:
		}
		resp, err := client.Get(r.URL() + "/v2/")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK || resp.StatusCode == http.StatusUnauthorized {
				t.Cleanup(stop)
				return nil
			}
		}
		time.Sleep(50 * time.Millisecond)
	}
	stop()
	return fmt.Errorf("registry on %s did not answer /v2/ within 20s", r.host)
}

// Host is "127.0.0.1:PORT", the registry part of image references.
func (r *Registry) Host() string { return r.host }

// URL is the registry's base URL (http:// or https://).
func (r *Registry) URL() string {
	if r.pool != nil {
		return "https://" + r.host
	}
	return "http://" + r.host
}

// Ref returns a reference to repo (e.g. "org/img:tag") on this registry.
func (r *Registry) Ref(repo string) string { return r.host + "/" + repo }

// CACert is the PEM certificate the TLS variant serves (nil for plain HTTP);
// it is self-signed, so it is also the CA to trust.
func (r *Registry) CACert() []byte { return r.caPEM }

// Transport is an HTTP transport that trusts the registry's certificate.
func (r *Registry) Transport() *http.Transport {
	tr := http.DefaultTransport.(*http.Transport).Clone()
	if r.pool != nil {
		tr.TLSClientConfig = &tls.Config{RootCAs: r.pool}
	}
	return tr
}

// Auth is the authenticator for the registry's user (anonymous without auth).
func (r *Registry) Auth() authn.Authenticator {
	if r.user == "" {
		return authn.Anonymous
	}
	return &authn.Basic{Username: r.user, Password: r.pass}
}

func (r *Registry) remoteOpts() []remote.Option {
	return []remote.Option{remote.WithTransport(r.Transport()), remote.WithAuth(r.Auth()),
		remote.WithContext(context.Background())}
}

func (r *Registry) parse(t testing.TB, ref string) name.Reference {
	t.Helper()
	if !strings.HasPrefix(ref, r.host+"/") {
		ref = r.Ref(ref)
	}
	n, err := name.ParseReference(ref)
	if err != nil {
		t.Fatalf("testregistry: parsing %s: %v", ref, err)
	}
	return n
}

// Push writes img to ref ("org/img:tag", or a full reference on this
// registry) and returns the full reference by tag.
func (r *Registry) Push(t testing.TB, ref string, img v1.Image) string {
	t.Helper()
	n := r.parse(t, ref)
	if err := remote.Write(n, img, r.remoteOpts()...); err != nil {
		t.Fatalf("testregistry: pushing %s: %v", n, err)
	}
	return n.String()
}

// PushIndex writes a multi-platform index and its images to ref.
func (r *Registry) PushIndex(t testing.TB, ref string, idx v1.ImageIndex) string {
	t.Helper()
	n := r.parse(t, ref)
	if err := remote.WriteIndex(n, idx, r.remoteOpts()...); err != nil {
		t.Fatalf("testregistry: pushing index %s: %v", n, err)
	}
	return n.String()
}

func writeFile(t testing.TB, p string, b []byte) {
	t.Helper()
	if err := os.WriteFile(p, b, 0o600); err != nil {
		t.Fatalf("testregistry: %v", err)
	}
}

func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

// selfSigned makes a CA-capable certificate for 127.0.0.1 and localhost.
func selfSigned() (certPEM, keyPEM []byte, err error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, nil, err
	}
	tmpl := &x509.Certificate{
		SerialNumber:          big.NewInt(time.Now().UnixNano()),
		Subject:               pkix.Name{CommonName: "seshat test registry"},
		NotBefore:             time.Now().Add(-time.Hour),
		NotAfter:              time.Now().Add(24 * time.Hour),
		KeyUsage:              x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign,
		ExtKeyUsage:           []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		BasicConstraintsValid: true,
		IsCA:                  true,
		IPAddresses:           []net.IP{net.IPv4(127, 0, 0, 1)},
		DNSNames:              []string{"localhost"},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		return nil, nil, err
	}
	kb, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		return nil, nil, err
	}
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}),
		pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: kb}), nil
}
