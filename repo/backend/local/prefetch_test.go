//go:build linux

package local_test

import (
	"context"
	"testing"

	"github.com/cairnbackup/cairn/internal/pagecache"
	"github.com/cairnbackup/cairn/repo/backend"
	"github.com/cairnbackup/cairn/repo/backend/local"
)

// cachedPages returns how many pages of path are in the page cache.
func cachedPages(t *testing.T, path string) int64 {
	t.Helper()
	n, err := pagecache.Resident(path)
	if err != nil {
		t.Skipf("page cache residency unknown: %v", err)
	}
	return n
}

// savedObject saves a 4 MiB pack in a new backend and returns the backend, the handle and
// the object's path.
func savedObject(t *testing.T) (*local.Backend, backend.Handle, string) {
	t.Helper()
	b, err := local.Create(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	h := backend.Handle{Type: backend.Pack, Name: "ab12cd34"}
	if err := b.Save(context.Background(), h, make([]byte, 4<<20)); err != nil {
		t.Fatal(err)
	}
	return b, h, b.Path(h)
}

// TestPrefetch: Prefetch reads the announced range of a cold object into the page cache, and
// ignores what it cannot prefetch (missing objects, bad handles and ranges).
func TestPrefetch(t *testing.T) {
	ctx := context.Background()
	b, h, path := savedObject(t)
	pagecache.Evict(path)
	if n := cachedPages(t, path); n > 16 {
		t.Skipf("could not evict the object from the page cache (%d pages stay)", n)
	}
	b.Prefetch(ctx, h, 1<<20, 2<<20)
	if n := cachedPages(t, path); n < 256 {
		t.Fatalf("%d pages cached after prefetching 2 MiB", n)
	}
	for _, tc := range []struct {
		name   string
		h      backend.Handle
		off, n int64
	}{
		{"missing", backend.Handle{Type: backend.Pack, Name: "ffff0000"}, 0, 10},
		{"bad name", backend.Handle{Type: backend.Pack, Name: "../x"}, 0, 10},
		{"negative offset", h, -1, 10},
		{"empty", h, 0, 0},
		{"past the end", h, 8 << 20, 1 << 20},
	} {
		t.Run(tc.name, func(t *testing.T) { b.Prefetch(ctx, tc.h, tc.off, tc.n) })
	}
}

// TestLoadIntoDropsBehind: a range read with LoadInto leaves the page cache (the pages
// wholly inside it: here the whole object, as the kernel may cache a file in folios larger
// than a page, and a folio partly outside the range stays).
func TestLoadIntoDropsBehind(t *testing.T) {
	ctx := context.Background()
	b, h, path := savedObject(t)
	b.Prefetch(ctx, h, 0, 4<<20)
	before := cachedPages(t, path)
	if before < 1000 {
		t.Skipf("the object is not in the page cache to begin with (%d pages)", before)
	}
	if err := b.LoadInto(ctx, h, 0, make([]byte, 4<<20)); err != nil {
		t.Fatal(err)
	}
	if after := cachedPages(t, path); after > 16 {
		t.Fatalf("%d pages of %d still cached after reading the whole object", after, before)
	}
}
