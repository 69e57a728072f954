//go:build !linux

package directio

import "os"

// Reopen is not available outside Linux: callers use buffered I/O.
func Reopen(*os.File, int) (*os.File, error) { return nil, ErrNotSupported }
