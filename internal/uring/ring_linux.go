package uring

import (
	"errors"
	"fmt"
	"os"
	"strings"
	"sync/atomic"
	"syscall"
	"unsafe"

	"golang.org/x/sys/unix"
)

// The parts of <linux/io_uring.h> this package uses.
const (
	opOpenat = 18
	opClose  = 19
	opStatx  = 21
	opRead   = 22

	sqeFixedFile  = 1 << 0
	sqeIOLink     = 1 << 2
	sqeIOHardlink = 1 << 3

	offSQRing = 0
	offSQEs   = 0x10000000

	enterGetEvents = 1 << 0
	featSingleMmap = 1 << 0

	registerFiles2       = 13
	rsrcRegisterSparse   = 1 << 0
	sqeSize, cqeSize     = 64, 16
	nameSize, statxSize  = unix.NAME_MAX + 1, int(unsafe.Sizeof(unix.Statx_t{}))
	sqesPerFile          = 3 // open, read, close
	maxBusy              = 100
	minKernelDescription = "Linux 5.19"
)

type sqringOffsets struct {
	head, tail, ringMask, ringEntries, flags, dropped, array, resv1 uint32
	resv2                                                           uint64
}

type cqringOffsets struct {
	head, tail, ringMask, ringEntries, overflow, cqes, flags, resv1 uint32
	resv2                                                           uint64
}

type params struct {
	sqEntries, cqEntries, flags, sqThreadCPU, sqThreadIdle, features, wqFD uint32
	resv                                                                   [3]uint32
	sqOff                                                                  sqringOffsets
	cqOff                                                                  cqringOffsets
}

type sqe struct {
	opcode      uint8
	flags       uint8
	ioprio      uint16
	fd          int32
	off         uint64
	addr        uint64
	len         uint32
	opFlags     uint32
	userData    uint64
	bufIndex    uint16
	personality uint16
	fileIndex   uint32
	addr3       uint64
	_           uint64
}

type cqe struct {
	userData uint64
	res      int32
	flags    uint32
}

// The kernel's layouts, checked: a mistake here fails the build.
var (
	_ [0]struct{} = [unsafe.Sizeof(sqe{}) - sqeSize]struct{}{}
	_ [0]struct{} = [unsafe.Sizeof(cqe{}) - cqeSize]struct{}{}
	_ [0]struct{} = [unsafe.Sizeof(params{}) - 120]struct{}{}
	_ [0]struct{} = [unsafe.Sizeof(rsrcRegister{}) - 32]struct{}{}
)

type rsrcRegister struct {
	nr, flags  uint32
	resv2      uint64
	data, tags uint64
}

// Ring is an io_uring with Slots file slots, each with a read buffer of
// SlotSize bytes. It is not safe for concurrent use: a loader keeps one per
// worker.
type Ring struct {
	fd       int
	rings    []byte // submission and completion rings, shared with the kernel
	sqes     []byte
	mem      []byte // read buffers, then file names, then statx results
	slots    int
	slotSize int

	sqHead, sqTail *uint32
	sqMask         uint32
	sqArray        unsafe.Pointer
	cqHead, cqTail *uint32
	cqMask         uint32
	cqes           unsafe.Pointer
	queued         uint32 // entries written past the tail the kernel has seen
}

// File is one file's outcome in ReadFiles.
type File struct {
	// Data is the file's bytes, in the Ring's memory: valid until the next
	// call on the Ring.
	Data []byte
	// Truncated says the file filled its slot and may go on: the caller
	// reads it some other way.
	Truncated bool
	Err       error // an *os.PathError naming the file, from opening or reading it
}

// Stat is one file's outcome in StatFiles.
type Stat struct {
	unix.Statx_t
	Err error // an *os.PathError naming the file
}

// New sets up a ring for batches of up to slots files, read into buffers of
// slotSize bytes. It fails, with an error saying why, where the kernel does
// not offer io_uring or the operations used here (Linux 5.19 or later).
func New(slots, slotSize int) (*Ring, error) {
	if slots < 1 || slotSize < 1 {
		return nil, fmt.Errorf("io_uring: %d slots of %d bytes", slots, slotSize)
	}
	var p params
	fd, _, errno := unix.Syscall(unix.SYS_IO_URING_SETUP, uintptr(slots*sqesPerFile), uintptr(unsafe.Pointer(&p)), 0)
	if errno != 0 {
		return nil, fmt.Errorf("io_uring_setup: %w", errno)
	}
	r := &Ring{fd: int(fd), slots: slots, slotSize: slotSize}
	if err := r.setUp(&p); err != nil {
		r.Close()
		return nil, err
	}
	return r, nil
}

func (r *Ring) setUp(p *params) error {
	if p.features&featSingleMmap == 0 {
		return fmt.Errorf("io_uring: the kernel is older than %s", minKernelDescription)
	}
	size := max(p.sqOff.array+p.sqEntries*4, p.cqOff.cqes+p.cqEntries*cqeSize)
	var err error
	if r.rings, err = unix.Mmap(r.fd, offSQRing, int(size), unix.PROT_READ|unix.PROT_WRITE, unix.MAP_SHARED|unix.MAP_POPULATE); err != nil {
		return fmt.Errorf("io_uring: mapping the rings: %w", err)
	}
	if r.sqes, err = unix.Mmap(r.fd, offSQEs, int(p.sqEntries)*sqeSize, unix.PROT_READ|unix.PROT_WRITE, unix.MAP_SHARED|unix.MAP_POPULATE); err != nil {
		return fmt.Errorf("io_uring: mapping the submission entries: %w", err)
	}
	// MAP_POPULATE: faulting the buffers in one by one costs more than the
	// reads they save, in a VM.
	memSize := r.slots * (r.slotSize + nameSize + statxSize)
	if r.mem, err = unix.Mmap(-1, 0, memSize, unix.PROT_READ|unix.PROT_WRITE, unix.MAP_PRIVATE|unix.MAP_ANONYMOUS|unix.MAP_POPULATE); err != nil {
		return fmt.Errorf("io_uring: mapping %d bytes of buffers: %w", memSize, err)
	}
	base := unsafe.Pointer(&r.rings[0])
	r.sqHead = (*uint32)(unsafe.Add(base, p.sqOff.head))
	r.sqTail = (*uint32)(unsafe.Add(base, p.sqOff.tail))
	r.sqMask = *(*uint32)(unsafe.Add(base, p.sqOff.ringMask))
	r.sqArray = unsafe.Add(base, p.sqOff.array)
	r.cqHead = (*uint32)(unsafe.Add(base, p.cqOff.head))
	r.cqTail = (*uint32)(unsafe.Add(base, p.cqOff.tail))
	r.cqMask = *(*uint32)(unsafe.Add(base, p.cqOff.ringMask))
	r.cqes = unsafe.Add(base, p.cqOff.cqes)

	// Files are opened into the ring's own descriptor table (direct
	// descriptors), so a read can be linked to the open that precedes it.
	reg := rsrcRegister{nr: uint32(r.slots), flags: rsrcRegisterSparse}
	if _, _, errno := unix.Syscall6(unix.SYS_IO_URING_REGISTER, uintptr(r.fd), registerFiles2, uintptr(unsafe.Pointer(&reg)), unsafe.Sizeof(reg), 0, 0); errno != 0 {
		return fmt.Errorf("io_uring: registering %d file slots (needs %s): %w", r.slots, minKernelDescription, errno)
	}
	return nil
}

// Close releases the ring and its memory; files still in its slots are
// closed with it.
func (r *Ring) Close() error {
	for _, m := range [][]byte{r.mem, r.sqes, r.rings} {
		if m != nil {
			unix.Munmap(m)
		}
	}
	r.mem, r.sqes, r.rings = nil, nil, nil
	if r.fd < 0 {
		return nil
	}
	err := unix.Close(r.fd)
	r.fd = -1
	return err
}

// Slots is the most files one call takes.
func (r *Ring) Slots() int { return r.slots }

// SlotSize is the most bytes ReadFiles reads of a file.
func (r *Ring) SlotSize() int { return r.slotSize }

// ReadFiles opens the files names in the directory dir (a descriptor; or
// unix.AT_FDCWD), reads up to SlotSize bytes of each and closes it: one
// system call for all of them, in the common case. Symbolic links are
// followed. out receives each file's outcome; the error is the ring's own,
// when it could not take the batch at all.
func (r *Ring) ReadFiles(dir int, names []string, out []File) error {
	if err := r.fits(names, len(out)); err != nil {
		return err
	}
	for i, name := range names {
		slot := uint32(i)
		path := r.name(i, name)
		s := r.next()
		// The file goes to slot i of the ring's table: file_index is the slot
		// plus one.
		*s = sqe{opcode: opOpenat, flags: sqeIOLink, fd: int32(dir), addr: uint64(uintptr(path)), opFlags: uint32(os.O_RDONLY), fileIndex: slot + 1, userData: userData(i, opOpenat)}
		// A hard link: the close runs whether or not the read succeeded.
		s = r.next()
		*s = sqe{opcode: opRead, flags: sqeFixedFile | sqeIOHardlink, fd: int32(slot), addr: uint64(uintptr(unsafe.Pointer(&r.buffer(i)[0]))), len: uint32(r.slotSize), userData: userData(i, opRead)}
		s = r.next()
		*s = sqe{opcode: opClose, fileIndex: slot + 1, userData: userData(i, opClose)}
	}
	for i := range names {
		out[i] = File{}
	}
	return r.run(len(names)*sqesPerFile, func(i int, op uint8, res int32) {
		f := &out[i]
		switch {
		case op == opOpenat && res < 0:
			f.Err = &os.PathError{Op: "open", Path: names[i], Err: syscall.Errno(-res)}
		case op == opRead && res < 0:
			if f.Err == nil { // not the read an open's failure cancelled
				f.Err = &os.PathError{Op: "read", Path: names[i], Err: syscall.Errno(-res)}
			}
		case op == opRead:
			f.Data = r.buffer(i)[:res]
			f.Truncated = int(res) == r.slotSize
		}
	})
}

// StatFiles stats the files names in the directory dir, following symbolic
// links, asking for the fields in mask (unix.STATX_*). out receives each
// file's outcome; the error is the ring's own.
func (r *Ring) StatFiles(dir int, names []string, mask uint32, out []Stat) error {
	if err := r.fits(names, len(out)); err != nil {
		return err
	}
	for i, name := range names {
		path := r.name(i, name)
		s := r.next()
		*s = sqe{opcode: opStatx, fd: int32(dir), addr: uint64(uintptr(path)), len: mask, off: uint64(uintptr(unsafe.Pointer(r.statx(i)))), userData: userData(i, opStatx)}
	}
	return r.run(len(names), func(i int, _ uint8, res int32) {
		if res < 0 {
			out[i] = Stat{Err: &os.PathError{Op: "statx", Path: names[i], Err: syscall.Errno(-res)}}
			return
		}
		out[i] = Stat{Statx_t: *r.statx(i)}
	})
}

func (r *Ring) fits(names []string, outs int) error {
	if r.fd < 0 {
		return errors.New("io_uring: ring is closed")
	}
	if len(names) > r.slots || outs < len(names) {
		return fmt.Errorf("io_uring: %d files for %d slots and %d results", len(names), r.slots, outs)
	}
	for _, name := range names {
		if len(name) >= nameSize || strings.IndexByte(name, 0) >= 0 {
			return fmt.Errorf("io_uring: %q is not a file name", name)
		}
	}
	return nil
}

func userData(i int, op uint8) uint64 { return uint64(i)<<8 | uint64(op) }

// name copies name NUL-terminated into slot i's name space.
func (r *Ring) name(i int, name string) unsafe.Pointer {
	off := r.slots*r.slotSize + i*nameSize
	b := r.mem[off : off+nameSize]
	n := copy(b[:nameSize-1], name)
	b[n] = 0
	return unsafe.Pointer(&b[0])
}

func (r *Ring) buffer(i int) []byte {
	return r.mem[i*r.slotSize : (i+1)*r.slotSize : (i+1)*r.slotSize]
}

func (r *Ring) statx(i int) *unix.Statx_t {
	off := r.slots*(r.slotSize+nameSize) + i*statxSize
	return (*unix.Statx_t)(unsafe.Pointer(&r.mem[off]))
}

// next returns the next free submission entry. The ring holds at least
// sqesPerFile entries per slot, and every call reaps what it submits, so
// one is always free.
func (r *Ring) next() *sqe {
	idx := (atomic.LoadUint32(r.sqTail) + r.queued) & r.sqMask
	*(*uint32)(unsafe.Add(r.sqArray, idx*4)) = idx
	r.queued++
	return (*sqe)(unsafe.Pointer(&r.sqes[int(idx)*sqeSize]))
}

// run submits the queued entries, waits for their want completions and
// hands each to done with the index and operation it was queued with.
func (r *Ring) run(want int, done func(i int, op uint8, res int32)) error {
	atomic.StoreUint32(r.sqTail, atomic.LoadUint32(r.sqTail)+r.queued)
	r.queued = 0
	busy := 0
	for reaped := 0; reaped < want; {
		toSubmit := atomic.LoadUint32(r.sqTail) - atomic.LoadUint32(r.sqHead)
		ready := int(atomic.LoadUint32(r.cqTail) - atomic.LoadUint32(r.cqHead))
		if ready == 0 {
			_, _, errno := unix.Syscall6(unix.SYS_IO_URING_ENTER, uintptr(r.fd), uintptr(toSubmit), uintptr(want-reaped), enterGetEvents, 0, 0)
			switch errno {
			case 0, syscall.EINTR:
			case syscall.EAGAIN, syscall.EBUSY:
				// Out of kernel memory for requests for now: retried, but
				// not forever — the caller has a plain way to fall back on.
				if busy++; busy > maxBusy {
					return fmt.Errorf("io_uring_enter: %w, %d times", errno, busy)
				}
			default:
				return fmt.Errorf("io_uring_enter: %w", errno)
			}
			continue
		}
		head := atomic.LoadUint32(r.cqHead)
		for j := 0; j < ready; j++ {
			c := (*cqe)(unsafe.Add(r.cqes, uintptr((head+uint32(j))&r.cqMask)*cqeSize))
			done(int(c.userData>>8), uint8(c.userData), c.res)
		}
		atomic.StoreUint32(r.cqHead, head+uint32(ready))
		reaped += ready
	}
	return nil
}
