package extract

import (
	"crypto/sha256"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"strings"
)

// cacheFormat changes whenever what an Analysis holds for the same image
// changes (a new extractor, a fix in one), so that older entries are no
// longer served. It is part of every cache key, with SchemaV1 and the
// caller's salt.
const cacheFormat = "3"

// digestRE accepts the digests an OCI manifest can have; anything else is
// refused before it becomes part of a file name.
var digestRE = regexp.MustCompile(`^(sha256:[a-f0-9]{64}|sha512:[a-f0-9]{128})$`)

// Cache keeps Analyses on disk, one JSON file per manifest digest, so that
// analyzing an image again reads its manifest only.
type Cache struct {
	dir string
	key string // hex, from SchemaV1, cacheFormat and the salt
}

// DefaultCacheDir is $XDG_CACHE_HOME/seshat/analysis (os.UserCacheDir).
func DefaultCacheDir() (string, error) {
	d, err := os.UserCacheDir()
	if err != nil {
		return "", fmt.Errorf("finding the cache directory: %w (set XDG_CACHE_HOME, or pass --no-cache)", err)
	}
	return filepath.Join(d, "seshat", "analysis"), nil
}

// NewCache returns the cache in dir. salt names what produced the
// analyses — the seshat version and the extractors run — so that a
// different producer neither reads nor overwrites them.
func NewCache(dir, salt string) *Cache {
	h := sha256.Sum256([]byte(SchemaV1 + "\x00" + cacheFormat + "\x00" + salt))
	return &Cache{dir: dir, key: fmt.Sprintf("%x", h[:6])}
}

// Dir is where the cache keeps its files.
func (c *Cache) Dir() string { return c.dir }

func (c *Cache) file(digest string) (string, error) {
	if !digestRE.MatchString(digest) {
		return "", fmt.Errorf("cache: %q is not a manifest digest", digest)
	}
	algo, sum, _ := strings.Cut(digest, ":")
	return filepath.Join(c.dir, algo+"-"+sum+"."+c.key+".json"), nil
}

// Get returns the analysis cached for digest. A missing entry is (nil,
// false, nil); an unreadable or corrupt one is a miss too, reported in err
// so the caller can warn and analyze again.
func (c *Cache) Get(digest string) (*Analysis, bool, error) {
	p, err := c.file(digest)
	if err != nil {
		return nil, false, err
	}
	b, err := os.ReadFile(p)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, false, nil
	}
	if err != nil {
		return nil, false, fmt.Errorf("reading cached analysis %s: %w", p, err)
	}
	var a Analysis
	if err := json.Unmarshal(b, &a); err != nil {
		return nil, false, fmt.Errorf("cached analysis %s is corrupt (%v); analyzing again", p, err)
	}
	if a.Schema != SchemaV1 || a.Image.Digest != digest {
		return nil, false, fmt.Errorf("cached analysis %s is for another schema or image; analyzing again", p)
	}
	if a.Packages == nil {
		a.Packages = []Package{}
	}
	if a.Warnings == nil {
		a.Warnings = []Warning{}
	}
	return &a, true, nil
}

// Put stores a under a.Image.Digest, atomically (temporary file, then
// rename), so a reader never sees half an entry. An analysis without a
// manifest digest (a dir: root) is not cached.
func (c *Cache) Put(a *Analysis) error {
	if a.Image.Digest == "" {
		return nil
	}
	p, err := c.file(a.Image.Digest)
	if err != nil {
		return err
	}
	if err := os.MkdirAll(c.dir, 0o755); err != nil {
		return fmt.Errorf("creating cache directory: %w", err)
	}
	b, err := json.Marshal(a)
	if err != nil {
		return fmt.Errorf("encoding analysis for the cache: %w", err)
	}
	f, err := os.CreateTemp(c.dir, ".tmp-*.json")
	if err != nil {
		return fmt.Errorf("writing cache entry: %w", err)
	}
	tmp := f.Name()
	_, werr := f.Write(b)
	cerr := f.Close()
	if err := errors.Join(werr, cerr); err != nil {
		os.Remove(tmp)
		return fmt.Errorf("writing cache entry %s: %w", tmp, err)
	}
	if err := os.Rename(tmp, p); err != nil {
		os.Remove(tmp)
		return fmt.Errorf("storing cache entry %s: %w", p, err)
	}
	return nil
}
