package erasure

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"runtime"
	"sync"
	"testing"
	"time"
)

type readCase struct{ off, n int64 }

// readCases covers the interesting places of a pack with shard size s and length n.
func readCases(s, n int64) []readCase {
	all := []readCase{
		{0, 1}, {0, n}, {1, 10}, {n - 1, 1}, {n - 100, 100},
		{s - 1, 2}, {s - 10, 20}, {s, 1}, {2*s - 5, 10}, {s - 3, s + 10}, // across shard boundaries
		{4095, 2}, {4096, 4096}, {s + 4000, 200}, // across block boundaries (block 4096)
		{3*s - 1, n - 3*s + 1},
		{17, 0},
	}
	var out []readCase
	for _, rc := range all {
		if rc.off >= 0 && rc.n >= 0 && rc.off+rc.n <= n {
			out = append(out, rc)
		}
	}
	return out
}

// touchesFailed reports whether [off, off+n) lies partly in a data shard with a fault.
func touchesFailed(rc readCase, s int64, faults map[int]fault) bool {
	if rc.n == 0 {
		return false
	}
	for d := rc.off / s; d <= (rc.off+rc.n-1)/s; d++ {
		if faults[int(d)] != faultNone {
			return true
		}
	}
	return false
}

func TestReadRange(t *testing.T) {
	l := Layout{4, 2}
	c := mustCoder(t, l, WithBlockSize(4096))
	pack, id := testPack(300_001, 9), testID(9)
	objs := mustEncode(t, c, id, pack)
	s := c.ShardSize(int64(len(pack)))
	other := mustEncode(t, c, testID(10), testPack(300_001, 10)) // same geometry, other pack

	scenarios := []struct {
		name   string
		faults map[int]fault
		swap   map[int][]byte // replace a shard object
		fail   bool           // expect ErrTooFewShards for reads touching a failed data shard
	}{
		{name: "healthy"},
		{name: "data1 missing", faults: map[int]fault{1: faultMissing}},
		{name: "data1 corrupt payload", faults: map[int]fault{1: faultCorruptPayload}},
		{name: "data2 corrupt footer", faults: map[int]fault{2: faultCorruptFooter}},
		{name: "data0 error, parity4 missing", faults: map[int]fault{0: faultError, 4: faultMissing}},
		{name: "data0 data3 corrupt", faults: map[int]fault{0: faultCorruptPayload, 3: faultCorruptFooter}},
		{name: "data1 missing, parity5 slow", faults: map[int]fault{1: faultMissing, 5: faultSlow}},
		{name: "parity only failures", faults: map[int]fault{4: faultError, 5: faultCorruptPayload}},
		{name: "shard of another pack", swap: map[int][]byte{2: other[2]}},
		{name: "shard with wrong index", swap: map[int][]byte{1: objs[3]}},
		{name: "three down", faults: map[int]fault{0: faultMissing, 1: faultCorruptPayload, 5: faultError}, fail: true},
	}
	for _, sc := range scenarios {
		for _, kind := range sourceKinds {
			t.Run(sc.name+"/"+kind.name, func(t *testing.T) {
				ms := newMemSource(objs, sc.faults)
				for i, o := range sc.swap {
					ms.objs[i] = bytes.Clone(o)
				}
				src := kind.wrap(ms)
				shared, err := c.NewPackReader(src, id)
				if err != nil {
					t.Fatal(err)
				}
				into, err := c.NewPackReader(src, id)
				if err != nil {
					t.Fatal(err)
				}
				buf := make([]byte, len(pack)) // reused by every "into" read
				for _, rc := range readCases(s, int64(len(pack))) {
					for _, mode := range []string{"fresh", "shared", "into"} {
						var got []byte
						var err error
						switch mode {
						case "fresh":
							got, err = c.ReadRange(t.Context(), src, id, rc.off, rc.n)
						case "shared":
							got, err = shared.ReadRange(t.Context(), rc.off, rc.n)
						default:
							got = buf[:rc.n]
							for i := range got {
								got[i] = 0xa5 // the previous read's bytes must not survive
							}
							err = into.ReadRangeInto(t.Context(), rc.off, got)
						}
						if sc.fail && touchesFailed(rc, s, sc.faults) {
							var tf *TooFewShardsError
							if !errors.As(err, &tf) || tf.Have >= l.Data {
								t.Fatalf("%s %+v: err %v, want ErrTooFewShards", mode, rc, err)
							}
							if got := fmt.Sprint(sortedKeys(tf.Failed)); got != fmt.Sprint(sortedKeys(sc.faults)) {
								t.Fatalf("%s %+v: failures name shards %s, want %v (%v)", mode, rc, got, sortedKeys(sc.faults), err)
							}
							continue
						}
						if err != nil {
							t.Fatalf("%s %+v: %v", mode, rc, err)
						}
						if !bytes.Equal(got, pack[rc.off:rc.off+rc.n]) {
							t.Fatalf("%s %+v: wrong bytes", mode, rc)
						}
					}
				}
				if len(sc.faults) == 0 && len(sc.swap) == 0 {
					for i := l.Data; i < l.Total(); i++ {
						if n := ms.readCount(i); n != 0 {
							t.Errorf("healthy reads touched parity shard %d %d times", i, n)
						}
					}
				}
			})
		}
	}
}

func TestReadRangeOutOfBounds(t *testing.T) {
	c := mustCoder(t, Layout{2, 1})
	pack, id := testPack(1000, 1), testID(1)
	src := newMemSource(mustEncode(t, c, id, pack), nil)
	for _, rc := range []readCase{{-1, 1}, {0, -1}, {999, 2}, {1000, 1}, {0, 1001}, {1 << 62, 1 << 62}} {
		if _, err := c.ReadRange(t.Context(), src, id, rc.off, rc.n); !errors.Is(err, ErrRange) {
			t.Errorf("%+v: err %v, want ErrRange", rc, err)
		}
	}
	pr, _ := c.NewPackReader(src, id)
	for _, rc := range []readCase{{-1, 1}, {999, 2}, {1000, 1}, {0, 1001}} {
		if err := pr.ReadRangeInto(t.Context(), rc.off, make([]byte, rc.n)); !errors.Is(err, ErrRange) {
			t.Errorf("ReadRangeInto %+v: err %v, want ErrRange", rc, err)
		}
	}
	if _, err := c.ReadRange(t.Context(), src, id[:5], 0, 1); err == nil {
		t.Error("short pack ID accepted")
	}
	p, _ := c.NewPackReader(src, id)
	if n, err := p.PackLen(t.Context()); err != nil || n != 1000 {
		t.Errorf("PackLen = %d, %v", n, err)
	}
	// Empty pack: only empty reads succeed.
	src = newMemSource(mustEncode(t, c, id, nil), nil)
	if got, err := c.ReadRange(t.Context(), src, id, 0, 0); err != nil || len(got) != 0 {
		t.Errorf("empty read of empty pack: %v", err)
	}
	if _, err := c.ReadRange(t.Context(), src, id, 0, 1); !errors.Is(err, ErrRange) {
		t.Errorf("read past empty pack: %v", err)
	}
}

// TestReadRangeAllCombinations: every set of up to m failed shards still reads.
func TestReadRangeAllCombinations(t *testing.T) {
	l := Layout{4, 2}
	c := mustCoder(t, l, WithBlockSize(4096))
	pack, id := testPack(70_000, 11), testID(11)
	objs := mustEncode(t, c, id, pack)
	s := c.ShardSize(int64(len(pack)))
	kinds := []fault{faultMissing, faultCorruptPayload, faultError, faultCorruptFooter}
	for r := 0; r <= l.Parity+1; r++ {
		subsets(l.Total(), r, func(set []int) {
			faults := map[int]fault{}
			for j, i := range set {
				faults[i] = kinds[(i+j)%len(kinds)]
			}
			src := newMemSource(objs, faults)
			for _, rc := range []readCase{{0, int64(len(pack))}, {s - 7, 14}} {
				got, err := c.ReadRange(t.Context(), src, id, rc.off, rc.n)
				if r > l.Parity && touchesFailed(rc, s, faults) {
					if !errors.Is(err, ErrTooFewShards) {
						t.Fatalf("faults %v: err %v, want ErrTooFewShards", faults, err)
					}
					continue
				}
				if err != nil || !bytes.Equal(got, pack[rc.off:rc.off+rc.n]) {
					t.Fatalf("faults %v %+v: err %v", faults, rc, err)
				}
			}
		})
	}
}

// TestReadRangeDoesNotWaitForSlow: a degraded read returns once k shards verified, and the
// slow fetches it no longer needs are cancelled (the slow source only returns on cancel,
// so waiting for it would hang the test).
func TestReadRangeDoesNotWaitForSlow(t *testing.T) {
	l := Layout{4, 2}
	c := mustCoder(t, l, WithBlockSize(4096))
	pack, id := testPack(100_000, 12), testID(12)
	objs := mustEncode(t, c, id, pack)
	src := newMemSource(objs, map[int]fault{1: faultCorruptPayload, 5: faultSlow})
	s := c.ShardSize(int64(len(pack)))
	got, err := c.ReadRange(t.Context(), src, id, s+10, 100)
	if err != nil || !bytes.Equal(got, pack[s+10:s+110]) {
		t.Fatalf("degraded read: %v", err)
	}
	if src.readCount(4) == 0 {
		t.Fatal("read of corrupt shard 1 did not go degraded")
	}
	if i := <-src.slowDone; i != 5 { // the slow fetch was cancelled, not waited for
		t.Fatalf("slow shard %d released", i)
	}

	// A slow data shard is hedged around after WithHedgeAfter.
	h := mustCoder(t, l, WithBlockSize(4096), WithHedgeAfter(time.Millisecond))
	src = newMemSource(objs, map[int]fault{2: faultSlow})
	got, err = h.ReadRange(t.Context(), src, id, 2*s+5, 3000)
	if err != nil || !bytes.Equal(got, pack[2*s+5:2*s+3005]) {
		t.Fatalf("hedged read: %v", err)
	}
	if src.readCount(4)+src.readCount(5) == 0 {
		t.Fatal("slow data shard 2 was not hedged around")
	}
	if i := <-src.slowDone; i != 2 {
		t.Fatalf("slow shard %d released", i)
	}

	// Hedged whole blocks go straight into the caller's buffer; the slow read, which
	// writes into it until it returns, is waited for before the reconstruction is copied.
	src = newMemSource(objs, map[int]fault{2: faultSlow})
	pr, err := h.NewPackReader(src, id)
	if err != nil {
		t.Fatal(err)
	}
	buf := make([]byte, 3*4096)
	if err := pr.ReadRangeInto(t.Context(), 2*s, buf); err != nil || !bytes.Equal(buf, pack[2*s:2*s+3*4096]) {
		t.Fatalf("hedged read into the caller's buffer: %v", err)
	}
	if i := <-src.slowDone; i != 2 {
		t.Fatalf("slow shard %d released", i)
	}

	// The pack geometry comes from one footer at a time; a slow first footer is hedged
	// around after WithHedgeAfter too.
	src = newMemSource(objs, map[int]fault{0: faultSlow})
	got, err = h.ReadRange(t.Context(), src, id, s+5, 3000)
	if err != nil || !bytes.Equal(got, pack[s+5:s+3005]) {
		t.Fatalf("read with a slow first footer: %v", err)
	}
	if i := <-src.slowDone; i != 0 {
		t.Fatalf("slow shard %d released", i)
	}

	// The caller's ctx ends a read stuck on slow shards.
	src = newMemSource(objs, map[int]fault{0: faultSlow, 1: faultSlow, 2: faultSlow, 3: faultSlow})
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan error, 1)
	go func() {
		_, err := c.ReadRange(ctx, src, id, 0, 10)
		done <- err
	}()
	<-src.slowStarted
	cancel()
	if err := <-done; !errors.Is(err, context.Canceled) {
		t.Fatalf("cancelled read: %v", err)
	}
}

func TestPackReaderConcurrent(t *testing.T) {
	l := Layout{4, 2}
	c := mustCoder(t, l, WithBlockSize(4096))
	pack, id := testPack(200_000, 13), testID(13)
	src := newMemSource(mustEncode(t, c, id, pack), map[int]fault{3: faultCorruptPayload})
	p, err := c.NewPackReader(src, id)
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	errs := make(chan error, 64)
	for g := range 8 {
		wg.Go(func() {
			for i := range 20 {
				off := int64((g*7919 + i*104729) % (len(pack) - 5000))
				got, err := p.ReadRange(t.Context(), off, 5000)
				if err != nil || !bytes.Equal(got, pack[off:off+5000]) {
					errs <- fmt.Errorf("read %d: %v", off, err)
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
}

// TestMixedBlockSizes: shards healed with another block size still verify and read.
func TestMixedBlockSizes(t *testing.T) {
	l := Layout{3, 2}
	pack, id := testPack(500_000, 14), testID(14)
	c := mustCoder(t, l, WithBlockSize(4096))
	objs := mustEncode(t, c, id, pack)
	h := mustCoder(t, l, WithBlockSize(64<<10))
	rebuilt, err := h.Heal(t.Context(), newMemSource(objs, nil), id, []int{1, 2})
	if err != nil {
		t.Fatal(err)
	}
	mixed := [][]byte{objs[0], rebuilt[1], rebuilt[2], objs[3], objs[4]}
	for _, i := range []int{1, 2} {
		info, _, err := ParseShard(rebuilt[i])
		if err != nil || info.BlockSize != 64<<10 {
			t.Fatalf("rebuilt %d: %v", i, err)
		}
	}
	s := c.ShardSize(int64(len(pack)))
	for _, rc := range readCases(s, int64(len(pack))) {
		for _, faults := range []map[int]fault{nil, {1: faultMissing}, {0: faultMissing, 4: faultError}} {
			got, err := c.ReadRange(t.Context(), newMemSource(mixed, faults), id, rc.off, rc.n)
			if err != nil || !bytes.Equal(got, pack[rc.off:rc.off+rc.n]) {
				t.Fatalf("%+v faults %v: %v", rc, faults, err)
			}
		}
	}
}

// TestAlignedReadsRequests: a pack read in pack order in runs that end in one data shard
// each (a restore cutting its runs with ShardSize) costs one footer request plus one request
// per data shard: the other footers come with the read that reaches their shard's last
// block, and the bytes a run needs from the previous shard are in the block cache (a run
// that ends in the second-to-last block fetches the last one for the next).
func TestAlignedReadsRequests(t *testing.T) {
	const bs = 4096
	l := Layout{4, 2}
	cases := []struct {
		name      string
		tail      int64 // each run ends this many bytes before its shard does
		wantReads int
	}{
		{"whole shards", 0, 1 + 4},
		{"runs begin in the previous shard", 700, 1 + 4},
		// Runs that end in the second-to-last block fetch the last one (and so the footer)
		// with their data, for the next run.
		{"runs end over a block early", bs + 10, 1 + 4},
		// Runs that end earlier still: shards 1 and 2 have their footer fetched beside the
		// data, and the next run reads the last blocks of shards 0–2 on its own; the final
		// run reaches the end of shard 3.
		{"runs end over two blocks early", 2*bs + 10, 1 + 1 + 2*2 + 3 + 1},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			c := mustCoder(t, l, WithBlockSize(bs), WithBlockCache(1<<20))
			pack, id := testPack(4*8*bs-100, 26), testID(26)
			src := newMemSource(mustEncode(t, c, id, pack), nil)
			p, err := c.NewPackReader(src, id)
			if err != nil {
				t.Fatal(err)
			}
			s, err := p.ShardSize(t.Context())
			if err != nil || s != c.ShardSize(int64(len(pack))) {
				t.Fatalf("ShardSize = %d, %v; want %d", s, err, c.ShardSize(int64(len(pack))))
			}
			n := int64(len(pack))
			for off := int64(0); off < n; {
				end := min(((off+tc.tail)/s+1)*s-tc.tail, n)
				if end >= n-tc.tail {
					end = n
				}
				got, err := p.ReadRange(t.Context(), off, end-off)
				if err != nil || !bytes.Equal(got, pack[off:end]) {
					t.Fatalf("ReadRange(%d, %d): %v", off, end-off, err)
				}
				off = end
			}
			reads := 0
			for i := range l.Total() {
				reads += src.readCount(i)
			}
			if reads != tc.wantReads {
				t.Fatalf("%d requests, want %d (ranges %v)", reads, tc.wantReads, src.ranges)
			}
		})
	}
}

// TestFooterFetchedOnce: reads of one shard that need its footer at the same time share one
// footer request.
func TestFooterFetchedOnce(t *testing.T) {
	const readers = 4
	c := mustCoder(t, Layout{2, 1}, WithBlockSize(4096))
	pack, id := testPack(100_000, 31), testID(31)
	src := newMemSource(mustEncode(t, c, id, pack), nil)
	gate := make(chan struct{})
	src.tailGate = map[int]chan struct{}{1: gate}
	p, err := c.NewPackReader(src, id)
	if err != nil {
		t.Fatal(err)
	}
	errs := make(chan error, readers)
	for range readers {
		go func() {
			_, err := p.fetchFooter(t.Context(), 1)
			errs <- err
		}()
	}
	for {
		p.mu.Lock()
		f := p.footerFlights[1]
		n := 0
		if f != nil {
			n = f.waiters
		}
		p.mu.Unlock()
		if n == readers-1 || src.gateArrivals(1) > 1 { // all wait on one fetch, or several fetch
			break
		}
		runtime.Gosched()
	}
	close(gate)
	for range readers {
		if err := <-errs; err != nil {
			t.Fatal(err)
		}
	}
	if n := src.readCount(1); n != 1 {
		t.Fatalf("footer of shard 1 read %d times, want 1", n)
	}
}
