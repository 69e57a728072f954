//go:build !linux

package spool

import "os"

// createAnonymous is O_TMPFILE on Linux; elsewhere Create falls back to a named file.
func createAnonymous(string) (*os.File, bool) { return nil, false }
