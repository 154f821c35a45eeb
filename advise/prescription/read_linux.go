package prescription

import (
	"os"
	"syscall"
)

// read returns the file's bytes in r.buf (valid until the next read). A
// prescription file is small, and os.ReadFile's extra fstat, the *os.File
// with its finalizer and the second read for EOF were a third of the load
// time over 65,000 of them: open, read, close is all it needs.
func (r *reader) read(path string) ([]byte, error) {
	fd, err := syscall.Open(path, syscall.O_RDONLY|syscall.O_CLOEXEC, 0)
	if err != nil {
		return nil, &os.PathError{Op: "open", Path: path, Err: err}
	}
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
