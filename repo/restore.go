package repo

import (
	"context"
	"errors"
	"fmt"
	"io"
	"runtime"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/sync/errgroup"

	"github.com/cairnbackup/cairn/index"
)

// restoreBufBytes bounds the plaintext buffers a restore keeps for reuse.
const restoreBufBytes = 32 << 20

// zeroBuf is written for zero extents when a restore is not sparse.
var zeroBuf = make([]byte, 1<<20)

type restoreRun struct {
	r     *Repository
	cache *index.Cache
	snap  *Snapshot
	lk    *heldLock // shared restore lock: no prune or repair removes packs under us
	bufs  bufList   // plaintext buffers, recycled

	done atomic.Int64
	zero atomic.Int64
}

// prepareRestore takes the restore lock, then loads the snapshot and the index. The caller
// must call release.
func (r *Repository) prepareRestore(ctx context.Context, id ID) (*restoreRun, error) {
	lk, err := r.acquireLock(ctx, LockRestore, false)
	if err != nil {
		return nil, fmt.Errorf("restore: %w", err)
	}
	rr := &restoreRun{r: r, lk: lk, bufs: bufList{maxBytes: restoreBufBytes, size: 1 << 20}}
	s, err := r.loadSnapshot(ctx, id)
	if err != nil {
		rr.release(ctx)
		if isNotFound(err) {
			return nil, fmt.Errorf("restore: snapshot %s: %w", id.Short(), ErrSnapshotNotFound)
		}
		return nil, fmt.Errorf("restore: %w", err)
	}
	if rr.cache, err = r.indexCache(ctx); err != nil {
		rr.release(ctx)
		return nil, fmt.Errorf("restore: %w", err)
	}
	rr.snap = s
	collectGarbage()
	return rr, nil
}

// release drops the restore lock; a failure only leaves a lock object that goes stale.
func (rr *restoreRun) release(ctx context.Context) {
	if err := rr.lk.release(context.WithoutCancel(ctx)); err != nil {
		rr.r.log.Warn("restore: release lock", "err", err)
	}
}

func (rr *restoreRun) progress(start time.Time) Progress {
	return Progress{BytesDone: rr.done.Load(), BytesTotal: rr.snap.Size, ZeroBytes: rr.zero.Load(), Elapsed: time.Since(start)}
}

func (rr *restoreRun) startProgress(ctx context.Context, opts RestoreOptions, start time.Time) func() {
	if opts.Progress == nil {
		return func() {}
	}
	iv := opts.ProgressInterval
	if iv <= 0 {
		iv = time.Second
	}
	stop := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		t := time.NewTicker(iv)
		defer t.Stop()
		for {
			select {
			case <-t.C:
				opts.Progress(rr.progress(start))
			case <-stop:
				return
			case <-ctx.Done():
				return
			}
		}
	}()
	return func() {
		close(stop)
		wg.Wait()
		opts.Progress(rr.progress(start))
	}
}

// fetch reads the plaintext of a data extent into a recycled buffer; the caller returns it
// with rr.bufs.put.
func (rr *restoreRun) fetch(ctx context.Context, e Extent) ([]byte, error) {
	loc, ok, err := rr.cache.Lookup(e.Blob)
	if err != nil {
		return nil, fmt.Errorf("index lookup: %w", err)
	}
	if !ok || loc.Type != index.DataBlob {
		return nil, fmt.Errorf("%w: blob %s at offset %d is not in the index", ErrCorrupt, e.Blob.Short(), e.Offset)
	}
	if int64(loc.RawLength) != e.Length {
		return nil, fmt.Errorf("%w: blob %s is %d bytes, chunk list says %d", ErrCorrupt, e.Blob.Short(), loc.RawLength, e.Length)
	}
	buf := rr.bufs.getCap(int(loc.RawLength))
	data, err := rr.r.readBlob(ctx, loc, buf)
	if err != nil {
		rr.bufs.put(buf)
		return nil, err
	}
	if cap(buf) > 0 && cap(data) > 0 && &buf[:1][0] != &data[:1][0] {
		rr.bufs.put(buf) // readBlob returned another buffer (see readBlob)
	}
	return data, nil
}

// Restore writes snapshot id to dst at the volume's offsets, fetching blobs in parallel.
// Zero extents are written as zeros unless opts.Sparse; with Sparse, if dst has a
// Truncate(int64) error method (as *os.File does), it is called with the volume size so a
// trailing zero run reads back as zeros.
func (r *Repository) Restore(ctx context.Context, id ID, dst io.WriterAt, opts RestoreOptions) error {
	start := time.Now()
	rr, err := r.prepareRestore(ctx, id)
	if err != nil {
		return err
	}
	defer rr.release(ctx)
	stop := rr.startProgress(ctx, opts, start)
	defer stop()
	workers := 2 * runtime.GOMAXPROCS(0)
	g, gctx := errgroup.WithContext(ctx)
	extents := make(chan Extent, workers)
	g.Go(func() error {
		defer close(extents)
		return r.walkExtents(gctx, rr.cache, rr.snap, func(e Extent) error {
			select {
			case extents <- e:
				return nil
			case <-gctx.Done():
				return gctx.Err()
			}
		})
	})
	for range workers {
		g.Go(func() error {
			for e := range extents {
				if err := rr.writeAt(gctx, dst, e, opts.Sparse); err != nil {
					return err
				}
			}
			return nil
		})
	}
	if err := g.Wait(); err != nil {
		return fmt.Errorf("restore %s: %w", id.Short(), err)
	}
	if t, ok := dst.(interface{ Truncate(int64) error }); ok && opts.Sparse {
		if err := t.Truncate(rr.snap.Size); err != nil {
			return fmt.Errorf("restore %s: set size: %w", id.Short(), err)
		}
	}
	return nil
}

func (rr *restoreRun) writeAt(ctx context.Context, dst io.WriterAt, e Extent, sparse bool) error {
	if e.Zero {
		rr.zero.Add(e.Length)
		if !sparse {
			for off := int64(0); off < e.Length; {
				n := min(int64(len(zeroBuf)), e.Length-off)
				if _, err := dst.WriteAt(zeroBuf[:n], e.Offset+off); err != nil {
					return fmt.Errorf("write at %d: %w", e.Offset+off, err)
				}
				off += n
			}
		}
		rr.done.Add(e.Length)
		return nil
	}
	data, err := rr.fetch(ctx, e)
	if err != nil {
		return err
	}
	defer rr.bufs.put(data)
	if _, err := dst.WriteAt(data, e.Offset); err != nil {
		return fmt.Errorf("write at %d: %w", e.Offset, err)
	}
	rr.done.Add(e.Length)
	return nil
}

// streamJob is one extent of a sequential restore.
type streamJob struct {
	ext  Extent
	data []byte
	err  error
	done chan struct{}
}

// RestoreStream writes snapshot id to dst sequentially (stdout, pipes), fetching ahead in
// parallel with bounded memory.
func (r *Repository) RestoreStream(ctx context.Context, id ID, dst io.Writer, opts RestoreOptions) error {
	start := time.Now()
	rr, err := r.prepareRestore(ctx, id)
	if err != nil {
		return err
	}
	defer rr.release(ctx)
	stop := rr.startProgress(ctx, opts, start)
	defer stop()
	workers := 2 * runtime.GOMAXPROCS(0)
	g, gctx := errgroup.WithContext(ctx)
	order := make(chan *streamJob, 2*workers)
	work := make(chan *streamJob, workers)
	g.Go(func() error {
		defer close(order)
		defer close(work)
		return r.walkExtents(gctx, rr.cache, rr.snap, func(e Extent) error {
			j := &streamJob{ext: e, done: make(chan struct{})}
			select {
			case order <- j:
			case <-gctx.Done():
				return gctx.Err()
			}
			if e.Zero {
				close(j.done)
				return nil
			}
			select {
			case work <- j:
				return nil
			case <-gctx.Done():
				return gctx.Err()
			}
		})
	})
	for range workers {
		g.Go(func() error {
			for j := range work {
				j.data, j.err = rr.fetch(gctx, j.ext)
				close(j.done)
				if j.err != nil {
					return j.err
				}
			}
			return nil
		})
	}
	g.Go(func() error {
		for j := range order {
			select {
			case <-j.done:
			case <-gctx.Done():
				return gctx.Err()
			}
			if j.err != nil {
				return j.err
			}
			if j.ext.Zero {
				rr.zero.Add(j.ext.Length)
				for left := j.ext.Length; left > 0; {
					n := min(int64(len(zeroBuf)), left)
					if _, err := dst.Write(zeroBuf[:n]); err != nil {
						return fmt.Errorf("write: %w", err)
					}
					left -= n
				}
			} else {
				_, err := dst.Write(j.data)
				rr.bufs.put(j.data)
				if err != nil {
					return fmt.Errorf("write: %w", err)
				}
			}
			rr.done.Add(j.ext.Length)
		}
		return nil
	})
	if err := g.Wait(); err != nil {
		if errors.Is(err, context.Canceled) && ctx.Err() == nil {
			err = fmt.Errorf("restore aborted: %w", err)
		}
		return fmt.Errorf("restore %s: %w", id.Short(), err)
	}
	return nil
}
