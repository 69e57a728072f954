package chunk

import (
	"encoding/binary"
	"testing"

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
