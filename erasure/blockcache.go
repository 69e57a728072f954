package erasure

import (
	"container/list"
	"context"
	"sync"
)

// DefaultBlockCache is the default byte budget of a Coder's cache of verified data-shard
// blocks (see WithBlockCache): eight 1 MiB blocks, room for the boundary blocks of a few
// concurrent reads.
const DefaultBlockCache = 8 << 20

// blockKey names one block of one data shard as seen by one PackReader. Blocks are cut at
// the reader's geometry block size; the reader ID keeps readers apart, so a block is only
// ever served to the reader whose footers verified it.
type blockKey struct {
	reader uint64
	shard  int
	block  int64
}

type cachedBlock struct {
	key     blockKey
	data    []byte
	deposit bool // see blockCache
}

// depositFactor is how many times the cache budget its deposits may hold (see blockCache).
const depositFactor = 2

// blockCache is an LRU of verified (or reconstructed from verified) shard blocks, bounded in
// bytes and shared by the PackReaders of one Coder. It also tracks blocks being fetched, so
// that concurrent reads of neighbouring ranges fetch a shared block once.
//
// It holds two classes of blocks, each its own LRU and budget. Kept blocks (max bytes) are
// those a read used only part of, for the read of the neighbouring range. Deposits
// (depositFactor × max bytes) are the blocks a degraded read fetched from the other shards
// to reconstruct a range: in a restore, the reads of those shards' own ranges come at about
// the same time, and take them from here instead of fetching them a second time. A read
// that covers a deposit whole takes it out of the cache; one that covers it in part turns
// it into a kept block. A healthy restore makes no deposits, so they cost it nothing.
type blockCache struct {
	mu      sync.Mutex
	max     int64
	used    int64
	order   *list.List // of kept *cachedBlock, most recent first
	depMax  int64
	depUsed int64
	deps    *list.List // of deposited *cachedBlock, most recent first
	blocks  map[blockKey]*list.Element
	flights map[blockKey]*flight
}

// flight is a block (or a footer) being fetched: done is closed when the fetch ends,
// whatever its outcome; waiters counts the reads waiting for it.
type flight struct {
	done    chan struct{}
	waiters int
}

func newBlockCache(budget int64) *blockCache {
	return &blockCache{max: budget, order: list.New(), depMax: depositFactor * budget, deps: list.New(),
		blocks: map[blockKey]*list.Element{}, flights: map[blockKey]*flight{}}
}

// claim looks up blocks [first, last] of one shard of one reader. For each block it returns
// the cached bytes (hit), or the flight of another caller fetching it (wait), or, for every
// other block, claims the fetch for the caller (own[j] true), which must then call land.
//
// whole (nil: none) tells which blocks the caller reads whole: a deposit among those leaves
// the cache, a deposit the caller reads in part becomes a kept block (see blockCache).
func (c *blockCache) claim(reader uint64, shard int, first, last int64, whole func(b int64) bool) (hit [][]byte, wait []chan struct{}, own []bool) {
	n := last - first + 1
	hit, wait, own = make([][]byte, n), make([]chan struct{}, n), make([]bool, n)
	c.mu.Lock()
	defer c.mu.Unlock()
	for j := range n {
		k := blockKey{reader, shard, first + j}
		if e, ok := c.blocks[k]; ok {
			cb := e.Value.(*cachedBlock)
			hit[j] = cb.data
			switch {
			case !cb.deposit:
				c.order.MoveToFront(e)
			case whole == nil:
				c.deps.MoveToFront(e)
			default:
				c.removeLocked(e)
				if !whole(first + j) {
					c.putLocked(k, cb.data)
				}
			}
		} else if f, ok := c.flights[k]; ok {
			f.waiters++
			wait[j] = f.done
		} else {
			c.flights[k] = &flight{done: make(chan struct{})}
			own[j] = true
		}
	}
	return hit, wait, own
}

// land ends the caller's claim on a block and releases its waiters. keep (nil: nothing)
// enters the cache. blk is the block the caller fetched (nil if the fetch failed): when
// keep is nil and another read is waiting for the block, a copy of blk enters the cache
// instead, so the waiter does not fetch it again.
func (c *blockCache) land(k blockKey, keep, blk []byte) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if f, ok := c.flights[k]; ok {
		close(f.done)
		delete(c.flights, k)
		if keep == nil && blk != nil && f.waiters > 0 {
			keep = append([]byte(nil), blk...)
		}
	}
	if keep != nil {
		c.putLocked(k, keep)
	}
}

// deposit ends the caller's claim on a block a degraded read fetched (data: its verified
// bytes, nil if the fetch failed), releases its waiters and enters data as a deposit.
func (c *blockCache) deposit(k blockKey, data []byte) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if f, ok := c.flights[k]; ok {
		close(f.done)
		delete(c.flights, k)
	}
	if data == nil || int64(len(data)) > c.depMax {
		return
	}
	if _, ok := c.blocks[k]; ok {
		return
	}
	for c.depUsed+int64(len(data)) > c.depMax {
		c.removeLocked(c.deps.Back())
	}
	c.blocks[k] = c.deps.PushFront(&cachedBlock{key: k, data: data, deposit: true})
	c.depUsed += int64(len(data))
}

// get returns a cached block, or nil.
func (c *blockCache) get(k blockKey) []byte {
	c.mu.Lock()
	defer c.mu.Unlock()
	if e, ok := c.blocks[k]; ok {
		cb := e.Value.(*cachedBlock)
		if cb.deposit {
			c.deps.MoveToFront(e)
		} else {
			c.order.MoveToFront(e)
		}
		return cb.data
	}
	return nil
}

func (c *blockCache) putLocked(k blockKey, data []byte) {
	size := int64(len(data))
	if size > c.max {
		return
	}
	if e, ok := c.blocks[k]; ok {
		if !e.Value.(*cachedBlock).deposit {
			c.order.MoveToFront(e)
		}
		return
	}
	for c.used+size > c.max {
		c.removeLocked(c.order.Back())
	}
	c.blocks[k] = c.order.PushFront(&cachedBlock{key: k, data: data})
	c.used += size
}

// removeLocked drops a cached block of either class.
func (c *blockCache) removeLocked(e *list.Element) {
	cb := e.Value.(*cachedBlock)
	if cb.deposit {
		c.deps.Remove(e)
		c.depUsed -= int64(len(cb.data))
	} else {
		c.order.Remove(e)
		c.used -= int64(len(cb.data))
	}
	delete(c.blocks, cb.key)
}

// stats returns the bytes and blocks held, deposits included (tests).
func (c *blockCache) stats() (bytes int64, blocks int) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.used + c.depUsed, len(c.blocks)
}

// readSegmentCached fills seg.out through the cache: blocks of the covering block range
// that are cached are copied, blocks another read is fetching are waited for, and the
// rest are fetched as one span (healthy, or degraded if needed) and enter the cache.
//
// A range that ends in the shard's second-to-last block also fetches the last one (the
// tail) when no other read has it, in the same request, and keeps it: a restore reads a
// pack in runs that each end in one shard (see repo.PackStrider), and the next run, whose
// first blob starts in this shard and ends in the next, then finds the tail here instead
// of reading it with a request of its own (a 256 MiB restore over zones: ~8 → ~5 requests
// per 16 MiB pack). The tail is at most one block, and when it is the block the footer
// follows, the footer comes with it (fetchRangeOnce).
func (p *PackReader) readSegmentCached(ctx context.Context, seg segment, g *ShardInfo) error {
	bs, s := g.BlockSize, g.ShardSize
	first, last := seg.off/bs, (seg.off+seg.n-1)/bs
	claimTo := last
	if tail := (s - 1) / bs; last == tail-1 {
		claimTo = tail
	}
	whole := func(b int64) bool { return b <= last && seg.whole(b, bs, s) }
	hit, wait, own := p.cache.claim(p.id, seg.shard, first, claimTo, whole)
	if claimTo > last {
		j := claimTo - first
		if own[j] && !own[j-1] { // not next to this read's own fetch: leave the tail
			p.cache.land(blockKey{p.id, seg.shard, claimTo}, nil, nil)
			own[j] = false
		}
		hit, wait = hit[:j], wait[:j] // the tail is only fetched, never read from here
	}
	if lo, hi := span(own, first); lo >= 0 { // owned blocks: the span [lo, hi] is fetched at once
		skip := make([]bool, hi-lo+1) // blocks in the span another read has
		for b := lo; b <= hi; b++ {
			skip[b-lo] = !own[b-first]
		}
		bufs, err := p.fetchBlocks(ctx, seg, g, lo, hi, last, skip)
		for b := lo; b <= hi; b++ {
			if !own[b-first] {
				continue
			}
			var keep, blk []byte
			switch {
			case err != nil:
			case bufs[b-lo] == nil: // written to seg.out: covered whole
				blk = seg.out[b*bs-seg.off : min((b+1)*bs, s)-seg.off]
			case b > last: // the tail: fetched for the next read
				keep = bufs[b-lo]
			default:
				// Only a block this read used part of is kept: reads in pack order (a
				// restore) need it again for the neighbouring range, while a block the read
				// covered whole is not read again, and keeping it would only push the
				// boundary blocks out (unless a read is waiting for it: see land).
				seg.put(b, bs, bufs[b-lo])
				keep = bufs[b-lo]
			}
			p.cache.land(blockKey{p.id, seg.shard, b}, keep, blk)
		}
		if err != nil {
			return err
		}
	}
	for j, b := range hit {
		if b != nil {
			seg.put(first+int64(j), bs, b)
		}
	}
	for j, ch := range wait {
		if ch == nil {
			continue
		}
		b := first + int64(j)
		data, err := p.awaitBlock(ctx, ch, blockKey{p.id, seg.shard, b}, func() ([]byte, error) {
			bufs, err := p.fetchBlocks(ctx, seg, g, b, b, b, nil)
			if err != nil {
				return nil, err
			}
			return bufs[0], nil
		})
		if err != nil {
			return err
		}
		if data != nil { // nil: fetched straight into seg.out
			seg.put(b, bs, data)
		}
	}
	return nil
}

// awaitBlock waits for another read's fetch of block k (done: its flight) and returns the
// block from the cache; if that fetch failed, or the block left the cache already, it
// returns what fetch gets.
func (p *PackReader) awaitBlock(ctx context.Context, done <-chan struct{}, k blockKey, fetch func() ([]byte, error)) ([]byte, error) {
	select {
	case <-done:
	case <-ctx.Done():
		return nil, ctx.Err()
	}
	if data := p.cache.get(k); data != nil {
		return data, nil
	}
	return fetch()
}

// span returns the first and last block (numbered from first) whose flag is set, or -1, -1
// if none is.
func span(flags []bool, first int64) (lo, hi int64) {
	lo, hi = -1, -1
	for j, f := range flags {
		if f {
			if lo < 0 {
				lo = first + int64(j)
			}
			hi = first + int64(j)
		}
	}
	return lo, hi
}
