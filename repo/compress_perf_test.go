package repo

import (
	"bytes"
	"encoding/base64"
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
		{"zeros+random+zeros", paddedRandom(32<<10, 960<<10, 32<<10, 17)},
	}
}

// paddedRandom is n random bytes between lead and trail zero bytes: the shape of a chunk at
// the edges of a data extent between holes, where zero blocks shorter than a zero run are
// chunked with the data (chunk.ZeroBlockSize).
func paddedRandom(lead, n, trail int, seed uint64) []byte {
	return append(append(make([]byte, lead), randomVolume(n, seed)...), make([]byte, trail)...)
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

// TestFlatBytes: the sample tells random data from data whose bytes are skewed enough for
// zstd to entropy-code its literals.
func TestFlatBytes(t *testing.T) {
	skewed := randomVolume(1<<20, 31) // every 40th byte zero: 2.9% zeros
	for i := 0; i < len(skewed); i += 40 {
		skewed[i] = 0
	}
	b64 := make([]byte, 1<<20)
	base64.StdEncoding.Encode(b64, randomVolume(3*len(b64)/4, 32))
	repeated := bytes.Repeat(randomVolume(64<<10, 33), 16)
	cases := []struct {
		name string
		data []byte
		want bool
	}{
		{"random 256 KiB", randomVolume(256<<10, 34), true},
		{"random 4 MiB", randomVolume(4<<20, 35), true},
		{"random, repeated 64 KiB", repeated, true},
		{"random, zero padding at both ends", paddedRandom(40<<10, 500<<10, 20<<10, 40), true},
		{"random, shorter than 4 samples", randomVolume(4*sampleWindows*sampleWidth-1, 36), false},
		{"text", compressibleVolume(1<<20, 37), false},
		{"base64", b64, false},
		{"random, 2.9% zeros", skewed, false},
		{"random then text", append(randomVolume(512<<10, 38), compressibleVolume(512<<10, 39)...), false},
		{"zeros", make([]byte, 1<<20), false},
	}
	for _, c := range cases {
		if got := flatBytes(c.data); got != c.want {
			t.Errorf("%s: flat = %v, want %v", c.name, got, c.want)
		}
	}
	for seed := range uint64(200) { // random chunks of the smallest default size: none misjudged
		if !flatBytes(randomVolume(256<<10, 1000+seed)) {
			t.Errorf("random chunk (seed %d) not flat", 1000+seed)
		}
	}
}

// TestFlatChunksLoseNothing: on chunks that sample flat, the encoder that never entropy-codes
// literals stores no more than the one that entropy-codes them all, and matches are still
// found (a repeated random block, zero padding compress).
func TestFlatChunksLoseNothing(t *testing.T) {
	c, err := newCompressor("fastest")
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name       string
		data       []byte
		compresses bool
	}{
		{"random", randomVolume(1<<20, 41), false},
		{"random, repeated 64 KiB", bytes.Repeat(randomVolume(64<<10, 42), 16), true},
		{"random between zero padding", paddedRandom(40<<10, 500<<10, 20<<10, 43), true},
	} {
		if !flatBytes(tc.data) {
			t.Fatalf("%s: not flat", tc.name)
		}
		out, ok := c.compress(nil, tc.data)
		all := c.enc.EncodeAll(tc.data, nil)
		if ok != tc.compresses || len(out) > len(all) {
			t.Errorf("%s: %d bytes (compressed %v), entropy-coding all literals %d", tc.name, len(out), ok, len(all))
		}
		if ok {
			back, err := c.decompress(nil, out, len(tc.data))
			if err != nil || !bytes.Equal(back, tc.data) {
				t.Errorf("%s: round trip: %v", tc.name, err)
			}
		}
	}
}
