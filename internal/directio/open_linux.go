//go:build linux

package directio

import (
	"fmt"
	"os"

	"golang.org/x/sys/unix"
)

// Reopen opens f again with O_DIRECT and flag (os.O_RDONLY or os.O_WRONLY), through
// /proc/self/fd, so that it also works for a file that was unlinked or renamed since it was
// opened. Filesystems without direct I/O (tmpfs before Linux 6.6, some FUSE) fail here with
// EINVAL.
func Reopen(f *os.File, flag int) (*os.File, error) {
	rc, err := f.SyscallConn()
	if err != nil {
		return nil, err
	}
	var fd uintptr
	if err := rc.Control(func(x uintptr) { fd = x }); err != nil {
		return nil, err
	}
	return os.OpenFile(fmt.Sprintf("/proc/self/fd/%d", fd), flag|unix.O_DIRECT, 0)
}
