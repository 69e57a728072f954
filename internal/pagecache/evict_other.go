//go:build !linux

package pagecache

import "errors"

// Evict does nothing where posix_fadvise is not available.
func Evict(...string) {}

// Resident is not available where cachestat(2) is not.
func Resident(string) (int64, error) {
	return 0, errors.New("pagecache: residency unknown on this platform")
}
