//go:build !linux

package chunk

import (
	"errors"
	"os"
)

// Hole skipping is implemented for Linux only; elsewhere files are streamed.
const (
	holesSupported = false
	seekData       = 3
	seekHole       = 4
)

func isNoData(error) bool { return false }

func fileSeeker(*os.File) func(off int64, whence int) (int64, error) {
	return func(int64, int) (int64, error) { return 0, errors.ErrUnsupported }
}
