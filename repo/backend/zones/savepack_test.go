package zones

import (
	"bytes"
	"context"
	"fmt"
	"runtime"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/cairnbackup/cairn/erasure"
	"github.com/cairnbackup/cairn/repo/backend"
	"github.com/cairnbackup/cairn/repo/backend/backendtest"
	"github.com/cairnbackup/cairn/repo/backend/mem"
)

// partsMem is a mem zone that also implements partsSaver, like s3.Backend. With discard
// set, SaveParts stores nothing (for allocation measurements).
type partsMem struct {
	*mem.Backend
	parts   atomic.Int64 // SaveParts calls
	discard bool
}

func (p *partsMem) SaveParts(ctx context.Context, h backend.Handle, parts [][]byte) error {
	p.parts.Add(1)
	if p.discard {
		return nil
	}
	return p.Save(ctx, h, bytes.Join(parts, nil))
}

func newPartsTest(t testing.TB, n, k, m int, discard bool) (*Backend, []*partsMem) {
	t.Helper()
	var zs []ZoneBackend
	var pms []*partsMem
	for i := range n {
		pm := &partsMem{Backend: mem.New(fmt.Sprintf("z%d", i)), discard: discard}
		pms = append(pms, pm)
		zs = append(zs, ZoneBackend{Name: fmt.Sprintf("z%d", i), Backend: pm})
	}
	b, err := New(zs, erasure.Layout{Data: k, Parity: m}, Options{DownFor: -1, HedgeAfter: -1, BlockSize: 4096})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { b.Close() })
	return b, pms
}

func TestConformanceParts(t *testing.T) {
	for _, l := range []struct{ n, k, m int }{{6, 4, 2}, {1, 1, 0}, {4, 2, 1}} {
		t.Run(fmt.Sprintf("%d+%d/%d", l.k, l.m, l.n), func(t *testing.T) {
			backendtest.Run(t, func(t *testing.T) backend.Backend {
				b, _ := newPartsTest(t, l.n, l.k, l.m, false)
				return b
			})
		})
	}
}

// TestSavePackReusesBuffers saves packs of many sizes concurrently through both upload
// paths (parts and joined objects) and reads each back: pooled buffers reused across
// packs of different sizes must never leak one pack's bytes into another.
func TestSavePackReusesBuffers(t *testing.T) {
	sizes := []int{0, 1, 4095, 4096*4 + 1, 100_000, 1 << 20, 3<<20 + 17, 1 << 20}
	for _, parts := range []bool{true, false} {
		t.Run(fmt.Sprintf("parts=%v", parts), func(t *testing.T) {
			var b *Backend
			var pms []*partsMem
			if parts {
				b, pms = newPartsTest(t, 6, 4, 2, false)
			} else {
				b, _ = newTest(t, 6, 4, 2)
			}
			type saved struct {
				h    backend.Handle
				data []byte
			}
			packs := make([]saved, 3*len(sizes))
			var wg sync.WaitGroup
			for w := range 3 {
				wg.Go(func() {
					for i, n := range sizes {
						p := saved{packHandle(t), backendtest.RandomData(t, n)}
						packs[w*len(sizes)+i] = p
						if err := b.Save(t.Context(), p.h, p.data); err != nil {
							t.Error(err)
							return
						}
					}
				})
			}
			wg.Wait()
			for _, p := range packs {
				if p.data == nil {
					continue
				}
				got, err := b.Load(t.Context(), p.h, 0, 0)
				if err != nil || !bytes.Equal(got, p.data) {
					t.Fatalf("Load %s (%d bytes): equal %v, %v", p.h, len(p.data), bytes.Equal(got, p.data), err)
				}
			}
			for i, pm := range pms {
				if pm.parts.Load() == 0 {
					t.Errorf("zone %d: shards not saved with SaveParts", i)
				}
			}
		})
	}
}

// TestSavePackAllocation: once the shard buffers are warm, saving a 16 MiB pack 4+2 to
// zones that take parts allocates no shard-sized memory (Encode allocated 24 MiB per pack:
// k+m fresh shard objects plus the data copy).
func TestSavePackAllocation(t *testing.T) {
	b, _ := newPartsTest(t, 6, 4, 2, true)
	data := backendtest.RandomData(t, 16<<20+12345)
	h := packHandle(t)
	perSave := func(n int) float64 {
		var ms0, ms1 runtime.MemStats
		runtime.ReadMemStats(&ms0)
		for range n {
			if err := b.Save(t.Context(), h, data); err != nil {
				t.Fatal(err)
			}
		}
		runtime.ReadMemStats(&ms1)
		return float64(ms1.TotalAlloc-ms0.TotalAlloc) / float64(n)
	}
	perSave(1) // warm the buffers
	if got := perSave(8); got > 256<<10 {
		t.Errorf("a warm pack save allocates %.0f bytes, want < 256 KiB", got)
	}
}

// BenchmarkSavePack4x2: encode and hand over a 16 MiB pack 4+2 to zones that take parts
// and discard them: the CPU and allocation of savePack itself.
func BenchmarkSavePack4x2(b *testing.B) {
	be, _ := newPartsTest(b, 6, 4, 2, true)
	data := backendtest.RandomData(b, 16<<20+12345)
	h := packHandle(b)
	b.SetBytes(int64(len(data)))
	b.ReportAllocs()
	for b.Loop() {
		if err := be.Save(b.Context(), h, data); err != nil {
			b.Fatal(err)
		}
	}
}
