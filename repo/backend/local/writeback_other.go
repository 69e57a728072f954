//go:build !linux

package local

import "os"

// startWriteback does nothing where sync_file_range is not available.
func startWriteback(*os.File, int64, int64) {}

// adviseWillNeed does nothing where posix_fadvise is not available.
func adviseWillNeed(*os.File, int64, int64) {}

// adviseDontNeed does nothing where posix_fadvise is not available.
func adviseDontNeed(*os.File, int64, int64) {}
