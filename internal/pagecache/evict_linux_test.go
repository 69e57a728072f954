//go:build linux

package pagecache

import (
	"os"
	"path/filepath"
	"testing"
)

// resident counts the pages of path that are in the page cache.
func resident(t *testing.T, path string) int64 {
	t.Helper()
	n, err := Resident(path)
	if err != nil {
		t.Skipf("page cache residency unknown: %v", err)
	}
	return n
}

// TestEvict: a file just written is cached; after Evict of its directory it is not.
func TestEvict(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "sub", "f")
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, make([]byte, 1<<20), 0o600); err != nil {
		t.Fatal(err)
	}
	if resident(t, path) == 0 {
		t.Skip("the file system does not cache this file (cannot observe eviction)")
	}
	Evict(dir)
	if n := resident(t, path); n != 0 {
		t.Errorf("%d pages still cached after Evict", n)
	}
}
