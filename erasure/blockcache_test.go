package erasure

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"runtime"
	"sync"
	"testing"
)

// blobSizes cuts [0, n) into blob lengths of about blob bytes (give or take a quarter),
// deterministically, so blobs start and end at arbitrary offsets.
func blobSizes(n, blob int64) []int64 {
	var out []int64
	for off, i := int64(0), int64(0); off < n; i++ {
		l := min(blob*3/4+(i*7919+13)%(blob/2+1), n-off)
		out = append(out, l)
		off += l
	}
	return out
}

// TestBlockCacheSequential: reading a pack's blobs in order fetches each block of each
// shard at most once (healthy shards) or at most twice (shards also read to reconstruct
// a failed one), and returns the right bytes.
func TestBlockCacheSequential(t *testing.T) {
	const bs = 4096
	cases := []struct {
		name     string
		l        Layout
		packLen  int
		blob     int64
		faults   map[int]fault
		maxReads int // per block of every shard
	}{
		{name: "healthy 4+2", l: Layout{4, 2}, packLen: 300_001, blob: 5000, maxReads: 1},
		{name: "healthy 1+0 small blobs", l: Layout{1, 0}, packLen: 100_000, blob: 700, maxReads: 1},
		{name: "healthy 3+1 blobs larger than blocks", l: Layout{3, 1}, packLen: 250_000, blob: 3 * bs, maxReads: 1},
		{name: "data shard missing", l: Layout{4, 2}, packLen: 300_001, blob: 5000, faults: map[int]fault{1: faultMissing}, maxReads: 2},
		{name: "data shard corrupt", l: Layout{4, 2}, packLen: 300_001, blob: 5000, faults: map[int]fault{2: faultCorruptPayload}, maxReads: 2},
		{name: "two zones down", l: Layout{4, 2}, packLen: 300_001, blob: 5000, faults: map[int]fault{0: faultError, 5: faultMissing}, maxReads: 2},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			c := mustCoder(t, tc.l, WithBlockSize(bs))
			pack, id := testPack(tc.packLen, 21), testID(21)
			src := newMemSource(mustEncode(t, c, id, pack), tc.faults)
			p, err := c.NewPackReader(src, id)
			if err != nil {
				t.Fatal(err)
			}
			var off int64
			for _, n := range blobSizes(int64(len(pack)), tc.blob) {
				got, err := p.ReadRange(t.Context(), off, n)
				if err != nil || !bytes.Equal(got, pack[off:off+n]) {
					t.Fatalf("ReadRange(%d, %d): %v", off, n, err)
				}
				off += n
			}
			s := c.ShardSize(int64(len(pack)))
			for i := range tc.l.Total() {
				for b, r := range src.blockReads(i, bs, s) {
					if r > tc.maxReads {
						t.Errorf("shard %d block %d read %d times, want <= %d", i, b, r, tc.maxReads)
					}
				}
			}
		})
	}
}

// TestBlockCacheConcurrentSequential: workers taking the next blob of a pack in turn (a
// restore) still fetch each block once: a block another read is fetching is waited for.
func TestBlockCacheConcurrentSequential(t *testing.T) {
	const bs = 4096
	for _, workers := range []int{2, 8} {
		t.Run(fmt.Sprint(workers, " workers"), func(t *testing.T) {
			l := Layout{4, 2}
			c := mustCoder(t, l, WithBlockSize(bs))
			pack, id := testPack(400_000, 22), testID(22)
			src := newMemSource(mustEncode(t, c, id, pack), nil)
			p, err := c.NewPackReader(src, id)
			if err != nil {
				t.Fatal(err)
			}
			type blob struct{ off, n int64 }
			jobs := make(chan blob)
			go func() {
				defer close(jobs)
				var off int64
				for _, n := range blobSizes(int64(len(pack)), 6000) {
					jobs <- blob{off, n}
					off += n
				}
			}()
			var wg sync.WaitGroup
			errs := make(chan error, workers)
			for range workers {
				wg.Go(func() {
					for j := range jobs {
						got, err := p.ReadRange(t.Context(), j.off, j.n)
						if err != nil || !bytes.Equal(got, pack[j.off:j.off+j.n]) {
							errs <- fmt.Errorf("ReadRange(%d, %d): %v", j.off, j.n, err)
							for range jobs { // drain
							}
							return
						}
					}
				})
			}
			wg.Wait()
			close(errs)
			for err := range errs {
				t.Error(err)
			}
			s := c.ShardSize(int64(len(pack)))
			for i := range l.Total() {
				want := 1
				if i >= l.Data {
					want = 0 // healthy: parity is never read
				}
				for b, r := range src.blockReads(i, bs, s) {
					if r != want {
						t.Errorf("shard %d block %d read %d times, want %d", i, b, r, want)
					}
				}
			}
		})
	}
}

// TestBlockCacheNeverHoldsCorrupt: a block that does not verify never enters the cache;
// with parity the cache holds the reconstructed (correct) block, without it every read
// fails.
func TestBlockCacheNeverHoldsCorrupt(t *testing.T) {
	const bs = 4096
	for _, l := range []Layout{{2, 0}, {2, 1}} {
		t.Run(l.String(), func(t *testing.T) {
			c := mustCoder(t, l, WithBlockSize(bs))
			pack, id := testPack(50_000, 23), testID(23)
			objs := mustEncode(t, c, id, pack)
			objs[0][bs+10] ^= 0x40 // shard 0, block 1
			src := newMemSource(objs, nil)
			p, err := c.NewPackReader(src, id)
			if err != nil {
				t.Fatal(err)
			}
			key := blockKey{p.id, 0, 1}
			for try := range 2 {
				got, err := p.ReadRange(t.Context(), bs+5, 100)
				cached := c.cache.get(key)
				if l.Parity == 0 {
					if err == nil {
						t.Fatalf("try %d: corrupt block read without error", try)
					}
					if cached != nil {
						t.Fatalf("try %d: corrupt block cached", try)
					}
					continue
				}
				if err != nil || !bytes.Equal(got, pack[bs+5:bs+105]) {
					t.Fatalf("try %d: %v", try, err)
				}
				if !bytes.Equal(cached, pack[bs:2*bs]) {
					t.Fatalf("try %d: cached block is not the reconstructed one", try)
				}
			}
		})
	}
}

// TestBlockCacheBudget: the cache never holds more than its budget, a budget below one
// block caches nothing, and reads stay correct either way.
func TestBlockCacheBudget(t *testing.T) {
	const bs = 4096
	cases := []struct {
		budget     int64
		wantBlocks int // held after reading the whole pack
	}{
		{budget: bs - 1, wantBlocks: 0},
		{budget: 3 * bs, wantBlocks: 3},
		{budget: 3*bs + 100, wantBlocks: 3},
		{budget: 1 << 30, wantBlocks: 4 * 13}, // all: 4 shards of 13 blocks
	}
	for _, tc := range cases {
		t.Run(fmt.Sprint(tc.budget), func(t *testing.T) {
			c := mustCoder(t, Layout{4, 1}, WithBlockSize(bs), WithBlockCache(tc.budget))
			pack, id := testPack(4*13*bs, 24), testID(24) // 13 whole blocks per shard
			p, err := c.NewPackReader(newMemSource(mustEncode(t, c, id, pack), nil), id)
			if err != nil {
				t.Fatal(err)
			}
			var off int64
			for _, n := range blobSizes(int64(len(pack)), 3000) {
				got, err := p.ReadRange(t.Context(), off, n)
				if err != nil || !bytes.Equal(got, pack[off:off+n]) {
					t.Fatalf("ReadRange(%d, %d): %v", off, n, err)
				}
				if used, _ := c.cache.stats(); used > tc.budget {
					t.Fatalf("cache holds %d bytes, budget %d", used, tc.budget)
				}
				off += n
			}
			if _, blocks := c.cache.stats(); blocks != tc.wantBlocks {
				t.Fatalf("cache holds %d blocks, want %d", blocks, tc.wantBlocks)
			}
		})
	}
}

// TestBlockCacheOption: WithBlockCache validates its argument and 0 disables the cache.
func TestBlockCacheOption(t *testing.T) {
	cases := []struct {
		n       int64
		wantErr bool
		cache   bool
	}{
		{n: -1, wantErr: true},
		{n: 0, cache: false},
		{n: 1 << 20, cache: true},
	}
	for _, tc := range cases {
		c, err := NewCoder(Layout{2, 1}, WithBlockCache(tc.n))
		if (err != nil) != tc.wantErr {
			t.Fatalf("WithBlockCache(%d): err %v, want error %v", tc.n, err, tc.wantErr)
		}
		if err == nil && (c.cache != nil) != tc.cache {
			t.Fatalf("WithBlockCache(%d): cache %v, want %v", tc.n, c.cache != nil, tc.cache)
		}
	}
	if c := mustCoder(t, Layout{2, 1}); c.cache == nil || c.cache.max != DefaultBlockCache {
		t.Fatal("default coder has no default block cache")
	}
}

// TestBlockCacheReadersApart: readers of the same pack ID never share blocks (each trusts
// only the footers it verified), and the one-shot Coder.ReadRange leaves the cache alone.
func TestBlockCacheReadersApart(t *testing.T) {
	const bs = 4096
	c := mustCoder(t, Layout{2, 1}, WithBlockSize(bs))
	pack, id := testPack(40_000, 25), testID(25)
	src := newMemSource(mustEncode(t, c, id, pack), nil)
	if _, err := c.ReadRange(t.Context(), src, id, 100, 5000); err != nil {
		t.Fatal(err)
	}
	if _, blocks := c.cache.stats(); blocks != 0 {
		t.Fatalf("one-shot read cached %d blocks", blocks)
	}
	for r := range 2 {
		p, err := c.NewPackReader(src, id)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := p.ReadRange(t.Context(), 100, 5000); err != nil {
			t.Fatal(err)
		}
		if got := src.blockReads(0, bs, c.ShardSize(int64(len(pack))))[0]; got != r+2 {
			t.Fatalf("reader %d: block 0 fetched %d times in all, want %d", r, got, r+2)
		}
	}
}

// TestBlockCacheWaiters: a read waiting for a block another read claimed fetches it itself
// if that fetch fails, and gives up when its own ctx ends.
func TestBlockCacheWaiters(t *testing.T) {
	const bs = 4096
	c := mustCoder(t, Layout{2, 1}, WithBlockSize(bs))
	pack, id := testPack(40_000, 26), testID(26)
	src := newMemSource(mustEncode(t, c, id, pack), nil)
	p, err := c.NewPackReader(src, id)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := p.PackLen(t.Context()); err != nil { // geometry known: reads go straight to blocks
		t.Fatal(err)
	}
	if _, _, own := c.cache.claim(p.id, 0, 1, 1, nil); !own[0] { // the test is the fetch in flight
		t.Fatal("block 1 not claimed")
	}
	ctx, cancel := context.WithCancel(t.Context())
	cancelled := make(chan error, 1)
	go func() {
		_, err := p.ReadRange(ctx, bs+1, 10)
		cancelled <- err
	}()
	cancel()
	if err := <-cancelled; !errors.Is(err, context.Canceled) {
		t.Fatalf("waiting read with cancelled ctx: %v", err)
	}
	done := make(chan error, 1)
	go func() {
		got, err := p.ReadRange(t.Context(), bs-100, 200) // blocks 0 and 1
		if err == nil && !bytes.Equal(got, pack[bs-100:bs+100]) {
			err = errors.New("wrong bytes")
		}
		done <- err
	}()
	c.cache.land(blockKey{p.id, 0, 1}, nil, nil) // the claimed fetch failed
	if err := <-done; err != nil {
		t.Fatalf("read after failed claim: %v", err)
	}
}

// TestBlockCacheKeepsBoundaryBlocks: the cache keeps only the blocks a read used part of
// (the ones a neighbouring read needs again), not those it covered whole.
func TestBlockCacheKeepsBoundaryBlocks(t *testing.T) {
	const bs = 4096
	cases := []struct {
		name       string
		off, n     int64
		wantBlocks int
	}{
		{"whole blocks", 0, 3 * bs, 0},
		{"one whole block", bs, bs, 0},
		{"unaligned both ends", 100, 3 * bs, 2},
		{"unaligned start", 100, 3*bs - 100, 1},
		{"unaligned end", bs, 2*bs + 7, 1},
		{"inside one block", 10, 20, 1},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			c := mustCoder(t, Layout{4, 1}, WithBlockSize(bs), WithBlockCache(1<<20))
			pack, id := testPack(4*8*bs, 25), testID(25) // 8 blocks per shard
			p, err := c.NewPackReader(newMemSource(mustEncode(t, c, id, pack), nil), id)
			if err != nil {
				t.Fatal(err)
			}
			got, err := p.ReadRange(t.Context(), tc.off, tc.n)
			if err != nil || !bytes.Equal(got, pack[tc.off:tc.off+tc.n]) {
				t.Fatalf("ReadRange: %v", err)
			}
			if _, blocks := c.cache.stats(); blocks != tc.wantBlocks {
				t.Fatalf("cache holds %d blocks, want %d", blocks, tc.wantBlocks)
			}
		})
	}
}

// waiting returns how many reads wait for block k's fetch.
func (c *blockCache) waiting(k blockKey) int {
	c.mu.Lock()
	defer c.mu.Unlock()
	if f, ok := c.flights[k]; ok {
		return f.waiters
	}
	return 0
}

// TestBlockCacheWholeBlockForWaiters: a block the fetching read covered whole is kept for a
// read that waited for it (which then reads nothing from the source), and only then.
func TestBlockCacheWholeBlockForWaiters(t *testing.T) {
	const bs = 4096
	for _, waiter := range []bool{false, true} {
		t.Run(fmt.Sprintf("waiter=%v", waiter), func(t *testing.T) {
			c := mustCoder(t, Layout{2, 1}, WithBlockSize(bs))
			pack, id := testPack(40_000, 27), testID(27)
			src := newMemSource(mustEncode(t, c, id, pack), nil)
			p, err := c.NewPackReader(src, id)
			if err != nil {
				t.Fatal(err)
			}
			if _, err := p.PackLen(t.Context()); err != nil {
				t.Fatal(err)
			}
			k := blockKey{p.id, 0, 1}
			if _, _, own := c.cache.claim(p.id, 0, 1, 1, nil); !own[0] { // the test is the fetch
				t.Fatal("block 1 not claimed")
			}
			done := make(chan error, 1)
			if waiter {
				go func() {
					got, err := p.ReadRange(t.Context(), bs+10, 100) // inside block 1
					if err == nil && !bytes.Equal(got, pack[bs+10:bs+110]) {
						err = errors.New("wrong bytes")
					}
					done <- err
				}()
				for c.cache.waiting(k) == 0 {
					runtime.Gosched()
				}
			}
			before := src.readCount(0)
			c.cache.land(k, nil, pack[bs:2*bs]) // fetched and covered whole: nothing to keep
			want := 0
			if waiter {
				if err := <-done; err != nil {
					t.Fatal(err)
				}
				want = 1
			}
			if _, blocks := c.cache.stats(); blocks != want {
				t.Fatalf("cache holds %d blocks, want %d", blocks, want)
			}
			if n := src.readCount(0) - before; n != 0 {
				t.Fatalf("waiter read shard 0 %d times, want 0", n)
			}
		})
	}
}

// TestBlockCacheFetchesTailForNext: a read that ends in a shard's second-to-last block
// fetches the last block with it (one request) and keeps it, so the next read of the tail
// costs none; when the read's own last block is another read's fetch, the tail is left
// alone (released, not fetched, not leaked as a flight).
func TestBlockCacheFetchesTailForNext(t *testing.T) {
	const bs = 4096
	c := mustCoder(t, Layout{2, 1}, WithBlockSize(bs))
	pack, id := testPack(2*4*bs-300, 28), testID(28) // 4 blocks per shard, the last short
	src := newMemSource(mustEncode(t, c, id, pack), nil)
	p, err := c.NewPackReader(src, id)
	if err != nil {
		t.Fatal(err)
	}
	s, err := p.ShardSize(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	read := func(off, n int64) {
		t.Helper()
		got, err := p.ReadRange(t.Context(), off, n)
		if err != nil || !bytes.Equal(got, pack[off:off+n]) {
			t.Fatalf("ReadRange(%d, %d): %v", off, n, err)
		}
	}
	reads := func(i int) int { return src.readCount(i) }

	before := reads(0)
	read(10, 2*bs+100) // shard 0, blocks 0–2: ends in the second-to-last block
	if n := reads(0) - before; n != 1 {
		t.Fatalf("first read: %d requests, want 1", n)
	}
	read(2*bs+100, s-2*bs-100) // the rest of shard 0
	if n := reads(0) - before; n != 1 {
		t.Fatalf("tail read: %d more requests, want 0", n-1)
	}

	// Shard 1: its block 2 is being fetched by another read (the test).
	if _, _, own := c.cache.claim(p.id, 1, 2, 2, nil); !own[0] {
		t.Fatal("block 2 not claimed")
	}
	k := blockKey{p.id, 1, 2}
	done := make(chan struct{})
	go func() {
		defer close(done)
		read(s+2*bs+10, 100) // inside shard 1's block 2
	}()
	for c.cache.waiting(k) == 0 {
		runtime.Gosched()
	}
	c.cache.land(k, nil, pack[s+2*bs:s+3*bs])
	<-done
	c.cache.mu.Lock()
	flights := len(c.cache.flights)
	c.cache.mu.Unlock()
	if flights != 0 {
		t.Fatalf("%d flights left", flights)
	}
	if c.cache.get(blockKey{p.id, 1, 3}) != nil || reads(1) != 0 {
		t.Fatalf("the tail was fetched beside another read's block (%d requests)", reads(1))
	}
}

// TestDegradedReadShares: a degraded read deposits the blocks it fetched from the other
// shards, and the reads of those shards' own ranges take them from the cache, so a pack
// read shard by shard with data shards missing fetches every surviving block once (the
// blocks of the parity shards too, when two data shards share them).
func TestDegradedReadShares(t *testing.T) {
	const bs = 4096
	cases := []struct {
		name    string
		faults  map[int]fault
		order   []int // data shards in the order their ranges are read
		maxRead int   // per block of every shard
	}{
		{name: "one data shard missing, read first", faults: map[int]fault{1: faultMissing}, order: []int{1, 0, 2, 3}, maxRead: 1},
		{name: "two data shards missing", faults: map[int]fault{1: faultMissing, 2: faultError}, order: []int{1, 2, 0, 3}, maxRead: 1},
		{name: "data and parity missing", faults: map[int]fault{0: faultError, 5: faultMissing}, order: []int{0, 1, 2, 3}, maxRead: 1},
		// A shard read before the degraded read kept only what it needed: its blocks are
		// fetched again, at most once.
		{name: "missing shard read last", faults: map[int]fault{3: faultMissing}, order: []int{0, 1, 2, 3}, maxRead: 2},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			l := Layout{4, 2}
			c := mustCoder(t, l, WithBlockSize(bs))
			pack, id := testPack(300_001, 31), testID(31)
			src := newMemSource(mustEncode(t, c, id, pack), tc.faults)
			p, err := c.NewPackReader(src, id)
			if err != nil {
				t.Fatal(err)
			}
			s := c.ShardSize(int64(len(pack)))
			for _, k := range tc.order {
				from, to := int64(k)*s, min(int64(k+1)*s, int64(len(pack)))
				got, err := p.ReadRange(t.Context(), from, to-from)
				if err != nil || !bytes.Equal(got, pack[from:to]) {
					t.Fatalf("shard %d range: %v", k, err)
				}
			}
			for i := range l.Total() {
				if _, down := tc.faults[i]; down {
					continue
				}
				for b, r := range src.blockReads(i, bs, s) {
					if r > tc.maxRead {
						t.Errorf("shard %d block %d read %d times, want <= %d", i, b, r, tc.maxRead)
					}
				}
			}
			if used, _ := c.cache.stats(); used > (1+depositFactor)*DefaultBlockCache {
				t.Errorf("cache holds %d bytes", used)
			}
		})
	}
}

// TestBlockCacheDeposits: a deposit leaves the cache when a read covers it whole, becomes
// a kept block when a read covers it in part, stays for reads that do not say (degraded
// reads), and deposits are bounded by their own budget.
func TestBlockCacheDeposits(t *testing.T) {
	const bs = 100
	blk := func(v byte) []byte { return bytes.Repeat([]byte{v}, bs) }
	c := newBlockCache(2 * bs) // deposits: depositFactor × 2 blocks
	for b := range int64(depositFactor*2 + 1) {
		if _, _, own := c.claim(1, 0, b, b, nil); !own[0] {
			t.Fatalf("block %d not claimed", b)
		}
		c.deposit(blockKey{1, 0, b}, blk(byte(b)))
	}
	if _, n := c.stats(); n != depositFactor*2 {
		t.Fatalf("%d blocks held, want %d (the oldest deposit evicted)", n, depositFactor*2)
	}
	if hit, _, own := c.claim(1, 0, 0, 0, nil); hit[0] != nil || !own[0] {
		t.Fatal("the oldest deposit was not evicted")
	}
	c.land(blockKey{1, 0, 0}, nil, nil)
	// A degraded read (whole nil) leaves a deposit in place.
	if hit, _, _ := c.claim(1, 0, 1, 1, nil); !bytes.Equal(hit[0], blk(1)) {
		t.Fatal("deposit 1 not found")
	}
	// Block 1 read whole, block 2 in part.
	hit, _, _ := c.claim(1, 0, 1, 2, func(b int64) bool { return b == 1 })
	if !bytes.Equal(hit[0], blk(1)) || !bytes.Equal(hit[1], blk(2)) {
		t.Fatal("deposits 1, 2 not found")
	}
	if c.get(blockKey{1, 0, 1}) != nil {
		t.Error("deposit read whole is still cached")
	}
	c.mu.Lock()
	e, ok := c.blocks[blockKey{1, 0, 2}]
	kept := ok && !e.Value.(*cachedBlock).deposit
	c.mu.Unlock()
	if !kept {
		t.Error("deposit read in part is not a kept block")
	}
}
