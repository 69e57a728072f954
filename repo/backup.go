package repo

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"runtime"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/sync/errgroup"

	"github.com/cairnbackup/cairn/chunk"
	"github.com/cairnbackup/cairn/index"
	"github.com/cairnbackup/cairn/internal/ids"
	"github.com/cairnbackup/cairn/repo/backend"
)

// indexFlushEntries bounds how many index entries a backup holds before writing an index
// object, so memory stays flat and an interrupted backup's packs are reusable.
const indexFlushEntries = 1 << 16

// job is one piece of the volume travelling through the pipeline.
type job struct {
	ext  Extent
	data []byte
	bufp *[]byte
	done chan struct{} // closed when ext is final
}

// blob is a new blob on its way into a pack.
type blob struct {
	t          index.BlobType
	id         ids.ID
	rawLen     int
	compressed bool
	payload    []byte
	release    func()
}

type upload struct {
	id      ids.ID
	data    []byte
	entries []index.Entry
}

// backupRun is the state of one Backup call.
type backupRun struct {
	r     *Repository
	cache *index.Cache

	chunkBufs sync.Pool
	compBufs  sync.Pool
	packBufs  sync.Pool

	claimMu sync.Mutex
	claimed map[ids.ID]struct{} // new blobs of this session, claimed by one worker

	excluded map[ids.ID]struct{} // packs pending deletion: never deduplicate against them

	pendMu  sync.Mutex
	pending []index.Entry // stored but not yet in an index object

	read, zero, hole, newBytes, stored, chunks, newChunks, packs atomic.Int64
}

// claim reports whether id is new to the repository and to this session; the first caller wins.
func (b *backupRun) claim(id ids.ID) (bool, error) {
	if e, ok, err := b.cache.Lookup(id); err != nil {
		return false, err
	} else if _, gone := b.excluded[e.Pack]; ok && !gone {
		return false, nil
	}
	b.claimMu.Lock()
	defer b.claimMu.Unlock()
	if _, ok := b.claimed[id]; ok {
		return false, nil
	}
	b.claimed[id] = struct{}{}
	return true, nil
}

func (b *backupRun) getBuf(p *sync.Pool) *[]byte {
	if v := p.Get(); v != nil {
		return v.(*[]byte)
	}
	s := make([]byte, 0, 1<<20)
	return &s
}

// packBuf returns a pooled buffer with room for a full pack, so packing never regrows it.
func (b *backupRun) packBuf() []byte {
	if v := b.packBufs.Get(); v != nil {
		return *(v.(*[]byte))
	}
	return make([]byte, 0, b.r.cfg.PackSize+int(b.r.cfg.Chunker.MaxSize)+64<<10)
}

// Backup reads src to EOF and stores it as a new snapshot. If src is an *os.File of a regular
// file, its holes are skipped without reading. Nothing is recorded unless the whole stream
// was read and stored: on any error no snapshot is written.
func (r *Repository) Backup(ctx context.Context, src io.Reader, opts BackupOptions) (*Snapshot, error) {
	start := time.Now()
	// Lock first, then read pending deletions and the index (docs/LIFECYCLE.md §3).
	lk, err := r.acquireLock(ctx, LockBackup, false)
	if err != nil {
		return nil, fmt.Errorf("backup: %w", err)
	}
	defer func() {
		if err := lk.release(ctx); err != nil {
			r.log.Warn("backup: release lock", "err", err)
		}
	}()
	excluded, err := r.pendingPacks(ctx)
	if err != nil {
		return nil, fmt.Errorf("backup: %w", err)
	}
	cache, err := r.indexCache(ctx)
	if err != nil {
		return nil, fmt.Errorf("backup: %w", err)
	}
	sp, err := chunk.NewSplitter(src, r.cfg.Chunker)
	if err != nil {
		return nil, fmt.Errorf("backup: %w", err)
	}
	b := &backupRun{r: r, cache: cache, claimed: make(map[ids.ID]struct{}), excluded: excluded}

	stopProgress := b.startProgress(ctx, opts, start)
	snap, err := b.run(ctx, sp)
	stopProgress()
	if err != nil {
		return nil, fmt.Errorf("backup: %w", err)
	}
	snap.Version = FormatVersion
	snap.Name, snap.Tags, snap.Time, snap.Hostname = opts.Name, opts.Tags, opts.Time, opts.Hostname
	if snap.Time.IsZero() {
		snap.Time = time.Now()
	}
	if snap.Hostname == "" {
		snap.Hostname, _ = os.Hostname()
	}
	st := sp.Stats()
	b.hole.Store(st.HoleBytes)
	snap.Stats = b.stats(start)
	payload, err := marshalSnapshot(snap)
	if err != nil {
		return nil, fmt.Errorf("backup: %w", err)
	}
	if err := lk.verify(ctx); err != nil {
		return nil, fmt.Errorf("backup: %w", err)
	}
	id, err := r.saveObject(ctx, backend.Snapshot, typeSnapshot, payload)
	if err != nil {
		return nil, fmt.Errorf("backup: save snapshot: %w", err)
	}
	snap.ID = id
	r.log.Debug("backup done", "snapshot", id.Short(), "size", snap.Size, "new", snap.Stats.NewBytes, "stored", snap.Stats.StoredBytes)
	return snap, nil
}

func (b *backupRun) stats(start time.Time) BackupStats {
	return BackupStats{
		DataBytes: b.read.Load() - b.zero.Load(), ZeroBytes: b.zero.Load(), HoleBytes: b.hole.Load(),
		NewBytes: b.newBytes.Load(), StoredBytes: b.stored.Load(), Chunks: b.chunks.Load(),
		NewChunks: b.newChunks.Load(), Packs: b.packs.Load(), Duration: time.Since(start),
	}
}

func (b *backupRun) progress(start time.Time, total int64) Progress {
	return Progress{
		BytesDone: b.read.Load(), BytesTotal: total, ZeroBytes: b.zero.Load(), NewBytes: b.newBytes.Load(),
		StoredBytes: b.stored.Load(), Chunks: b.chunks.Load(), NewChunks: b.newChunks.Load(), Elapsed: time.Since(start),
	}
}

// startProgress calls opts.Progress periodically until the returned stop function runs,
// which also makes one final call.
func (b *backupRun) startProgress(ctx context.Context, opts BackupOptions, start time.Time) func() {
	if opts.Progress == nil {
		return func() {}
	}
	iv := opts.ProgressInterval
	if iv <= 0 {
		iv = time.Second
	}
	done := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		t := time.NewTicker(iv)
		defer t.Stop()
		for {
			select {
			case <-t.C:
				opts.Progress(b.progress(start, opts.SizeHint))
			case <-done:
				return
			case <-ctx.Done():
				return
			}
		}
	}()
	return func() {
		close(done)
		wg.Wait()
		opts.Progress(b.progress(start, opts.SizeHint))
	}
}

// run drives the pipeline: split → hash/dedup/compress (workers) → pack → upload, with an
// ordered collector building the chunk list. It returns the snapshot's size and lists.
func (b *backupRun) run(parent context.Context, sp *chunk.Splitter) (*Snapshot, error) {
	workers := runtime.GOMAXPROCS(0)
	g, ctx := errgroup.WithContext(parent)
	orderCh := make(chan *job, 2*workers+2)
	workCh := make(chan *job, workers)
	packCh := make(chan blob, workers)
	uploadCh := make(chan upload)

	// Split: the only reader of the source.
	g.Go(func() error {
		defer close(orderCh)
		defer close(workCh)
		for {
			bufp := b.getBuf(&b.chunkBufs)
			p, err := sp.Next((*bufp)[:0])
			if errors.Is(err, io.EOF) {
				b.chunkBufs.Put(bufp)
				return nil
			}
			if err != nil {
				b.chunkBufs.Put(bufp)
				return fmt.Errorf("read source: %w", err)
			}
			b.read.Add(p.Length)
			j := &job{ext: Extent{Offset: p.Offset, Length: p.Length, Zero: p.Zero}, done: make(chan struct{})}
			if p.Zero {
				b.zero.Add(p.Length)
				b.chunkBufs.Put(bufp)
				close(j.done)
			} else {
				*bufp = p.Data[:0]
				j.data, j.bufp = p.Data, bufp
			}
			select {
			case orderCh <- j:
			case <-ctx.Done():
				return ctx.Err()
			}
			if !p.Zero {
				select {
				case workCh <- j:
				case <-ctx.Done():
					return ctx.Err()
				}
			}
		}
	})

	// Workers: hash, dedup, compress.
	var senders sync.WaitGroup
	senders.Add(workers + 1)
	for range workers {
		g.Go(func() error {
			defer senders.Done()
			h := b.r.key.NewChunkHasher()
			for j := range workCh {
				j.ext.Blob = h.Sum(j.data)
				close(j.done)
				b.chunks.Add(1)
				err := b.store(ctx, packCh, index.DataBlob, j.ext.Blob, j.data)
				b.chunkBufs.Put(j.bufp)
				if err != nil {
					return err
				}
			}
			return nil
		})
	}

	// Collector: chunk list in volume order.
	snap := &Snapshot{Lists: []ID{}}
	g.Go(func() error {
		defer senders.Done()
		h := b.r.key.NewChunkHasher()
		var lb listBuilder
		emit := func() error {
			pt := lb.take()
			id := h.Sum(pt)
			snap.Lists = append(snap.Lists, id)
			return b.store(ctx, packCh, index.ListBlob, id, pt)
		}
		for j := range orderCh {
			select {
			case <-j.done:
			case <-ctx.Done():
				return ctx.Err()
			}
			snap.Size += j.ext.Length
			if lb.add(j.ext) {
				if err := emit(); err != nil {
					return err
				}
			}
		}
		if lb.records > 0 {
			return emit()
		}
		return nil
	})
	go func() {
		senders.Wait()
		close(packCh)
	}()

	// Packer: seal blobs into packs.
	g.Go(func() error {
		defer close(uploadCh)
		var pb *packBuilder
		flush := func() error {
			id, data, entries := pb.finish()
			pb = nil
			select {
			case uploadCh <- upload{id: id, data: data, entries: entries}:
				return nil
			case <-ctx.Done():
				return ctx.Err()
			}
		}
		for bl := range packCh {
			if pb == nil {
				var err error
				if pb, err = b.r.newPackBuilder(b.packBuf()); err != nil {
					return err
				}
			}
			pb.add(bl.t, bl.id, bl.rawLen, bl.compressed, bl.payload)
			bl.release()
			if pb.size() >= b.r.cfg.PackSize {
				if err := flush(); err != nil {
					return err
				}
			}
		}
		if pb != nil && len(pb.entries) > 0 {
			return flush()
		}
		return nil
	})

	// Uploaders.
	for range 2 {
		g.Go(func() error {
			for u := range uploadCh {
				if err := b.r.be.Save(ctx, backend.Handle{Type: backend.Pack, Name: u.id.String()}, u.data); err != nil {
					return fmt.Errorf("save pack: %w", err)
				}
				b.stored.Add(int64(len(u.data)))
				b.packs.Add(1)
				data := u.data[:0]
				b.packBufs.Put(&data)
				if err := b.addEntries(ctx, u.entries, false); err != nil {
					return err
				}
			}
			return nil
		})
	}
	if err := g.Wait(); err != nil {
		return nil, err
	}
	if err := b.addEntries(parent, nil, true); err != nil {
		return nil, err
	}
	return snap, nil
}

// store claims, compresses and queues one blob for packing, unless it is known already.
func (b *backupRun) store(ctx context.Context, packCh chan<- blob, t index.BlobType, id ids.ID, data []byte) error {
	isNew, err := b.claim(id)
	if err != nil {
		return fmt.Errorf("index lookup: %w", err)
	}
	if !isNew {
		return nil
	}
	if t == index.DataBlob {
		b.newChunks.Add(1)
		b.newBytes.Add(int64(len(data)))
	}
	outp := b.getBuf(&b.compBufs)
	out, compressed := b.r.comp.compress((*outp)[:0], data)
	payload := data
	if compressed {
		payload = out
	}
	// The payload must outlive the caller's buffer: copy uncompressed data into the pooled buffer.
	if !compressed {
		out = append(out[:0], data...)
		payload = out
	}
	*outp = out[:0]
	bl := blob{t: t, id: id, rawLen: len(data), compressed: compressed, payload: payload,
		release: func() { b.compBufs.Put(outp) }}
	select {
	case packCh <- bl:
		return nil
	case <-ctx.Done():
		b.compBufs.Put(outp)
		return ctx.Err()
	}
}

// addEntries records stored blobs; it writes an index object when enough are pending, or
// when final is set.
func (b *backupRun) addEntries(ctx context.Context, entries []index.Entry, final bool) error {
	b.pendMu.Lock()
	b.pending = append(b.pending, entries...)
	var batch []index.Entry
	if len(b.pending) >= b.r.indexFlush() || (final && len(b.pending) > 0) {
		batch, b.pending = b.pending, nil
	}
	b.pendMu.Unlock()
	if batch == nil {
		return nil
	}
	if _, err := b.r.saveIndex(ctx, b.cache, &index.Object{Entries: batch}); err != nil {
		return err
	}
	return nil
}
