package advise

import (
	"archive/zip"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"

	"github.com/seshat-dev/seshat/abi"
	"github.com/seshat-dev/seshat/advise/index"
	"github.com/seshat-dev/seshat/advise/wheel"
)

// Downloader fetches a file's bytes, verified against its index hash;
// *index.Client is one.
type Downloader interface {
	Download(ctx context.Context, f index.File, w io.Writer) error
}

// ABIChecker reads what a compiled wheel's shared objects ask of the
// system (GLIBC_2.34, GLIBCXX_3.4.30, …), since a wheel's platform tag is a
// claim its builder made, not a fact. What each wheel needs is cached on
// disk by the wheel's sha256, so a wheel is downloaded once ever.
type ABIChecker struct {
	dl  Downloader
	dir string // "" for no disk cache

	mu  sync.Mutex
	mem map[string][]string
}

// NewABIChecker checks wheels fetched with dl, caching under cacheDir
// (cacheDir "" keeps the results in memory only).
func NewABIChecker(dl Downloader, cacheDir string) *ABIChecker {
	return &ABIChecker{dl: dl, dir: cacheDir, mem: map[string][]string{}}
}

// abiCacheVersion changes when what is cached changes meaning.
const abiCacheVersion = "v1"

// Needs lists the symbol versions f's shared objects require from
// libraries the wheel does not bring itself, sorted. A pure-Python wheel
// (platform "any") needs nothing and is not downloaded.
func (c *ABIChecker) Needs(ctx context.Context, f index.File) ([]string, error) {
	wn, err := wheel.ParseFilename(f.Filename)
	if err != nil || !f.IsWheel() || slices.Equal(wn.Platform, []string{"any"}) {
		return nil, nil
	}
	sum := f.Hashes["sha256"]
	if sum == "" {
		return nil, fmt.Errorf("%s has no sha256 on the index, so its ABI check cannot be cached", f.Filename)
	}
	c.mu.Lock()
	needs, ok := c.mem[sum]
	c.mu.Unlock()
	if ok {
		return needs, nil
	}
	cacheFile := ""
	if c.dir != "" {
		cacheFile = filepath.Join(c.dir, "abi-"+abiCacheVersion, sum+".json")
		if b, err := os.ReadFile(cacheFile); err == nil {
			var cached []string
			if json.Unmarshal(b, &cached) == nil {
				c.remember(sum, cached)
				return cached, nil
			}
		}
	}
	var buf bytes.Buffer
	if err := c.dl.Download(ctx, f, &buf); err != nil {
		return nil, fmt.Errorf("downloading %s to read its shared objects: %w", f.Filename, err)
	}
	needs, err = wheelNeeds(buf.Bytes())
	if err != nil {
		return nil, fmt.Errorf("reading the shared objects of %s: %w", f.Filename, err)
	}
	c.remember(sum, needs)
	if cacheFile != "" {
		if b, err := json.Marshal(needs); err == nil {
			// A cache that cannot be written costs a download next time, nothing more.
			if os.MkdirAll(filepath.Dir(cacheFile), 0o755) == nil {
				tmp := cacheFile + ".tmp"
				if os.WriteFile(tmp, b, 0o644) == nil {
					_ = os.Rename(tmp, cacheFile)
				}
			}
		}
	}
	return needs, nil
}

func (c *ABIChecker) remember(sum string, needs []string) {
	c.mu.Lock()
	c.mem[sum] = needs
	c.mu.Unlock()
}

// wheelNeeds reads every ELF file in a wheel and returns the versions they
// need from libraries outside the wheel (auditwheel puts the libraries it
// bundles, with their own versions, in the wheel's .libs directory).
func wheelNeeds(data []byte) ([]string, error) {
	zr, err := zip.NewReader(bytes.NewReader(data), int64(len(data)))
	if err != nil {
		return nil, fmt.Errorf("not a zip archive: %w", err)
	}
	bundled := map[string]bool{}
	needs := map[string][]string{} // library → versions
	for _, zf := range zr.File {
		if !isSharedObjectName(zf.Name) {
			continue
		}
		rc, err := zf.Open()
		if err != nil {
			return nil, fmt.Errorf("%s: %w", zf.Name, err)
		}
		obj, err := abi.ReadELF(rc, int64(zf.UncompressedSize64))
		rc.Close()
		if errors.Is(err, abi.ErrNotELF) {
			continue
		}
		if err != nil {
			return nil, fmt.Errorf("%s: %w", zf.Name, err)
		}
		bundled[filepath.Base(zf.Name)] = true
		if obj.Soname != "" {
			bundled[obj.Soname] = true
		}
		for lib, vs := range obj.VersionNeeds {
			needs[lib] = append(needs[lib], vs...)
		}
	}
	var out []string
	for lib, vs := range needs {
		if bundled[lib] {
			continue
		}
		for _, v := range vs {
			if !slices.Contains(out, v) {
				out = append(out, v)
			}
		}
	}
	slices.Sort(out)
	return out, nil
}

func isSharedObjectName(name string) bool {
	base := filepath.Base(name)
	return strings.HasSuffix(base, ".so") || strings.Contains(base, ".so.")
}

// missing returns the needed versions the image does not define. Only
// families the image has some version of are judged (GLIBC, GLIBCXX, …): a
// family it lacks entirely is a library that is not installed, which an OS
// package may still bring and which no wheel tag speaks of.
func missingVersions(needs []string, image map[string][]string) []string {
	var out []string
	for fam, vs := range abi.Symbols(needs) {
		have, ok := image[fam]
		if !ok {
			continue
		}
		for _, v := range vs {
			if !slices.Contains(have, v) {
				out = append(out, v)
			}
		}
	}
	slices.Sort(out)
	return out
}

// check returns the hook that refuses a wheel needing versions the image
// lacks, naming them.
func (c *ABIChecker) check(env *ImageEnvironment) func(ctx context.Context, f index.File) (string, error) {
	return func(ctx context.Context, f index.File) (string, error) {
		if len(env.Symbols) == 0 {
			return "", nil // nothing known of the image's libraries: trust the tag
		}
		needs, err := c.Needs(ctx, f)
		if err != nil {
			return "", err
		}
		miss := missingVersions(needs, env.Symbols)
		if len(miss) == 0 {
			return "", nil
		}
		libc := env.Libc
		if libc == "" {
			libc = "the image's libraries"
		}
		return fmt.Sprintf("%s needs %s, which %s does not define (its tag claims more than its shared objects allow)",
			f.Filename, strings.Join(miss, ", "), libc), nil
	}
}
