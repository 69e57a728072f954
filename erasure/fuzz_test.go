package erasure

import (
	"bytes"
	"errors"
	"testing"
)

// fuzzSeeds returns valid shard objects of a few small layouts.
func fuzzSeeds(t testing.TB) [][]byte {
	var out [][]byte
	for _, tt := range []struct {
		l      Layout
		n, bs  int
		shards []int
	}{
		{Layout{2, 1}, 65, 64, []int{0, 2}},
		{Layout{1, 0}, 0, 64, []int{0}},
		{Layout{3, 2}, 300, 128, []int{1, 4}},
	} {
		c := mustCoder(t, tt.l, WithBlockSize(tt.bs))
		objs := mustEncode(t, c, testID(uint64(tt.n)), testPack(tt.n, uint64(tt.n)))
		for _, i := range tt.shards {
			out = append(out, objs[i])
		}
	}
	return out
}

func FuzzParseShard(f *testing.F) {
	for _, s := range fuzzSeeds(f) {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, obj []byte) {
		info, payload, err := ParseShard(obj)
		if err != nil {
			if !errors.Is(err, ErrCorrupt) {
				t.Fatalf("error not ErrCorrupt: %v", err)
			}
			return
		}
		if int64(len(payload)) != info.ShardSize || int64(len(obj)) != info.ObjectLen() {
			t.Fatalf("payload %d, object %d for %+v", len(payload), len(obj), info)
		}
		if footer := info.appendFooter(nil); !bytes.Equal(footer, obj[info.ShardSize:]) {
			t.Fatal("accepted footer does not re-encode to itself")
		}
		if err := info.VerifyRange(payload, 0); err != nil {
			t.Fatalf("accepted payload does not verify: %v", err)
		}
		if fi, err := ParseFooter(obj); err != nil || fi.Index != info.Index || fi.PackLen != info.PackLen {
			t.Fatalf("ParseFooter disagrees: %v", err)
		}
	})
}

func FuzzParseFooter(f *testing.F) {
	for _, s := range fuzzSeeds(f) {
		f.Add(s)
		f.Add(s[len(s)-MinFooterSize:])
	}
	f.Fuzz(func(t *testing.T, tail []byte) {
		info, err := ParseFooter(tail)
		if err != nil {
			if !errors.Is(err, ErrCorrupt) && !errors.Is(err, ErrShortTail) {
				t.Fatalf("error neither ErrCorrupt nor ErrShortTail: %v", err)
			}
			if errors.Is(err, ErrShortTail) {
				if n, err := FooterLen(tail); err != nil || n <= len(tail) {
					t.Fatalf("short tail but FooterLen = %d, %v", n, err)
				}
			}
			return
		}
		n, err := FooterLen(tail)
		if err != nil || n != info.FooterLen() || n > len(tail) {
			t.Fatalf("FooterLen = %d, %v; info says %d", n, err, info.FooterLen())
		}
		if footer := info.appendFooter(nil); !bytes.Equal(footer, tail[len(tail)-n:]) {
			t.Fatal("accepted footer does not re-encode to itself")
		}
		if info.Layout.Validate() != nil || info.Index >= info.Layout.Total() ||
			info.ShardSize != shardSizeFor(info.PackLen, info.Layout.Data) {
			t.Fatalf("inconsistent footer accepted: %+v", info)
		}
	})
}
