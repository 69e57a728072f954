package repo

import (
	"fmt"

	"github.com/klauspost/compress/zstd"
)

// compressor holds shared zstd state: EncodeAll/DecodeAll are safe for concurrent use.
type compressor struct {
	enc *zstd.Encoder // nil when compression is off
	dec *zstd.Decoder
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
			// 3.6 MiB of history (TestFastestWindow). Literals are entropy-coded even in blocks
			// without matches (the fastest level skips that by default): 1.5% fewer bytes stored
			// for the bench's mixed volume for 3-6% more of a backup's CPU (DECISIONS §23).
			opts = append(opts, zstd.WithWindowSize(fastestWindow), zstd.WithAllLitEntropyCompression(true))
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
	out := c.enc.EncodeAll(src, dst[:0])
	if len(out) > len(src)-len(src)/32 {
		return out, false
	}
	return out, true
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
