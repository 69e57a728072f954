package zones

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/cairnbackup/cairn/erasure"
	"github.com/cairnbackup/cairn/repo/backend"
	"github.com/cairnbackup/cairn/repo/backend/backendtest"
	"github.com/cairnbackup/cairn/repo/backend/mem"
)

// readerAtMem is a mem zone that also implements readerAtSaver, like s3.Backend: shard
// objects of SaveFile are read from the spool file by the zone itself. It reads r only
// while SaveReaderAt runs.
type readerAtMem struct {
	*mem.Backend
	calls atomic.Int64 // SaveReaderAt calls
}

func (z *readerAtMem) SaveReaderAt(ctx context.Context, h backend.Handle, r io.ReaderAt, size int64) error {
	z.calls.Add(1)
	data := make([]byte, size)
	if n, err := r.ReadAt(data, 0); int64(n) != size {
		return fmt.Errorf("readerAtMem: read %d of %d bytes: %w", n, size, err)
	}
	return z.Save(ctx, h, data) // through the mem faults
}

// fileTest is a zones backend over mem zones for SaveFile tests.
type fileTest struct {
	b    *Backend
	mems []*mem.Backend
	ras  []*readerAtMem // nil unless the zones are readerAtSavers
}

// newFileTest returns a backend k+m over n mem zones z0..z(n-1) (readerAtSavers when
// readerAt is set) with write quorum q (0: the default).
func newFileTest(t testing.TB, n, k, m, q int, readerAt bool) *fileTest {
	t.Helper()
	ft := &fileTest{}
	var zs []ZoneBackend
	for i := range n {
		mb := mem.New(fmt.Sprintf("z%d", i))
		ft.mems = append(ft.mems, mb)
		var be backend.Backend = mb
		if readerAt {
			ra := &readerAtMem{Backend: mb}
			ft.ras = append(ft.ras, ra)
			be = ra
		}
		zs = append(zs, ZoneBackend{Name: fmt.Sprintf("z%d", i), Backend: be})
	}
	ft.b = reopen(t, zs, k, m, q)
	return ft
}

// reopen returns a new backend over zs: no caches shared with an earlier one.
func reopen(t testing.TB, zs []ZoneBackend, k, m, q int) *Backend {
	t.Helper()
	b, err := New(zs, erasure.Layout{Data: k, Parity: m}, Options{DownFor: -1, HedgeAfter: -1, BlockSize: 4096, WriteQuorum: q})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { b.Close() })
	return b
}

func (ft *fileTest) zoneBackends() []ZoneBackend {
	var zs []ZoneBackend
	for i, mb := range ft.mems {
		zs = append(zs, ZoneBackend{Name: fmt.Sprintf("z%d", i), Backend: mb})
	}
	return zs
}

func (ft *fileTest) readerAtCalls() int64 {
	var n int64
	for _, ra := range ft.ras {
		n += ra.calls.Load()
	}
	return n
}

func (ft *fileTest) clearFaults() {
	for _, mb := range ft.mems {
		mb.ClearFaults()
	}
}

// objects returns the number of objects each zone holds.
func (ft *fileTest) objects() []int {
	out := make([]int, len(ft.mems))
	for i, mb := range ft.mems {
		out[i] = mb.Len()
	}
	return out
}

// shards returns the stored shard objects of pack name by shard index (nil: absent).
func (ft *fileTest) shards(name string) [][]byte {
	src := ft.b.source(name)
	out := make([][]byte, len(src.place))
	for i := range src.place {
		out[i], _ = ft.mems[src.place[i]].Get(src.handle(i))
	}
	return out
}

// spoolPack returns a file holding data followed by junk random bytes (which SaveFile must
// not take for part of the pack).
func spoolPack(t testing.TB, data []byte, junk int) *os.File {
	t.Helper()
	return backendtest.TempFile(t, data, backendtest.RandomData(t, junk))
}

// TestSaveFilePacks: a pack saved from a file reads back exactly, and every zone holds
// the very shard objects Save writes for the same name and bytes, whether the zones read
// the shards from the file themselves (readerAtSaver) or get them in a buffer.
func TestSaveFilePacks(t *testing.T) {
	sizes := []int{0, 1, 4095, 4096*4 + 1, 100_003, 3<<20 + 17, 4 << 20}
	for _, readerAt := range []bool{false, true} {
		for _, n := range sizes {
			t.Run(fmt.Sprintf("readerAt=%v/%d", readerAt, n), func(t *testing.T) {
				ft := newFileTest(t, 6, 4, 2, 0, readerAt)
				ref := newFileTest(t, 6, 4, 2, 0, false)
				h := packHandle(t)
				data := backendtest.RandomData(t, n)
				f := spoolPack(t, data, 1000)
				if err := ft.b.SaveFile(t.Context(), h, f, int64(n)); err != nil {
					t.Fatal(err)
				}
				if err := ref.b.Save(t.Context(), h, data); err != nil {
					t.Fatal(err)
				}
				if readerAt && ft.readerAtCalls() != 6 {
					t.Errorf("%d shards saved with SaveReaderAt, want 6", ft.readerAtCalls())
				}
				got, want := ft.shards(h.Name), ref.shards(h.Name)
				for i := range want {
					if want[i] == nil || !bytes.Equal(got[i], want[i]) {
						t.Errorf("shard %d: %d bytes, Save wrote %d; equal %v", i, len(got[i]), len(want[i]), bytes.Equal(got[i], want[i]))
					}
				}
				if o := ft.objects(); !slices.Equal(o, ref.objects()) {
					t.Errorf("objects per zone %v, Save leaves %v", o, ref.objects())
				}
				if prefix, err := os.ReadFile(f.Name()); err != nil || !bytes.Equal(prefix[:n], data) {
					t.Errorf("SaveFile changed the pack in the file: %v", err)
				}
				// Read back through the backend that saved it and a fresh one.
				for _, b := range []*Backend{ft.b, reopen(t, ft.zoneBackends(), 4, 2, 0)} {
					if size, err := b.Stat(t.Context(), h); err != nil || size != int64(n) {
						t.Fatalf("Stat = %d, %v; want %d", size, err, n)
					}
					if got, err := b.Load(t.Context(), h, 0, 0); err != nil || !bytes.Equal(got, data) {
						t.Fatalf("Load: %d bytes, %v", len(got), err)
					}
					dst := bytes.Repeat([]byte{0xaa}, n)
					if err := b.LoadInto(t.Context(), h, 0, dst); err != nil || !bytes.Equal(dst, data) {
						t.Fatalf("LoadInto: %v", err)
					}
				}
			})
		}
	}
}

// savedRecord is a degraded record without its time.
type savedRecord struct {
	op, typ, name string
	zones         []string
	shards        []int
}

func records(t *testing.T, b *Backend) []savedRecord {
	t.Helper()
	recs, err := b.Records(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	var out []savedRecord
	for _, r := range recs {
		out = append(out, savedRecord{r.Op, r.Type, r.Name, r.Zones, r.Shards})
	}
	return out
}

// TestSaveFileZonesDown: with zones failing, SaveFile ends like Save: the same error
// class, the same shards left (none below quorum) and the same degraded record.
func TestSaveFileZonesDown(t *testing.T) {
	tests := []struct {
		name    string
		quorum  int
		down    []int // zone indexes
		cause   error
		wantErr error // nil: the save succeeds
	}{
		{"one down", 0, []int{2}, backend.ErrUnavailable, nil},
		{"two down, quorum 4", 4, []int{0, 5}, backend.ErrUnavailable, nil},
		{"two down", 0, []int{1, 3}, backend.ErrUnavailable, backend.ErrUnavailable},
		{"three down, quorum 4", 4, []int{0, 2, 4}, backend.ErrUnavailable, backend.ErrUnavailable},
		{"two out of space", 0, []int{1, 4}, backend.ErrNoSpace, backend.ErrNoSpace},
		{"all down", 0, []int{0, 1, 2, 3, 4, 5}, backend.ErrUnavailable, backend.ErrUnavailable},
	}
	type outcome struct {
		err     error
		shards  [][]byte
		objects []int
		records []savedRecord
	}
	const size = 100_003
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			h := packHandle(t)
			data := backendtest.RandomData(t, size)
			run := func(t *testing.T, mode string) outcome {
				ft := newFileTest(t, 6, 4, 2, tc.quorum, mode == "SaveFile readerAt")
				for _, i := range tc.down {
					for _, op := range allOps {
						ft.mems[i].AddFault(op, &mem.Fault{Err: tc.cause})
					}
				}
				var err error
				if mode == "Save" {
					err = ft.b.Save(t.Context(), h, data)
				} else {
					err = ft.b.SaveFile(t.Context(), h, spoolPack(t, data, 0), size)
				}
				if err == nil {
					// Readable with the zones still down.
					if got, err := ft.b.Load(t.Context(), h, 0, 0); err != nil || !bytes.Equal(got, data) {
						t.Fatalf("%s: Load with zones down: %v", mode, err)
					}
				}
				ft.clearFaults()
				return outcome{err, ft.shards(h.Name), ft.objects(), records(t, ft.b)}
			}
			want := run(t, "Save")
			if (want.err == nil) != (tc.wantErr == nil) || (tc.wantErr != nil && !errors.Is(want.err, tc.wantErr)) {
				t.Fatalf("Save: %v, want %v (the test's expectation is off)", want.err, tc.wantErr)
			}
			for _, mode := range []string{"SaveFile", "SaveFile readerAt"} {
				got := run(t, mode)
				if tc.wantErr == nil && got.err != nil {
					t.Fatalf("%s: %v, want success", mode, got.err)
				}
				if tc.wantErr != nil {
					if !errors.Is(got.err, tc.wantErr) {
						t.Fatalf("%s: %v, want %v", mode, got.err, tc.wantErr)
					}
					for _, i := range tc.down {
						if !strings.Contains(got.err.Error(), fmt.Sprintf("z%d", i)) {
							t.Errorf("%s: error does not name zone z%d: %v", mode, i, got.err)
						}
					}
					if slices.ContainsFunc(got.objects, func(n int) bool { return n != 0 }) {
						t.Errorf("%s: objects per zone after a failed save: %v", mode, got.objects)
					}
				}
				for i := range want.shards {
					if !bytes.Equal(got.shards[i], want.shards[i]) || (got.shards[i] == nil) != (want.shards[i] == nil) {
						t.Errorf("%s: shard %d differs from Save's (present %v, Save's %v)", mode, i, got.shards[i] != nil, want.shards[i] != nil)
					}
				}
				if !slices.Equal(got.objects, want.objects) {
					t.Errorf("%s: objects per zone %v, Save leaves %v", mode, got.objects, want.objects)
				}
				if fmt.Sprint(got.records) != fmt.Sprint(want.records) {
					t.Errorf("%s: records %+v, Save writes %+v", mode, got.records, want.records)
				}
			}
			// The record names exactly the zones down, with the shards they missed.
			if tc.wantErr == nil {
				var zones []string
				for _, i := range tc.down {
					zones = append(zones, fmt.Sprintf("z%d", i))
				}
				if len(want.records) != 1 || !slices.Equal(slices.Sorted(slices.Values(want.records[0].zones)), zones) || len(want.records[0].shards) != len(zones) ||
					want.records[0].op != OpSave || want.records[0].name != h.Name {
					t.Fatalf("records %+v, want one save record of %s naming %v", want.records, h.Name, zones)
				}
				place := erasure.Placement(PackID(h.Name), 4, 2, 6)
				for j, si := range want.records[0].shards {
					if want.shards[si] != nil || fmt.Sprintf("z%d", place[si]) != want.records[0].zones[j] {
						t.Errorf("record: shard %d of zone %s was stored, or is placed elsewhere", si, want.records[0].zones[j])
					}
				}
			} else if len(want.records) != 0 {
				t.Fatalf("records after a failed save: %+v", want.records)
			}
		})
	}
}

// TestSaveFileMeta: an object that is not a pack is saved from the file like Save saves
// its bytes: the same sealed copy in every zone, no shard upload.
func TestSaveFileMeta(t *testing.T) {
	tests := []struct {
		typ  backend.Type
		size int
	}{
		{backend.Index, 0},
		{backend.Index, 12345},
		{backend.Snapshot, 300},
		{backend.Key, 64},
		{backend.Config, 100},
	}
	for _, tc := range tests {
		t.Run(fmt.Sprintf("%s/%d", tc.typ, tc.size), func(t *testing.T) {
			ft := newFileTest(t, 6, 4, 2, 0, true)
			h := backend.Handle{Type: tc.typ, Name: backendtest.RandomName(t)}
			if tc.typ == backend.Config {
				h.Name = ""
			}
			data := backendtest.RandomData(t, tc.size)
			if err := ft.b.SaveFile(t.Context(), h, spoolPack(t, data, 77), int64(tc.size)); err != nil {
				t.Fatal(err)
			}
			if ft.readerAtCalls() != 0 {
				t.Errorf("SaveReaderAt called %d times for a %s", ft.readerAtCalls(), tc.typ)
			}
			want := SealCopy(h, data)
			for i, mb := range ft.mems {
				if got, ok := mb.Get(h); !ok || !bytes.Equal(got, want) {
					t.Errorf("zone %d: copy present %v, equal to Save's %v", i, ok, bytes.Equal(got, want))
				}
				if mb.Len() != 1 {
					t.Errorf("zone %d holds %d objects", i, mb.Len())
				}
			}
			if got, err := ft.b.Load(t.Context(), h, 0, 0); err != nil || !bytes.Equal(got, data) {
				t.Fatalf("Load: %d bytes, %v", len(got), err)
			}
		})
	}
}

// TestSaveFileErrors: bad arguments, a short file and a cancelled context fail without a
// panic and leave nothing in any zone.
func TestSaveFileErrors(t *testing.T) {
	cancelled, cancel := context.WithCancel(t.Context())
	cancel()
	pack := packHandle(t)
	index := backend.Handle{Type: backend.Index, Name: backendtest.RandomName(t)}
	tests := []struct {
		name    string
		ctx     context.Context
		h       backend.Handle
		file    int // bytes in the file
		size    int64
		wantErr error
	}{
		{"pack, cancelled", cancelled, pack, 5000, 5000, context.Canceled},
		{"index, cancelled", cancelled, index, 50, 50, context.Canceled},
		{"pack, short file", t.Context(), pack, 5000, 5001, nil},
		{"pack, empty file", t.Context(), pack, 0, 100_000, nil},
		{"index, short file", t.Context(), index, 50, 51, nil},
		{"pack, negative size", t.Context(), pack, 10, -1, nil},
		{"index, negative size", t.Context(), index, 10, -1, nil},
		{"invalid name", t.Context(), backend.Handle{Type: backend.Pack, Name: "a/b"}, 10, 10, nil},
		{"reserved pack name", t.Context(), backend.Handle{Type: backend.Pack, Name: recordPrefix + "00"}, 10, 10, nil},
	}
	for _, tc := range tests {
		for _, readerAt := range []bool{false, true} {
			t.Run(fmt.Sprintf("%s/readerAt=%v", tc.name, readerAt), func(t *testing.T) {
				ft := newFileTest(t, 6, 4, 2, 0, readerAt)
				err := ft.b.SaveFile(tc.ctx, tc.h, spoolPack(t, backendtest.RandomData(t, tc.file), 0), tc.size)
				if err == nil {
					t.Fatal("SaveFile succeeded")
				}
				if tc.wantErr != nil && !errors.Is(err, tc.wantErr) {
					t.Fatalf("SaveFile: %v, want %v", err, tc.wantErr)
				}
				if o := ft.objects(); slices.ContainsFunc(o, func(n int) bool { return n != 0 }) {
					t.Errorf("objects per zone after a failed SaveFile: %v", o)
				}
			})
		}
	}
}

// TestSaveFileCancelledMidway: a context cancelled while shards are being stored fails
// the save and rolls back every shard already stored, like Save.
func TestSaveFileCancelledMidway(t *testing.T) {
	for _, mode := range []string{"Save", "SaveFile", "SaveFile readerAt"} {
		t.Run(mode, func(t *testing.T) {
			ft := newFileTest(t, 6, 4, 2, 0, mode == "SaveFile readerAt")
			ctx, cancel := context.WithCancel(t.Context())
			defer cancel()
			// The first shard save to reach zone 0 cancels the save, then goes through.
			ft.mems[0].AddFault(mem.OpSave, &mem.Fault{Times: 1, Do: func(context.Context, backend.Handle) error {
				cancel()
				return nil
			}})
			h := packHandle(t)
			data := backendtest.RandomData(t, 50_000)
			var err error
			if mode == "Save" {
				err = ft.b.Save(ctx, h, data)
			} else {
				err = ft.b.SaveFile(ctx, h, spoolPack(t, data, 0), int64(len(data)))
			}
			if !errors.Is(err, context.Canceled) {
				t.Fatalf("%s: %v, want context.Canceled", mode, err)
			}
			if o := ft.objects(); slices.ContainsFunc(o, func(n int) bool { return n != 0 }) {
				t.Errorf("objects per zone after a cancelled save: %v", o)
			}
		})
	}
}

// TestSaveFileConcurrent saves packs of many sizes at once with SaveFile and Save on one
// backend (they share the pooled shard buffers) and reads each back.
func TestSaveFileConcurrent(t *testing.T) {
	sizes := []int{0, 4097, 100_000, 1<<20 + 3, 1}
	for _, readerAt := range []bool{false, true} {
		t.Run(fmt.Sprintf("readerAt=%v", readerAt), func(t *testing.T) {
			ft := newFileTest(t, 6, 4, 2, 0, readerAt)
			type saved struct {
				h    backend.Handle
				data []byte
				f    *os.File // nil: saved with Save
				ok   bool
			}
			packs := make([]saved, 4*len(sizes))
			for i := range packs {
				p := saved{h: packHandle(t), data: backendtest.RandomData(t, sizes[i%len(sizes)])}
				if (i/len(sizes)+i)%2 == 0 {
					p.f = spoolPack(t, p.data, 100)
				}
				packs[i] = p
			}
			var wg sync.WaitGroup
			for w := range 4 {
				wg.Go(func() {
					for i := range sizes {
						p := &packs[w*len(sizes)+i]
						var err error
						if p.f != nil {
							err = ft.b.SaveFile(t.Context(), p.h, p.f, int64(len(p.data)))
						} else {
							err = ft.b.Save(t.Context(), p.h, p.data)
						}
						if err != nil {
							t.Error(err)
							return
						}
						p.ok = true
					}
				})
			}
			wg.Wait()
			for _, p := range packs {
				if !p.ok {
					t.Fatal("a save failed")
				}
				got, err := ft.b.Load(t.Context(), p.h, 0, 0)
				if err != nil || !bytes.Equal(got, p.data) {
					t.Fatalf("Load %s (%d bytes): equal %v, %v", p.h, len(p.data), bytes.Equal(got, p.data), err)
				}
			}
		})
	}
}
