//go:build linux

package chunk

import (
	"os"

	"golang.org/x/sys/unix"
)

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
