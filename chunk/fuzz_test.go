package chunk

import (
	"bytes"
	"testing"
)

// fuzzStream expands a fuzz input into a stream: with an empty layout the
// stream is data; otherwise each layout byte appends a run of zeros (high
// bit set) or of data bytes of up to ~128 KiB, so runs cross 64 KiB blocks.
// Streams stop growing past 512 KiB to keep executions fast.
func fuzzStream(data, layout []byte) []byte {
	if len(layout) == 0 {
		return data
	}
	var out []byte
	di := 0
	for _, b := range layout {
		n := int(b&0x7f)*1031 + int(b&3)
		if b&0x80 != 0 || len(data) == 0 {
			out = append(out, make([]byte, n)...)
		} else {
			for range n {
				out = append(out, data[di%len(data)]+byte(di/len(data)))
				di++
			}
		}
		if len(out) > 512<<10 {
			break
		}
	}
	return out
}

// FuzzSplitter: for any stream and small Params, the pieces are contiguous,
// concatenate back to the stream, match the naive reference, and do not
// depend on how the source's reads are sized.
func FuzzSplitter(f *testing.F) {
	f.Add([]byte{}, []byte{}, uint16(0), uint16(0), uint8(0))
	f.Add([]byte("hello, world"), []byte{}, uint16(10), uint16(100), uint8(2))
	f.Add(randBytes(1, 5000), []byte{0x7f, 0xff, 0x05, 0xaa, 0x30}, uint16(500), uint16(3000), uint8(4))
	f.Fuzz(func(t *testing.T, data, layout []byte, minSize, span uint16, bits uint8) {
		p := Params{Algorithm: AlgorithmRabin, Polynomial: testPol}
		p.MinSize = MinChunkSize + uint32(minSize)%8192
		p.MaxSize = p.MinSize + uint32(span)%(256<<10)
		p.AverageBits = MinAverageBits + bits%12
		in := fuzzStream(data, layout)
		want := reference(t, in, p)
		got, st := split(t, bytes.NewReader(in), p, in)
		diffRecs(t, "bytes.Reader", got, want)
		if st.HoleBytes != 0 || st.BytesRead != int64(len(in)) {
			t.Fatalf("stats %+v for %d bytes", st, len(in))
		}
		got, _ = split(t, newChunkyReader(in, uint64(len(data))), p, in)
		diffRecs(t, "chunky reader", got, want)
	})
}
