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

	"github.com/seshat-dev/seshat/internal/uring"
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

// files is how a reader opens, reads and stats the files of a batch: through
// an io_uring, one system call for the batch, where the kernel allows one;
// else one file at a time. On this VM the io_uring opens, reads and closes
// the 65,000 files of Thoth's repository in under half the time the three
// system calls per file take (BENCHMARKS.md).
type files struct {
	ring      *uring.Ring
	ringTried bool
	names     []string
	reads     []uring.File
	stats     []uring.Stat
}

// ringSlotSize covers all but 0.5% of the files in Thoth's repository; a
// larger one is read again the plain way.
const ringSlotSize = 8 << 10

// ringEnv, set to 0, keeps loads off io_uring: for a kernel whose io_uring
// misbehaves, and for comparing the two ways.
const ringEnv = "SESHAT_IO_URING"

// batchRing returns the reader's ring, set up on first use, or nil when
// there is none.
func (r *reader) batchRing() *uring.Ring {
	if !r.ringTried {
		r.ringTried = true
		if os.Getenv(ringEnv) != "0" {
			r.ring, _ = uring.New(fileBatch, ringSlotSize) // refused: the plain path
		}
	}
	return r.ring
}

// dropRing gives up the ring after a failure of the ring itself; the load
// goes on the plain way.
func (r *reader) dropRing() {
	r.ring.Close()
	r.ring = nil
}

func (r *reader) close() {
	if r.ring != nil {
		r.ring.Close()
		r.ring = nil
	}
}

// batchNames lists the names of the files of batch.
func (r *reader) batchNames(batch []pendingFile) []string {
	r.names = r.names[:0]
	for i := range batch {
		r.names = append(r.names, batch[i].name)
	}
	return r.names
}

// readFiles reads each file of batch in d, handing its bytes (valid during
// the call) or the error reading it to loaded, in batch order.
func (r *reader) readFiles(d dirFD, batch []pendingFile, loaded func(f *pendingFile, data []byte, err error)) {
	if len(batch) > 1 && r.batchRing() != nil {
		ring := r.ring
		r.reads = slices.Grow(r.reads[:0], len(batch))[:len(batch)]
		if err := ring.ReadFiles(int(d), r.batchNames(batch), r.reads); err == nil {
			for i := range batch {
				f := &batch[i]
				if out := &r.reads[i]; out.Err == nil && !out.Truncated {
					loaded(f, out.Data, nil)
					continue
				}
				// Too large for a slot, or an error: read it again the
				// plain way, whose error names the file's full path.
				data, err := r.readAt(d, f.name, f.path)
				loaded(f, data, err)
			}
			return
		}
		r.dropRing()
	}
	for i := range batch {
		f := &batch[i]
		data, err := r.readAt(d, f.name, f.path)
		loaded(f, data, err)
	}
}

// statxMask is what a file's identity in the load cache is made of.
const statxMask = unix.STATX_TYPE | unix.STATX_INO | unix.STATX_SIZE | unix.STATX_MTIME | unix.STATX_CTIME

// identify sets the identity of each file of batch in d for the load cache;
// a file that is not a regular file (through symbolic links) has none.
func (r *reader) identify(d dirFD, batch []pendingFile) {
	if len(batch) > 1 && r.batchRing() != nil {
		ring := r.ring
		r.stats = slices.Grow(r.stats[:0], len(batch))[:len(batch)]
		if err := ring.StatFiles(int(d), r.batchNames(batch), statxMask, r.stats); err == nil {
			for i := range batch {
				if r.stats[i].Err == nil {
					batch[i].key, batch[i].ok = fileKeyOf(&r.stats[i].Statx_t)
				}
			}
			return
		}
		r.dropRing()
	}
	var st unix.Statx_t
	for i := range batch {
		if err := unix.Statx(int(d), batch[i].name, 0, statxMask, &st); err == nil {
			batch[i].key, batch[i].ok = fileKeyOf(&st)
		}
	}
}

func fileKeyOf(st *unix.Statx_t) (fileKey, bool) {
	if st.Mask&statxMask != statxMask || st.Mode&unix.S_IFMT != unix.S_IFREG {
		return fileKey{}, false
	}
	return fileKey{
		dev:   unix.Mkdev(st.Dev_major, st.Dev_minor),
		ino:   st.Ino,
		size:  st.Size,
		mtime: st.Mtime.Sec*1e9 + int64(st.Mtime.Nsec),
		ctime: st.Ctime.Sec*1e9 + int64(st.Ctime.Nsec),
	}, true
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
