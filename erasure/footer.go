package erasure

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"math/bits"

	"github.com/zeebo/blake3"
)

// Format constants; see the package documentation for the byte layout.
const (
	// FormatVersion is the footer version this package writes and reads.
	FormatVersion = 1
	// PackIDSize is the length of the opaque pack ID recorded in every footer.
	PackIDSize = 32
	// ShardAlign is the granularity of the shard size S.
	ShardAlign = 64
	// DefaultBlockSize is the payload span covered by one block checksum.
	DefaultBlockSize = 1 << 20
	// BlockSumSize is the length of one block checksum (BLAKE3-256 truncated).
	BlockSumSize = 16
	// TrailerSize is the fixed trailer at the very end of a shard object:
	// footer length (u32, little-endian) followed by TrailerMagic.
	TrailerSize = 8
	// MinFooterSize is the footer length of an empty shard (no blocks).
	MinFooterSize = fixedFieldsSize + footerSumSize + TrailerSize

	fixedFieldsSize = 72 // magic .. pack ID
	footerSumSize   = 32
	minBlockSize    = 64
	maxBlockSize    = 1 << 30
	maxPackLen      = 1 << 60 // keeps every size computation far from overflow
)

// FooterMagic opens every footer; TrailerMagic closes every shard object.
const (
	FooterMagic  = "cairnES1"
	TrailerMagic = "cES1"
)

// ShardInfo is the decoded, verified footer of one shard object.
type ShardInfo struct {
	Layout    Layout
	Index     int   // 0..Data-1 data shards, Data..Data+Parity-1 parity shards
	PackLen   int64 // N, the length of the original pack
	ShardSize int64 // S, the payload length of every shard of the pack
	BlockSize int64 // payload bytes per block checksum
	PackID    [PackIDSize]byte
	BlockSums [][BlockSumSize]byte // one per block; the last block may be short
}

// FooterLen returns the encoded footer length F (trailer included) of this shard.
func (s *ShardInfo) FooterLen() int { return footerLen(numBlocks(s.ShardSize, s.BlockSize)) }

// ObjectLen returns the length of the whole shard object, S + F.
func (s *ShardInfo) ObjectLen() int64 { return s.ShardSize + int64(s.FooterLen()) }

// BlockAlign rounds the payload range [off, off+n) out to block boundaries and clamps it
// to the shard size. A reader range-reads [start, end) and passes it to VerifyRange.
func (s *ShardInfo) BlockAlign(off, n int64) (start, end int64) {
	return blockAlign(off, n, s.BlockSize, s.ShardSize)
}

func blockAlign(off, n, bs, size int64) (start, end int64) {
	start = off / bs * bs
	end = min((off+n+bs-1)/bs*bs, size)
	return start, max(end, start)
}

// VerifyRange checks data, the payload bytes starting at offset, against the block
// checksums. offset must be a block boundary and data must end on a block boundary or at
// the end of the payload (see BlockAlign). A mismatch returns an error wrapping ErrCorrupt.
func (s *ShardInfo) VerifyRange(data []byte, offset int64) error {
	bs := s.BlockSize
	end := offset + int64(len(data))
	if bs <= 0 || offset < 0 || offset%bs != 0 || end > s.ShardSize || (end%bs != 0 && end != s.ShardSize) {
		return fmt.Errorf("erasure: verify range [%d,%d) of shard %d: not block aligned (block %d, size %d)",
			offset, end, s.Index, bs, s.ShardSize)
	}
	for b := offset / bs; len(data) > 0; b++ {
		n := min(int64(len(data)), bs)
		if blockSum(data[:n]) != s.BlockSums[b] {
			return corruptf("shard %d block %d (payload offset %d): checksum mismatch", s.Index, b, b*bs)
		}
		data = data[n:]
	}
	return nil
}

func blockSum(b []byte) (out [BlockSumSize]byte) {
	sum := blake3.Sum256(b)
	copy(out[:], sum[:])
	return out
}

// shardSizeFor returns S for a pack of n bytes split k ways: ceil(n/k) rounded up to ShardAlign.
func shardSizeFor(n int64, k int) int64 {
	s := (n + int64(k) - 1) / int64(k)
	return (s + ShardAlign - 1) / ShardAlign * ShardAlign
}

func numBlocks(size, bs int64) int64 { return (size + bs - 1) / bs }

func footerLen(blocks int64) int {
	return fixedFieldsSize + int(blocks)*BlockSumSize + footerSumSize + TrailerSize
}

// appendFooter encodes the footer of s (whose BlockSums must be filled) onto dst.
func (s *ShardInfo) appendFooter(dst []byte) []byte {
	start := len(dst)
	le := binary.LittleEndian
	dst = append(dst, FooterMagic...)
	dst = le.AppendUint16(dst, FormatVersion)
	dst = le.AppendUint16(dst, uint16(s.Layout.Data))
	dst = le.AppendUint16(dst, uint16(s.Layout.Parity))
	dst = le.AppendUint16(dst, uint16(s.Index))
	dst = le.AppendUint32(dst, uint32(s.BlockSize))
	dst = le.AppendUint32(dst, 0) // reserved
	dst = le.AppendUint64(dst, uint64(s.PackLen))
	dst = le.AppendUint64(dst, uint64(s.ShardSize))
	dst = append(dst, s.PackID[:]...)
	for i := range s.BlockSums {
		dst = append(dst, s.BlockSums[i][:]...)
	}
	sum := blake3.Sum256(dst[start:])
	dst = append(dst, sum[:]...)
	dst = le.AppendUint32(dst, uint32(len(dst)-start+TrailerSize))
	return append(dst, TrailerMagic...)
}

// FooterLen reads the trailer at the end of tail (any suffix of a shard object at least
// TrailerSize long) and returns the footer length F: the number of bytes at the end of
// the object that ParseFooter needs.
func FooterLen(tail []byte) (int, error) {
	if len(tail) < TrailerSize {
		return 0, corruptf("object shorter than the %d-byte trailer", TrailerSize)
	}
	tr := tail[len(tail)-TrailerSize:]
	if string(tr[4:]) != TrailerMagic {
		return 0, corruptf("bad trailer magic %q", tr[4:])
	}
	f := binary.LittleEndian.Uint32(tr)
	if f < MinFooterSize || (f-MinFooterSize)%BlockSumSize != 0 {
		return 0, corruptf("bad footer length %d", f)
	}
	return int(f), nil
}

// ParseFooter decodes and verifies the footer at the end of tail, which may be the whole
// shard object or any suffix of it. A reader that does not know F reads a suffix of a few
// KiB (a 16 MiB shard with 1 MiB blocks has F = 368); if that was too short, ParseFooter
// returns an error wrapping ErrShortTail and FooterLen(tail) gives the exact F to read.
// Any inconsistency returns an error wrapping ErrCorrupt.
func ParseFooter(tail []byte) (*ShardInfo, error) {
	f, err := FooterLen(tail)
	if err != nil {
		return nil, err
	}
	if f > len(tail) {
		return nil, fmt.Errorf("%w: need %d bytes, have %d", ErrShortTail, f, len(tail))
	}
	b := tail[len(tail)-f:]
	sumAt := f - TrailerSize - footerSumSize
	if string(b[:8]) != FooterMagic {
		return nil, corruptf("bad footer magic %q", b[:8])
	}
	if want := blake3.Sum256(b[:sumAt]); !bytes.Equal(want[:], b[sumAt:sumAt+footerSumSize]) {
		return nil, corruptf("footer checksum mismatch")
	}
	le := binary.LittleEndian
	if v := le.Uint16(b[8:]); v != FormatVersion {
		return nil, corruptf("unsupported footer version %d", v)
	}
	s := &ShardInfo{
		Layout: Layout{Data: int(le.Uint16(b[10:])), Parity: int(le.Uint16(b[12:]))},
		Index:  int(le.Uint16(b[14:])),
	}
	bs := le.Uint32(b[16:])
	reserved := le.Uint32(b[20:])
	packLen, shardSize := le.Uint64(b[24:]), le.Uint64(b[32:])
	copy(s.PackID[:], b[40:72])
	switch {
	case s.Layout.Validate() != nil:
		return nil, corruptf("footer layout %v", s.Layout)
	case s.Index >= s.Layout.Total():
		return nil, corruptf("shard index %d outside layout %v", s.Index, s.Layout)
	case bits.OnesCount32(bs) != 1 || bs < minBlockSize || bs > maxBlockSize:
		return nil, corruptf("bad block size %d", bs)
	case reserved != 0:
		return nil, corruptf("reserved field %#x set", reserved)
	case packLen > maxPackLen:
		return nil, corruptf("pack length %d too large", packLen)
	}
	s.BlockSize, s.PackLen, s.ShardSize = int64(bs), int64(packLen), int64(shardSize)
	if want := shardSizeFor(s.PackLen, s.Layout.Data); uint64(want) != shardSize {
		return nil, corruptf("shard size %d, want %d for a %d-byte pack split %d ways", shardSize, want, packLen, s.Layout.Data)
	}
	nb := numBlocks(s.ShardSize, s.BlockSize)
	if int64(sumAt-fixedFieldsSize) != nb*BlockSumSize {
		return nil, corruptf("footer length %d does not hold %d block checksums", f, nb)
	}
	s.BlockSums = make([][BlockSumSize]byte, nb)
	for i := range s.BlockSums {
		copy(s.BlockSums[i][:], b[fixedFieldsSize+i*BlockSumSize:])
	}
	return s, nil
}

// ParseShard decodes a whole shard object (payload || footer), verifies the footer and
// every payload block, and returns the footer and the payload (aliasing obj). Any failure
// wraps ErrCorrupt: the shard must then be treated as missing.
func ParseShard(obj []byte) (*ShardInfo, []byte, error) {
	info, err := ParseFooter(obj)
	if err != nil {
		if !isCorrupt(err) {
			err = corruptf("%v", err)
		}
		return nil, nil, err
	}
	if want := info.ObjectLen(); int64(len(obj)) != want {
		return nil, nil, corruptf("shard %d object is %d bytes, footer says %d", info.Index, len(obj), want)
	}
	payload := obj[:info.ShardSize:info.ShardSize]
	if err := info.VerifyRange(payload, 0); err != nil {
		return nil, nil, err
	}
	return info, payload, nil
}
