package zones

import (
	"bytes"
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/cairnbackup/cairn/erasure"
	"github.com/cairnbackup/cairn/repo/backend"
	"github.com/cairnbackup/cairn/repo/backend/backendtest"
	"github.com/cairnbackup/cairn/repo/backend/mem"
)

// newTest returns a zones backend over n fresh mem zones named z0..z(n-1). Zones are never
// marked down (DownFor < 0) and there is no time-based hedging, so tests are deterministic.
func newTest(t testing.TB, n, k, m int) (*Backend, []*mem.Backend) {
	t.Helper()
	var zs []ZoneBackend
	var mems []*mem.Backend
	for i := range n {
		mb := mem.New(fmt.Sprintf("z%d", i))
		mems = append(mems, mb)
		zs = append(zs, ZoneBackend{Name: fmt.Sprintf("z%d", i), Backend: mb})
	}
	b, err := New(zs, erasure.Layout{Data: k, Parity: m}, Options{DownFor: -1, HedgeAfter: -1, BlockSize: 4096})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { b.Close() })
	return b, mems
}

func TestConformance(t *testing.T) {
	for _, l := range []struct{ n, k, m int }{{6, 4, 2}, {1, 1, 0}, {4, 2, 1}, {3, 3, 0}} {
		t.Run(fmt.Sprintf("%d+%d/%d", l.k, l.m, l.n), func(t *testing.T) {
			backendtest.Run(t, func(t *testing.T) backend.Backend {
				b, _ := newTest(t, l.n, l.k, l.m)
				return b
			})
		})
	}
}

func unavailable(mb *mem.Backend, ops ...mem.Op) {
	for _, op := range ops {
		mb.AddFault(op, &mem.Fault{Err: backend.ErrUnavailable})
	}
}

var allOps = []mem.Op{mem.OpSave, mem.OpSaveNew, mem.OpLoad, mem.OpStat, mem.OpList, mem.OpRemove}

func packHandle(t testing.TB) backend.Handle {
	return backend.Handle{Type: backend.Pack, Name: backendtest.RandomName(t)}
}

// savePack saves a new pack of n random bytes to b and returns its handle and content.
func savePack(t testing.TB, b *Backend, n int) (backend.Handle, []byte) {
	t.Helper()
	h := packHandle(t)
	data := backendtest.RandomData(t, n)
	if err := b.Save(t.Context(), h, data); err != nil {
		t.Fatal(err)
	}
	return h, data
}

func TestZonesDownAtRead(t *testing.T) {
	b, mems := newTest(t, 6, 4, 2)
	h := packHandle(t)
	data := backendtest.RandomData(t, 100_003)
	meta := backend.Handle{Type: backend.Index, Name: backendtest.RandomName(t)}
	if err := b.Save(t.Context(), h, data); err != nil {
		t.Fatal(err)
	}
	if err := b.Save(t.Context(), meta, []byte("index")); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name    string
		down    []int
		wantErr error
	}{
		{"healthy", nil, nil},
		{"one down", []int{0}, nil},
		{"two down", []int{1, 4}, nil},
		{"three down", []int{0, 2, 5}, backend.ErrUnavailable},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			for _, i := range tc.down {
				unavailable(mems[i], allOps...)
			}
			defer func() {
				for _, mb := range mems {
					mb.ClearFaults()
				}
			}()
			b.readers = newReaderCache(0) // forget shards failed by earlier cases
			for _, r := range [][2]int64{{0, 0}, {5, 10}, {30_000, 40_000}, {100_000, 3}} {
				got, err := b.Load(t.Context(), h, r[0], r[1])
				if tc.wantErr != nil {
					// Ranges whose data shard is up still read; the whole pack needs
					// every data shard or a reconstruction.
					if r == [2]int64{0, 0} && !errors.Is(err, tc.wantErr) {
						t.Fatalf("Load%v: %v, want %v", r, err, tc.wantErr)
					}
					continue
				}
				end := int64(len(data))
				if r[1] > 0 {
					end = r[0] + r[1]
				}
				if err != nil || !bytes.Equal(got, data[r[0]:end]) {
					t.Fatalf("Load%v: %d bytes, %v", r, len(got), err)
				}
			}
			got, err := b.Load(t.Context(), meta, 0, 0)
			if len(tc.down) < 6 && (err != nil || string(got) != "index") {
				t.Fatalf("Load(meta): %q, %v", got, err)
			}
		})
	}
}

func TestSaveDegradedThenHeal(t *testing.T) {
	b, mems := newTest(t, 6, 4, 2)
	ctx := t.Context()
	unavailable(mems[2], allOps...)
	h := packHandle(t)
	data := backendtest.RandomData(t, 50_000)
	if err := b.Save(ctx, h, data); err != nil {
		t.Fatalf("quorate Save: %v", err)
	}
	snap := backend.Handle{Type: backend.Snapshot, Name: backendtest.RandomName(t)}
	if err := b.Save(ctx, snap, []byte("snap")); err != nil {
		t.Fatalf("quorate metadata Save: %v", err)
	}
	if got, err := b.Load(ctx, h, 0, 0); err != nil || !bytes.Equal(got, data) {
		t.Fatalf("Load of a degraded pack: %v", err)
	}
	mems[2].ClearFaults()
	recs, err := b.Records(ctx)
	if err != nil || len(recs) != 2 {
		t.Fatalf("Records = %v, %v; want 2 (pack and snapshot)", recs, err)
	}
	rep, err := b.CheckShards(ctx, ScanOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if rep.Healthy() || rep.MissingShards != 1 || rep.MissingCopies != 1 || rep.Zones[2].MissingShards != 1 {
		t.Fatalf("CheckShards: healthy=%v missing shards %d copies %d; zones %+v", rep.Healthy(), rep.MissingShards, rep.MissingCopies, rep.Zones)
	}
	hr, err := b.Heal(ctx, HealOptions{})
	if err != nil || !hr.Healed() || hr.ShardsRebuilt != 1 || hr.CopiesRestored != 1 || hr.RecordsCleared != 2 {
		t.Fatalf("Heal = %+v, %v", hr, err)
	}
	rep, err = b.CheckShards(ctx, ScanOptions{Verify: true})
	if err != nil || !rep.Healthy() || rep.Records != 0 {
		t.Fatalf("after Heal: %+v, %v", rep, err)
	}
	// Every zone now serves its shard: two other zones down still leaves k.
	unavailable(mems[0], allOps...)
	unavailable(mems[5], allOps...)
	b.readers = newReaderCache(0)
	if got, err := b.Load(ctx, h, 0, 0); err != nil || !bytes.Equal(got, data) {
		t.Fatalf("Load after heal with two other zones down: %v", err)
	}
}

func TestSaveBelowQuorum(t *testing.T) {
	tests := []struct {
		name string
		down []int
		n    int
		k, m int
	}{
		{"4+2 two down", []int{1, 3}, 6, 4, 2},
		{"2+0 one down", []int{0}, 2, 2, 0},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			b, mems := newTest(t, tc.n, tc.k, tc.m)
			for _, i := range tc.down {
				unavailable(mems[i], mem.OpSave)
			}
			err := b.Save(t.Context(), packHandle(t), backendtest.RandomData(t, 10_000))
			if !errors.Is(err, backend.ErrUnavailable) {
				t.Fatalf("Save below quorum: %v, want ErrUnavailable", err)
			}
			for _, i := range tc.down {
				if !strings.Contains(err.Error(), fmt.Sprintf("z%d", i)) {
					t.Errorf("error does not name zone z%d: %v", i, err)
				}
			}
			for i, mb := range mems {
				if mb.Len() != 0 {
					t.Errorf("zone %d keeps %d objects after a failed write", i, mb.Len())
				}
			}
		})
	}
}

func TestCorruptShard(t *testing.T) {
	b, mems := newTest(t, 6, 4, 2)
	ctx := t.Context()
	h := packHandle(t)
	data := backendtest.RandomData(t, 40_000)
	if err := b.Save(ctx, h, data); err != nil {
		t.Fatal(err)
	}
	src := b.source(h.Name)
	// Flip a byte in data shard 0 (the one every read of the first bytes uses).
	sh := src.handle(0)
	zm := mems[src.place[0]]
	obj, _ := zm.Get(sh)
	obj[10] ^= 0xff
	zm.Put(sh, obj)
	if got, err := b.Load(ctx, h, 0, 100); err != nil || !bytes.Equal(got, data[:100]) {
		t.Fatalf("Load over a corrupt shard: %v", err)
	}
	rep, err := b.CheckShards(ctx, ScanOptions{})
	if err != nil || !rep.Healthy() {
		t.Fatalf("listing-only check should not see corruption: %+v, %v", rep, err)
	}
	rep, err = b.CheckShards(ctx, ScanOptions{Verify: true})
	if err != nil || rep.CorruptShards != 1 || len(rep.Damaged) != 1 || rep.Damaged[0].Corrupt[0].Index != 0 {
		t.Fatalf("verify: %+v, %v", rep, err)
	}
	hr, err := b.Heal(ctx, HealOptions{Verify: true})
	if err != nil || hr.ShardsRebuilt != 1 || !hr.Healed() {
		t.Fatalf("Heal: %+v, %v", hr, err)
	}
	if fixed, _ := zm.Get(sh); !bytes.Equal(fixed[:100], data[:100]) {
		t.Fatal("healed shard 0 does not hold the pack's first bytes")
	}
}

func TestMetaCorruptCopyFallsBack(t *testing.T) {
	b, mems := newTest(t, 3, 2, 1)
	ctx := t.Context()
	h := backend.Handle{Type: backend.Key, Name: backendtest.RandomName(t)}
	if err := b.Save(ctx, h, []byte("key slot")); err != nil {
		t.Fatal(err)
	}
	raw, _ := mems[0].Get(h)
	raw[0] ^= 1
	mems[0].Put(h, raw)
	got, err := b.Load(ctx, h, 0, 0)
	if err != nil || string(got) != "key slot" {
		t.Fatalf("Load with a corrupt first copy: %q, %v", got, err)
	}
	for _, mb := range mems[1:] {
		mb.Put(h, raw)
	}
	if _, err := b.Load(ctx, h, 0, 0); !errors.Is(err, ErrCorruptCopy) {
		t.Fatalf("Load with only corrupt copies: %v, want ErrCorruptCopy", err)
	}
}

func TestSaveNewRollsBack(t *testing.T) {
	b, mems := newTest(t, 3, 1, 1)
	ctx := t.Context()
	h := backend.Handle{Type: backend.Lock, Name: backendtest.RandomName(t)}
	mems[2].Put(h, SealCopy(h, []byte("other")))
	if err := b.SaveNew(ctx, h, []byte("mine")); !errors.Is(err, backend.ErrExists) {
		t.Fatalf("SaveNew with a copy in the last zone: %v, want ErrExists", err)
	}
	for i, mb := range mems[:2] {
		if _, ok := mb.Get(h); ok {
			t.Errorf("zone %d keeps the rolled-back copy", i)
		}
	}
}

func TestRemoveWithZoneDown(t *testing.T) {
	b, mems := newTest(t, 6, 4, 2)
	ctx := t.Context()
	h := packHandle(t)
	idx := backend.Handle{Type: backend.Index, Name: backendtest.RandomName(t)}
	if err := b.Save(ctx, h, backendtest.RandomData(t, 9000)); err != nil {
		t.Fatal(err)
	}
	if err := b.Save(ctx, idx, []byte("i")); err != nil {
		t.Fatal(err)
	}
	unavailable(mems[1], mem.OpRemove)
	if err := b.Remove(ctx, h); err != nil {
		t.Fatalf("Remove with one zone down: %v", err)
	}
	if err := b.Remove(ctx, idx); err != nil {
		t.Fatalf("Remove(meta) with one zone down: %v", err)
	}
	mems[1].ClearFaults()
	hr, err := b.Heal(ctx, HealOptions{})
	if err != nil || !hr.Healed() || hr.LeftoversRemove != 2 || hr.CopiesRestored != 0 {
		t.Fatalf("Heal: %+v, %v", hr, err)
	}
	for i, mb := range mems {
		if mb.Len() != 0 {
			t.Errorf("zone %d keeps %d objects after heal", i, mb.Len())
		}
	}
}

func TestParseShardName(t *testing.T) {
	tests := []struct {
		in   string
		pack string
		idx  int
		ok   bool
	}{
		{"abc.s0", "abc", 0, true},
		{"abc.s12", "abc", 12, true},
		{"a.s1.s255", "a.s1", 255, true},
		{"abc.s256", "", 0, false},
		{"abc.s01", "", 0, false},
		{"abc.s", "", 0, false},
		{".s1", "", 0, false},
		{"abc", "", 0, false},
		{"abc.s-1", "", 0, false},
		{"zones-degraded.00", "", 0, false},
	}
	for _, tc := range tests {
		pack, idx, ok := ParseShardName(tc.in)
		if pack != tc.pack || idx != tc.idx || ok != tc.ok {
			t.Errorf("ParseShardName(%q) = %q, %d, %v; want %q, %d, %v", tc.in, pack, idx, ok, tc.pack, tc.idx, tc.ok)
		}
		if ok && ShardName(pack, idx) != tc.in {
			t.Errorf("ShardName does not round-trip %q", tc.in)
		}
	}
}

func BenchmarkSaveLoad4x2(b *testing.B) {
	be, _ := newTest(b, 6, 4, 2)
	data := backendtest.RandomData(b, 16<<20)
	h := packHandle(b)
	b.SetBytes(int64(len(data)))
	for b.Loop() {
		if err := be.Save(b.Context(), h, data); err != nil {
			b.Fatal(err)
		}
		if _, err := be.Load(b.Context(), h, 0, 0); err != nil {
			b.Fatal(err)
		}
	}
}
