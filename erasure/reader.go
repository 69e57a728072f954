package erasure

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"
	"time"
)

// PackReader reads byte ranges of one erasure-coded pack through a ShardSource. It caches
// the verified footers it has fetched and remembers shards that failed, so many reads of
// one pack (a restore) cost one footer fetch per shard plus one range read per healthy
// read, and stop retrying a failed shard. A shard marked failed stays failed for the
// reader's lifetime; open a new PackReader to retry it. Safe for concurrent use.
//
// Verified data-shard blocks that a read used only part of (and such blocks reconstructed
// from verified ranges) are kept in the Coder's block cache (WithBlockCache;
// DefaultBlockCache = 8 MiB shared by all the Coder's readers, LRU), and a block another
// ReadRange of this reader is fetching is waited for, not fetched again: reading a pack's
// blobs in order, even from several goroutines, fetches and hashes each data block once.
// A read that reconstructs a failed shard's range leaves the other shards' blocks it
// fetched in the cache, so that a pack read whole with a shard down costs about what it
// costs healthy, not twice that. Memory: at most the cache budgets per Coder (see
// WithBlockCache), plus the blocks of the reads in flight; a reader holds nothing once
// its blocks are evicted.
type PackReader struct {
	c      *Coder
	src    ShardSource
	packID [PackIDSize]byte
	id     uint64      // names this reader's blocks in cache
	cache  *blockCache // nil: no block cache

	mu            sync.Mutex
	geom          *ShardInfo // first verified footer: PackLen, ShardSize (and a block size guess)
	footers       map[int]*ShardInfo
	footerFlights map[int]*flight // footers being fetched
	bad           map[int]error
}

// NewPackReader returns a reader for the pack named packID (PackIDSize bytes) whose shards
// src serves. It does no I/O.
func (c *Coder) NewPackReader(src ShardSource, packID []byte) (*PackReader, error) {
	if len(packID) != PackIDSize {
		return nil, fmt.Errorf("erasure: pack ID is %d bytes, want %d", len(packID), PackIDSize)
	}
	p := &PackReader{c: c, src: src, id: nextReaderID.Add(1), cache: c.cache, footers: map[int]*ShardInfo{}, bad: map[int]error{}}
	copy(p.packID[:], packID)
	return p, nil
}

var nextReaderID atomic.Uint64

// ReadRange returns bytes [off, off+n) of the pack named packID. It is shorthand for
// NewPackReader followed by one ReadRange; prefer a PackReader for many reads of one pack.
func (c *Coder) ReadRange(ctx context.Context, src ShardSource, packID []byte, off, n int64) ([]byte, error) {
	p, err := c.NewPackReader(src, packID)
	if err != nil {
		return nil, err
	}
	p.cache = nil // nothing to reuse: keep other readers' blocks
	return p.ReadRange(ctx, off, n)
}

// PackLen returns the pack length N, fetching a footer if none is known yet.
func (p *PackReader) PackLen(ctx context.Context) (int64, error) {
	g, err := p.geometry(ctx)
	if err != nil {
		return 0, err
	}
	return g.PackLen, nil
}

// ShardSize returns the shard size S, fetching a footer if none is known yet: pack bytes
// [k*S, (k+1)*S) are data shard k's. A reader whose ranges stay within one data shard, or
// end at the end of one, costs one request per range (see ReadRangeInto).
func (p *PackReader) ShardSize(ctx context.Context) (int64, error) {
	g, err := p.geometry(ctx)
	if err != nil {
		return 0, err
	}
	return g.ShardSize, nil
}

// ReadRange returns bytes [off, off+n) of the pack: ReadRangeInto a new buffer.
func (p *PackReader) ReadRange(ctx context.Context, off, n int64) ([]byte, error) {
	if off < 0 || n < 0 || off > maxPackLen || n > maxPackLen {
		return nil, fmt.Errorf("%w: [%d, +%d)", ErrRange, off, n)
	}
	out := make([]byte, n)
	if err := p.ReadRangeInto(ctx, off, out); err != nil {
		return nil, err
	}
	return out, nil
}

// ReadRangeInto reads bytes [off, off+len(dst)) of the pack into dst, so a caller can reuse
// one buffer for many reads; the blocks are copied from the verified (or reconstructed)
// shard ranges, or the block cache, straight into dst. On an error dst may hold part of
// the range.
//
// Healthy path: the data shard(s) covering the range are range-read directly (the range
// rounded out to block boundaries) and checked against their footer's block checksums: no
// decoding. A shard whose footer is not known yet is read on to the end of its object when
// the range reaches its last block, so the footer arrives with the data; otherwise the
// footer is fetched beside the range. If such a read fails or does not verify (or, with
// WithHedgeAfter, is slow), the same block-aligned range is read from the other shards in
// parallel, the first Data that verify are kept, the rest cancelled, and the missing data
// reconstructed. Fewer than Data
// good shards returns a *TooFewShardsError; a range outside the pack returns ErrRange.
func (p *PackReader) ReadRangeInto(ctx context.Context, off int64, dst []byte) error {
	n := int64(len(dst))
	if off < 0 || off > maxPackLen || n > maxPackLen {
		return fmt.Errorf("%w: [%d, +%d)", ErrRange, off, n)
	}
	if n == 0 {
		return nil
	}
	g, err := p.geometry(ctx)
	if err != nil {
		return fmt.Errorf("erasure: read pack %x: %w", p.packID[:4], err)
	}
	if off+n > g.PackLen {
		return fmt.Errorf("%w: [%d, %d) of a %d-byte pack", ErrRange, off, off+n, g.PackLen)
	}
	s := g.ShardSize
	var segs []segment
	for pos := off; pos < off+n; {
		seg := segment{shard: int(pos / s), off: pos % s, out: dst[pos-off:]}
		seg.n = min(s-seg.off, off+n-pos)
		seg.out = seg.out[:seg.n]
		segs = append(segs, seg)
		pos += seg.n
	}
	if len(segs) == 1 {
		err = p.readSegment(ctx, segs[0], g)
	} else {
		errs := make([]error, len(segs))
		var wg sync.WaitGroup
		sem := make(chan struct{}, p.c.parallel)
		for i := range segs {
			sem <- struct{}{}
			wg.Go(func() {
				defer func() { <-sem }()
				errs[i] = p.readSegment(ctx, segs[i], g)
			})
		}
		wg.Wait()
		err = firstErr(errs)
	}
	if err != nil {
		return fmt.Errorf("erasure: read pack %x [%d, %d): %w", p.packID[:4], off, off+n, err)
	}
	return nil
}

func firstErr(errs []error) error {
	for _, e := range errs {
		if e != nil {
			return e
		}
	}
	return nil
}

// segment is the part of a read that lies in one data shard.
type segment struct {
	shard  int
	off, n int64  // payload range in that shard
	out    []byte // destination, len n
}

type segResult struct {
	data []byte
	err  error
}

// readSegment fills seg.out from its data shard, through the block cache if there is one.
func (p *PackReader) readSegment(ctx context.Context, seg segment, g *ShardInfo) error {
	if p.cache != nil {
		return p.readSegmentCached(ctx, seg, g)
	}
	bs := g.BlockSize
	first, last := seg.off/bs, (seg.off+seg.n-1)/bs
	bufs, err := p.fetchBlocks(ctx, seg, g, first, last, last, nil)
	if err != nil {
		return err
	}
	for b, buf := range bufs {
		if buf != nil {
			seg.put(first+int64(b), bs, buf)
		}
	}
	return nil
}

// put copies the part of block b (bytes data, block size bs) that seg covers into seg.out.
func (seg segment) put(b, bs int64, data []byte) {
	bo := b * bs
	from, to := max(seg.off, bo), min(seg.off+seg.n, bo+int64(len(data)))
	if from < to {
		copy(seg.out[from-seg.off:to-seg.off], data[from-bo:to-bo])
	}
}

// whole reports whether seg covers block b (block size bs, shard size s) whole.
func (seg segment) whole(b, bs, s int64) bool {
	return b*bs >= seg.off && min((b+1)*bs, s) <= seg.off+seg.n
}

// fetchBlocks fetches blocks [lo, hi] of seg's shard with one request (healthy, or
// degraded), verified. Blocks in [lo, last] that seg covers whole and that skip does not
// mark (skip[b-lo]: another read has them) are written straight into seg.out, so the bulk
// of a read is never copied; every other block comes back in a buffer of its own,
// bufs[b-lo] (nil for the blocks written to seg.out).
func (p *PackReader) fetchBlocks(ctx context.Context, seg segment, g *ShardInfo, lo, hi, last int64, skip []bool) (bufs [][]byte, err error) {
	bs, s := g.BlockSize, g.ShardSize
	bufs = make([][]byte, hi-lo+1)
	var parts [][]byte
	for b := lo; b <= hi; b++ {
		end := min((b+1)*bs, s)
		if b <= last && seg.whole(b, bs, s) && (skip == nil || !skip[b-lo]) {
			from := b*bs - seg.off
			if n := len(parts); b > lo && bufs[b-lo-1] == nil { // the previous block too: one part
				from -= int64(len(parts[n-1]))
				parts = parts[:n-1]
			}
			parts = append(parts, seg.out[from:end-seg.off])
			continue
		}
		bufs[b-lo] = make([]byte, end-b*bs)
		parts = append(parts, bufs[b-lo])
	}
	if err := p.fetchInto(ctx, seg.shard, lo*bs, parts); err != nil {
		return nil, err
	}
	return bufs, nil
}

// fetchInto fills parts with the verified payload of data shard i from start (a block
// boundary; see fetchBlocksInto), falling back to (or, after hedgeAfter, racing) a degraded
// read. It returns only once nothing writes into parts any more: when the degraded read
// wins, the healthy one is cancelled and waited for before the result is copied in.
func (p *PackReader) fetchInto(ctx context.Context, i int, start int64, parts [][]byte) error {
	seg := segment{shard: i, off: start, n: partsLen(parts)}
	if p.badErr(i) != nil {
		return p.degraded(ctx, seg, parts, true)
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	healthy := make(chan error, 1)
	go func() {
		err := p.fetchBlocksInto(ctx, i, start, parts)
		if err != nil && ctx.Err() == nil {
			p.markBad(i, err)
		}
		healthy <- err
	}()
	healthyDone := false
	stopHealthy := func() {
		cancel()
		if !healthyDone {
			<-healthy
			healthyDone = true
		}
	}
	var hedge <-chan time.Time
	if p.c.hedgeAfter > 0 {
		t := time.NewTimer(p.c.hedgeAfter)
		defer t.Stop()
		hedge = t.C
	}
	degradedRes := make(chan segResult, 1)
	pending, degradedStarted := 1, false
	startDegraded := func() {
		degradedStarted = true
		pending++
		go func() {
			// Into a buffer of its own: the healthy read may still be writing into parts.
			// Shared only once the healthy read failed (see degraded).
			data := make([]byte, seg.n)
			err := p.degraded(ctx, seg, [][]byte{data}, p.badErr(i) != nil)
			degradedRes <- segResult{data: data, err: err}
		}()
	}
	var lastErr error
	for pending > 0 {
		select {
		case err := <-healthy:
			healthyDone = true
			pending--
			if err == nil {
				return nil
			}
			if lastErr == nil {
				lastErr = err
			}
			if !degradedStarted {
				startDegraded()
			}
		case r := <-degradedRes:
			pending--
			if r.err == nil {
				stopHealthy()
				scatter(r.data, parts)
				return nil
			}
			lastErr = r.err
		case <-hedge:
			if !degradedStarted {
				startDegraded()
			}
		case <-ctx.Done():
			stopHealthy()
			return ctx.Err()
		}
	}
	return lastErr
}

func partsLen(parts [][]byte) int64 {
	var n int64
	for _, p := range parts {
		n += int64(len(p))
	}
	return n
}

// scatter copies data into parts, in order.
func scatter(data []byte, parts [][]byte) {
	for _, p := range parts {
		data = data[copy(p, data):]
	}
}

// degraded reconstructs seg into parts (as in fetchBlocksInto: seg starts on a block
// boundary, and each part starts on one and ends on one or at the end of the shard) from
// Data other shards' verified blocks, one block at a time. The other shards' blocks come
// through the block cache (sourceBlocks): a block another read holds or is fetching is not
// fetched again, and the blocks this read fetches are deposited there for the reads of
// those shards' own ranges.
//
// share is false for a read racing a slow healthy read of the shard (hedged): it takes
// cached blocks but neither waits for other reads' fetches nor deposits. A read that waits
// holds the fetches of its own shard's blocks in the meantime; with only reads of shards
// known to have failed waiting, and only for shards not known bad when they started,
// no two of them can wait for each other.
func (p *PackReader) degraded(ctx context.Context, seg segment, parts [][]byte, share bool) error {
	l := p.c.layout
	g := p.geom0()
	if g == nil {
		return fmt.Errorf("shard %d: pack geometry unknown", seg.shard)
	}
	candidates := make([]int, 0, l.Total()-1)
	known := map[int]error{}
	for i := range l.Total() {
		if i == seg.shard {
			continue
		}
		if err := p.badErr(i); err != nil {
			known[i] = err
			continue
		}
		candidates = append(candidates, i)
	}
	bs := g.BlockSize
	first, last := seg.off/bs, (seg.off+seg.n-1)/bs
	fetch := func(ctx context.Context, i int) ([][]byte, error) {
		return p.sourceBlocks(ctx, i, first, last, g, share)
	}
	// Data shards first (candidates are in shard order): their blocks are the ones the
	// restore reads anyway. Data at a time (at most WithParallel), the next on a failure,
	// all after hedgeAfter.
	good, failed, err := gather(ctx, min(l.Data, p.c.parallel), p.c.hedgeAfter, candidates, l.Data, fetch, nil)
	if err != nil {
		return err
	}
	if len(good) < l.Data {
		for i, e := range known {
			failed[i] = e
		}
		if e := p.badErr(seg.shard); e != nil {
			failed[seg.shard] = e
		} else {
			failed[seg.shard] = fmt.Errorf("slow, hedged")
		}
		return &TooFewShardsError{Need: l.Data, Have: len(good), Failed: failed}
	}
	shards := make([][]byte, l.Total())
	required := make([]bool, l.Data)
	required[seg.shard] = true
	for b := first; b <= last; b++ {
		clear(shards)
		for i, blocks := range good {
			shards[i] = blocks[b-first]
		}
		dst := partsRange(parts, b*bs-seg.off, min((b+1)*bs, g.ShardSize)-b*bs)
		shards[seg.shard] = dst[:0:len(dst)]
		if err := p.c.reconstruct(shards, required); err != nil {
			return err
		}
		if got := shards[seg.shard]; len(got) > 0 && &got[0] != &dst[0] {
			copy(dst, got)
		}
	}
	return nil
}

// partsRange returns bytes [off, off+n) of parts read as one buffer; the range lies within
// one part.
func partsRange(parts [][]byte, off, n int64) []byte {
	for _, p := range parts {
		if off < int64(len(p)) {
			return p[off : off+n]
		}
		off -= int64(len(p))
	}
	return nil
}

// sourceBlocks returns the verified blocks [first, last] of shard i for a degraded read.
// Blocks in the cache are taken from there (and left for the reads of shard i's own
// ranges); with share, blocks another read is fetching are waited for, and the rest are
// fetched with one request and deposited (see blockCache). A failure other than
// cancellation marks the shard bad.
func (p *PackReader) sourceBlocks(ctx context.Context, i int, first, last int64, g *ShardInfo, share bool) ([][]byte, error) {
	if p.cache == nil {
		return p.fetchBlockBufs(ctx, i, first, last, g)
	}
	if !share {
		blocks := make([][]byte, last-first+1)
		missing := make([]bool, len(blocks))
		for b := first; b <= last; b++ {
			blocks[b-first] = p.cache.get(blockKey{p.id, i, b})
			missing[b-first] = blocks[b-first] == nil
		}
		if lo, hi := span(missing, first); lo >= 0 {
			bufs, err := p.fetchBlockBufs(ctx, i, lo, hi, g)
			if err != nil {
				return nil, err
			}
			for b := lo; b <= hi; b++ {
				blocks[b-first] = bufs[b-lo]
			}
		}
		return blocks, nil
	}
	hit, wait, own := p.cache.claim(p.id, i, first, last, nil)
	blocks := hit
	if lo, hi := span(own, first); lo >= 0 {
		// One request for the span of owned blocks; the blocks in it another read has
		// are read again rather than cost a request of their own.
		bufs, err := p.fetchBlockBufs(ctx, i, lo, hi, g)
		for b := lo; b <= hi; b++ {
			j := b - first
			if !own[j] {
				if err == nil && blocks[j] == nil {
					blocks[j], wait[j] = bufs[b-lo], nil
				}
				continue
			}
			var data []byte
			if err == nil {
				data = bufs[b-lo]
				blocks[j] = data
			}
			p.cache.deposit(blockKey{p.id, i, b}, data)
		}
		if err != nil {
			return nil, err
		}
	}
	for j, ch := range wait {
		if ch == nil {
			continue
		}
		b := first + int64(j)
		data, err := p.awaitBlock(ctx, ch, blockKey{p.id, i, b}, func() ([]byte, error) {
			bufs, err := p.fetchBlockBufs(ctx, i, b, b, g)
			if err != nil {
				return nil, err
			}
			return bufs[0], nil
		})
		if err != nil {
			return nil, err
		}
		blocks[j] = data
	}
	return blocks, nil
}

// fetchBlockBufs fetches the verified blocks [lo, hi] of shard i with one request, each
// into a buffer of its own. A failure other than cancellation marks the shard bad.
func (p *PackReader) fetchBlockBufs(ctx context.Context, i int, lo, hi int64, g *ShardInfo) ([][]byte, error) {
	bs, s := g.BlockSize, g.ShardSize
	bufs := make([][]byte, hi-lo+1)
	for b := lo; b <= hi; b++ {
		bufs[b-lo] = make([]byte, min((b+1)*bs, s)-b*bs)
	}
	err := p.fetchBlocksInto(ctx, i, lo*bs, bufs)
	if err != nil && ctx.Err() == nil {
		p.markBad(i, err)
	}
	if err != nil {
		return nil, err
	}
	return bufs, nil
}

// fetchBlocksInto reads payload [start, start+partsLen(parts)) of shard i into parts with
// one request and verifies it. start is a block boundary of the pack geometry, and every
// part starts on one and ends on one or at the end of the shard, so each part is checked
// on its own. A shard whose footer is not known yet is read on to the end of its object
// when the parts reach its last block, so the footer arrives with the data; otherwise the
// footer is fetched beside the range. A shard written with another block size than the
// geometry's is read again, aligned to its own blocks.
func (p *PackReader) fetchBlocksInto(ctx context.Context, i int, start int64, parts [][]byte) error {
	g := p.geom0()
	if g == nil {
		return fmt.Errorf("shard %d: pack geometry unknown", i)
	}
	info := p.footer(i)
	read := false
	if info == nil {
		if start+partsLen(parts) > g.ShardSize-g.BlockSize {
			// The range reaches the shard's last block: read on to the end of the object,
			// so the footer comes with the data in one request.
			fi, err := p.fetchToEndInto(ctx, i, start, parts, g)
			if err != nil || fi != nil {
				return err
			}
			// Not the footer length this geometry implies (another block size): below.
		}
		var ferr, derr error
		var wg sync.WaitGroup
		wg.Go(func() { info, ferr = p.fetchFooter(ctx, i) })
		derr = p.readInto(ctx, i, start, parts)
		wg.Wait()
		if ferr != nil {
			return ferr
		}
		if info.BlockSize == g.BlockSize && derr != nil {
			return derr
		}
		read = true
	}
	if info.BlockSize != g.BlockSize {
		return p.readRealigned(ctx, i, info, start, parts)
	}
	if !read {
		if err := p.readInto(ctx, i, start, parts); err != nil {
			return err
		}
	}
	return verifyParts(info, start, parts)
}

// verifyParts checks parts, the payload from start on, against info's block checksums.
func verifyParts(info *ShardInfo, start int64, parts [][]byte) error {
	for _, part := range parts {
		if err := info.VerifyRange(part, start); err != nil {
			return err
		}
		start += int64(len(part))
	}
	return nil
}

// readRealigned fills parts (payload from start on) from shard i, which was written with
// info's block size, not the geometry's: the range is read aligned to info's blocks,
// verified, and copied in.
func (p *PackReader) readRealigned(ctx context.Context, i int, info *ShardInfo, start int64, parts [][]byte) error {
	n := partsLen(parts)
	from, to := info.BlockAlign(start, n)
	data, err := p.readExact(ctx, i, from, to-from)
	if err != nil {
		return err
	}
	if err := info.VerifyRange(data, from); err != nil {
		return err
	}
	scatter(data[start-from:start-from+n], parts)
	return nil
}

// fetchToEndInto reads shard i from payload offset start (a block boundary of g) to the end
// of its object, footer included (ShardSize-start+F bytes if the shard has g's block size):
// the payload into parts, the rest, if any, and the footer into a buffer of its own. It
// verifies and records the footer and verifies the payload. If the bytes read do not end
// in a trailer naming that footer length (the shard was written with smaller blocks, or is
// damaged), it returns a nil footer and no error: the caller reads the footer and the range
// separately, which tells the two apart. A shard written with larger blocks is shorter than
// the read, which fails; the read is then served degraded, like any failed shard.
func (p *PackReader) fetchToEndInto(ctx context.Context, i int, start int64, parts [][]byte, g *ShardInfo) (*ShardInfo, error) {
	f := int64(footerLen(numBlocks(g.ShardSize, g.BlockSize)))
	end := start + partsLen(parts)
	rest := make([]byte, g.ShardSize-end+f)
	if err := p.readInto(ctx, i, start, append(parts[:len(parts):len(parts)], rest)); err != nil {
		return nil, err
	}
	if fl, err := FooterLen(rest); err != nil || int64(fl) != f {
		return nil, nil // a longer footer (smaller blocks) leaves no trailer here
	}
	info, err := ParseFooter(rest)
	if err != nil {
		return nil, fmt.Errorf("shard %d footer: %w", i, err)
	}
	if err := p.acceptFooter(i, info); err != nil {
		return nil, err
	}
	if err := verifyParts(info, start, parts); err != nil {
		return nil, err
	}
	return info, nil
}

// readInto fills parts from shard i's object at off with one request: ReadShardInto if
// the source has it, else ReadShard and a copy.
func (p *PackReader) readInto(ctx context.Context, i int, off int64, parts [][]byte) error {
	n := partsLen(parts)
	if ri, ok := p.src.(ShardReaderInto); ok {
		if err := ri.ReadShardInto(ctx, i, off, parts); err != nil {
			return fmt.Errorf("read shard %d [%d, +%d): %w", i, off, n, err)
		}
		return nil
	}
	b, err := p.readExact(ctx, i, off, n)
	if err != nil {
		return err
	}
	scatter(b, parts)
	return nil
}

func (p *PackReader) readExact(ctx context.Context, i int, off, n int64) ([]byte, error) {
	b, err := p.src.ReadShard(ctx, i, off, n)
	if err != nil {
		return nil, fmt.Errorf("read shard %d [%d, +%d): %w", i, off, n, err)
	}
	if int64(len(b)) != n {
		return nil, fmt.Errorf("read shard %d [%d, +%d): got %d bytes", i, off, n, len(b))
	}
	return b, nil
}

// fetchFooter returns shard i's verified footer, reading and caching it if needed. Reads
// of one shard that need its footer at once share one fetch (readFooter).
func (p *PackReader) fetchFooter(ctx context.Context, i int) (*ShardInfo, error) {
	for {
		p.mu.Lock()
		if info := p.footers[i]; info != nil {
			p.mu.Unlock()
			return info, nil
		}
		f, busy := p.footerFlights[i]
		if busy {
			f.waiters++
		} else {
			f = &flight{done: make(chan struct{})}
			if p.footerFlights == nil {
				p.footerFlights = map[int]*flight{}
			}
			p.footerFlights[i] = f
		}
		p.mu.Unlock()
		if !busy {
			info, err := p.readFooter(ctx, i)
			p.mu.Lock()
			delete(p.footerFlights, i)
			p.mu.Unlock()
			close(f.done)
			return info, err
		}
		select {
		case <-f.done: // recorded, or failed: look again, and fetch it here if still unknown
		case <-ctx.Done():
			return nil, ctx.Err()
		}
		if err := p.badErr(i); err != nil {
			return nil, err
		}
	}
}

// readFooter reads, verifies and records shard i's footer.
func (p *PackReader) readFooter(ctx context.Context, i int) (*ShardInfo, error) {
	want := p.c.tailRead
	if g := p.geom0(); g != nil {
		want = int64(footerLen(numBlocks(g.ShardSize, g.BlockSize)))
	}
	tail, err := p.src.ReadShard(ctx, i, -want, -1)
	if err != nil {
		return nil, fmt.Errorf("read shard %d footer: %w", i, err)
	}
	info, err := ParseFooter(tail)
	if err != nil && !isCorrupt(err) { // ErrShortTail: read exactly the footer
		var f int
		if f, err = FooterLen(tail); err == nil {
			if tail, err = p.src.ReadShard(ctx, i, -int64(f), -1); err != nil {
				return nil, fmt.Errorf("read shard %d footer: %w", i, err)
			}
			info, err = ParseFooter(tail)
		}
	}
	if err != nil {
		return nil, fmt.Errorf("shard %d footer: %w", i, err)
	}
	if err := p.acceptFooter(i, info); err != nil {
		return nil, err
	}
	return info, nil
}

// acceptFooter verifies that a checksummed footer belongs to shard i of this pack and agrees
// with the pack geometry seen so far, then records it as shard i's footer (and as the
// geometry if it is the first).
func (p *PackReader) acceptFooter(i int, info *ShardInfo) error {
	switch {
	case info.Index != i:
		return corruptf("shard %d holds the footer of shard %d", i, info.Index)
	case info.PackID != p.packID:
		return corruptf("shard %d belongs to pack %x, want %x", i, info.PackID[:4], p.packID[:4])
	case info.Layout != p.c.layout:
		return corruptf("shard %d has layout %v, want %v", i, info.Layout, p.c.layout)
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.geom == nil {
		p.geom = info
	} else if info.PackLen != p.geom.PackLen || info.ShardSize != p.geom.ShardSize {
		return corruptf("shard %d says pack length %d, shard size %d; others %d, %d",
			i, info.PackLen, info.ShardSize, p.geom.PackLen, p.geom.ShardSize)
	}
	p.footers[i] = info
	return nil
}

// geometry returns a verified footer carrying the pack geometry, fetching footers of the
// usable shards in parallel (first to verify wins) if none is known yet.
func (p *PackReader) geometry(ctx context.Context) (*ShardInfo, error) {
	if p.hasGeom() {
		return p.geom0(), nil
	}
	l := p.c.layout
	var candidates []int
	known := map[int]error{}
	for i := range l.Total() {
		if err := p.badErr(i); err != nil {
			known[i] = err
		} else {
			candidates = append(candidates, i)
		}
	}
	fetch := func(ctx context.Context, i int) (*ShardInfo, error) {
		info, err := p.fetchFooter(ctx, i)
		if err != nil && ctx.Err() == nil {
			p.markBad(i, err)
		}
		return info, err
	}
	// One footer at a time, data shards first: the other shards' footers come with their
	// first read that reaches the last block (fetchToEnd), so fetching them all here would
	// cost a request each. A failure moves on to the next shard at once; with hedging on,
	// a footer that has not come after hedgeAfter starts all the others.
	good, failed, err := gather(ctx, 1, p.c.hedgeAfter, candidates, 1, fetch, nil)
	if err != nil {
		return nil, err
	}
	if len(good) == 0 {
		for i, e := range known {
			failed[i] = e
		}
		return nil, &TooFewShardsError{Need: l.Data, Have: 0, Failed: failed}
	}
	return p.geom0(), nil
}

func (p *PackReader) hasGeom() bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.geom != nil
}

// geom0 returns the known geometry; callers ensure one is known.
func (p *PackReader) geom0() *ShardInfo {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.geom
}

func (p *PackReader) footer(i int) *ShardInfo {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.footers[i]
}

func (p *PackReader) badErr(i int) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.bad[i]
}

func (p *PackReader) markBad(i int, err error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.bad[i] == nil {
		p.bad[i] = err
	}
}
