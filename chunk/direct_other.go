//go:build !linux

package chunk

import (
	"errors"
	"os"
)

// openDirect is not available outside Linux: sources are read through the
// page cache.
func openDirect(*os.File) (directFile, error) {
	return nil, errors.New("direct reads are not supported on this platform")
}

// mostlyCached is never asked outside Linux.
func mostlyCached(*os.File, int64, int64) bool { return true }
