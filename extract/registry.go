package extract

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"sync/atomic"
	"time"

	"github.com/docker/cli/cli/config"
	"github.com/docker/cli/cli/config/types"
	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/remote"
)

// retryStatusCodes are the answers worth asking again: timeouts, rate
// limits and server errors.
var retryStatusCodes = []int{
	http.StatusRequestTimeout, http.StatusTooManyRequests, http.StatusInternalServerError,
	http.StatusBadGateway, http.StatusServiceUnavailable, http.StatusGatewayTimeout,
}

// openRegistry resolves spec (ref without docker://) on its registry; only
// the manifest (and the index, for a multi-platform image) is fetched.
func openRegistry(ctx context.Context, ref, spec string, o *options) (Source, error) {
	var nameOpts []name.Option
	if o.insecure {
		nameOpts = append(nameOpts, name.Insecure)
	}
	n, err := name.ParseReference(spec, nameOpts...)
	if err != nil {
		return nil, badRef(ref, "%v", err)
	}
	ropts, err := remoteOptions(ctx, o)
	if err != nil {
		return nil, &SourceError{Ref: ref, Err: err}
	}
	desc, err := remote.Get(n, ropts...)
	if err != nil {
		return nil, registryError(ref, err)
	}
	var img v1.Image
	var digest string
	switch {
	case desc.MediaType.IsIndex() || desc.MediaType.IsImage():
		img, digest, err = openImage(ref, desc.MediaType.IsIndex(), desc.ImageIndex, desc.Image, o.platform)
	case desc.MediaType.IsSchema1():
		err = errors.New("Docker schema 1 manifests are not supported; push the image again with a current client")
	default:
		err = fmt.Errorf("%w (media type %s)", errNoImage, desc.MediaType)
	}
	if err != nil {
		return nil, registryError(ref, err)
	}
	src := &imageSource{ref: ref, digest: digest, img: img, progress: o.progress, classify: registryError}
	src.layers = func() ([]v1.Layer, error) {
		ls, err := img.Layers()
		if err != nil {
			return nil, err
		}
		for i, l := range ls {
			ls[i] = stallLayer{Layer: l, idle: o.stall}
		}
		return ls, nil
	}
	return src, nil
}

// stallLayer ends a download that receives nothing for idle: the HTTP
// transport's timeouts cover connecting and waiting for headers, not a
// body that stops halfway.
type stallLayer struct {
	v1.Layer
	idle time.Duration
}

func (l stallLayer) Compressed() (io.ReadCloser, error) {
	rc, err := l.Layer.Compressed()
	if err != nil || l.idle <= 0 {
		return rc, err
	}
	s := &stallReader{rc: rc, idle: l.idle}
	s.timer = time.AfterFunc(l.idle, func() {
		s.stalled.Store(true)
		rc.Close() // unblocks the pending Read
	})
	return s, nil
}

type stallReader struct {
	rc      io.ReadCloser
	idle    time.Duration
	timer   *time.Timer
	stalled atomic.Bool
}

func (s *stallReader) Read(p []byte) (int, error) {
	n, err := s.rc.Read(p)
	if s.stalled.Load() {
		return n, stallError{s.idle}
	}
	s.timer.Reset(s.idle)
	return n, err
}

func (s *stallReader) Close() error {
	s.timer.Stop()
	return s.rc.Close()
}

// stallError is a net.Error timeout, so that it reads as a network failure.
type stallError struct{ idle time.Duration }

func (e stallError) Error() string {
	return fmt.Sprintf("the registry sent no data for %s in the middle of a layer", e.idle)
}
func (e stallError) Timeout() bool   { return true }
func (e stallError) Temporary() bool { return true }

func remoteOptions(ctx context.Context, o *options) ([]remote.Option, error) {
	ropts := []remote.Option{
		remote.WithContext(ctx),
		remote.WithPlatform(o.platform),
		remote.WithTransport(httpTransport(o)),
		remote.WithUserAgent("seshat"),
		remote.WithRetryStatusCodes(retryStatusCodes...),
		remote.WithRetryBackoff(remote.Backoff{Duration: o.retryWait, Factor: 3, Jitter: 0.1, Steps: o.retries}),
	}
	if o.user != "" {
		return append(ropts, remote.WithAuth(&authn.Basic{Username: o.user, Password: o.pass})), nil
	}
	kc, err := keychain(o)
	if err != nil {
		return nil, err
	}
	return append(ropts, remote.WithAuthFromKeychain(kc)), nil
}

// httpTransport is the caller's transport or a default one with timeouts
// that end a stalled registry, made to skip TLS verification when insecure.
func httpTransport(o *options) http.RoundTripper {
	rt := o.transport
	if rt == nil {
		rt = &http.Transport{
			Proxy:                 http.ProxyFromEnvironment,
			DialContext:           (&net.Dialer{Timeout: 30 * time.Second, KeepAlive: 30 * time.Second}).DialContext,
			ForceAttemptHTTP2:     true,
			MaxIdleConns:          100,
			MaxIdleConnsPerHost:   50,
			IdleConnTimeout:       90 * time.Second,
			TLSHandshakeTimeout:   10 * time.Second,
			ResponseHeaderTimeout: 2 * time.Minute,
			ExpectContinueTimeout: time.Second,
		}
	}
	if !o.insecure {
		return rt
	}
	ht, ok := rt.(*http.Transport)
	if !ok {
		return rt
	}
	ht = ht.Clone()
	if ht.TLSClientConfig == nil {
		ht.TLSClientConfig = &tls.Config{}
	}
	// The user asked for this with --insecure, for self-signed registries.
	ht.TLSClientConfig.InsecureSkipVerify = true //nolint:gosec
	return ht
}

// keychain looks for credentials in the auth file (WithAuthFile, else
// $REGISTRY_AUTH_FILE), then the Docker config ($DOCKER_CONFIG/config.json,
// else ~/.docker/config.json), then Podman's auth.json, else goes anonymous.
// seshat reads the Docker config itself because docker/cli caches its
// location once per process.
func keychain(o *options) (authn.Keychain, error) {
	var chain []authn.Keychain
	path, explicit := o.authFile, o.authFile != ""
	if !explicit {
		path = os.Getenv("REGISTRY_AUTH_FILE")
	}
	if path != "" {
		k, err := loadAuthFile(path)
		switch {
		case err == nil:
			chain = append(chain, k)
		case explicit || !errors.Is(err, os.ErrNotExist):
			return nil, err
		}
	}
	dockerDir := os.Getenv("DOCKER_CONFIG")
	if dockerDir == "" {
		if home, err := os.UserHomeDir(); err == nil {
			dockerDir = filepath.Join(home, ".docker")
		}
	}
	if dockerDir != "" {
		k, err := loadAuthFile(filepath.Join(dockerDir, "config.json"))
		switch {
		case err == nil:
			chain = append(chain, k)
		case !errors.Is(err, os.ErrNotExist):
			return nil, err
		}
	}
	return authn.NewMultiKeychain(append(chain, authn.DefaultKeychain)...), nil
}

func loadAuthFile(path string) (authn.Keychain, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("reading auth file %s: %w", path, err)
	}
	defer f.Close()
	cf, err := config.LoadFromReader(f)
	if err != nil {
		return nil, fmt.Errorf("reading auth file %s: %w", path, err)
	}
	return authFileKeychain{path: path, get: cf.GetAuthConfig}, nil
}

// authFileKeychain answers from a Docker config.json or a containers
// auth.json (the same shape), whose entries may name a repository
// ("quay.io/org/img") or a whole registry ("quay.io").
type authFileKeychain struct {
	path string
	get  func(key string) (types.AuthConfig, error)
}

func (k authFileKeychain) Resolve(r authn.Resource) (authn.Authenticator, error) {
	for _, key := range []string{r.String(), r.RegistryStr()} {
		if key == name.DefaultRegistry {
			key = authn.DefaultAuthKey
		}
		c, err := k.get(key)
		if err != nil {
			return nil, fmt.Errorf("reading credentials for %s from %s: %w", key, k.path, err)
		}
		if c.Username != "" || c.Password != "" || c.Auth != "" || c.IdentityToken != "" || c.RegistryToken != "" {
			return authn.FromConfig(authn.AuthConfig{Username: c.Username, Password: c.Password, Auth: c.Auth,
				IdentityToken: c.IdentityToken, RegistryToken: c.RegistryToken}), nil
		}
	}
	return authn.Anonymous, nil
}
