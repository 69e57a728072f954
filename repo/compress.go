package repo

import (
	"fmt"

	"github.com/klauspost/compress/zstd"
)

// compressor holds shared zstd state: EncodeAll/DecodeAll are safe for concurrent use.
type compressor struct {
	enc *zstd.Encoder // nil when compression is off
	// flat, at the fastest level only, never entropy-codes literals; it compresses chunks
	// whose bytes sample as flat as random data (see flatBytes).
	flat *zstd.Encoder
	dec  *zstd.Decoder
}

func compressionLevel(name string) (zstd.EncoderLevel, bool, error) {
	switch name {
	case "", "fastest":
		return zstd.SpeedFastest, true, nil
	case "default":
		return zstd.SpeedDefault, true, nil
	case "better":
		return zstd.SpeedBetterCompression, true, nil
	case "off":
		return 0, false, nil
	}
	return 0, false, fmt.Errorf("unknown compression %q (want fastest, default, better or off)", name)
}

// fastestWindow is the zstd window of the fastest level (see newCompressor).
const fastestWindow = 1 << 20

func newCompressor(name string) (*compressor, error) {
	lvl, on, err := compressionLevel(name)
	if err != nil {
		return nil, err
	}
	c := &compressor{}
	if on {
		opts := []zstd.EOption{zstd.WithEncoderLevel(lvl), zstd.WithEncoderConcurrency(1),
			zstd.WithEncoderCRC(false), zstd.WithZeroFrames(true), zstd.WithLowerEncoderMem(true)}
		if lvl == zstd.SpeedFastest {
			// The fastest level finds matches at most 128 KiB back, so a 1 MiB window gives the
			// same output as the default 8 MiB one while the encoder keeps 0.6 MiB instead of
			// 3.6 MiB of history (TestFastestWindow).
			opts = append(opts, zstd.WithWindowSize(fastestWindow))
			// Flat chunks never entropy-code literals: in a block with matches (zero padding
			// at a data extent's edge) zstd would otherwise still count and reject a
			// histogram of the random literals (DECISIONS §32).
			flatOpts := append(opts[:len(opts):len(opts)], zstd.WithNoEntropyCompression(true))
			if c.flat, err = zstd.NewWriter(nil, flatOpts...); err != nil {
				return nil, fmt.Errorf("zstd encoder: %w", err)
			}
			// Literals are entropy-coded even in blocks without matches (the fastest level
			// skips that by default): 1.5% fewer bytes stored for the bench's mixed volume
			// (DECISIONS §23). On random data that only costs a byte histogram per block, so
			// chunks that sample as random go to c.flat (DECISIONS §24).
			opts = append(opts, zstd.WithAllLitEntropyCompression(true))
		}
		c.enc, err = zstd.NewWriter(nil, opts...)
		if err != nil {
			return nil, fmt.Errorf("zstd encoder: %w", err)
		}
	}
	c.dec, err = zstd.NewReader(nil, zstd.WithDecoderConcurrency(0), zstd.WithDecoderMaxMemory(1<<30),
		zstd.IgnoreChecksum(true))
	if err != nil {
		return nil, fmt.Errorf("zstd decoder: %w", err)
	}
	return c, nil
}

// compress appends a zstd frame of src to dst[:0] and reports true, or reports false when the
// data does not shrink by at least 1/32 (then the caller stores src as is).
//
// There is no cheap "incompressible?" probe on a prefix: zstd's own per-block check already
// emits random data at several GB/s (BenchmarkCompress), while a prefix probe misjudged every
// chunk that starts with random bytes and continues with text, which on the bench's mixed
// image cost 8% of repository size (docs/BENCHMARKS.md).
func (c *compressor) compress(dst, src []byte) ([]byte, bool) {
	if c.enc == nil || len(src) < 64 {
		return dst, false
	}
	enc := c.enc
	if c.flat != nil && flatBytes(src) {
		enc = c.flat
	}
	out := enc.EncodeAll(src, dst[:0])
	if len(out) > len(src)-len(src)/32 {
		return out, false
	}
	return out, true
}

// Sampling of flatBytes: sampleWindows runs of sampleWidth bytes spread evenly over a chunk.
const (
	sampleWindows = 128
	sampleWidth   = 64
)

// flatBytes reports whether the data of src is as evenly spread over the 256 byte values as
// random data, so that zstd would find its literals not worth entropy coding. It samples
// sampleWindows windows spread over src and
//   - skips windows of one repeated byte (zero padding around data: zstd matches those),
//   - calls a window random-like when no byte value occurs 5 times in it (for 64 random
//     bytes that happens once in ~500 windows; text and tables fail it at once),
//   - and reports true when at most 1/16 of the other windows are not random-like (a chunk
//     starting or ending in padding has one or two mixed windows) and no value makes up
//     1/128 of the random-like windows' bytes, huff0's own test for literals not worth
//     coding (base64 and other small alphabets fail it).
//
// Chunks shorter than 4 windows' spacing, or with fewer than 16 windows left, report false
// (entropy coding is tried as usual).
func flatBytes(src []byte) bool {
	if len(src) < 4*sampleWindows*sampleWidth {
		return false
	}
	var hist [256]uint32
	step := (len(src) - sampleWidth) / (sampleWindows - 1)
	rnd, mixed := 0, 0
	for i := range sampleWindows {
		w := src[i*step : i*step+sampleWidth]
		var win [256]uint8
		run, peak := true, uint8(0)
		for _, b := range w {
			win[b]++
			peak = max(peak, win[b])
			run = run && b == w[0]
		}
		switch {
		case run:
		case peak >= 5:
			mixed++
		default:
			rnd++
			for _, b := range w {
				hist[b]++
			}
		}
	}
	if rnd+mixed < 16 || mixed*16 > rnd+mixed {
		return false
	}
	for _, n := range hist {
		if n >= uint32(rnd*sampleWidth)>>7 {
			return false
		}
	}
	return true
}

// compressBound is an upper bound of the size of a zstd frame of n bytes (raw blocks of at
// most 128 KiB, 3 header bytes each, plus the frame header).
func compressBound(n int) int { return n + n>>10 + 64 }

// decompress appends the decoded frame to dst[:0]; rawLen is the expected size.
func (c *compressor) decompress(dst, src []byte, rawLen int) ([]byte, error) {
	if cap(dst) < rawLen {
		dst = make([]byte, 0, rawLen)
	}
	out, err := c.dec.DecodeAll(src, dst[:0])
	if err != nil {
		return nil, fmt.Errorf("%w: zstd: %v", ErrCorrupt, err)
	}
	if len(out) != rawLen {
		return nil, fmt.Errorf("%w: decompressed %d bytes, want %d", ErrCorrupt, len(out), rawLen)
	}
	return out, nil
}
