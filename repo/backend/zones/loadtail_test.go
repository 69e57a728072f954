package zones

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"sync/atomic"
	"testing"

	"github.com/cairnbackup/cairn/erasure"
	"github.com/cairnbackup/cairn/repo/backend"
	"github.com/cairnbackup/cairn/repo/backend/mem"
)

// tailMem is a mem zone store that reads object tails without a Stat, as s3 does with a
// suffix-range GET, and counts those reads.
type tailMem struct {
	*mem.Backend
	tails atomic.Int64
}

func (m *tailMem) LoadTail(ctx context.Context, h backend.Handle, n int64) ([]byte, error) {
	m.tails.Add(1)
	data, ok := m.Get(h)
	if !ok {
		return m.Load(ctx, h, 0, 0) // the store's own not-found error
	}
	return data[max(0, int64(len(data))-n):], nil
}

// TestFootersReadByTail: with zone stores that read tails, reading a pack fetches its
// footers without a single Stat, and returns the right bytes; without, it Stats first.
func TestFootersReadByTail(t *testing.T) {
	for _, withTail := range []bool{true, false} {
		t.Run(fmt.Sprint("tail ", withTail), func(t *testing.T) {
			var zs []ZoneBackend
			var mems []*mem.Backend
			var tms []*tailMem
			for i := range 6 {
				mb := mem.New(fmt.Sprintf("z%d", i))
				mems = append(mems, mb)
				var store backend.Backend = mb
				if withTail {
					tm := &tailMem{Backend: mb}
					tms = append(tms, tm)
					store = tm
				}
				zs = append(zs, ZoneBackend{Name: fmt.Sprintf("z%d", i), Backend: store})
			}
			b, err := New(zs, erasure.Layout{Data: 4, Parity: 2}, Options{DownFor: -1, HedgeAfter: -1})
			if err != nil {
				t.Fatal(err)
			}
			defer b.Close()
			h, data := savePack(t, b, 9<<20+777)
			// A second backend over the same stores: no sizes or readers cached.
			b2, err := New(zs, erasure.Layout{Data: 4, Parity: 2}, Options{DownFor: -1, HedgeAfter: -1})
			if err != nil {
				t.Fatal(err)
			}
			defer b2.Close()
			dst := make([]byte, 3<<20)
			for _, off := range []int64{0, 3 << 20, 6 << 20} {
				if err := b2.LoadInto(t.Context(), h, off, dst); err != nil {
					t.Fatal(err)
				}
				if !bytes.Equal(dst, data[off:off+int64(len(dst))]) {
					t.Fatalf("LoadInto at %d: wrong bytes", off)
				}
			}
			var stats, tails int64
			for _, mb := range mems {
				stats += mb.Calls(mem.OpStat)
			}
			for _, tm := range tms {
				tails += tm.tails.Load()
			}
			if withTail && (stats != 0 || tails == 0) {
				t.Fatalf("%d Stats and %d tail reads, want none and some", stats, tails)
			}
			if !withTail && stats == 0 {
				t.Fatal("no Stat without tail reads: the test does not see the footer path")
			}
		})
	}
}

// TestPackStride: the stride of a pack is its shard size (pack bytes [k*S, (k+1)*S) are
// data shard k's), read from one footer; a missing pack is ErrNotFound, and only packs have
// a stride.
func TestPackStride(t *testing.T) {
	b, mems := newTest(t, 6, 4, 2)
	c, err := erasure.NewCoder(erasure.Layout{Data: 4, Parity: 2}, erasure.WithBlockSize(4096))
	if err != nil {
		t.Fatal(err)
	}
	for _, n := range []int{1, 4096*4 + 1, 1<<20 + 333} {
		h, _ := savePack(t, b, n)
		b.readers.drop(h.Name) // not the reader the save left: read the geometry
		s, err := b.PackStride(t.Context(), h)
		if err != nil || s != c.ShardSize(int64(n)) {
			t.Errorf("PackStride of a %d-byte pack = %d, %v; want %d", n, s, err, c.ShardSize(int64(n)))
		}
	}
	h, _ := savePack(t, b, 100_000)
	for _, m := range mems {
		for i := range 6 {
			m.Remove(t.Context(), backend.Handle{Type: backend.Pack, Name: ShardName(h.Name, i)})
		}
	}
	b.readers.drop(h.Name)
	if _, err := b.PackStride(t.Context(), h); !errors.Is(err, backend.ErrNotFound) {
		t.Errorf("PackStride of a removed pack: %v, want ErrNotFound", err)
	}
	if _, err := b.PackStride(t.Context(), backend.Handle{Type: backend.Index, Name: h.Name}); err == nil {
		t.Error("PackStride of an index object: no error")
	}
}
