//go:build !linux

package prescription

import (
	"io"
	"os"
)

// Elsewhere than Linux a directory is named by its path and its files are
// read with os: correct, if slower (see read_linux.go).

type dirFD string

func openDir(path string) (dirFD, error) { return dirFD(path), nil }

func openSubdir(_ dirFD, _, path string) (dirFD, error) { return dirFD(path), nil }

func (dirFD) close() {}

// list returns d's entries sorted by name; base is d's clean path.
func (r *reader) list(d dirFD, base string) ([]dirent, error) {
	des, err := os.ReadDir(string(d))
	if err != nil {
		return nil, err
	}
	ents := make([]dirent, 0, len(des))
	for _, de := range des {
		e := dirent{path: joinName(base, de.Name()), name: de.Name(), isDir: de.IsDir()}
		e.isFile = de.Type().IsRegular() || de.Type()&os.ModeSymlink != 0
		ents = append(ents, e)
	}
	return ents, nil
}

func (r *reader) readAt(_ dirFD, _, path string) ([]byte, error) { return r.read(path) }

// read returns the file's bytes in r.buf, valid until the next read.
func (r *reader) read(path string) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	n := 0
	for {
		if n == len(r.buf) {
			r.buf = append(r.buf, make([]byte, len(r.buf))...)
		}
		m, err := f.Read(r.buf[n:])
		n += m
		if err == io.EOF {
			return r.buf[:n], nil
		}
		if err != nil {
			return nil, err
		}
	}
}

// files: elsewhere than Linux, files are read one at a time.
type files struct{}

func (*reader) close() {}

// readFiles reads each file of batch, handing its bytes (valid during the
// call) or the error reading it to loaded, in batch order.
func (r *reader) readFiles(_ dirFD, batch []pendingFile, loaded func(f *pendingFile, data []byte, err error)) {
	for i := range batch {
		data, err := r.read(batch[i].path)
		loaded(&batch[i], data, err)
	}
}

// identify: elsewhere than Linux files are not cached; their stat does not
// carry the change time the cache relies on.
func (*reader) identify(dirFD, []pendingFile) {}

// mapFile reads the cache file at path into memory (see read_linux.go).
func mapFile(path string) (data []byte, src *mapped, err error) {
	data, err = os.ReadFile(path)
	return data, nil, err
}
