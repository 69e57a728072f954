//go:build linux

package main

import (
	"os"
	"syscall"

	"golang.org/x/sys/unix"
)

// prefetchWindow is how much of a file or device source is handed to the kernel's read-ahead
// while the repository is opened (the key derivation takes ~0.2 s of both cores; the disk is
// idle meanwhile). It is page cache, not process memory, and bounded so a large volume does
// not evict more than its first window.
const prefetchWindow = 128 << 20

// prefetch asks the kernel to start reading the first prefetchWindow bytes of f's data in the
// background. Advisory: errors are ignored (the backup then reads as usual).
func prefetch(f *os.File, size int64) {
	n := prefetchSpan(f, size)
	if n <= 0 {
		return
	}
	rc, err := f.SyscallConn()
	if err != nil {
		return
	}
	// Control holds the descriptor open for the call, so a close racing the prefetch (a
	// backup that fails at once) cannot redirect the advice to a reused descriptor.
	go func() {
		_ = rc.Control(func(fd uintptr) { _ = unix.Fadvise(int(fd), 0, n, unix.FADV_WILLNEED) })
	}()
}

// prefetchSpan is how many bytes from the start of f hold about prefetchWindow bytes of data:
// holes in a sparse image cost no reading, so the span grows by size/allocated.
func prefetchSpan(f *os.File, size int64) int64 {
	n := min(size, prefetchWindow)
	fi, err := f.Stat()
	if err != nil || !fi.Mode().IsRegular() {
		return n
	}
	st, ok := fi.Sys().(*syscall.Stat_t)
	if !ok {
		return n
	}
	if allocated := st.Blocks * 512; allocated > 0 && allocated < size {
		n = min(size, int64(float64(prefetchWindow)*float64(size)/float64(allocated)))
	}
	return n
}
