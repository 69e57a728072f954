package zones

import (
	"context"
	"fmt"
	"os"
	"runtime"
	"runtime/metrics"
	"runtime/pprof"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/cairnbackup/cairn/erasure"
	"github.com/cairnbackup/cairn/internal/miniotest"
	"github.com/cairnbackup/cairn/repo/backend"
	"github.com/cairnbackup/cairn/repo/backend/backendtest"
	"github.com/cairnbackup/cairn/repo/backend/s3"
)

// newMinIO returns a zones backend 4+2 over six fresh MinIO servers (plain HTTP).
func newMinIO(tb testing.TB) *Backend {
	tb.Helper()
	srvs := miniotest.Start(tb, 6)
	prefix := "t-" + backendtest.RandomName(tb)[:12]
	var zs []ZoneBackend
	for i, srv := range srvs {
		be, err := s3.Open(tb.Context(), s3.Config{
			Endpoint: srv.Endpoint(), Bucket: srv.Bucket(), Prefix: prefix,
			AccessKey: srv.AccessKey(), SecretKey: srv.SecretKey(), Lookup: "path",
		})
		if err != nil {
			tb.Fatal(err)
		}
		zs = append(zs, ZoneBackend{Name: fmt.Sprintf("z%d", i), Backend: be})
	}
	b, err := New(zs, erasure.Layout{Data: 4, Parity: 2}, Options{})
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { b.Close() })
	return b
}

// heapPeak samples the Go heap (objects plus unswept garbage) until stop is called and
// returns the largest value seen.
func heapPeak() (stop func() uint64) {
	samples := []metrics.Sample{{Name: "/memory/classes/heap/objects:bytes"}, {Name: "/memory/classes/heap/unused:bytes"}}
	var peak atomic.Uint64
	done := make(chan struct{})
	var wg sync.WaitGroup
	wg.Go(func() {
		t := time.NewTicker(2 * time.Millisecond)
		defer t.Stop()
		for {
			metrics.Read(samples)
			if v := samples[0].Value.Uint64() + samples[1].Value.Uint64(); v > peak.Load() {
				peak.Store(v)
			}
			select {
			case <-done:
				return
			case <-t.C:
			}
		}
	})
	return func() uint64 {
		close(done)
		wg.Wait()
		return peak.Load()
	}
}

// BenchmarkSavePackMinIO saves 16 MiB packs 4+2 to six MinIO servers, two at a time (the
// repository's remote uploaders) or one at a time, and reports the peak Go heap in use and the bytes
// allocated per pack. CAIRN_ZONES_HEAPPROFILE=file writes a heap profile at the end.
func BenchmarkSavePackMinIO(b *testing.B) {
	be := newMinIO(b)
	for _, uploaders := range []int{1, 2} {
		b.Run(fmt.Sprintf("uploaders=%d", uploaders), func(b *testing.B) { benchSavePacks(b, be, uploaders) })
	}
}

func benchSavePacks(b *testing.B, be *Backend, uploaders int) {
	packs := make([][]byte, uploaders)
	for i := range packs {
		packs[i] = backendtest.RandomData(b, 16<<20+12345) // not a multiple of k: padded last data shard
	}
	names := make([]string, 8)
	for i := range names {
		names[i] = backendtest.RandomName(b)
	}
	runtime.GC()
	var ms0, ms1 runtime.MemStats
	runtime.ReadMemStats(&ms0)
	stop := heapPeak()
	b.SetBytes(16 << 20)
	var next atomic.Int64
	b.ResetTimer()
	var wg sync.WaitGroup
	for u := range uploaders {
		wg.Go(func() {
			for {
				i := next.Add(1) - 1
				if i >= int64(b.N) {
					return
				}
				h := backend.Handle{Type: backend.Pack, Name: names[i%int64(len(names))]}
				if err := be.Save(context.Background(), h, packs[u]); err != nil {
					b.Error(err)
					return
				}
			}
		})
	}
	wg.Wait()
	b.StopTimer()
	peak := stop()
	runtime.ReadMemStats(&ms1)
	b.ReportMetric(float64(peak)/(1<<20), "peak-heap-MiB")
	b.ReportMetric(float64(ms1.TotalAlloc-ms0.TotalAlloc)/float64(b.N)/(1<<20), "alloc-MiB/pack")
	if p := os.Getenv("CAIRN_ZONES_HEAPPROFILE"); p != "" {
		f, err := os.Create(p)
		if err != nil {
			b.Fatal(err)
		}
		defer f.Close()
		if err := pprof.Lookup("allocs").WriteTo(f, 0); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkLoadPackMinIO reads 4 MiB runs (the restore's coalesced reads) of a 16 MiB pack
// 4+2 from six MinIO servers with Load and with LoadInto into one reused buffer, each run
// once per pack reader (as a restore reads them), and reports the bytes allocated per read.
func BenchmarkLoadPackMinIO(b *testing.B) {
	be := newMinIO(b)
	h := backend.Handle{Type: backend.Pack, Name: backendtest.RandomName(b)}
	if err := be.Save(b.Context(), h, backendtest.RandomData(b, 16<<20+12345)); err != nil {
		b.Fatal(err)
	}
	for _, into := range []bool{false, true} {
		b.Run(map[bool]string{false: "Load", true: "LoadInto"}[into], func(b *testing.B) {
			benchLoadRuns(b, be, h, into, 4) // a new reader per pass: every block is fetched once
		})
	}
}
