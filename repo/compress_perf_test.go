package repo

import (
	"bytes"
	"testing"

	"github.com/klauspost/compress/zstd"
)

// benchChunk is one 1 MiB chunk (the default average chunk size) of a kind of content.
type benchChunk struct {
	name string
	data []byte
}

func benchChunks() []benchChunk {
	return []benchChunk{
		{"random", randomVolume(1<<20, 11)},
		{"text", compressibleVolume(1<<20, 12)},
		{"random+text", append(randomVolume(512<<10, 13), compressibleVolume(512<<10, 14)...)},
		{"text+random", append(compressibleVolume(512<<10, 15), randomVolume(512<<10, 16)...)},
	}
}

// BenchmarkCompress: the compression stage (zstd fastest, as new repositories use) on 1 MiB
// chunks; "ratio" is stored/raw size (1: stored uncompressed).
func BenchmarkCompress(b *testing.B) {
	c, err := newCompressor("fastest")
	if err != nil {
		b.Fatal(err)
	}
	for _, bc := range benchChunks() {
		b.Run(bc.name, func(b *testing.B) {
			dst := make([]byte, 0, len(bc.data)+len(bc.data)/8)
			b.SetBytes(int64(len(bc.data)))
			b.ReportAllocs()
			n := len(bc.data)
			for b.Loop() {
				if out, ok := c.compress(dst, bc.data); ok {
					n = len(out)
				}
			}
			b.ReportMetric(float64(n)/float64(len(bc.data)), "ratio")
		})
	}
}

// BenchmarkDecompress: the decompression stage of restore on a 1 MiB text chunk.
func BenchmarkDecompress(b *testing.B) {
	c, err := newCompressor("fastest")
	if err != nil {
		b.Fatal(err)
	}
	src := compressibleVolume(1<<20, 12)
	frame, ok := c.compress(nil, src)
	if !ok {
		b.Fatal("text did not compress")
	}
	dst := make([]byte, 0, len(src))
	b.SetBytes(int64(len(src)))
	b.ReportAllocs()
	for b.Loop() {
		out, err := c.decompress(dst, frame, len(src))
		if err != nil {
			b.Fatal(err)
		}
		dst = out[:0]
	}
}

// TestCompressMixedChunk: a chunk that starts with incompressible bytes and continues with
// text is still compressed (a prefix probe used to store it raw).
func TestCompressMixedChunk(t *testing.T) {
	c, err := newCompressor("fastest")
	if err != nil {
		t.Fatal(err)
	}
	for _, bc := range benchChunks() {
		out, ok := c.compress(nil, bc.data)
		wantOK := bc.name != "random"
		if ok != wantOK {
			t.Errorf("%s: compressed = %v, want %v", bc.name, ok, wantOK)
			continue
		}
		if !ok {
			continue
		}
		if len(out) >= len(bc.data)-len(bc.data)/32 {
			t.Errorf("%s: %d bytes from %d: does not pay", bc.name, len(out), len(bc.data))
		}
		back, err := c.decompress(nil, out, len(bc.data))
		if err != nil || string(back) != string(bc.data) {
			t.Errorf("%s: round trip failed: %v", bc.name, err)
		}
	}
}

// TestFastestWindow: the fastest level with its 1 MiB window compresses as well as with
// zstd's default window, on chunks up to the 8 MiB maximum, and round-trips.
func TestFastestWindow(t *testing.T) {
	c, err := newCompressor("fastest")
	if err != nil {
		t.Fatal(err)
	}
	wide, err := zstd.NewWriter(nil, zstd.WithEncoderLevel(zstd.SpeedFastest), zstd.WithEncoderConcurrency(1),
		zstd.WithEncoderCRC(false), zstd.WithZeroFrames(true))
	if err != nil {
		t.Fatal(err)
	}
	for _, n := range []int{64 << 10, 1 << 20, 3 << 20, 8 << 20} {
		var data []byte
		for i := 0; len(data) < n; i++ {
			data = append(data, compressibleVolume(256<<10, uint64(100+i))...)
			data = append(data, randomVolume(256<<10, uint64(200+i))...)
		}
		data = data[:n]
		out, ok := c.compress(nil, data)
		ref := wide.EncodeAll(data, nil)
		if !ok || len(out) > len(ref)+16 {
			t.Errorf("%d bytes: %d compressed (ok %v), default window %d", n, len(out), ok, len(ref))
		}
		back, err := c.decompress(nil, out, n)
		if err != nil || !bytes.Equal(back, data) {
			t.Errorf("%d bytes: round trip: %v", n, err)
		}
	}
}
