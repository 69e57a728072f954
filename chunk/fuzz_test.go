package chunk

import (
	"bytes"
	"errors"
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

// fuzzParams derives valid Params for algo from fuzz values: rabin takes any
// MinSize <= MaxSize; fastcdc needs MinSize < 2^AverageBits < MaxSize.
func fuzzParams(algo string, minSize, span uint16, bits uint8) Params {
	p := smallParamsFor(algo)
	if algo == AlgorithmFastCDC {
		p.AverageBits = 7 + bits%12 // normal size 128 B .. 256 KiB
		normal := uint32(1) << p.AverageBits
		p.MinSize = MinChunkSize + uint32(minSize)%(normal-MinChunkSize)
		p.MaxSize = normal + 1 + uint32(span)%(256<<10)
		return p
	}
	p.MinSize = MinChunkSize + uint32(minSize)%8192
	p.MaxSize = p.MinSize + uint32(span)%(256<<10)
	p.AverageBits = MinAverageBits + bits%12
	return p
}

// FuzzSplitter: for any stream and small Params of every algorithm, the
// pieces are contiguous, concatenate back to the stream, match the naive
// reference, and do not depend on how the source's reads are sized.
func FuzzSplitter(f *testing.F) {
	f.Add([]byte{}, []byte{}, uint16(0), uint16(0), uint8(0))
	f.Add([]byte("hello, world"), []byte{}, uint16(10), uint16(100), uint8(2))
	f.Add(randBytes(1, 5000), []byte{0x7f, 0xff, 0x05, 0xaa, 0x30}, uint16(500), uint16(3000), uint8(4))
	f.Add(randBytes(2, 20000), []byte{0x40, 0x85, 0x7f, 0x7f, 0x81, 0x33}, uint16(100), uint16(9000), uint8(1))
	f.Fuzz(func(t *testing.T, data, layout []byte, minSize, span uint16, bits uint8) {
		in := fuzzStream(data, layout)
		for _, algo := range algorithms {
			p := fuzzParams(algo, minSize, span, bits)
			if err := p.Validate(); err != nil {
				t.Fatalf("%s: fuzzParams gave %+v: %v", algo, p, err)
			}
			want := reference(t, in, p)
			got, st := split(t, bytes.NewReader(in), p, in)
			diffRecs(t, algo+" bytes.Reader", got, want)
			if st.HoleBytes != 0 || st.BytesRead != int64(len(in)) {
				t.Fatalf("%s: stats %+v for %d bytes", algo, st, len(in))
			}
			got, _ = split(t, newChunkyReader(in, uint64(len(data))), p, in)
			diffRecs(t, algo+" chunky reader", got, want)
		}
	})
}

// FuzzParams: Validate never panics, and any Params it accepts builds a
// Chunker that chunks within the sizes and covers its input exactly.
// Params come from the sealed repository config, so they are decoder input.
func FuzzParams(f *testing.F) {
	f.Add(AlgorithmRabin, uint64(testPol), uint32(64), uint32(4096), uint8(8), []byte{})
	f.Add(AlgorithmFastCDC, uint64(0), uint32(64), uint32(4096), uint8(8), testKey)
	f.Add(AlgorithmFastCDC, uint64(0), uint32(100), uint32(200), uint8(7), testKey[:31])
	f.Add(AlgorithmFastCDC, uint64(testPol), uint32(64), uint32(4096), uint8(8), testKey)
	f.Add(AlgorithmRabin, uint64(testPol), uint32(64), uint32(4096), uint8(8), testKey)
	f.Add("", uint64(0), uint32(0), uint32(0), uint8(0), []byte(nil))
	in := randBytes(31, 64<<10)
	f.Fuzz(func(t *testing.T, algo string, pol uint64, minSize, maxSize uint32, bits uint8, key []byte) {
		p := Params{Algorithm: algo, Polynomial: pol, MinSize: minSize, MaxSize: maxSize, AverageBits: bits, Key: key}
		err := p.Validate()
		if err == nil && p.MaxSize > 1<<20 {
			return // valid; New would allocate up to 2*MaxSize per execution
		}
		c, err2 := New(p)
		if (err == nil) != (err2 == nil) {
			t.Fatalf("Validate %v but New %v", err, err2)
		}
		if err != nil {
			if !errors.Is(err, ErrInvalidParams) {
				t.Fatalf("error %v does not wrap ErrInvalidParams", err)
			}
			return
		}
		c.Reset(bytes.NewReader(in))
		total := 0
		eachChunk(t, c, func(d []byte) {
			if len(d) > int(p.MaxSize) || (len(d) < int(p.MinSize) && total+len(d) != len(in)) {
				t.Fatalf("chunk of %d bytes at %d outside [%d, %d]", len(d), total, p.MinSize, p.MaxSize)
			}
			if !bytes.Equal(d, in[total:total+len(d)]) {
				t.Fatalf("chunk at %d differs from input", total)
			}
			total += len(d)
		})
		if total != len(in) {
			t.Fatalf("chunks cover %d bytes, want %d", total, len(in))
		}
	})
}
