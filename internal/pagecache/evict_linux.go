//go:build linux

package pagecache

import (
	"io/fs"
	"os"
	"path/filepath"

	"golang.org/x/sys/unix"
)

// Evict flushes and evicts the cached pages of every regular file under the given paths
// (files or directories). Errors on individual files are ignored: this is best effort.
func Evict(paths ...string) {
	for _, root := range paths {
		_ = filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
			if err != nil || !d.Type().IsRegular() {
				return nil
			}
			f, err := os.Open(p)
			if err != nil {
				return nil
			}
			_ = unix.Fdatasync(int(f.Fd()))
			_ = unix.Fadvise(int(f.Fd()), 0, 0, unix.FADV_DONTNEED)
			f.Close()
			return nil
		})
	}
}
