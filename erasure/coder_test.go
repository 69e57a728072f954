package erasure

import (
	"bytes"
	"errors"
	"fmt"
	"testing"
)

func TestLayoutValidate(t *testing.T) {
	tests := []struct {
		l  Layout
		ok bool
	}{
		{Layout{1, 0}, true},
		{Layout{4, 2}, true},
		{Layout{256, 0}, true},
		{Layout{128, 128}, true},
		{Layout{0, 1}, false},
		{Layout{-1, 2}, false},
		{Layout{2, -1}, false},
		{Layout{200, 57}, false},
		{Layout{1 << 62, 1 << 62}, false},
	}
	for _, tt := range tests {
		err := tt.l.Validate()
		if (err == nil) != tt.ok {
			t.Errorf("%v.Validate() = %v, want ok=%v", tt.l, err, tt.ok)
		}
		if err != nil && !errors.Is(err, ErrInvalidLayout) {
			t.Errorf("%v.Validate() = %v, want ErrInvalidLayout", tt.l, err)
		}
		if _, err := NewCoder(tt.l); (err == nil) != tt.ok {
			t.Errorf("NewCoder(%v) = %v, want ok=%v", tt.l, err, tt.ok)
		}
	}
}

func TestNewCoderOptions(t *testing.T) {
	bad := []Option{WithBlockSize(0), WithBlockSize(100), WithBlockSize(32), WithBlockSize(1 << 31), WithParallel(0), WithHedgeAfter(-1)}
	for i, o := range bad {
		if _, err := NewCoder(Layout{2, 1}, o); err == nil {
			t.Errorf("bad option %d accepted", i)
		}
	}
}

var roundTripLayouts = []Layout{{1, 0}, {2, 1}, {4, 2}, {8, 4}, {3, 0}, {5, 3}, {17, 3}}

var roundTripSizes = []int{0, 1, 63, 64, 65, 1<<20 + 3, 16 << 20}

func TestRoundTrip(t *testing.T) {
	packs := map[int][]byte{}
	for _, n := range roundTripSizes {
		packs[n] = testPack(n, uint64(n))
	}
	for _, l := range roundTripLayouts {
		c := mustCoder(t, l)
		for _, n := range roundTripSizes {
			t.Run(fmt.Sprintf("%v/%d", l, n), func(t *testing.T) {
				pack, id := packs[n], testID(uint64(n))
				objs := mustEncode(t, c, id, pack)
				if len(objs) != l.Total() {
					t.Fatalf("got %d shards, want %d", len(objs), l.Total())
				}
				s := c.ShardSize(int64(n))
				if s%ShardAlign != 0 || s*int64(l.Data) < int64(n) || (n > 0 && s-ShardAlign >= (int64(n)+int64(l.Data)-1)/int64(l.Data)) {
					t.Fatalf("shard size %d wrong for %d bytes / %d", s, n, l.Data)
				}
				pl := make([][]byte, len(objs))
				for i, o := range objs {
					info, p, err := ParseShard(o)
					if err != nil {
						t.Fatalf("ParseShard(%d): %v", i, err)
					}
					if info.Index != i || info.Layout != l || info.PackLen != int64(n) || info.ShardSize != s ||
						!bytes.Equal(info.PackID[:], id) || int64(len(o)) != info.ObjectLen() {
						t.Fatalf("shard %d info %+v", i, info)
					}
					pl[i] = p
				}
				// Data shards are contiguous, zero-padded slices of the pack.
				for i := range l.Data {
					lo := min(int64(i)*s, int64(n))
					hi := min(lo+s, int64(n))
					want := append(bytes.Clone(pack[lo:hi]), make([]byte, s-(hi-lo))...)
					if !bytes.Equal(pl[i], want) {
						t.Fatalf("data shard %d is not pack[%d:%d] padded", i, lo, hi)
					}
				}
				got, err := c.Join(pl, int64(n))
				if err != nil || !bytes.Equal(got, pack) {
					t.Fatalf("Join: err %v, equal %v", err, bytes.Equal(got, pack))
				}
				// EncodeSplit produces the same objects.
				ps, fs, err := c.EncodeSplit(id, pack)
				if err != nil {
					t.Fatal(err)
				}
				for i := range objs {
					if !bytes.Equal(append(bytes.Clone(ps[i]), fs[i]...), objs[i]) {
						t.Fatalf("EncodeSplit shard %d differs from Encode", i)
					}
				}
				// So does EncodeSplitBuf with dirty buffers, taking from buf exactly the
				// payloads that do not alias the pack.
				var bufs [][]byte
				ps, fs, err = c.EncodeSplitBuf(id, pack, func(n int64) []byte {
					b := bytes.Repeat([]byte{0xa5}, int(n))
					bufs = append(bufs, b)
					return b
				})
				if err != nil {
					t.Fatal(err)
				}
				fromBuf := 0
				for i := range objs {
					if !bytes.Equal(append(bytes.Clone(ps[i]), fs[i]...), objs[i]) {
						t.Fatalf("EncodeSplitBuf shard %d differs from Encode", i)
					}
					aliased := s > 0 && len(pack) > 0 && &ps[i][0] == &pack[min(int64(i)*s, int64(len(pack)-1))]
					if i < l.Data && aliased {
						continue
					}
					if s > 0 && (fromBuf >= len(bufs) || &ps[i][0] != &bufs[fromBuf][0]) {
						t.Fatalf("EncodeSplitBuf payload %d neither aliases the pack nor is the next buffer", i)
					}
					fromBuf++
				}
				if s > 0 && fromBuf != len(bufs) {
					t.Fatalf("EncodeSplitBuf took %d buffers, used %d", len(bufs), fromBuf)
				}
				// EncodeParts: the parts of each shard join to Encode's object, and only
				// parity payloads (or, for packs with a long padded tail, what
				// EncodeSplitBuf takes) come from buf.
				taken := 0
				parts, err := c.EncodeParts(id, pack, func(n int64) []byte {
					taken++
					return bytes.Repeat([]byte{0x5a}, int(n))
				})
				if err != nil {
					t.Fatal(err)
				}
				for i := range objs {
					if !bytes.Equal(bytes.Join(parts[i], nil), objs[i]) {
						t.Fatalf("EncodeParts shard %d differs from Encode", i)
					}
				}
				if s*int64(l.Data)-int64(n) <= 64<<10 && taken != l.Parity {
					t.Fatalf("EncodeParts took %d buffers, want %d (parity)", taken, l.Parity)
				}
			})
		}
	}
}

func TestEncodeBadPackID(t *testing.T) {
	c := mustCoder(t, Layout{2, 1})
	for _, id := range [][]byte{nil, make([]byte, 31), make([]byte, 33)} {
		if _, err := c.Encode(id, []byte("x")); err == nil {
			t.Errorf("Encode accepted a %d-byte pack ID", len(id))
		}
		if _, _, err := c.EncodeSplit(id, []byte("x")); err == nil {
			t.Errorf("EncodeSplit accepted a %d-byte pack ID", len(id))
		}
	}
}

func TestEncodeSplitBufWrongLength(t *testing.T) {
	c := mustCoder(t, Layout{2, 1})
	for _, d := range []int64{-1, 1} {
		_, _, err := c.EncodeSplitBuf(testID(1), []byte("xyz"), func(n int64) []byte { return make([]byte, n+d) })
		if err == nil {
			t.Errorf("EncodeSplitBuf accepted a buffer %d bytes off", d)
		}
	}
}

// TestReconstructCombinations: every set of up to m missing shards reconstructs; m+1
// missing gives ErrTooFewShards.
func TestReconstructCombinations(t *testing.T) {
	for _, l := range []Layout{{1, 0}, {2, 1}, {4, 2}, {8, 4}, {3, 3}} {
		c := mustCoder(t, l, WithBlockSize(4096))
		pack := testPack(100_003, 7)
		want := payloads(t, mustEncode(t, c, testID(7), pack))
		for r := 0; r <= l.Parity+1; r++ {
			tried := 0
			subsets(l.Total(), r, func(missing []int) {
				if r > l.Parity && tried >= 25 {
					return
				}
				tried++
				shards := cloneShards(want)
				for _, i := range missing {
					shards[i] = nil
				}
				err := c.Reconstruct(shards)
				if r > l.Parity {
					var tf *TooFewShardsError
					if !errors.Is(err, ErrTooFewShards) || !errors.As(err, &tf) || len(tf.Failed) != r {
						t.Fatalf("%v missing %v: err %v, want ErrTooFewShards naming %d", l, missing, err, r)
					}
					return
				}
				if err != nil {
					t.Fatalf("%v missing %v: %v", l, missing, err)
				}
				for i := range want {
					if !bytes.Equal(shards[i], want[i]) {
						t.Fatalf("%v missing %v: shard %d wrong", l, missing, i)
					}
				}
				if got, err := c.Join(shards, int64(len(pack))); err != nil || !bytes.Equal(got, pack) {
					t.Fatalf("%v missing %v: Join err %v", l, missing, err)
				}
			})
		}
	}
}

func TestReconstructEmptyPack(t *testing.T) {
	c := mustCoder(t, Layout{2, 2})
	shards := payloads(t, mustEncode(t, c, testID(1), nil))
	shards[0], shards[3] = nil, nil
	if err := c.Reconstruct(shards); err != nil {
		t.Fatal(err)
	}
	for i, s := range shards {
		if s == nil || len(s) != 0 {
			t.Fatalf("shard %d = %v, want empty", i, s)
		}
	}
	shards[0], shards[1], shards[2] = nil, nil, nil
	if err := c.Reconstruct(shards); !errors.Is(err, ErrTooFewShards) {
		t.Fatalf("3 of 4 missing: %v", err)
	}
}

func TestReconstructBadInput(t *testing.T) {
	c := mustCoder(t, Layout{2, 1})
	if err := c.Reconstruct(make([][]byte, 2)); err == nil {
		t.Error("wrong shard count accepted")
	}
	if err := c.Reconstruct([][]byte{make([]byte, 64), make([]byte, 128), nil}); err == nil {
		t.Error("unequal shard sizes accepted")
	}
	if _, err := c.Join([][]byte{make([]byte, 64)}, 10); err == nil {
		t.Error("Join with too few shards accepted")
	}
	if _, err := c.Join([][]byte{make([]byte, 64), make([]byte, 64)}, -1); err == nil {
		t.Error("Join with negative length accepted")
	}
	if _, err := c.Join([][]byte{make([]byte, 64), make([]byte, 32)}, 100); err == nil {
		t.Error("Join with a short shard accepted")
	}
}

func TestPlacement(t *testing.T) {
	tests := []struct{ k, m, zones int }{
		{1, 0, 1}, {2, 1, 3}, {4, 2, 6}, {4, 2, 7}, {8, 4, 12}, {8, 4, 16}, {2, 1, 5},
	}
	const packs = 6000
	for _, tt := range tests {
		counts := make([]int, tt.zones)
		for p := range packs {
			id := testID(uint64(p))
			z := Placement(id, tt.k, tt.m, tt.zones)
			if len(z) != tt.k+tt.m {
				t.Fatalf("%+v: %d placements", tt, len(z))
			}
			seen := map[int]bool{}
			for i, zone := range z {
				if zone < 0 || zone >= tt.zones || seen[zone] {
					t.Fatalf("%+v pack %d: shard %d in zone %d (placement %v)", tt, p, i, zone, z)
				}
				seen[zone] = true
				counts[zone]++
			}
		}
		mean := float64(packs*(tt.k+tt.m)) / float64(tt.zones)
		for z, n := range counts {
			if d := float64(n) - mean; d > 0.05*mean || d < -0.05*mean {
				t.Errorf("%+v: zone %d holds %d shards, mean %.0f", tt, z, n, mean)
			}
		}
	}
	// Fewer zones than shards: at most ceil((k+m)/Z) per zone.
	for p := range 100 {
		counts := map[int]int{}
		for _, z := range Placement(testID(uint64(p)), 4, 2, 4) {
			counts[z]++
		}
		for z, n := range counts {
			if n > 2 {
				t.Fatalf("zone %d holds %d shards of one 4+2 pack over 4 zones", z, n)
			}
		}
	}
	if Placement(testID(1), 2, 1, 0) != nil || Placement(testID(1), 0, 0, 3) != nil {
		t.Error("Placement with no zones or no shards not nil")
	}
	// Deterministic and defined for short IDs.
	if got := Placement([]byte{0, 0, 0, 0, 0, 0, 0, 5}, 2, 1, 3); fmt.Sprint(got) != "[2 0 1]" {
		t.Errorf("Placement(r=5 mod 3) = %v, want [2 0 1]", got)
	}
	if got := Placement(nil, 2, 1, 3); fmt.Sprint(got) != "[0 1 2]" {
		t.Errorf("Placement(nil id) = %v", got)
	}
}

// TestEncodePartsSmallBlocks: with 64-byte blocks the padded tail and its block sums split
// across parts in every way; the objects must still equal Encode's.
func TestEncodePartsSmallBlocks(t *testing.T) {
	for _, l := range []Layout{{4, 2}, {3, 1}, {2, 0}} {
		c := mustCoder(t, l, WithBlockSize(64))
		for _, n := range []int{0, 5, 64*3 + 1, 64*4*5 + 63, 1000, 4099, 70_001} {
			pack, id := testPack(n, uint64(n)+7), testID(uint64(n))
			want := mustEncode(t, c, id, pack)
			objs, err := c.EncodeParts(id, pack, func(n int64) []byte { return bytes.Repeat([]byte{0xff}, int(n)) })
			if err != nil {
				t.Fatal(err)
			}
			for i := range want {
				if !bytes.Equal(bytes.Join(objs[i], nil), want[i]) {
					t.Fatalf("%v, %d bytes: shard %d differs from Encode", l, n, i)
				}
			}
		}
	}
}
