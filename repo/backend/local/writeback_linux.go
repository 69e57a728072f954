//go:build linux

package local

import (
	"os"

	"golang.org/x/sys/unix"
)

// onFD runs fn on f's descriptor, ignoring any error: every caller here is advisory.
func onFD(f *os.File, fn func(fd int)) {
	rc, err := f.SyscallConn()
	if err != nil {
		return
	}
	_ = rc.Control(func(fd uintptr) { fn(int(fd)) })
}

// startWriteback asks the kernel to begin writing [off, off+n) of f to the device now
// (sync_file_range SYNC_FILE_RANGE_WRITE: asynchronous, no durability promise), so the fsync
// of Commit finds little left and a pack's writeback overlaps the filling of the next.
// Advisory: errors are ignored (Commit's fsync still makes the pack durable).
func startWriteback(f *os.File, off, n int64) {
	onFD(f, func(fd int) { _ = unix.SyncFileRange(fd, off, n, unix.SYNC_FILE_RANGE_WRITE) })
}

// adviseWillNeed starts reading [off, off+n) of f into the page cache
// (POSIX_FADV_WILLNEED). Advisory: errors are ignored.
func adviseWillNeed(f *os.File, off, n int64) {
	onFD(f, func(fd int) { _ = unix.Fadvise(fd, off, n, unix.FADV_WILLNEED) })
}

// adviseDontNeed drops [off, off+n) of f from the page cache (POSIX_FADV_DONTNEED; only
// clean pages wholly inside the range). Advisory: errors are ignored.
func adviseDontNeed(f *os.File, off, n int64) {
	onFD(f, func(fd int) { _ = unix.Fadvise(fd, off, n, unix.FADV_DONTNEED) })
}
