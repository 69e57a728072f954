package spool

import (
	"os"

	"golang.org/x/sys/unix"
)

// createAnonymous opens an unnamed file in dir with O_TMPFILE; ok is false where the
// filesystem or kernel does not support it.
func createAnonymous(dir string) (*os.File, bool) {
	f, err := os.OpenFile(dir, os.O_RDWR|unix.O_TMPFILE, 0o600)
	if err != nil {
		return nil, false
	}
	return f, true
}
