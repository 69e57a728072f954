package local

import (
	"context"
	"os"

	"github.com/cairnbackup/cairn/repo/backend"
)

// Prefetch asks the kernel to read [offset, offset+length) of h into the page cache ahead
// of a Load or LoadInto of it (a restore announces the pack ranges its workers read next),
// so the disk is kept busy while they decrypt and write. It is a hint: it returns once the
// reads are queued or done, and any failure (a missing object included) is left for the
// real read to report.
func (b *Backend) Prefetch(ctx context.Context, h backend.Handle, offset, length int64) {
	if ctx.Err() != nil || h.Validate() != nil || offset < 0 || length <= 0 {
		return
	}
	f, err := os.Open(b.Path(h))
	if err != nil {
		return
	}
	adviseWillNeed(f, offset, length)
	_ = f.Close()
}
