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
	"golang.org/x/sync/semaphore"

	"github.com/cairnbackup/cairn/chunk"
	"github.com/cairnbackup/cairn/crypto"
	"github.com/cairnbackup/cairn/index"
	"github.com/cairnbackup/cairn/internal/gcpct"
	"github.com/cairnbackup/cairn/internal/ids"
	"github.com/cairnbackup/cairn/internal/procs"
	"github.com/cairnbackup/cairn/repo/backend"
	"github.com/cairnbackup/cairn/repo/backend/local"
	"github.com/cairnbackup/cairn/repo/backend/zones"
)

// indexFlushEntries bounds how many index entries a backup holds before writing an index
// object, so memory stays flat and an interrupted backup's packs are reusable.
const indexFlushEntries = 1 << 16

// job is one piece of the volume travelling through the pipeline.
type job struct {
	ext    Extent
	data   []byte
	weight int64         // bytes of the in-flight budget this job holds
	done   chan struct{} // closed when ext is final
}

// blob is a new blob on its way into a pack. release returns its buffer and budget once the
// payload has been sealed into a pack.
type blob struct {
	t          index.BlobType
	id         ids.ID
	rawLen     int
	compressed bool
	payload    []byte
	release    func()
}

// upload is a finished pack on its way to the backend: its bytes (buffered) or its
// uncommitted pack file (streamed).
type upload struct {
	id      ids.ID
	data    []byte
	w       packWriter
	size    int64
	entries []index.Entry
}

// Memory bounds of a backup (docs/BENCHMARKS.md, "Memory"). Peak memory is about the
// splitter's read buffer (chunk.ReadSize, or chunk.ReadBufferBytes reading a file ahead) +
// the chunker's scan buffer + the in-flight budget + a free list of at most workers more
// chunk buffers + one zstd encoder per worker, whatever the volume size. Packs are streamed to
// a local backend, and to object stores and zones through a spool file (spool.go), so no pack
// buffer exists; other backends (mem, or when no spool file can be created) hold one pack
// filling plus one per uploader, of PackSize+packSlack each.
const (
	// inflightExtraChunks is how many standard chunk buffers beyond one per worker the
	// budget holds: one being split and one at the packer. A maximum-sized chunk takes the
	// whole budget when the budget is smaller than it.
	inflightExtraChunks = 2
	// minInflightBytes is the smallest in-flight budget. Sized by chunk buffers alone, the
	// budget halves with the chunk size: with the 512 KiB normal size it was 4 MiB, and the
	// full backup of the bench's mixed image over six MinIO servers took 7% longer (median
	// 1.12 against 1.04 s, 5 alternating rounds) with 11% more user CPU than with 8 MiB. The
	// memory limit counts the budget; a profile of 256 KiB chunks without the floor spent ~7%
	// in the collector.
	minInflightBytes = 8 << 20
	// localUploaders and remoteUploaders are how many packs are saved (or, streamed, committed:
	// the fsync and rename) concurrently while the next one fills. One at a time keeps up with
	// a local disk (measured with BenchmarkBackupMixed). Object stores answer each PUT after a
	// round trip, so two overlap. A zones backend already uploads a pack's k+m shards in
	// parallel: one pack at a time ran as fast as two over six MinIO servers, buffered (25
	// MiB lower peak) and spooled alike.
	localUploaders  = 1
	remoteUploaders = 2
	zonesUploaders  = 1
)

// packSlack is the room a pack buffer has beyond PackSize: a pack ends at the first blob that
// takes it to PackSize (as before), unless that blob would not fit in the slack either, in which
// case the pack ends before it (packFits). The slack used to be a whole maximum-sized chunk
// (8 MiB), touched over a long backup in both pack buffers: part of the peak RSS growth with
// the volume size. 2 MiB holds most chunks (FastCDC's sizes cluster around 1 MiB).
const packSlack = 2 << 20

// blobOverhead bounds what sealing a blob adds to its payload in a pack, table entry included;
// packTableSeal bounds the sealed table's tag, the entry count and the trailer.
const (
	blobOverhead  = 256
	packTableSeal = 64
)

// packFits reports whether a payload of n bytes can join a pack of size bytes (table
// included) within a buffer of packCap bytes. An empty pack takes any blob.
func packFits(size, n, packCap int, empty bool) bool {
	return empty || size+n+blobOverhead+packTableSeal <= packCap
}

// uploadersFor returns how many packs to save concurrently on be.
func uploadersFor(be backend.Backend) int {
	switch be.(type) {
	case *local.Backend:
		return localUploaders
	case *zones.Backend:
		return zonesUploaders
	}
	return remoteUploaders
}

// bufList is a free list of byte buffers that, unlike sync.Pool, survives garbage
// collections, so a steady pipeline allocates almost nothing. The buffers it keeps total at
// most maxBytes of capacity; it prefers to keep large ones.
type bufList struct {
	mu       sync.Mutex
	free     [][]byte
	bytes    int // total capacity of free
	maxBytes int
	size     int // capacity of new buffers
}

// get returns an empty buffer of capacity at least size.
func (l *bufList) get() []byte { return l.getCap(l.size) }

// getCap returns an empty buffer of capacity at least n: the smallest free one large enough,
// else a new one of capacity max(n, size).
func (l *bufList) getCap(n int) []byte {
	l.mu.Lock()
	best := -1
	for i, b := range l.free {
		if cap(b) >= n && (best < 0 || cap(b) < cap(l.free[best])) {
			best = i
		}
	}
	if best >= 0 {
		b := l.free[best]
		last := len(l.free) - 1
		l.free[best] = l.free[last]
		l.free[last] = nil
		l.free = l.free[:last]
		l.bytes -= cap(b)
		l.mu.Unlock()
		return b[:0]
	}
	l.mu.Unlock()
	return make([]byte, 0, max(n, l.size))
}

// put returns b to the list. When that would exceed maxBytes, the smallest buffers (b
// included) are dropped to make room.
func (l *bufList) put(b []byte) {
	if cap(b) == 0 || cap(b) > l.maxBytes {
		return
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	for l.bytes+cap(b) > l.maxBytes {
		small := 0
		for i, f := range l.free {
			if cap(f) < cap(l.free[small]) {
				small = i
			}
		}
		if len(l.free) == 0 || cap(l.free[small]) >= cap(b) {
			return // b is the smallest: drop it
		}
		l.bytes -= cap(l.free[small])
		last := len(l.free) - 1
		l.free[small] = l.free[last]
		l.free[last] = nil
		l.free = l.free[:last]
	}
	l.free = append(l.free, b[:0])
	l.bytes += cap(b)
}

// backupRun is the state of one Backup call.
type backupRun struct {
	r     *Repository
	cache *index.Cache

	budget    *semaphore.Weighted // bytes of chunk data between the splitter and the packer
	budgetMax int64
	bufs      bufList     // chunk plaintext and compressed payloads: twice the budget holds all in circulation
	packBufs  chan []byte // pack buffers: one filling plus one per uploader, allocated lazily
	packCap   int
	streamer  packStreamer // nil: packs are buffered and saved whole
	uploaders int
	comps     chan *compressor // zstd encoders, one per worker, borrowed per blob
	workers   int              // hashing and compressing goroutines: GOMAXPROCS when the backup began

	claimMu sync.Mutex
	claimed map[ids.ID]struct{} // new blobs of this session, claimed by one worker

	excluded map[ids.ID]struct{} // packs pending deletion: never deduplicate against them
	// ready is closed once the lock is held and cache and excluded are set (see Backup):
	// nothing is deduplicated or stored before.
	ready chan struct{}

	pendMu  sync.Mutex
	pending []index.Entry // stored but not yet in an index object

	read, zero, hole, newBytes, stored, chunks, newChunks, packs atomic.Int64
}

// collectGarbage runs a garbage collection. Open calls it after each key derivation: the
// Argon2id memory (32 MiB by default) is garbage then, but the heap's next collection target
// still counted it, so whatever Open and the pipeline allocated next came on top of it (backup
// peak RSS 54 → 45 MiB). The freed pages are kept, not returned to the OS: the pipeline's
// buffers reuse them without page faults, which cost ~10 µs each on the bench VMs (backup
// 1.5–3k fewer faults, restore ~5k fewer and 3–8 MiB lower peak than with debug.FreeOSMemory).
// Pipelines call it again before allocating their buffers. With a small live heap a
// collection takes well under a millisecond.
func collectGarbage() { runtime.GC() }

// backupGCPercent is the garbage collector's GOGC while a backup pipeline runs. The live heap
// is almost all pointer-free buffers, so a collection costs little, while the default (100)
// let the heap reach twice the live buffers: the garbage of chunks larger than a standard
// buffer (their buffers grow) then set the peak RSS, higher the longer the run.
const backupGCPercent = 25

// ioProcs is how many Go processors a backup adds (procs.Extra) for its goroutines blocked in
// file reads and writes (three read-ahead readers, the local pack writer), beyond the
// GOMAXPROCS its workers are sized by. A processor held by a blocked read left the compression
// workers waiting: a 1 GiB local full backup on two cores spent 31% of the time in iowait, and
// took 1.99 s with one extra processor, 1.88 s with two, against 2.23 s (5 alternating rounds,
// medians; two workers each time; three workers on three processors: no faster).
//
// Only for a local repository: over six MinIO servers sharing the two cores, the extra
// processors cost the full backup 0.2 s of CPU (1.07 → 1.27 s, wall 1.03 → 1.09 s, 6
// alternating rounds), as cairn's spinning threads competed with the servers.
const ioProcs = 2

// ioProcsFor returns how many processors a backup to be adds: ioProcs for a local
// repository, none for object storage.
func ioProcsFor(be backend.Backend) int {
	if _, ok := be.(*local.Backend); ok {
		return ioProcs
	}
	return 0
}

// allowanceHeadroom is what the memory allowance leaves above the pipeline's buffers. With
// none, a long backup ran at its limit: the collector ran back to back and the runtime
// returned pages to the kernel only to fault them in again, each a first touch on these VMs.
// 8 GiB mixed full backup, alternating: 18.4–18.7 s (28.1–28.6 s user) without headroom,
// 14.6–14.9 s (23.3–23.8 s user) with 4 MiB, 13.6–14.9 s with 8 MiB; peak RSS 46.5–49 →
// 48–52 MiB. Short backups never reach the limit and do not change (docs/DECISIONS.md §27).
const allowanceHeadroom = 4 << 20

// tightenGC lowers GOGC to backupGCPercent (unless it is lower already) until the returned
// function runs; concurrent backups (and key derivations, which turn the collector off for a
// moment) share the setting through gcpct.
func tightenGC() (restore func()) { return gcpct.Hold(backupGCPercent) }

// memoryAllowance is the heap a backup pipeline may add to what the process uses when it
// starts: the chunk buffers (budget and free list), the pack buffers of a backend that is not
// streamed, zstd's history per worker, and allowanceHeadroom. It becomes a soft memory limit
// while the pipeline runs (gcpct.HoldMemory): without one, heap fragmentation over a long run
// raised the peak (CLI backup of 8 GiB: 57 MiB; 46 MiB with the limit), as the rare chunks
// larger than a standard buffer leave odd-sized free spans.
func (b *backupRun) memoryAllowance() int64 {
	n := int64(b.bufs.maxBytes) + b.budgetMax + int64(b.workers)*(fastestWindow+1<<20)
	if b.streamer == nil {
		n += int64(b.uploaders+1) * int64(b.packCap)
	}
	return n + allowanceHeadroom
}

// newBackupRun sizes the buffers and the in-flight budget for workers workers.
func (r *Repository) newBackupRun(workers int) *backupRun {
	maxChunk := int64(r.cfg.Chunker.MaxSize)
	avg := int64(1) << r.cfg.Chunker.AverageBits
	avg = min(max(avg, int64(r.cfg.Chunker.MinSize)), maxChunk)
	// A standard buffer holds nearly every chunk (FastCDC's normalized sizes cluster around
	// the average), its compressed form at worst, and the seal's tag: one size serves the
	// splitter, the compressor and in-place sealing, so buffers circulate without regrowing.
	// Larger chunks grow buffers of their own, which the free list keeps within its bound;
	// buffers are handed out best fit, so a small chunk never takes (and weighs as) a large
	// buffer. Before, a free list of twice the budget, handing out the last freed buffer,
	// filled up with maximum-sized buffers over a long run (peak RSS growing with the volume).
	bufSize := int64(compressBound(int(min(2*avg, maxChunk))) + crypto.Overhead)
	budget := max(maxChunk, int64(workers+inflightExtraChunks)*bufSize, minInflightBytes)
	up := uploadersFor(r.be)
	b := &backupRun{r: r, workers: workers, claimed: make(map[ids.ID]struct{}), ready: make(chan struct{}),
		budget: semaphore.NewWeighted(budget), budgetMax: budget,
		// Buffers in circulation: the budget's, plus compression outputs being written by the
		// workers before their chunk buffer is returned.
		bufs:      bufList{maxBytes: int(budget + int64(workers)*bufSize), size: int(bufSize)},
		packBufs:  make(chan []byte, up+1),
		streamer:  r.streamer(),
		uploaders: up,
		// See packSlack: a pack buffer never regrows.
		packCap: r.cfg.PackSize + packSlack,
	}
	for range up + 1 {
		b.packBufs <- nil
	}
	return b
}

// setup takes the backup's lock, then reads the pending deletions and syncs the index side by
// side (one round trip instead of two; zones at other sites: tens of milliseconds), and opens
// b.ready. The returned unlock, when not nil, must run also if err is not nil.
func (b *backupRun) setup(ctx context.Context) (lk *heldLock, unlock func(), err error) {
	lk, unlock, err = b.r.lockFor(ctx, "backup", LockBackup, false)
	if err != nil {
		return nil, nil, err
	}
	g, gctx := errgroup.WithContext(ctx)
	g.Go(func() (err error) {
		b.excluded, err = b.r.pendingPacks(gctx, lk.lockName())
		return err
	})
	g.Go(func() (err error) {
		b.cache, err = b.r.indexCache(gctx)
		return err
	})
	if err := g.Wait(); err != nil {
		return nil, unlock, fmt.Errorf("backup: %w", err)
	}
	close(b.ready)
	return lk, unlock, nil
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

// Backup reads src to EOF and stores it as a new snapshot. If src is an *os.File of a regular
// file, its holes are skipped without reading. Nothing is recorded unless the whole stream
// was read and stored: on any error no snapshot is written.
func (r *Repository) Backup(ctx context.Context, src io.Reader, opts BackupOptions) (*Snapshot, error) {
	start := time.Now()
	sp, err := chunk.NewSplitter(src, r.cfg.Chunker)
	if err != nil {
		return nil, fmt.Errorf("backup: %w", err)
	}
	defer sp.Close() // stops its read-ahead if the pipeline fails early
	workers := runtime.GOMAXPROCS(0)
	b := r.newBackupRun(workers)
	collectGarbage()
	defer tightenGC()()
	defer gcpct.HoldMemory(b.memoryAllowance())()
	defer procs.Extra(ioProcsFor(r.be))()

	// The pipeline starts at once: it reads, chunks and hashes while the lock is written
	// and the pending deletions and the index are read, but deduplicates and stores nothing
	// before (b.ready; docs/LIFECYCLE.md §3).
	// Whichever fails first cancels the other and is the error reported.
	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	type setupResult struct {
		lk     *heldLock
		unlock func()
		err    error
	}
	setup := make(chan setupResult, 1)
	go func() {
		lk, unlock, err := b.setup(ctx)
		if err != nil {
			cancel(err)
		}
		setup <- setupResult{lk, unlock, err}
	}()
	stopProgress := b.startProgress(ctx, opts, start)
	snap, err := b.run(ctx, sp)
	stopProgress()
	if err != nil {
		cancel(err)
	}
	su := <-setup
	if su.unlock != nil {
		defer su.unlock()
	}
	if su.err != nil && (err == nil || context.Cause(ctx) == su.err) {
		return nil, su.err
	}
	if err != nil {
		return nil, fmt.Errorf("backup: %w", err)
	}
	lk := su.lk
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
//
// Memory is bounded independently of the volume size: a chunk holds budget bytes (its
// buffer's capacity) from the moment the splitter produced it until it is found to be a
// duplicate or sealed into a pack, and packs come from a fixed set of uploaders+1 buffers.
// Buffers are recycled through free lists, so a steady backup allocates almost nothing.
func (b *backupRun) run(parent context.Context, sp *chunk.Splitter) (*Snapshot, error) {
	workers := b.workers
	// Compressors, one per worker, borrowed for each blob: the repository's shared one
	// (r.comp) encodes one frame at a time, which serialised the workers on compression, the
	// largest stage, and left a core idle (docs/BENCHMARKS.md).
	b.comps = make(chan *compressor, workers)
	for range workers {
		c, err := newCompressor(b.r.cfg.Compression)
		if err != nil {
			return nil, err
		}
		b.comps <- c
	}

	g, ctx := errgroup.WithContext(parent)
	orderCh := make(chan *job, 4*workers+4)
	workCh := make(chan *job, workers)
	packCh := make(chan blob, workers)
	uploadCh := make(chan upload)

	// Split: the only reader of the source.
	g.Go(func() error {
		defer close(orderCh)
		defer close(workCh)
		for {
			buf := b.bufs.get()
			p, err := sp.Next(buf)
			if errors.Is(err, io.EOF) {
				b.bufs.put(buf)
				return nil
			}
			if err != nil {
				b.bufs.put(buf)
				return fmt.Errorf("read source: %w", err)
			}
			b.read.Add(p.Length)
			j := &job{ext: Extent{Offset: p.Offset, Length: p.Length, Zero: p.Zero}, done: make(chan struct{})}
			if p.Zero {
				b.zero.Add(p.Length)
				b.bufs.put(buf)
				close(j.done)
			} else {
				j.data = p.Data
				j.weight = min(int64(cap(p.Data)), b.budgetMax)
				if err := b.budget.Acquire(ctx, j.weight); err != nil {
					return err
				}
			}
			select {
			case orderCh <- j:
			case <-ctx.Done():
				b.budget.Release(j.weight)
				return ctx.Err()
			}
			if !p.Zero {
				select {
				case workCh <- j:
				case <-ctx.Done():
					b.budget.Release(j.weight)
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
				if err := b.store(ctx, packCh, index.DataBlob, j.ext.Blob, j.data, j.weight); err != nil {
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
			return b.store(ctx, packCh, index.ListBlob, id, pt, 0)
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

	// Packer: seal blobs into packs, streamed to the backend when it can take them.
	g.Go(func() error {
		defer close(uploadCh)
		var pb *packBuilder
		defer func() { pb.abort() }() // a pack not handed to an uploader
		flush := func() error {
			id, data, entries, err := pb.end()
			if err != nil {
				return err
			}
			u := upload{id: id, data: data, entries: entries, w: pb.w}
			if pb.w != nil {
				u.size = int64(pb.n)
			} else {
				u.size = int64(len(data))
			}
			select {
			case uploadCh <- u:
				pb = nil
				return nil
			case <-ctx.Done():
				return ctx.Err()
			}
		}
		for bl := range packCh {
			if pb != nil && !packFits(pb.size(), len(bl.payload), b.packCap, len(pb.entries) == 0) {
				if err := flush(); err != nil {
					bl.release()
					return err
				}
			}
			if pb == nil {
				var err error
				if pb, err = b.newPack(ctx); err != nil {
					bl.release()
					return err
				}
			}
			err := b.seal(pb, bl)
			bl.release()
			if err != nil {
				return err
			}
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

	// Uploaders: save buffered packs, commit streamed ones.
	for range b.uploaders {
		g.Go(func() error {
			for u := range uploadCh {
				h := backend.Handle{Type: backend.Pack, Name: u.id.String()}
				if u.w != nil {
					if err := u.w.Commit(ctx, h); err != nil {
						return fmt.Errorf("save pack: %w", err)
					}
				} else {
					if err := b.r.be.Save(ctx, h, u.data); err != nil {
						return fmt.Errorf("save pack: %w", err)
					}
					b.packBufs <- u.data[:0] // never blocks: one slot per buffer
				}
				b.stored.Add(u.size)
				b.packs.Add(1)
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
	select { // an empty source stores nothing, so nothing waited for the index yet
	case <-b.ready:
	case <-parent.Done():
		return nil, parent.Err()
	}
	if err := b.addEntries(parent, nil, true); err != nil {
		return nil, err
	}
	return snap, nil
}

// newPack starts a pack: a pack file of the backend when it streams, else a recycled buffer.
func (b *backupRun) newPack(ctx context.Context) (*packBuilder, error) {
	if b.streamer != nil {
		return b.r.newPackStream(ctx, b.streamer)
	}
	var buf []byte
	select {
	case buf = <-b.packBufs:
	case <-ctx.Done():
		return nil, ctx.Err()
	}
	if buf == nil {
		buf = make([]byte, 0, b.packCap)
	}
	return b.r.newPackBuilder(buf)
}

// seal adds bl to pb. A streamed blob is sealed in place in its payload buffer (which the
// pipeline owns and recycles after) when the buffer has room for the tag, else in a buffer
// borrowed from the free list: no buffer the size of a pack exists.
func (b *backupRun) seal(pb *packBuilder, bl blob) error {
	dst := bl.payload[:0]
	var tmp []byte
	if pb.w != nil && cap(bl.payload)-len(bl.payload) < crypto.Overhead {
		tmp = b.bufs.getCap(len(bl.payload) + crypto.Overhead)
		dst = tmp
	}
	_, err := pb.addVia(bl.t, bl.id, bl.rawLen, bl.compressed, bl.payload, dst)
	if tmp != nil {
		b.bufs.put(tmp)
	}
	return err
}

// store claims, compresses and queues one blob for packing, unless it is known already.
// data is a chunk buffer holding weight bytes of the budget (0: data belongs to the caller
// and is not recycled); store returns both, now or once the blob is sealed.
func (b *backupRun) store(ctx context.Context, packCh chan<- blob, t index.BlobType, id ids.ID, data []byte, weight int64) error {
	done := func() {
		if weight > 0 {
			b.bufs.put(data)
			b.budget.Release(weight)
		}
	}
	select {
	case <-b.ready:
	case <-ctx.Done():
		done()
		return ctx.Err()
	}
	isNew, err := b.claim(id)
	if err != nil {
		done()
		return fmt.Errorf("index lookup: %w", err)
	}
	if !isNew {
		done()
		return nil
	}
	if t == index.DataBlob {
		b.newChunks.Add(1)
		b.newBytes.Add(int64(len(data)))
	}
	bl := blob{t: t, id: id, rawLen: len(data), payload: data, release: done}
	// Room for zstd's worst case, so incompressible data does not regrow the buffer.
	comp := <-b.comps // held for the compression only, so a wait is short
	out, compressed := comp.compress(b.bufs.getCap(compressBound(len(data))), data)
	b.comps <- comp
	if compressed {
		// The chunk buffer is free now; the compressed payload keeps its budget until sealed.
		if weight > 0 {
			b.bufs.put(data)
		}
		bl.compressed, bl.payload = true, out
		bl.release = func() {
			b.bufs.put(out)
			if weight > 0 {
				b.budget.Release(weight)
			}
		}
	} else {
		b.bufs.put(out)
	}
	select {
	case packCh <- bl:
		return nil
	case <-ctx.Done():
		bl.release()
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
