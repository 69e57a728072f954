package local

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"

	"github.com/cairnbackup/cairn/internal/directio"
	"github.com/cairnbackup/cairn/repo/backend"
)

// LoadInto reads exactly len(dst) bytes of h at offset into dst, so a caller can reuse one
// buffer for many reads instead of receiving a new one from Load. A missing object wraps
// backend.ErrNotFound; an object too short for the range is an error, not a short read.
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
	return nil
}

// LoadAligned reads length bytes of h at offset and returns them as a slice of *buf, which
// it replaces by a larger, page-aligned buffer when needed and which the caller keeps for
// the next call. The read bypasses the page cache (O_DIRECT): it covers the whole pages
// around the range, so the bytes start within the buffer's first page. A restore reads
// each pack range once; through the page cache that cost the kernel a page allocation and
// a copy per 4 KiB (22% of an 8 GiB restore's CPU, docs/DECISIONS.md §27). Where the
// filesystem refuses direct reads it reads through the page cache from then on, like
// LoadInto.
func (b *Backend) LoadAligned(ctx context.Context, h backend.Handle, offset int64, length int, buf *[]byte) ([]byte, error) {
	if b.buffered.Load() || length == 0 {
		return b.loadBuffered(ctx, h, offset, length, buf)
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	if err := h.Validate(); err != nil {
		return nil, err
	}
	if offset < 0 || length < 0 {
		return nil, fmt.Errorf("load %s: invalid range offset=%d length=%d", h, offset, length)
	}
	from, to := directio.Down(offset), directio.Up(offset+int64(length))
	need := int(to - from)
	if cap(*buf) < need || need == 0 || !directio.Aligned((*buf)[:1]) {
		*buf = directio.Buffer(max(need, 1))[:0]
	}
	f, err := openDirect(b.Path(h))
	if directio.Unsupported(err) {
		b.buffered.Store(true)
		return b.loadBuffered(ctx, h, offset, length, buf)
	}
	if err != nil {
		return nil, fmt.Errorf("load %s: %w", h, mapErr(err))
	}
	defer f.Close()
	n, err := f.ReadAt((*buf)[:need], from)
	skip := int(offset - from)
	switch {
	case n >= skip+length:
		return (*buf)[skip : skip+length], nil
	case directio.Unsupported(err):
		b.buffered.Store(true)
		return b.loadBuffered(ctx, h, offset, length, buf)
	case err == nil || errors.Is(err, io.EOF):
		return nil, fmt.Errorf("load %s: short object: wanted %d bytes at %d, got %d", h, length, offset, max(n-skip, 0))
	}
	return nil, fmt.Errorf("load %s: %w", h, mapErr(err))
}

// loadBuffered is LoadAligned through the page cache.
func (b *Backend) loadBuffered(ctx context.Context, h backend.Handle, offset int64, length int, buf *[]byte) ([]byte, error) {
	if cap(*buf) < length {
		*buf = make([]byte, length)
	}
	dst := (*buf)[:length]
	if err := b.LoadInto(ctx, h, offset, dst); err != nil {
		return nil, err
	}
	return dst, nil
}
