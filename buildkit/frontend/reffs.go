package frontend

import (
	"context"
	"errors"
	"io"
	"io/fs"
	"path"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/moby/buildkit/frontend/gateway/client"
	fstypes "github.com/tonistiigi/fsutil/types"
)

// readChunk is how much of a file one ReadFile request asks for: well under
// the gateway's message limit (16 MiB).
const readChunk = 1 << 20

// refFS is a solved BuildKit reference as an fs.FS: ReadDir, StatFile and
// ReadFile of the gateway API, nothing else. BuildKit resolves every path
// inside the reference's root (a symlink cannot lead out of it), and
// nothing in the image is executed to read it.
type refFS struct {
	ctx context.Context
	ref client.Reference

	mu sync.Mutex
	// links holds the targets of symlinks listed by ReadDir until
	// ReadLink asks for them (the walker does so right after the listing),
	// so that most links cost no extra request.
	links map[string]string
}

func newRefFS(ctx context.Context, ref client.Reference) *refFS {
	return &refFS{ctx: ctx, ref: ref, links: map[string]string{}}
}

var (
	_ fs.ReadDirFS  = (*refFS)(nil)
	_ fs.ReadLinkFS = (*refFS)(nil)
	_ fs.StatFS     = (*refFS)(nil)
)

// abs turns an fs.FS name into the gateway's path.
func abs(name string) string {
	if name == "." {
		return "/"
	}
	return "/" + name
}

func (r *refFS) pathError(op, name string, err error) error {
	if err == nil {
		return nil
	}
	if strings.Contains(err.Error(), "no such file or directory") {
		// The gateway's gRPC error carries the text, not the errno.
		err = fs.ErrNotExist
	}
	return &fs.PathError{Op: op, Path: name, Err: err}
}

// Stat follows a final symlink, as Open does.
func (r *refFS) Stat(name string) (fs.FileInfo, error) {
	if !fs.ValidPath(name) {
		return nil, &fs.PathError{Op: "stat", Path: name, Err: fs.ErrInvalid}
	}
	st, err := r.ref.StatFile(r.ctx, client.StatRequest{Path: abs(name)})
	if err != nil {
		return nil, r.pathError("stat", name, err)
	}
	return statInfo{st, path.Base(name)}, nil
}

func (r *refFS) Open(name string) (fs.File, error) {
	fi, err := r.Stat(name)
	if err != nil {
		return nil, &fs.PathError{Op: "open", Path: name, Err: errors.Unwrap(err)}
	}
	return &refFile{fs: r, name: name, info: fi}, nil
}

// ReadDir lists name in name order; symlinks are reported as such.
func (r *refFS) ReadDir(name string) ([]fs.DirEntry, error) {
	if !fs.ValidPath(name) {
		return nil, &fs.PathError{Op: "readdir", Path: name, Err: fs.ErrInvalid}
	}
	sts, err := r.ref.ReadDir(r.ctx, client.ReadDirRequest{Path: abs(name)})
	if err != nil {
		return nil, r.pathError("readdir", name, err)
	}
	ents := make([]fs.DirEntry, 0, len(sts))
	r.mu.Lock()
	for _, st := range sts {
		e := statInfo{st, st.Path}
		if e.Mode()&fs.ModeSymlink != 0 && fs.ValidPath(st.Path) && !strings.Contains(st.Path, "/") {
			r.links[path.Join(name, st.Path)] = st.Linkname
		}
		ents = append(ents, fs.FileInfoToDirEntry(e))
	}
	r.mu.Unlock()
	slices.SortFunc(ents, func(a, b fs.DirEntry) int { return strings.Compare(a.Name(), b.Name()) })
	return ents, nil
}

// Lstat does not follow a final symlink: it reads the parent's listing.
func (r *refFS) Lstat(name string) (fs.FileInfo, error) {
	if name == "." {
		return r.Stat(name)
	}
	ents, err := r.ReadDir(path.Dir(name))
	if err != nil {
		return nil, &fs.PathError{Op: "lstat", Path: name, Err: errors.Unwrap(err)}
	}
	base := path.Base(name)
	for _, e := range ents {
		if e.Name() == base {
			return e.Info()
		}
	}
	return nil, &fs.PathError{Op: "lstat", Path: name, Err: fs.ErrNotExist}
}

func (r *refFS) ReadLink(name string) (string, error) {
	r.mu.Lock()
	target, ok := r.links[name]
	delete(r.links, name)
	r.mu.Unlock()
	if ok {
		return target, nil
	}
	fi, err := r.Lstat(name)
	if err != nil {
		return "", err
	}
	st, ok := fi.Sys().(*fstypes.Stat)
	if !ok || fi.Mode()&fs.ModeSymlink == 0 {
		return "", &fs.PathError{Op: "readlink", Path: name, Err: fs.ErrInvalid}
	}
	r.mu.Lock()
	delete(r.links, name)
	r.mu.Unlock()
	return st.Linkname, nil
}

// statInfo is an fsutil Stat as an fs.FileInfo; its Mode is Go's FileMode.
type statInfo struct {
	st   *fstypes.Stat
	name string
}

func (s statInfo) Name() string       { return s.name }
func (s statInfo) Size() int64        { return s.st.Size }
func (s statInfo) Mode() fs.FileMode  { return fs.FileMode(s.st.Mode) }
func (s statInfo) ModTime() time.Time { return time.Unix(0, s.st.ModTime) }
func (s statInfo) IsDir() bool        { return s.Mode().IsDir() }
func (s statInfo) Sys() any           { return s.st }

// refFile reads a regular file in chunks, from where the last read ended.
type refFile struct {
	fs   *refFS
	name string
	info fs.FileInfo
	off  int64
	buf  []byte
	eof  bool
	dir  []fs.DirEntry // for ReadDir on a directory, once listed
	read bool
}

func (f *refFile) Stat() (fs.FileInfo, error) { return f.info, nil }
func (f *refFile) Close() error               { return nil }

func (f *refFile) Read(p []byte) (int, error) {
	if !f.info.Mode().IsRegular() {
		return 0, &fs.PathError{Op: "read", Path: f.name, Err: fs.ErrInvalid}
	}
	for len(f.buf) == 0 {
		if f.eof {
			return 0, io.EOF
		}
		b, err := f.fs.ref.ReadFile(f.fs.ctx, client.ReadRequest{Filename: abs(f.name), Range: &client.FileRange{Offset: int(f.off), Length: readChunk}})
		if err != nil {
			return 0, f.fs.pathError("read", f.name, err)
		}
		f.off += int64(len(b))
		f.buf = b
		f.eof = len(b) < readChunk
	}
	n := copy(p, f.buf)
	f.buf = f.buf[n:]
	return n, nil
}

// ReadDir makes a directory opened with Open listable (fs.ReadDirFile).
func (f *refFile) ReadDir(n int) ([]fs.DirEntry, error) {
	if !f.info.IsDir() {
		return nil, &fs.PathError{Op: "readdir", Path: f.name, Err: fs.ErrInvalid}
	}
	if !f.read {
		ents, err := f.fs.ReadDir(f.name)
		if err != nil {
			return nil, err
		}
		f.dir, f.read = ents, true
	}
	if n <= 0 {
		ents := f.dir
		f.dir = nil
		return ents, nil
	}
	if len(f.dir) == 0 {
		return nil, io.EOF
	}
	n = min(n, len(f.dir))
	ents := f.dir[:n]
	f.dir = f.dir[n:]
	return ents, nil
}
