package extract

import (
	"errors"
	"fmt"
	"io/fs"
	"path"
	"sort"
	"strings"
)

// FileType tells what kind of entry a path is in the squashed image.
type FileType uint8

const (
	TypeRegular FileType = iota
	TypeDir
	TypeSymlink
	TypeHardlink
	TypeOther // devices, fifos: indexed, never read
)

// FileMeta is what the index knows of every visible path, cheaply.
type FileMeta struct {
	Path     string // absolute, cleaned, inside the image root
	Type     FileType
	Mode     fs.FileMode
	Size     int64
	Linkname string // symlink target as written, or hardlink target (absolute)
	Layer    int    // index of the layer it came from, 0 = bottom; -1 for dir: sources
}

// ErrNotKept is returned by ReadFile for a file whose contents no extractor asked for.
var ErrNotKept = errors.New("contents not kept: no extractor asked for this file")

// maxLinkHops bounds symlink resolution so that loops end in an error.
const maxLinkHops = 40

// FileIndex is the squashed view of an image: metadata for every visible
// path, and the bytes of the files extractors wanted.
type FileIndex struct {
	files    map[string]*FileMeta
	contents map[string][]byte
}

// NewFileIndex returns an empty index.
func NewFileIndex() *FileIndex {
	return &FileIndex{files: map[string]*FileMeta{}, contents: map[string][]byte{}}
}

// Add records meta (and, when data is non-nil, the file's bytes). The walk
// calls it once per visible path; a later Add for the same path replaces it.
func (ix *FileIndex) Add(meta FileMeta, data []byte) {
	m := meta
	m.Path = CleanPath(m.Path)
	ix.files[m.Path] = &m
	if data != nil {
		ix.contents[m.Path] = data
	}
}

// Len is the number of indexed paths.
func (ix *FileIndex) Len() int { return len(ix.files) }

// Lookup returns the entry at p without following symlinks.
func (ix *FileIndex) Lookup(p string) (*FileMeta, bool) {
	m, ok := ix.files[CleanPath(p)]
	return m, ok
}

// Resolve follows symlinks (in every path component) and hardlinks, never
// leaving the image root: an absolute target is taken relative to the root
// and ".." stops at "/", as the kernel does inside a chroot. It returns the
// final path, which may not exist in the index.
func (ix *FileIndex) Resolve(p string) (string, error) {
	return ix.resolve(CleanPath(p), 0)
}

func (ix *FileIndex) resolve(p string, hops int) (string, error) {
	parts := strings.Split(strings.TrimPrefix(p, "/"), "/")
	cur := "/"
	for i, part := range parts {
		if part == "" {
			continue
		}
		next := path.Join(cur, part)
		m, ok := ix.files[next]
		if ok && (m.Type == TypeSymlink || m.Type == TypeHardlink) {
			hops++
			if hops > maxLinkHops {
				return "", fmt.Errorf("resolving %s: too many levels of symbolic links", p)
			}
			var target string
			if m.Type == TypeHardlink || path.IsAbs(m.Linkname) {
				target = CleanPath(m.Linkname)
			} else {
				target = CleanPath(path.Join(cur, m.Linkname))
			}
			rest := strings.Join(parts[i+1:], "/")
			return ix.resolve(CleanPath(path.Join(target, rest)), hops)
		}
		cur = next
	}
	return cur, nil
}

// Stat resolves p and returns the entry it lands on.
func (ix *FileIndex) Stat(p string) (*FileMeta, error) {
	r, err := ix.Resolve(p)
	if err != nil {
		return nil, err
	}
	m, ok := ix.files[r]
	if !ok {
		return nil, fmt.Errorf("%s: %w", p, fs.ErrNotExist)
	}
	return m, nil
}

// ReadFile resolves p and returns the kept bytes of the file it lands on.
// A hardlink reads as its target only while the target is the file it was
// linked to: one replaced by an upper layer no longer holds the link's bytes.
func (ix *FileIndex) ReadFile(p string) ([]byte, error) {
	r, err := ix.resolveSymlinks(CleanPath(p))
	if err != nil {
		return nil, err
	}
	m, ok := ix.files[r]
	if !ok {
		return nil, fmt.Errorf("%s: %w", p, fs.ErrNotExist)
	}
	if b, ok := ix.contents[r]; ok {
		return b, nil
	}
	if m.Type != TypeHardlink {
		return nil, fmt.Errorf("%s: %w", p, ErrNotKept)
	}
	t, err := ix.Resolve(m.Linkname)
	if err != nil {
		return nil, err
	}
	tm, ok := ix.files[t]
	if !ok {
		return nil, fmt.Errorf("%s: hardlink to %s: %w", p, m.Linkname, fs.ErrNotExist)
	}
	if tm.Layer != m.Layer {
		return nil, fmt.Errorf("%s: hardlink target %s was replaced by an upper layer: %w", p, m.Linkname, ErrNotKept)
	}
	if b, ok := ix.contents[t]; ok {
		return b, nil
	}
	return nil, fmt.Errorf("%s: %w", p, ErrNotKept)
}

// resolveSymlinks is Resolve, except that a hardlink as the last
// component is not followed.
func (ix *FileIndex) resolveSymlinks(p string) (string, error) {
	for hops := 0; hops <= maxLinkHops; hops++ {
		dir, base := path.Split(p)
		if base == "" {
			return ix.Resolve(p)
		}
		d, err := ix.Resolve(dir)
		if err != nil {
			return "", err
		}
		leaf := path.Join(d, base)
		m, ok := ix.files[leaf]
		if !ok || m.Type != TypeSymlink {
			return leaf, nil
		}
		if path.IsAbs(m.Linkname) {
			p = CleanPath(m.Linkname)
		} else {
			p = CleanPath(path.Join(d, m.Linkname))
		}
	}
	return "", fmt.Errorf("resolving %s: too many levels of symbolic links", p)
}

// Paths returns every indexed path in lexical order.
func (ix *FileIndex) Paths() []string {
	out := make([]string, 0, len(ix.files))
	for p := range ix.files {
		out = append(out, p)
	}
	sort.Strings(out)
	return out
}

// Glob returns the indexed paths matching pattern (path.Match syntax), sorted.
func (ix *FileIndex) Glob(pattern string) []string {
	var out []string
	for p := range ix.files {
		if ok, _ := path.Match(pattern, p); ok {
			out = append(out, p)
		}
	}
	sort.Strings(out)
	return out
}

// CleanPath makes p absolute and clean, with ".." stopping at the root, so
// that no entry name can point outside the image.
func CleanPath(p string) string {
	return path.Clean("/" + strings.TrimPrefix(p, "./"))
}
