package chunk

import (
	"bytes"
	"encoding/binary"
	"io"
	"math/rand/v2"
	"testing"

	cdc "github.com/PlakarKorp/go-cdc-chunkers"
	"github.com/PlakarKorp/go-cdc-chunkers/chunkers/fastcdc"
	"github.com/zeebo/blake3"
)

// specGearTable derives the keyed gear table as docs/FORMAT.md §6 states it.
func specGearTable(t *testing.T, key []byte) *[256]uint64 {
	t.Helper()
	h, err := blake3.NewKeyed(key)
	if err != nil {
		t.Fatal(err)
	}
	var b [8]byte
	for _, g := range fastcdc.G {
		binary.LittleEndian.PutUint64(b[:], g)
		_, _ = h.Write(b[:])
	}
	out := make([]byte, 8*256)
	if _, err := h.Digest().Read(out); err != nil {
		t.Fatal(err)
	}
	var tab [256]uint64
	for i := range tab {
		tab[i] = binary.LittleEndian.Uint64(out[8*i:])
	}
	return &tab
}

// specMask has ones bits at positions 63 - k*(64/ones).
func specMask(ones int) uint64 {
	var m uint64
	for k := range ones {
		m |= 1 << (63 - k*(64/ones))
	}
	return m
}

// specFastCDC returns the chunk lengths of data per docs/FORMAT.md §6,
// written independently of the library.
func specFastCDC(t *testing.T, p Params, data []byte) []int {
	g := specGearTable(t, p.Key)
	minSize, maxSize, normal := int(p.MinSize), int(p.MaxSize), 1<<p.AverageBits
	maskS, maskL := specMask(int(p.AverageBits)+2), specMask(int(p.AverageBits)-2)
	var lens []int
	for len(data) > 0 {
		n := min(len(data), maxSize)
		cut := n
		var fp uint64
		for i := minSize; i < n; i++ {
			fp = fp<<1 + g[data[i]]
			mask := maskS
			if i >= normal {
				mask = maskL
			}
			if fp&mask == 0 {
				cut = i
				break
			}
		}
		lens = append(lens, cut)
		data = data[cut:]
	}
	return lens
}

// TestFastCDCSpec: the library's boundaries equal the format's written
// description, so the format can be re-implemented (or the library replaced)
// without moving boundaries.
func TestFastCDCSpec(t *testing.T) {
	in := randBytes(41, 6<<20)
	tests := []struct {
		min, max uint32
		bits     uint8
	}{
		{16 << 10, 256 << 10, 16},
		{64, 1 << 20, 12},
		{1 << 10, 3 << 10, 11},
		{100, 200, 7},
		{DefaultMinSize, DefaultMaxSize, DefaultAverageBits},
	}
	for _, tc := range tests {
		p := smallParamsFor(AlgorithmFastCDC)
		p.MinSize, p.MaxSize, p.AverageBits = tc.min, tc.max, tc.bits
		for _, key := range [][]byte{testKey, randBytes(42, KeySize)} {
			p.Key = key
			_, got := chunkSums(t, newChunker(t, p), in)
			want := specFastCDC(t, p, in)
			if !equalInts(got, want) {
				n := 0
				for n < min(len(got), len(want)) && got[n] == want[n] {
					n++
				}
				t.Fatalf("%+v: library and spec differ at chunk %d of %d/%d", p, n, len(got), len(want))
			}
		}
	}
}

// libFastCDC is the go-cdc-chunkers "fastcdc-v1.0.0" chunker behind Chunker,
// as the package used it before fastCDC scanned the stream itself: the
// reference for TestFastCDCLibrary and the baseline of BenchmarkChunker.
type libFastCDC struct {
	c    *cdc.Chunker
	done bool
}

func newLibFastCDC(t testing.TB, p Params) *libFastCDC {
	t.Helper()
	c, err := cdc.NewChunkerBuffer("fastcdc-v1.0.0", bytes.NewReader(nil), &cdc.ChunkerOpts{
		MinSize: int(p.MinSize), MaxSize: int(p.MaxSize), NormalSize: 1 << p.AverageBits,
		Key: append([]byte(nil), p.Key...)}, make([]byte, 2*int(p.MaxSize)))
	if err != nil {
		t.Fatal(err)
	}
	return &libFastCDC{c: c, done: true}
}

func (l *libFastCDC) Reset(r io.Reader) { l.c.Reset(r); l.done = false }

func (l *libFastCDC) Next(buf []byte) ([]byte, error) {
	if l.done {
		return nil, io.EOF
	}
	data, err := l.c.Next()
	if err == io.EOF {
		l.done = true
		if len(data) == 0 {
			return nil, io.EOF
		}
	} else if err != nil {
		return nil, err
	}
	return append(buf[:0], data...), nil
}

// chunkReader returns data in reads of random sizes (some empty), so chunk
// boundaries are checked not to depend on how the stream is read.
type chunkReader struct {
	data []byte
	rng  *rand.Rand
}

func (r *chunkReader) Read(p []byte) (int, error) {
	if len(r.data) == 0 {
		return 0, io.EOF
	}
	n := min(len(p), len(r.data), r.rng.IntN(3)*r.rng.IntN(100<<10))
	copy(p, r.data[:n])
	r.data = r.data[n:]
	return n, nil
}

// TestFastCDCLibrary: fastCDC cuts exactly where the go-cdc-chunkers library
// does, for varied sizes (the library's fixed-mask special case included),
// keys, inputs (random, repetitive, with zero runs), lengths and read sizes.
func TestFastCDCLibrary(t *testing.T) {
	rnd := randBytes(43, 9<<20)
	text := bytes.Repeat([]byte("alpha beta gamma kubernetes volume\n"), 60<<10)
	zeros := append(append(randBytes(44, 1<<20), make([]byte, 1<<20)...), randBytes(45, 1<<20)...)
	tests := []struct {
		min, max uint32
		bits     uint8
	}{
		{DefaultMinSize, DefaultMaxSize, DefaultAverageBits},
		{2 << 10, 64 << 10, 13}, // the library's legacy masks
		{2 << 10, 64 << 10, 12},
		{16 << 10, 256 << 10, 16},
		{64, 1 << 20, 12},
		{1 << 10, 3 << 10, 11},
		{100, 200, 7},
		{64, 130, 7},
		{40 << 10, 100 << 10, 16}, // max not a multiple of the read step
	}
	rng := rand.New(rand.NewPCG(1, 2))
	for _, tc := range tests {
		p := smallParamsFor(AlgorithmFastCDC)
		p.MinSize, p.MaxSize, p.AverageBits = tc.min, tc.max, tc.bits
		if err := p.Validate(); err != nil {
			t.Fatalf("%+v: %v", tc, err)
		}
		r := rnd[:min(len(rnd), 1<<20+int(tc.max))] // smaller sizes need less input for many cuts
		for i, in := range [][]byte{r, text, zeros, rnd[:int(tc.min)], rnd[:int(tc.min)+1], rnd[:int(tc.max)+1], nil} {
			if raceEnabled() {
				in = in[:min(len(in), 1<<20)] // single-goroutine code; the plain run covers the rest
			}
			p.Key = testKey
			if i%2 == 1 {
				p.Key = randBytes(byte(i), KeySize)
			}
			_, want := chunkSums(t, newLibFastCDC(t, p), in)
			c := newChunker(t, p)
			_, got := chunkSums(t, c, in)
			c.Reset(&chunkReader{data: in, rng: rng})
			var odd []int
			eachChunk(t, c, func(d []byte) {
				odd = append(odd, len(d))
			})
			for name, lens := range map[string][]int{"whole reads": got, "odd reads": odd} {
				if !equalInts(lens, want) {
					n := 0
					for n < min(len(lens), len(want)) && lens[n] == want[n] {
						n++
					}
					t.Fatalf("%+v input %d, %s: differs from the library at chunk %d of %d/%d", tc, i, name, n, len(lens), len(want))
				}
			}
		}
	}
}

// TestGearScan: the two-bytes-a-step scan finds the same first cut as the
// plain one-byte loop, at every parity of start and end.
func TestGearScan(t *testing.T) {
	tab, err := gearTable(testKey)
	if err != nil {
		t.Fatal(err)
	}
	data := randBytes(46, 64<<10)
	for _, mask := range []uint64{spacedMask(6), spacedMask(10), spacedMask(14), ^uint64(0)} {
		for start := range 5 {
			for end := len(data) - 4; end <= len(data); end++ {
				gotCut, gotFP := gearScan(tab, data[:end], start, mask, 7)
				wantCut, fp := -1, uint64(7)
				for i := start; i < end; i++ {
					fp = fp<<1 + tab[data[i]]
					if fp&mask == 0 {
						wantCut = i
						break
					}
				}
				if gotCut != wantCut || gotFP != fp {
					t.Fatalf("mask %x [%d:%d]: cut %d fp %x, want %d %x", mask, start, end, gotCut, gotFP, wantCut, fp)
				}
			}
		}
	}
}

// FuzzFastCDCLibrary: for any stream and small valid Params, fastCDC's chunks
// concatenate back to the stream, and its boundaries equal the
// go-cdc-chunkers library's whatever the read sizes.
func FuzzFastCDCLibrary(f *testing.F) {
	f.Add([]byte{}, []byte{}, uint16(0), uint16(0), uint8(0), uint64(0))
	f.Add([]byte("hello, world"), []byte{}, uint16(10), uint16(100), uint8(2), uint64(1))
	f.Add(randBytes(1, 5000), []byte{0x7f, 0xff, 0x05, 0xaa, 0x30}, uint16(500), uint16(3000), uint8(4), uint64(2))
	f.Fuzz(func(t *testing.T, data, layout []byte, minSize, span uint16, bits uint8, seed uint64) {
		in := fuzzStream(data, layout)
		p := fuzzParams(AlgorithmFastCDC, minSize, span, bits)
		if err := p.Validate(); err != nil {
			t.Fatalf("fuzzParams gave invalid %+v: %v", p, err)
		}
		_, want := chunkSums(t, newLibFastCDC(t, p), in)
		c := newChunker(t, p)
		c.Reset(&chunkReader{data: in, rng: rand.New(rand.NewPCG(seed, 0))})
		var lens []int
		var joined []byte
		eachChunk(t, c, func(d []byte) {
			if len(d) == 0 || len(d) > int(p.MaxSize) {
				t.Fatalf("chunk of %d bytes (MaxSize %d)", len(d), p.MaxSize)
			}
			lens = append(lens, len(d))
			joined = append(joined, d...)
		})
		if !bytes.Equal(joined, in) {
			t.Fatalf("chunks do not concatenate to the %d-byte stream", len(in))
		}
		if !equalInts(lens, want) {
			t.Fatalf("%+v: lengths %v, library %v", p, lens, want)
		}
	})
}
