// Package uring opens, reads and stats batches of small files through one
// Linux io_uring, one system call per batch instead of three per file.
//
// It exists for loading prescription trees: 65,000 files of half a kilobyte,
// where the open, read and close of each file cost more than parsing it in
// the virtual machines seshat runs in (BENCHMARKS.md, "Loading
// prescriptions"). It does only that — files named relative to an open
// directory, read whole into memory the ring owns — and is not a general
// io_uring binding. No Go module offering one is reachable from seshat's
// build machines, and the part needed is small.
//
// A Ring is refused where io_uring is: kernels before 5.19, Docker's and
// containerd's default seccomp profiles, /proc/sys/kernel/io_uring_disabled.
// Callers keep a plain path for that case; New's error says which it was.
//
// Everything the kernel reads or writes — the rings, the file names, the read
// buffers and stat results — lives in memory mapped by the Ring, never in
// Go's heap, so no Go pointer is ever handed to the kernel past a system
// call.
package uring
