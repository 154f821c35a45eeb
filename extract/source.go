package extract

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"sort"
	"strings"
	"sync"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"
)

// Source is an image (or root filesystem) to analyze; callers never ask
// where it came from.
type Source interface {
	// Reference is the reference as the user wrote it.
	Reference() string
	// Digest is the manifest digest "sha256:…" of the image analyzed ("" for
	// dir:), the key an Analysis is cached under.
	Digest() string
	// Info returns the image's metadata; it reads no layer.
	Info(ctx context.Context) (ImageInfo, error)
	// Walk reads every layer once and returns the squashed file index.
	Walk(ctx context.Context, exs []Extractor, opt WalkOptions) (*FileIndex, []Warning, error)
}

// DefaultPlatform is the platform picked from a multi-platform index unless
// WithPlatform says otherwise.
var DefaultPlatform = v1.Platform{OS: "linux", Architecture: "amd64"}

// Option configures Open.
type Option func(*options) error

type options struct {
	platform   v1.Platform
	user, pass string
	insecure   bool
	authFile   string
	progress   io.Writer
	transport  http.RoundTripper
	retries    int
	retryWait  time.Duration
	stall      time.Duration
}

func defaultOptions() *options {
	return &options{platform: DefaultPlatform, retries: 4, retryWait: time.Second, stall: 2 * time.Minute}
}

// WithPlatform picks the image for "os/arch[/variant]" from a multi-platform
// index (default linux/amd64).
func WithPlatform(p string) Option {
	return func(o *options) error {
		pl, err := v1.ParsePlatform(p)
		if err != nil || pl.OS == "" || pl.Architecture == "" {
			return fmt.Errorf("platform %q: want os/arch[/variant], e.g. linux/arm64/v8: %w", p, ErrBadReference)
		}
		o.platform = *pl
		return nil
	}
}

// WithCredentials logs in to the registry as user with pass, ahead of any
// credentials from the Docker config or an auth file.
func WithCredentials(user, pass string) Option {
	return func(o *options) error {
		if user == "" {
			return fmt.Errorf("credentials: empty user name: %w", ErrBadReference)
		}
		o.user, o.pass = user, pass
		return nil
	}
}

// WithInsecure allows plain HTTP and certificates that do not verify.
func WithInsecure(insecure bool) Option {
	return func(o *options) error { o.insecure = insecure; return nil }
}

// WithAuthFile reads registry credentials from a containers-auth.json file
// (the Docker config.json shape), ahead of the Docker config. Without it,
// $REGISTRY_AUTH_FILE is used when set.
func WithAuthFile(path string) Option {
	return func(o *options) error { o.authFile = path; return nil }
}

// WithProgress draws a progress bar on w while layers are read. Pass a
// terminal only; nil (the default) draws nothing.
func WithProgress(w io.Writer) Option {
	return func(o *options) error { o.progress = w; return nil }
}

// WithTransport sets the HTTP transport to registries (tests use it to trust
// a test CA). WithInsecure still applies when it is an *http.Transport.
func WithTransport(rt http.RoundTripper) Option {
	return func(o *options) error { o.transport = rt; return nil }
}

// WithRetries sets how many times a registry request is tried on 408, 429,
// 5xx and network timeouts, and the wait before the first retry (tripled
// each time after). The default is 4 tries, waiting 1s, 3s, 9s.
func WithRetries(tries int, firstWait time.Duration) Option {
	return func(o *options) error {
		if tries < 1 || firstWait < 0 {
			return fmt.Errorf("retries: want at least one try and a non-negative wait, got %d and %s", tries, firstWait)
		}
		o.retries, o.retryWait = tries, firstWait
		return nil
	}
}

// WithStallTimeout ends a layer download from a registry that sends no
// data for d (default 2 minutes; 0 waits forever).
func WithStallTimeout(d time.Duration) Option {
	return func(o *options) error {
		if d < 0 {
			return fmt.Errorf("stall timeout: %s is negative", d)
		}
		o.stall = d
		return nil
	}
}

// Transports other tools name that seshat does not read.
var unsupportedTransports = []string{"oci-archive:", "docker-daemon:", "containers-storage:", "ostree:", "sif:", "tarball:"}

// Open resolves ref to a Source without reading any layer:
//
//	host[:port]/org/img:tag, …@sha256:…, docker://…  a registry
//	oci:DIR[:tag|@digest]                            an OCI image layout
//	docker-archive:FILE[:repo:tag]                   a `docker save` tar, plain or gzipped
//	dir:PATH                                         a root filesystem
//
// A multi-platform index yields the image for WithPlatform's platform.
// Errors wrap ErrBadReference, ErrImageNotFound, ErrUnauthorized,
// ErrRegistryUnreachable or ErrPlatformNotFound.
func Open(ctx context.Context, ref string, opts ...Option) (Source, error) {
	o := defaultOptions()
	for _, opt := range opts {
		if err := opt(o); err != nil {
			return nil, &SourceError{Ref: ref, Err: err}
		}
	}
	if strings.TrimSpace(ref) == "" {
		return nil, badRef(ref, "empty reference")
	}
	switch {
	case strings.HasPrefix(ref, "dir:"):
		return openDir(ref, strings.TrimPrefix(ref, "dir:"))
	case strings.HasPrefix(ref, "oci:"):
		return openOCI(ref, strings.TrimPrefix(ref, "oci:"), o)
	case strings.HasPrefix(ref, "docker-archive:"):
		return openArchive(ref, strings.TrimPrefix(ref, "docker-archive:"), o)
	case strings.HasPrefix(ref, "docker://"):
		return openRegistry(ctx, ref, strings.TrimPrefix(ref, "docker://"), o)
	}
	for _, t := range unsupportedTransports {
		if strings.HasPrefix(ref, t) {
			return nil, badRef(ref, "the %s transport is not supported; use a registry reference, oci:, docker-archive: or dir:", strings.TrimSuffix(t, ":"))
		}
	}
	return openRegistry(ctx, ref, ref, o)
}

// imageSource serves every source that yields a v1.Image.
type imageSource struct {
	ref      string
	digest   string
	img      v1.Image
	progress io.Writer
	// info and layers override the generic readers of img (docker-archive
	// avoids recompressing layers, a registry guards against stalls);
	// either may be nil.
	info   func() (ImageInfo, error)
	layers func() ([]v1.Layer, error)
	// classify turns an error into a SourceError naming ref.
	classify func(ref string, err error) error

	once    sync.Once
	infoV   ImageInfo
	infoErr error
}

func (s *imageSource) Reference() string { return s.ref }
func (s *imageSource) Digest() string    { return s.digest }

func (s *imageSource) Info(ctx context.Context) (ImageInfo, error) {
	if err := ctx.Err(); err != nil {
		return ImageInfo{}, err
	}
	s.once.Do(func() {
		if s.info != nil {
			s.infoV, s.infoErr = s.info()
		} else {
			s.infoV, s.infoErr = imageInfo(s.ref, s.img)
		}
		if s.infoErr != nil {
			s.infoErr = s.classify(s.ref, s.infoErr)
		}
	})
	return s.infoV, s.infoErr
}

func (s *imageSource) Walk(ctx context.Context, exs []Extractor, opt WalkOptions) (*FileIndex, []Warning, error) {
	var layers []v1.Layer
	var err error
	if s.layers != nil {
		layers, err = s.layers()
	} else {
		layers, err = s.img.Layers()
	}
	if err != nil {
		return nil, nil, s.classify(s.ref, fmt.Errorf("listing layers: %w", err))
	}
	if s.progress != nil {
		bar := newProgressBar(s.progress, layers)
		prev := opt.Progress
		opt.Progress = func(layer int, done, total int64) {
			bar.update(layer, done, total)
			if prev != nil {
				prev(layer, done, total)
			}
		}
		defer bar.finish()
	}
	ix, warns, err := WalkLayers(ctx, layers, exs, opt)
	if err != nil {
		return nil, warns, s.classify(s.ref, err)
	}
	return ix, warns, nil
}

// pickPlatform chooses want's image from a multi-platform index, or says
// which platforms the index has.
func pickPlatform(ref string, idx v1.ImageIndex, want v1.Platform) (v1.Image, v1.Hash, error) {
	im, err := idx.IndexManifest()
	if err != nil {
		return nil, v1.Hash{}, fmt.Errorf("reading the image index: %w", err)
	}
	var have []string
	for _, d := range im.Manifests {
		if d.Platform == nil || d.Platform.OS == "unknown" {
			continue // attestations and other non-images
		}
		if platformMatches(*d.Platform, want) {
			switch {
			case d.MediaType.IsImage():
				img, err := idx.Image(d.Digest)
				return img, d.Digest, err
			case d.MediaType.IsIndex():
				child, err := idx.ImageIndex(d.Digest)
				if err != nil {
					return nil, v1.Hash{}, err
				}
				return pickPlatform(ref, child, want)
			}
		}
		have = append(have, platformString(*d.Platform))
	}
	sort.Strings(have)
	return nil, v1.Hash{}, &SourceError{Ref: ref, Kind: ErrPlatformNotFound,
		Err:  fmt.Errorf("no image for %s; the index has %s", platformString(want), listOrNone(have)),
		Hint: "pick one with --platform"}
}

func listOrNone(xs []string) string {
	if len(xs) == 0 {
		return "no platform-specific images"
	}
	return strings.Join(xs, ", ")
}

func platformString(p v1.Platform) string {
	s := p.OS + "/" + p.Architecture
	if p.Variant != "" {
		s += "/" + p.Variant
	}
	return s
}

// platformMatches compares os and architecture, and the variant only when
// one is asked for; arm64 without a variant means v8.
func platformMatches(have, want v1.Platform) bool {
	if have.OS != want.OS || have.Architecture != want.Architecture {
		return false
	}
	if want.Variant == "" {
		return true
	}
	norm := func(p v1.Platform) string {
		if p.Variant == "" && p.Architecture == "arm64" {
			return "v8"
		}
		return p.Variant
	}
	return norm(have) == norm(want)
}

// openImage turns a manifest or index descriptor into the image to analyze.
func openImage(ref string, isIndex bool, index func() (v1.ImageIndex, error), image func() (v1.Image, error), want v1.Platform) (v1.Image, string, error) {
	if isIndex {
		idx, err := index()
		if err != nil {
			return nil, "", err
		}
		img, h, err := pickPlatform(ref, idx, want)
		if err != nil {
			return nil, "", err
		}
		return img, h.String(), nil
	}
	img, err := image()
	if err != nil {
		return nil, "", err
	}
	h, err := img.Digest()
	if err != nil {
		return nil, "", err
	}
	return img, h.String(), nil
}

var errNoImage = errors.New("the manifest is neither an image nor an index")
