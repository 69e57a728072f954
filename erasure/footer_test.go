package erasure

import (
	"bytes"
	"encoding/binary"
	"errors"
	"testing"

	"github.com/zeebo/blake3"
)

// TestCorruptEveryByte flips each byte of small shard objects: every flip must be caught.
func TestCorruptEveryByte(t *testing.T) {
	for _, tt := range []struct {
		l  Layout
		n  int
		bs int
	}{{Layout{2, 1}, 65, 64}, {Layout{1, 0}, 0, 64}, {Layout{2, 1}, 300, 128}} {
		c := mustCoder(t, tt.l, WithBlockSize(tt.bs))
		objs := mustEncode(t, c, testID(3), testPack(tt.n, 3))
		for si, obj := range objs {
			for i := range obj {
				for _, bit := range []byte{0x01, 0x80} {
					o := bytes.Clone(obj)
					o[i] ^= bit
					if _, _, err := ParseShard(o); !errors.Is(err, ErrCorrupt) {
						t.Fatalf("%v n=%d shard %d: flip %#x at %d/%d: err %v, want ErrCorrupt", tt.l, tt.n, si, bit, i, len(o), err)
					}
				}
			}
			// Truncated or extended objects are corrupt too.
			for _, o := range [][]byte{obj[:len(obj)-1], obj[1:], append(bytes.Clone(obj), 0), append([]byte{0}, obj...), nil} {
				if _, _, err := ParseShard(o); !errors.Is(err, ErrCorrupt) {
					t.Fatalf("%v shard %d: resized object (%d bytes) err %v", tt.l, si, len(o), err)
				}
			}
		}
	}
}

// TestFooterFieldsChecked: footers with a valid checksum but inconsistent fields are corrupt.
func TestFooterFieldsChecked(t *testing.T) {
	c := mustCoder(t, Layout{2, 1}, WithBlockSize(64))
	obj := mustEncode(t, c, testID(4), testPack(200, 4))[0]
	info, _, err := ParseShard(obj)
	if err != nil {
		t.Fatal(err)
	}
	footer := obj[info.ShardSize:]
	resign := func(f []byte) []byte {
		f = bytes.Clone(f)
		at := len(f) - TrailerSize - footerSumSize
		copy(f[at:], blake3Sum(f[:at]))
		return f
	}
	le := binary.LittleEndian
	tests := map[string]func(f []byte){
		"version":    func(f []byte) { le.PutUint16(f[8:], 2) },
		"k zero":     func(f []byte) { le.PutUint16(f[10:], 0) },
		"k+m>256":    func(f []byte) { le.PutUint16(f[12:], 300) },
		"index":      func(f []byte) { le.PutUint16(f[14:], 3) },
		"block size": func(f []byte) { le.PutUint32(f[16:], 96) },
		"reserved":   func(f []byte) { le.PutUint32(f[20:], 1) },
		"pack len":   func(f []byte) { le.PutUint64(f[24:], 1000) },
		"huge len":   func(f []byte) { le.PutUint64(f[24:], 1<<63) },
		"shard size": func(f []byte) { le.PutUint64(f[32:], 192) },
		"blocks":     func(f []byte) { le.PutUint32(f[16:], 128) },
	}
	for name, mutate := range tests {
		f := bytes.Clone(footer)
		mutate(f)
		if _, err := ParseFooter(resign(f)); !errors.Is(err, ErrCorrupt) {
			t.Errorf("%s: err %v, want ErrCorrupt", name, err)
		}
	}
	if _, err := ParseFooter(resign(footer)); err != nil {
		t.Fatalf("resigned unmodified footer: %v", err)
	}
}

func TestParseFooterTail(t *testing.T) {
	c := mustCoder(t, Layout{3, 2}, WithBlockSize(1024))
	obj := mustEncode(t, c, testID(5), testPack(50_000, 5))[4]
	info, payload, err := ParseShard(obj)
	if err != nil {
		t.Fatal(err)
	}
	f := info.FooterLen()
	if f != 112+16*int(numBlocks(info.ShardSize, 1024)) {
		t.Fatalf("footer length %d", f)
	}
	for _, n := range []int{f, f + 1, f + 500, len(obj)} {
		got, err := ParseFooter(obj[len(obj)-n:])
		if err != nil {
			t.Fatalf("tail %d: %v", n, err)
		}
		if got.Index != 4 || got.PackLen != 50_000 || len(got.BlockSums) != len(info.BlockSums) {
			t.Fatalf("tail %d: %+v", n, got)
		}
	}
	for _, n := range []int{TrailerSize, f - 1, 200} {
		_, err := ParseFooter(obj[len(obj)-n:])
		if !errors.Is(err, ErrShortTail) {
			t.Fatalf("tail %d: err %v, want ErrShortTail", n, err)
		}
		if got, err := FooterLen(obj[len(obj)-n:]); err != nil || got != f {
			t.Fatalf("FooterLen(tail %d) = %d, %v; want %d", n, got, err, f)
		}
	}
	if _, err := FooterLen(obj[len(obj)-TrailerSize+1:]); !errors.Is(err, ErrCorrupt) {
		t.Fatalf("FooterLen of 7 bytes: %v", err)
	}

	// VerifyRange over aligned sub-ranges; misaligned ranges are refused.
	for _, r := range [][2]int64{{0, 10}, {1000, 30}, {1023, 2}, {0, info.ShardSize}, {info.ShardSize - 1, 1}} {
		start, end := info.BlockAlign(r[0], r[1])
		if start > r[0] || end < r[0]+r[1] || start%1024 != 0 || (end%1024 != 0 && end != info.ShardSize) {
			t.Fatalf("BlockAlign(%v) = [%d, %d)", r, start, end)
		}
		if err := info.VerifyRange(payload[start:end], start); err != nil {
			t.Fatalf("VerifyRange [%d, %d): %v", start, end, err)
		}
		bad := bytes.Clone(payload[start:end])
		bad[len(bad)-1] ^= 1
		if err := info.VerifyRange(bad, start); !errors.Is(err, ErrCorrupt) {
			t.Fatalf("VerifyRange of corrupt [%d, %d): %v", start, end, err)
		}
	}
	for _, r := range [][2]int64{{1, 1023}, {0, 1000}, {-1024, 1024}, {info.ShardSize, 64}} {
		var data []byte
		if r[0] >= 0 && r[0]+r[1] <= int64(len(payload)) {
			data = payload[r[0] : r[0]+r[1]]
		} else {
			data = make([]byte, r[1])
		}
		if err := info.VerifyRange(data, r[0]); err == nil || errors.Is(err, ErrCorrupt) {
			t.Fatalf("VerifyRange(%v) = %v, want a misalignment error", r, err)
		}
	}
}

func blake3Sum(b []byte) []byte {
	s := blake3.Sum256(b)
	return s[:]
}
