package extract

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"io/fs"
	"path"
	"sort"
	"time"

	"github.com/bmatcuk/doublestar/v4"

	stereofile "github.com/anchore/stereoscope/pkg/file"
	"github.com/anchore/syft/syft/file"
)

// syftResolver shows a FileIndex to syft's catalogers as a file.Resolver.
//
// Paths resolve through the index (symlinks and hardlinks inside the image
// root only). Globs match only the files whose bytes were kept: those are the
// only ones a cataloger could read, and matching them instead of every path
// keeps a glob cheap on an image of 100,000 files.
type syftResolver struct {
	ix *FileIndex
}

var _ file.Resolver = (*syftResolver)(nil)

func newSyftResolver(ix *FileIndex) *syftResolver { return &syftResolver{ix: ix} }

// HasPath reports whether p exists (file or directory), following links.
func (r *syftResolver) HasPath(p string) bool {
	_, err := r.ix.Stat(p)
	return err == nil
}

// FilesByPath returns a location for each path that resolves to a regular
// file; the access path is the one asked for, the real path where it lands.
func (r *syftResolver) FilesByPath(paths ...string) ([]file.Location, error) {
	var out []file.Location
	for _, p := range paths {
		if loc, ok := r.fileAt(p); ok {
			out = append(out, loc)
		}
	}
	return out, nil
}

func (r *syftResolver) fileAt(p string) (file.Location, bool) {
	access := CleanPath(p)
	real, err := r.ix.Resolve(access)
	if err != nil {
		return file.Location{}, false
	}
	m, ok := r.ix.Lookup(real)
	if !ok || (m.Type != TypeRegular && m.Type != TypeHardlink) {
		return file.Location{}, false
	}
	if real == access {
		return file.NewLocation(real), true
	}
	return file.NewVirtualLocation(real, access), true
}

// FilesByGlob matches syft's doublestar patterns against the kept files.
func (r *syftResolver) FilesByGlob(patterns ...string) ([]file.Location, error) {
	kept := r.keptPaths()
	seen := map[string]bool{}
	var out []file.Location
	for _, pat := range patterns {
		if !doublestar.ValidatePattern(pat) {
			return nil, fmt.Errorf("invalid glob %q", pat)
		}
		for _, p := range kept {
			if seen[p] {
				continue
			}
			if ok, _ := doublestar.Match(pat, p); !ok {
				// syft's patterns usually start with "**/", which needs a
				// leading component; match the path without its root too.
				if ok, _ = doublestar.Match(pat, p[1:]); !ok {
					continue
				}
			}
			seen[p] = true
			out = append(out, file.NewLocation(p))
		}
	}
	return out, nil
}

func (r *syftResolver) keptPaths() []string {
	out := make([]string, 0, len(r.ix.contents))
	for p := range r.ix.contents {
		out = append(out, p)
	}
	sort.Strings(out)
	return out
}

// FilesByMIMEType finds nothing: the index does not sniff contents, and the
// catalogers seshat runs select their files by path.
func (r *syftResolver) FilesByMIMEType(...string) ([]file.Location, error) { return nil, nil }

// RelativeFileByPath finds p in the squashed view; an image index has no
// per-layer views to be relative to.
func (r *syftResolver) RelativeFileByPath(_ file.Location, p string) *file.Location {
	loc, ok := r.fileAt(p)
	if !ok {
		return nil
	}
	return &loc
}

// FileContentsByLocation returns the kept bytes of the location's file.
func (r *syftResolver) FileContentsByLocation(loc file.Location) (io.ReadCloser, error) {
	p := loc.RealPath
	if p == "" {
		p = loc.AccessPath
	}
	b, err := r.ix.ReadFile(p)
	if err != nil {
		return nil, err
	}
	return io.NopCloser(bytes.NewReader(b)), nil
}

// AllLocations lists every indexed path, links unresolved.
func (r *syftResolver) AllLocations(ctx context.Context) <-chan file.Location {
	ch := make(chan file.Location)
	go func() {
		defer close(ch)
		for _, p := range r.ix.Paths() {
			select {
			case ch <- file.NewLocation(p):
			case <-ctx.Done():
				return
			}
		}
	}()
	return ch
}

// FileMetadataByLocation describes the entry at the location's real path.
func (r *syftResolver) FileMetadataByLocation(loc file.Location) (file.Metadata, error) {
	m, ok := r.ix.Lookup(loc.RealPath)
	if !ok {
		return file.Metadata{}, fmt.Errorf("%s: %w", loc.RealPath, fs.ErrNotExist)
	}
	return file.Metadata{
		FileInfo: stereofile.ManualInfo{
			NameValue:    path.Base(m.Path),
			SizeValue:    m.Size,
			ModeValue:    m.Mode,
			ModTimeValue: time.Time{},
		},
		Path:            m.Path,
		LinkDestination: m.Linkname,
		Type:            stereoType(m.Type),
	}, nil
}

func stereoType(t FileType) stereofile.Type {
	switch t {
	case TypeDir:
		return stereofile.TypeDirectory
	case TypeSymlink:
		return stereofile.TypeSymLink
	case TypeHardlink:
		return stereofile.TypeHardLink
	case TypeOther:
		return stereofile.TypeIrregular
	default:
		return stereofile.TypeRegular
	}
}
