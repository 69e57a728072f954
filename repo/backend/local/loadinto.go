package local

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"

	"github.com/cairnbackup/cairn/repo/backend"
)

// LoadInto reads exactly len(dst) bytes of h at offset into dst, so a caller can reuse one
// buffer for many reads instead of receiving a new one from Load. A missing object wraps
// backend.ErrNotFound; an object too short for the range is an error, not a short read.
//
// The range is dropped from the page cache after it was read (POSIX_FADV_DONTNEED): the
// callers (restore, check) read each pack range once, and a page cache grown by a whole
// repository made an 8 GiB restore's kernel time 15 s, as the kernel reclaimed pages to
// allocate new ones; with drop-behind the restore took 7.7–8.1 s instead of 12–14 s
// (docs/DECISIONS.md §27).
func (b *Backend) LoadInto(ctx context.Context, h backend.Handle, offset int64, dst []byte) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	if err := h.Validate(); err != nil {
		return err
	}
	if offset < 0 {
		return fmt.Errorf("load %s: invalid offset %d", h, offset)
	}
	f, err := os.Open(b.Path(h))
	if err != nil {
		return fmt.Errorf("load %s: %w", h, mapErr(err))
	}
	defer f.Close()
	n, err := f.ReadAt(dst, offset)
	if err != nil && !(errors.Is(err, io.EOF) && n == len(dst)) {
		if errors.Is(err, io.EOF) {
			return fmt.Errorf("load %s: short object: wanted %d bytes at %d, got %d", h, len(dst), offset, n)
		}
		return fmt.Errorf("load %s: %w", h, mapErr(err))
	}
	adviseDontNeed(f, offset, int64(len(dst)))
	return nil
}
