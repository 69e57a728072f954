//go:build linux

package chunk

import (
	"errors"
	"os"

	"golang.org/x/sys/unix"
)

const (
	holesSupported = true
	seekData       = unix.SEEK_DATA
	seekHole       = unix.SEEK_HOLE
)

// isNoData reports the ENXIO lseek returns when no data follows the offset.
func isNoData(err error) bool { return errors.Is(err, unix.ENXIO) }

// fileSeeker returns the lseek used by holeFinder for f.
func fileSeeker(f *os.File) func(off int64, whence int) (int64, error) {
	return f.Seek
}
