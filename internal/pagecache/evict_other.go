//go:build !linux

package pagecache

// Evict does nothing where posix_fadvise is not available.
func Evict(...string) {}
