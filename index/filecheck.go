package index

import (
	"encoding/binary"
	"errors"
	"fmt"
	"hash/fnv"
	"io"
	"io/fs"
	"os"
)

// bbolt meta page layout (go.etcd.io/bbolt internal/common): a 16-byte page
// header, then magic, version, page size, flags (4 bytes each), the root
// bucket (root page ID, sequence), freelist page ID, high-water page ID,
// transaction ID and an FNV-64a checksum of the preceding 56 bytes, all in
// native byte order.
const (
	boltMagic       = 0xED0CDAED
	boltVersion     = 2
	boltPageHeader  = 16
	boltMetaSumSpan = 56
	boltMetaLen     = boltMetaSumSpan + 8
)

// checkTruncated reports a bbolt file shorter than its meta pages claim.
// bbolt maps such a file and faults (SIGBUS, which cannot be recovered) when
// it touches a page past the end, so OpenCache runs this first. A missing or
// empty file, or one without a valid meta page, passes: bbolt initialises or
// rejects those itself.
func checkTruncated(path string) error {
	f, err := os.Open(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return err
	}
	defer f.Close()
	meta := func(off int64) (pageSize, pgid uint64, ok bool) {
		var b [boltPageHeader + boltMetaLen]byte
		if _, err := f.ReadAt(b[:], off); err != nil && !errors.Is(err, io.EOF) {
			return 0, 0, false
		}
		m := b[boltPageHeader:]
		ne := binary.NativeEndian
		h := fnv.New64a()
		_, _ = h.Write(m[:boltMetaSumSpan])
		if ne.Uint32(m[0:]) != boltMagic || ne.Uint32(m[4:]) != boltVersion ||
			ne.Uint64(m[boltMetaSumSpan:]) != h.Sum64() {
			return 0, 0, false
		}
		return uint64(ne.Uint32(m[8:])), ne.Uint64(m[40:]), true
	}
	ps0, pgid0, ok0 := meta(0)
	pageSize := uint64(os.Getpagesize())
	if ok0 {
		pageSize = ps0
	}
	ps1, pgid1, ok1 := meta(int64(pageSize))
	if !ok0 && !ok1 {
		return nil
	}
	if ok1 && !ok0 {
		pageSize = ps1
	}
	// Stat after reading the metas: a live database only grows, and bbolt
	// grows the file before committing a meta that points into the growth.
	fi, err := f.Stat()
	if err != nil {
		return err
	}
	size := fi.Size()
	if pageSize == 0 || uint64(size) < 2*pageSize {
		return fmt.Errorf("%w: file of %d bytes is shorter than its two meta pages", ErrCacheCorrupt, size)
	}
	for _, m := range []struct {
		ok   bool
		pgid uint64
	}{{ok0, pgid0}, {ok1, pgid1}} {
		if m.ok && (m.pgid > uint64(size)/pageSize) {
			return fmt.Errorf("%w: file of %d bytes is shorter than its %d pages of %d bytes",
				ErrCacheCorrupt, size, m.pgid, pageSize)
		}
	}
	return nil
}
