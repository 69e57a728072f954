package zones

import (
	"bytes"
	"errors"
	"fmt"
	"runtime"
	"testing"

	"github.com/cairnbackup/cairn/erasure"
	"github.com/cairnbackup/cairn/repo/backend"
	"github.com/cairnbackup/cairn/repo/backend/backendtest"
	"github.com/cairnbackup/cairn/repo/backend/mem"
)

var _ backendtest.LoaderInto = (*Backend)(nil)

func TestLoadInto(t *testing.T) {
	for _, l := range []struct{ n, k, m int }{{6, 4, 2}, {1, 1, 0}, {4, 2, 1}} {
		t.Run(fmt.Sprintf("%d+%d/%d", l.k, l.m, l.n), func(t *testing.T) {
			b, _ := newTest(t, l.n, l.k, l.m)
			backendtest.RunLoadInto(t, b)
			meta := backend.Handle{Type: backend.Index, Name: backendtest.RandomName(t)}
			if err := b.Save(t.Context(), meta, []byte("0123456789")); err != nil {
				t.Fatal(err)
			}
			dst := make([]byte, 4)
			if err := b.LoadInto(t.Context(), meta, 3, dst); err != nil || string(dst) != "3456" {
				t.Fatalf("LoadInto(meta) = %q, %v", dst, err)
			}
			if err := b.LoadInto(t.Context(), meta, 8, dst); err == nil {
				t.Fatal("LoadInto(meta) past the end succeeded")
			}
		})
	}
}

// TestLoadIntoDegraded: with zones down or a shard corrupt, LoadInto into a reused,
// dirty buffer returns what Load returns, bytes and error alike (both from a fresh
// reader, so neither is served by the other's cached blocks).
func TestLoadIntoDegraded(t *testing.T) {
	b, mems := newTest(t, 6, 4, 2)
	h, data := savePack(t, b, 100_003)
	src := b.source(h.Name)
	tests := []struct {
		name    string
		down    []int // shard indexes whose zone is down
		corrupt []int // shard indexes with a flipped payload byte
		wantErr error // for ranges touching a lost data shard
	}{
		{name: "healthy"},
		{name: "two down", down: []int{0, 2}},
		{name: "data and parity down", down: []int{1, 5}},
		{name: "one down, one corrupt", down: []int{3}, corrupt: []int{0}},
		{name: "three down", down: []int{0, 1, 4}, wantErr: backend.ErrUnavailable},
	}
	buf := make([]byte, len(data))
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			for _, i := range tc.down {
				unavailable(mems[src.place[i]], allOps...)
			}
			for _, i := range tc.corrupt {
				zm, sh := mems[src.place[i]], src.handle(i)
				obj, _ := zm.Get(sh)
				orig := bytes.Clone(obj)
				obj[10] ^= 0xff
				zm.Put(sh, obj)
				defer zm.Put(sh, orig)
			}
			defer func() {
				for _, mb := range mems {
					mb.ClearFaults()
				}
			}()
			failed := 0
			for _, r := range [][2]int64{{0, int64(len(data))}, {5, 10}, {30_000, 40_000}, {100_000, 3}, {100_003, 0}} {
				b.readers = newReaderCache(0)
				want, wantErr := b.Load(t.Context(), h, r[0], r[1])
				if r[1] == 0 {
					want = []byte{}
				}
				b.readers = newReaderCache(0)
				dst := buf[:r[1]]
				for i := range dst {
					dst[i] = 0xa5
				}
				err := b.LoadInto(t.Context(), h, r[0], dst)
				if (err == nil) != (wantErr == nil) {
					t.Fatalf("LoadInto%v: %v; Load: %v", r, err, wantErr)
				}
				if err != nil {
					if tc.wantErr == nil || !errors.Is(err, tc.wantErr) || !errors.Is(wantErr, tc.wantErr) {
						t.Fatalf("LoadInto%v: %v; Load: %v; want %v", r, err, wantErr, tc.wantErr)
					}
					failed++
					continue
				}
				if !bytes.Equal(dst, want) || !bytes.Equal(dst, data[r[0]:r[0]+r[1]]) {
					t.Fatalf("LoadInto%v: wrong bytes", r)
				}
			}
			if (failed > 0) != (tc.wantErr != nil) {
				t.Fatalf("%d reads failed, want failures: %v", failed, tc.wantErr != nil)
			}
		})
	}
}

// TestLoadIntoAllocation: reading a 1 MiB range of a pack whose blocks are cached, Load
// allocates the range and LoadInto nothing of its size.
func TestLoadIntoAllocation(t *testing.T) {
	// 1 MiB blocks and a range inside one of them: the block cache keeps that block (it
	// keeps only blocks a read used part of), so warm reads are served from it.
	var zs []ZoneBackend
	for i := range 6 {
		zs = append(zs, ZoneBackend{Name: fmt.Sprintf("z%d", i), Backend: mem.New(fmt.Sprintf("z%d", i))})
	}
	b, err := New(zs, erasure.Layout{Data: 4, Parity: 2}, Options{DownFor: -1, HedgeAfter: -1, BlockSize: 1 << 20})
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	h, data := savePack(t, b, 4<<20+12345)
	const off, n = 1<<20 + 4096, 1<<20 - 8192
	dst := make([]byte, n)
	perCall := func(load func() error) float64 {
		if err := load(); err != nil { // warm the reader and the block cache
			t.Fatal(err)
		}
		var ms0, ms1 runtime.MemStats
		runtime.ReadMemStats(&ms0)
		for range 8 {
			if err := load(); err != nil {
				t.Fatal(err)
			}
		}
		runtime.ReadMemStats(&ms1)
		return float64(ms1.TotalAlloc-ms0.TotalAlloc) / 8
	}
	load := perCall(func() error { _, err := b.Load(t.Context(), h, off, n); return err })
	into := perCall(func() error { return b.LoadInto(t.Context(), h, off, dst) })
	if !bytes.Equal(dst, data[off:off+n]) {
		t.Fatal("LoadInto: wrong bytes")
	}
	t.Logf("warm ~1 MiB read: Load %.0f B, LoadInto %.0f B allocated per call", load, into)
	if load < n || into > 64<<10 {
		t.Errorf("allocated per call: Load %.0f B (want >= %d), LoadInto %.0f B (want < 64 KiB)", load, n, into)
	}
}

// BenchmarkLoadPack4x2 reads 4 MiB runs (the restore's coalesced reads) of a 16 MiB pack
// 4+2 over mem zones with Load and with LoadInto into one reused buffer: warm (blocks in
// the block cache) and cold (a new pack reader per read, so every block is fetched from
// the zones and verified).
func BenchmarkLoadPack4x2(b *testing.B) {
	be, _ := newTest(b, 6, 4, 2)
	h, _ := savePack(b, be, 16<<20+12345)
	for _, cold := range []bool{false, true} {
		for _, into := range []bool{false, true} {
			name := map[bool]string{false: "warm", true: "cold"}[cold] + "/" + map[bool]string{false: "Load", true: "LoadInto"}[into]
			dropEvery := 0 // warm: blocks stay cached
			if cold {
				dropEvery = 1
			}
			b.Run(name, func(b *testing.B) { benchLoadRuns(b, be, h, into, dropEvery) })
		}
	}
}

// benchLoadRuns reads the first four 4 MiB runs of pack h in turn, with Load or LoadInto
// (into one reused buffer), dropping the pack's reader (and so its cached blocks) every
// dropEvery reads (0: never).
func benchLoadRuns(b *testing.B, be *Backend, h backend.Handle, into bool, dropEvery int) {
	const run = 4 << 20
	dst := make([]byte, run)
	b.SetBytes(run)
	b.ReportAllocs()
	for i := 0; b.Loop(); i++ {
		if dropEvery > 0 && i%dropEvery == 0 {
			be.readers.drop(h.Name)
		}
		off := int64(i%4) * run
		var err error
		if into {
			err = be.LoadInto(b.Context(), h, off, dst)
		} else {
			_, err = be.Load(b.Context(), h, off, run)
		}
		if err != nil {
			b.Fatal(err)
		}
	}
}

// noParts hides a zone store's LoadParts (and its other extensions).
type noParts struct{ backend.Backend }

// TestReadShardInto: a shard source fills parts with what ReadShard returns, through the
// zone store's LoadParts or, without it, a Load copied in; a missing shard is an error.
func TestReadShardInto(t *testing.T) {
	for _, parts := range []bool{true, false} {
		t.Run(fmt.Sprintf("LoadParts=%v", parts), func(t *testing.T) {
			var zs []ZoneBackend
			var mems []*mem.Backend
			for i := range 6 {
				mb := mem.New(fmt.Sprintf("z%d", i))
				mems = append(mems, mb)
				var be backend.Backend = mb
				if !parts {
					be = noParts{mb}
				}
				zs = append(zs, ZoneBackend{Name: fmt.Sprintf("z%d", i), Backend: be})
			}
			b, err := New(zs, erasure.Layout{Data: 4, Parity: 2}, Options{DownFor: -1, HedgeAfter: -1, BlockSize: 4096})
			if err != nil {
				t.Fatal(err)
			}
			h, _ := savePack(t, b, 100_003)
			src := b.source(h.Name)
			for i := range 6 {
				want, err := src.ReadShard(t.Context(), i, 100, 9000)
				if err != nil {
					t.Fatal(err)
				}
				got := [][]byte{make([]byte, 4000), nil, make([]byte, 5000)}
				if err := src.ReadShardInto(t.Context(), i, 100, got); err != nil {
					t.Fatalf("shard %d: %v", i, err)
				}
				if !bytes.Equal(bytes.Join(got, nil), want) {
					t.Fatalf("shard %d: parts differ from ReadShard", i)
				}
			}
			if err := mems[src.place[1]].Remove(t.Context(), src.handle(1)); err != nil {
				t.Fatal(err)
			}
			if err := src.ReadShardInto(t.Context(), 1, 0, [][]byte{make([]byte, 10)}); !errors.Is(err, backend.ErrNotFound) {
				t.Fatalf("missing shard: %v, want ErrNotFound", err)
			}
			if err := src.ReadShardInto(t.Context(), 9, 0, [][]byte{make([]byte, 10)}); err == nil {
				t.Fatal("shard index outside the layout accepted")
			}
		})
	}
}
