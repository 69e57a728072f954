//go:build linux

package chunk

import (
	"fmt"
	"os"

	"golang.org/x/sys/unix"
)

// openDirect opens f again with O_DIRECT, through /proc/self/fd so that it
// also works for a file that was unlinked or renamed since it was opened.
func openDirect(f *os.File) (directFile, error) {
	rc, err := f.SyscallConn()
	if err != nil {
		return nil, err
	}
	var fd uintptr
	if err := rc.Control(func(x uintptr) { fd = x }); err != nil {
		return nil, err
	}
	return os.OpenFile(fmt.Sprintf("/proc/self/fd/%d", fd), os.O_RDONLY|unix.O_DIRECT, 0)
}

// mostlyCached reports whether at least half of the pages of [off, off+n) of
// f are in the page cache, or any is dirty, per cachestat(2) (Linux 6.5 and
// later). Where cachestat is missing it reports false: a volume being backed
// up is cold far more often than not.
func mostlyCached(f *os.File, off, n int64) bool {
	rc, err := f.SyscallConn()
	if err != nil {
		return false
	}
	var st unix.Cachestat_t
	r := unix.CachestatRange{Off: uint64(off), Len: uint64(n)}
	cerr := rc.Control(func(fd uintptr) { err = unix.Cachestat(uint(fd), &r, &st, 0) })
	if cerr != nil || err != nil {
		return false
	}
	page := int64(os.Getpagesize())
	return st.Dirty > 0 || int64(st.Cache)*page*2 >= n
}
