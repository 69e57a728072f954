package erasure

import (
	"context"
	"sync/atomic"
	"testing"
)

const benchPack = 16 << 20

func BenchmarkEncode(b *testing.B) {
	c := mustCoder(b, Layout{4, 2})
	pack, id := testPack(benchPack, 1), testID(1)
	b.SetBytes(benchPack)
	b.ReportAllocs()
	for b.Loop() {
		if _, err := c.Encode(id, pack); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkEncodeSplit(b *testing.B) {
	c := mustCoder(b, Layout{4, 2})
	pack, id := testPack(benchPack, 1), testID(1)
	b.SetBytes(benchPack)
	b.ReportAllocs()
	for b.Loop() {
		if _, _, err := c.EncodeSplit(id, pack); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkEncodeParts: 4+2 with the parity buffers reused, as the zones backend does.
func BenchmarkEncodeParts(b *testing.B) {
	c := mustCoder(b, Layout{4, 2})
	pack, id := testPack(benchPack+12345, 1), testID(1)
	var bufs [][]byte
	b.SetBytes(int64(len(pack)))
	b.ReportAllocs()
	for b.Loop() {
		i := 0
		_, err := c.EncodeParts(id, pack, func(n int64) []byte {
			if i == len(bufs) {
				bufs = append(bufs, make([]byte, n))
			}
			i++
			return bufs[i-1][:n]
		})
		if err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkEncodeFile: 4+2 of a pack spooled to a file (page cache), as a spooled backup
// saves it: the coding only, the shard objects are not read.
func BenchmarkEncodeFile(b *testing.B) {
	c := mustCoder(b, Layout{4, 2})
	pack, id := testPack(benchPack+12345, 1), testID(1)
	f := packFile(b, pack)
	b.SetBytes(int64(len(pack)))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := c.EncodeFile(id, f, int64(len(pack))); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkReconstruct: 4+2, two data shards missing, payloads already verified.
func BenchmarkReconstruct(b *testing.B) {
	c := mustCoder(b, Layout{4, 2})
	pack, id := testPack(benchPack, 2), testID(2)
	all := payloads(b, mustEncode(b, c, id, pack))
	shards := make([][]byte, len(all))
	b.SetBytes(benchPack)
	b.ReportAllocs()
	for b.Loop() {
		copy(shards, all)
		shards[0], shards[2] = nil, nil
		if err := c.Reconstruct(shards); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkParseShard: full verification of one 4 MiB shard object.
func BenchmarkParseShard(b *testing.B) {
	c := mustCoder(b, Layout{4, 2})
	obj := mustEncode(b, c, testID(3), testPack(benchPack, 3))[1]
	b.SetBytes(int64(len(obj)))
	for b.Loop() {
		if _, _, err := ParseShard(obj); err != nil {
			b.Fatal(err)
		}
	}
}

// benchSource serves objects without copying (the read path's own cost only).
type benchSource [][]byte

func (s benchSource) ReadShard(_ context.Context, i int, off, n int64) ([]byte, error) {
	o := s[i]
	size := int64(len(o))
	switch {
	case off < 0:
		off = max(size+off, 0)
		n = size - off
	case n < 0:
		n = size - off
	}
	return o[off : off+n], nil
}

func benchReadRange(b *testing.B, degraded bool) {
	c := mustCoder(b, Layout{4, 2}, WithBlockCache(0)) // the cost of fetching, not of the cache
	pack, id := testPack(benchPack, 4), testID(4)
	objs := benchSource(mustEncode(b, c, id, pack))
	src := ShardSource(objs)
	if degraded {
		src = failing{objs, 1}
	}
	p, err := c.NewPackReader(src, id)
	if err != nil {
		b.Fatal(err)
	}
	const blob = 1 << 20
	b.SetBytes(blob)
	var off int64
	for b.Loop() {
		if _, err := p.ReadRange(b.Context(), off, blob); err != nil {
			b.Fatal(err)
		}
		off = (off + 3*blob + 12345) % (benchPack - blob)
	}
}

type failing struct {
	benchSource
	bad int
}

func (f failing) ReadShard(ctx context.Context, i int, off, n int64) ([]byte, error) {
	if i == f.bad {
		return nil, errNotFound
	}
	return f.benchSource.ReadShard(ctx, i, off, n)
}

// BenchmarkReadRangeHealthy: 1 MiB blob reads from a 4+2 16 MiB pack, footers cached,
// no block cache.
func BenchmarkReadRangeHealthy(b *testing.B) { benchReadRange(b, false) }

// BenchmarkReadRangeDegraded: as above with data shard 1 gone.
func BenchmarkReadRangeDegraded(b *testing.B) { benchReadRange(b, true) }

// countingBench is a benchSource that counts the payload bytes it serves (footer reads,
// which are suffix reads, excluded).
type countingBench struct {
	benchSource
	bytes atomic.Int64
}

func (s *countingBench) ReadShard(ctx context.Context, i int, off, n int64) ([]byte, error) {
	b, err := s.benchSource.ReadShard(ctx, i, off, n)
	if off >= 0 {
		s.bytes.Add(int64(len(b)))
	}
	return b, err
}

// BenchmarkPackReaderSequential: a restore of one 16 MiB 4+2 pack, read in order as blobs
// of about 1 MiB at arbitrary offsets by a fresh PackReader each pass. It reports the
// payload bytes fetched per pack byte (amp).
func BenchmarkPackReaderSequential(b *testing.B) {
	c := mustCoder(b, Layout{4, 2})
	pack, id := testPack(benchPack, 5), testID(5)
	src := &countingBench{benchSource: mustEncode(b, c, id, pack)}
	var blobs []int64 // blob lengths: 1 MiB give or take up to 256 KiB
	for off, i := int64(0), int64(0); off < benchPack; i++ {
		n := min(1<<20+(i*7919*37)%(512<<10)-256<<10, benchPack-off)
		blobs = append(blobs, n)
		off += n
	}
	b.SetBytes(benchPack)
	b.ReportAllocs()
	for b.Loop() {
		p, err := c.NewPackReader(src, id)
		if err != nil {
			b.Fatal(err)
		}
		var off int64
		for _, n := range blobs {
			if _, err := p.ReadRange(b.Context(), off, n); err != nil {
				b.Fatal(err)
			}
			off += n
		}
	}
	b.ReportMetric(float64(src.bytes.Load())/float64(b.N)/benchPack, "amp")
}
