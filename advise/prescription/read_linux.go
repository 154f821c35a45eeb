package prescription

import (
	"fmt"
	"os"
	"runtime"
	"slices"
	"strings"
	"syscall"
	"unsafe"

	"golang.org/x/sys/unix"
)

// Over 65,000 small files the system calls are most of a load: each one
// costs microseconds in the VMs seshat runs in, and opening by a full path
// walks the path again for every file. So a directory is opened once, listed
// with getdents64 and its files opened by name relative to it; a file is
// open, read, close, without os.ReadFile's fstat, *os.File and finalizer,
// and the second read for EOF.

// dirFD is a directory open for listing and for opening its entries.
type dirFD int

func openDir(path string) (dirFD, error) {
	fd, err := syscall.Open(path, syscall.O_RDONLY|syscall.O_DIRECTORY|syscall.O_CLOEXEC, 0)
	if err != nil {
		return -1, &os.PathError{Op: "open", Path: path, Err: err}
	}
	return dirFD(fd), nil
}

// openSubdir opens the directory name in d; path is its full path, for errors.
func openSubdir(d dirFD, name, path string) (dirFD, error) {
	fd, err := syscall.Openat(int(d), name, syscall.O_RDONLY|syscall.O_DIRECTORY|syscall.O_CLOEXEC, 0)
	if err != nil {
		return -1, &os.PathError{Op: "open", Path: path, Err: err}
	}
	return dirFD(fd), nil
}

func (d dirFD) close() {
	if d >= 0 {
		syscall.Close(int(d))
	}
}

// list returns d's entries sorted by name, as os.ReadDir would; base is
// d's clean path, which the entries' paths start with.
func (r *reader) list(d dirFD, base string) ([]dirent, error) {
	var ents []dirent
	for {
		n, err := syscall.ReadDirent(int(d), r.buf)
		if err == syscall.EINTR {
			continue
		}
		if err != nil {
			return nil, &os.PathError{Op: "readdirent", Path: base, Err: err}
		}
		if n <= 0 {
			break
		}
		for b := r.buf[:n]; len(b) > 0; {
			// A linux_dirent64: inode, offset, record length, type, name
			// NUL-terminated and padded to the record length.
			de := (*syscall.Dirent)(unsafe.Pointer(&b[0]))
			rec := b[:de.Reclen]
			b = b[de.Reclen:]
			name := rec[unsafe.Offsetof(de.Name):]
			if i := slices.Index(name, 0); i >= 0 {
				name = name[:i]
			}
			if len(name) == 0 || string(name) == "." || string(name) == ".." {
				continue
			}
			e := dirent{path: joinName(base, string(name))}
			e.name = e.path[len(e.path)-len(name):]
			typ := de.Type
			if typ == syscall.DT_UNKNOWN {
				// Some file systems leave the type to a stat.
				if fi, err := os.Lstat(e.path); err == nil {
					switch m := fi.Mode(); {
					case m.IsDir():
						typ = syscall.DT_DIR
					case m.IsRegular():
						typ = syscall.DT_REG
					case m&os.ModeSymlink != 0:
						typ = syscall.DT_LNK
					}
				}
			}
			e.isDir = typ == syscall.DT_DIR
			e.isFile = typ == syscall.DT_REG || typ == syscall.DT_LNK
			ents = append(ents, e)
		}
	}
	slices.SortFunc(ents, func(a, b dirent) int { return strings.Compare(a.name, b.name) })
	return ents, nil
}

// readAt returns the bytes of the file name in d, in r.buf (valid until the
// next read); path is its full path, for errors.
func (r *reader) readAt(d dirFD, name, path string) ([]byte, error) {
	fd, _, errno := unix.Syscall6(unix.SYS_OPENAT, uintptr(d), uintptr(unsafe.Pointer(r.cstring(name))), syscall.O_RDONLY|syscall.O_CLOEXEC, 0, 0, 0)
	if errno != 0 {
		return nil, &os.PathError{Op: "open", Path: path, Err: errno}
	}
	return r.readFD(int(fd), path)
}

// cstring returns name NUL-terminated, in r's scratch space (valid until the
// next call): syscall.Openat allocates a copy per call, one per file of
// 65,000.
func (r *reader) cstring(name string) *byte {
	r.name = append(append(r.name[:0], name...), 0)
	return &r.name[0]
}

// read is readAt for a file named by its path.
func (r *reader) read(path string) ([]byte, error) {
	fd, err := syscall.Open(path, syscall.O_RDONLY|syscall.O_CLOEXEC, 0)
	if err != nil {
		return nil, &os.PathError{Op: "open", Path: path, Err: err}
	}
	return r.readFD(fd, path)
}

// readFD reads fd to its end and closes it.
func (r *reader) readFD(fd int, path string) ([]byte, error) {
	defer syscall.Close(fd)
	n := 0
	for {
		if n == len(r.buf) {
			r.buf = append(r.buf, make([]byte, len(r.buf))...)
		}
		m, err := syscall.Read(fd, r.buf[n:])
		if err == syscall.EINTR {
			continue
		}
		if err != nil {
			return nil, &os.PathError{Op: "read", Path: path, Err: err}
		}
		if m == 0 {
			return r.buf[:n], nil
		}
		n += m
		// A short read of a regular file is its end; skip the read that
		// would return 0.
		if n < len(r.buf) {
			return r.buf[:n], nil
		}
	}
}

// statAt returns the identity of the regular file name in d (through a
// symbolic link), for the load cache.
func (r *reader) statAt(d dirFD, name string) (fileKey, bool) {
	var st unix.Stat_t
	if err := unix.Fstatat(int(d), name, &st, 0); err != nil || st.Mode&unix.S_IFMT != unix.S_IFREG {
		return fileKey{}, false
	}
	return fileKey{dev: uint64(st.Dev), ino: st.Ino, size: uint64(st.Size), mtime: st.Mtim.Nano(), ctime: st.Ctim.Nano()}, true
}

// mapFile maps the cache file at path read-only. Reading it into the heap
// cost 0.15 s for the 30 MB of Thoth's repository here, the pages faulted in
// one by one; a mapping of the page cache costs milliseconds. The mapping is
// released once src is unreachable. seshat replaces a cache file by renaming
// a new one over it, so the mapped file never shrinks under the mapping.
func mapFile(path string) (data []byte, src *mapped, err error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, nil, err
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return nil, nil, err
	}
	if fi.Size() == 0 || fi.Size() > 1<<31 {
		return nil, nil, fmt.Errorf("%s: unexpected size %d", path, fi.Size())
	}
	data, err = unix.Mmap(int(f.Fd()), 0, int(fi.Size()), unix.PROT_READ, unix.MAP_PRIVATE|unix.MAP_POPULATE)
	if err != nil {
		return nil, nil, err
	}
	src = &mapped{data: data}
	runtime.AddCleanup(src, func(b []byte) { unix.Munmap(b) }, data)
	return data, src, nil
}
