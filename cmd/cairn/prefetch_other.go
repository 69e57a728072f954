//go:build !linux

package main

import "os"

// prefetch is a no-op where posix_fadvise is not available.
func prefetch(*os.File, int64) {}
