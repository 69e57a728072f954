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

func newCompressor(name string) (*compressor, error) {
	lvl, on, err := compressionLevel(name)
	if err != nil {
		return nil, err
	}
	c := &compressor{}
	if on {
		c.enc, err = zstd.NewWriter(nil, zstd.WithEncoderLevel(lvl), zstd.WithEncoderConcurrency(1),
			zstd.WithEncoderCRC(false), zstd.WithZeroFrames(true), zstd.WithLowerEncoderMem(true))
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

// probeSize is how much of a chunk is test-compressed to decide whether compressing it pays.
const probeSize = 16 << 10

// compress appends a zstd frame of src to dst[:0] and reports true, or reports false when the
// data does not shrink by at least 1/32 (then dst is unused). Incompressible chunks are detected
// on a small prefix first, so random data costs little.
func (c *compressor) compress(dst, src []byte) ([]byte, bool) {
	if c.enc == nil || len(src) < 64 {
		return dst, false
	}
	if len(src) > 4*probeSize {
		p := c.enc.EncodeAll(src[:probeSize], dst[:0])
		if len(p) > probeSize-probeSize/64 {
			return dst, false
		}
	}
	out := c.enc.EncodeAll(src, dst[:0])
	if len(out) > len(src)-len(src)/32 {
		return out, false
	}
	return out, true
}

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
