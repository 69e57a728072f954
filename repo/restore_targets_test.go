package repo

import (
	"bytes"
	"cmp"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/cairnbackup/cairn/index"
	"github.com/cairnbackup/cairn/repo/backend"
	"github.com/cairnbackup/cairn/repo/backend/local"
	"github.com/cairnbackup/cairn/repo/backend/mem"
)

// loadOnly hides a backend's LoadInto, so restores take the Load fallback.
type loadOnly struct{ backend.Backend }

// countingLoader counts LoadInto calls (blob reads of a restore) on a backend that has it.
type countingLoader struct {
	backend.Backend
	n atomic.Int64
}

func (c *countingLoader) LoadInto(ctx context.Context, h backend.Handle, off int64, dst []byte) error {
	c.n.Add(1)
	return c.Backend.(LoaderInto).LoadInto(ctx, h, off, dst)
}

// memWriterAt is a device-like target: WriteAt into a fixed buffer, no file descriptor.
type memWriterAt struct {
	mu  sync.Mutex
	buf []byte
}

func (m *memWriterAt) WriteAt(p []byte, off int64) (int, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	return copy(m.buf[off:], p), nil
}

// TestRestoreTargets restores a volume with data and zero runs (one at the end) through
// every backend read path to every kind of target.
func TestRestoreTargets(t *testing.T) {
	vol := mixedVolume(10<<20, 21) // random, text, then zeros to the end
	backends := []struct {
		name string
		be   func(t *testing.T) backend.Backend
	}{
		{"mem-LoadInto", func(*testing.T) backend.Backend { return mem.New("m") }},
		{"mem-Load", func(*testing.T) backend.Backend { return loadOnly{mem.New("m")} }},
		{"local", func(t *testing.T) backend.Backend { return localBackend(t) }},
	}
	targets := []struct {
		name    string
		restore func(t *testing.T, r *Repository, id ID) []byte
	}{
		{"new-file-sparse", func(t *testing.T, r *Repository, id ID) []byte {
			p := filepath.Join(t.TempDir(), "img")
			f, err := os.OpenFile(p, os.O_RDWR|os.O_CREATE|os.O_EXCL, 0o600)
			if err != nil {
				t.Fatal(err)
			}
			defer f.Close()
			if err := r.Restore(context.Background(), id, f, RestoreOptions{Sparse: true}); err != nil {
				t.Fatalf("Restore: %v", err)
			}
			return readAll(t, p)
		}},
		{"existing-file-explicit-zeros", func(t *testing.T, r *Repository, id ID) []byte {
			p := filepath.Join(t.TempDir(), "img")
			if err := os.WriteFile(p, bytes.Repeat([]byte{0xaa}, len(vol)), 0o600); err != nil {
				t.Fatal(err)
			}
			f, err := os.OpenFile(p, os.O_WRONLY, 0)
			if err != nil {
				t.Fatal(err)
			}
			defer f.Close()
			if err := r.Restore(context.Background(), id, f, RestoreOptions{}); err != nil {
				t.Fatalf("Restore: %v", err)
			}
			return readAll(t, p)
		}},
		{"device-like", func(t *testing.T, r *Repository, id ID) []byte {
			w := &memWriterAt{buf: bytes.Repeat([]byte{0x55}, len(vol))}
			if err := r.Restore(context.Background(), id, w, RestoreOptions{}); err != nil {
				t.Fatalf("Restore: %v", err)
			}
			return w.buf
		}},
		{"stream", func(t *testing.T, r *Repository, id ID) []byte {
			var buf bytes.Buffer
			if err := r.RestoreStream(context.Background(), id, &buf, RestoreOptions{}); err != nil {
				t.Fatalf("RestoreStream: %v", err)
			}
			return buf.Bytes()
		}},
	}
	for _, bc := range backends {
		t.Run(bc.name, func(t *testing.T) {
			r := newRepoOn(t, bc.be(t))
			s := backupBytes(t, r, vol, "v")
			for _, tc := range targets {
				t.Run(tc.name, func(t *testing.T) {
					if got := tc.restore(t, r, s.ID); !bytes.Equal(got, vol) {
						t.Fatalf("restored %d bytes differ from the %d-byte volume", len(got), len(vol))
					}
				})
			}
		})
	}
}

// TestRestoreCoalescesReads: Restore reads adjacent blobs of a pack with one request.
func TestRestoreCoalescesReads(t *testing.T) {
	vol := mixedVolume(10<<20, 22)
	cl := &countingLoader{Backend: mem.New("m")}
	r := newRepoOn(t, cl)
	s := backupBytes(t, r, vol, "v")
	var data int64
	if err := r.Extents(context.Background(), s.ID, func(e Extent) error {
		if !e.Zero {
			data++
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	w := &memWriterAt{buf: make([]byte, len(vol))}
	cl.n.Store(0)
	if err := r.Restore(context.Background(), s.ID, w, RestoreOptions{Sparse: true}); err != nil {
		t.Fatalf("Restore: %v", err)
	}
	if !bytes.Equal(w.buf, vol) {
		t.Fatal("restored volume differs")
	}
	if n := cl.n.Load(); n == 0 || n >= data {
		t.Fatalf("%d blob reads for %d data extents, want fewer reads than extents", n, data)
	}
}

func readAll(t *testing.T, p string) []byte {
	t.Helper()
	b, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// TestRestoreWorkerTrim: a worker keeps buffers up to the run and plaintext caps between jobs
// and drops larger ones, so one big blob does not stay in memory for the rest of a restore.
func TestRestoreWorkerTrim(t *testing.T) {
	for _, tc := range []struct {
		name                  string
		sealed, plain         int
		keepSealed, keepPlain bool
	}{
		{"small kept", 1 << 20, 1 << 20, true, true},
		{"at the caps kept", maxRunBytes, maxKeptPlain, true, true},
		{"big sealed dropped", maxRunBytes + 1, 1 << 20, false, true},
		{"big plain dropped", 1 << 20, maxKeptPlain + 1, true, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			w := restoreWorker{sealed: make([]byte, tc.sealed), plain: make([]byte, tc.plain),
				keepRun: maxRunBytes, keepPlain: maxKeptPlain}
			w.trim()
			if (w.sealed != nil) != tc.keepSealed || (w.plain != nil) != tc.keepPlain {
				t.Errorf("after trim: sealed kept %v, plain kept %v", w.sealed != nil, w.plain != nil)
			}
		})
	}
}

// prefetchRecorder records the ranges announced with Prefetch and those read with LoadInto.
type prefetchRecorder struct {
	backend.Backend
	mu         sync.Mutex
	announced  map[string]int // "pack@off+len" → times announced
	unannounce []string       // reads of pack ranges never announced before
	reads      int
}

func (p *prefetchRecorder) Prefetch(_ context.Context, h backend.Handle, off, n int64) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.announced[fmt.Sprintf("%s@%d+%d", h.Name, off, n)]++
}

func (p *prefetchRecorder) LoadInto(ctx context.Context, h backend.Handle, off int64, dst []byte) error {
	if h.Type == backend.Pack {
		key := fmt.Sprintf("%s@%d+%d", h.Name, off, len(dst))
		p.mu.Lock()
		p.reads++
		if p.announced[key] == 0 {
			p.unannounce = append(p.unannounce, key)
		}
		p.mu.Unlock()
	}
	return p.Backend.(LoaderInto).LoadInto(ctx, h, off, dst)
}

// TestRestorePrefetches: with a Prefetcher backend, every pack range a restore reads was
// announced before it was read.
func TestRestorePrefetches(t *testing.T) {
	vol := mixedVolume(10<<20, 23)
	pr := &prefetchRecorder{Backend: mem.New("m"), announced: map[string]int{}}
	r := newRepoOn(t, pr)
	s := backupBytes(t, r, vol, "v")
	w := &memWriterAt{buf: make([]byte, len(vol))}
	if err := r.Restore(context.Background(), s.ID, w, RestoreOptions{Sparse: true}); err != nil {
		t.Fatalf("Restore: %v", err)
	}
	if !bytes.Equal(w.buf, vol) {
		t.Fatal("restored volume differs")
	}
	if pr.reads == 0 || len(pr.unannounce) > 0 {
		t.Fatalf("%d pack reads, %d not announced first: %v", pr.reads, len(pr.unannounce), pr.unannounce)
	}
}

// overlapDetector is an io.WriterAt that records whether two WriteAt calls ever overlapped.
type overlapDetector struct {
	active  atomic.Int32
	overlap atomic.Bool
}

func (o *overlapDetector) WriteAt(p []byte, off int64) (int, error) {
	if o.active.Add(1) > 1 {
		o.overlap.Store(true)
	}
	for range 100 {
		runtime.Gosched() // widen the window another writer could enter
	}
	o.active.Add(-1)
	return len(p), nil
}

// TestSerializeFileWrites: restores write regular files one WriteAt at a time (the kernel
// serializes them anyway, see serializeFileWrites) and everything else concurrently.
func TestSerializeFileWrites(t *testing.T) {
	dir := t.TempDir()
	f, err := os.Create(filepath.Join(dir, "vol"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	pr, pw, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	defer pr.Close()
	defer pw.Close()
	mw := &memWriterAt{}
	for _, tc := range []struct {
		name   string
		dst    io.WriterAt
		serial bool
	}{
		{"regular file", f, true},
		{"pipe", pw, false},
		{"device-like writer", mw, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, serial := serializeFileWrites(tc.dst).(*serialWriter)
			if serial != tc.serial {
				t.Fatalf("serialized: %v, want %v", serial, tc.serial)
			}
		})
	}

	od := &overlapDetector{}
	sw := &serialWriter{w: od}
	var wg sync.WaitGroup
	for i := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for j := range 50 {
				if _, err := sw.WriteAt([]byte{1}, int64(i*50+j)); err != nil {
					t.Error(err)
				}
			}
		}()
	}
	wg.Wait()
	if od.overlap.Load() {
		t.Fatal("two WriteAt calls overlapped through a serialWriter")
	}
}

// TestRestoreRunCaps: backends that prefetch get the smaller runs and bridge no gap, strided
// ones the largest, others the larger ones.
func TestRestoreRunCaps(t *testing.T) {
	lb, err := local.Create(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name       string
		be         backend.Backend
		run, plain int
		gap        uint64
	}{
		{"local (prefetches)", lb, prefetchedRunBytes, prefetchedRunBytes, 0},
		{"mem", mem.New("m"), maxRunBytes, maxKeptPlain, runGap},
		{"prefetch recorder", &prefetchRecorder{Backend: mem.New("m")}, prefetchedRunBytes, prefetchedRunBytes, 0},
		{"strider", &strider{Backend: mem.New("m")}, 2 * maxRunBytes, maxKeptPlain, runGap},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if run, plain, gap := runCaps(tc.be); run != tc.run || plain != tc.plain || gap != tc.gap {
				t.Fatalf("runCaps: %d, %d, %d; want %d, %d, %d", run, plain, gap, tc.run, tc.plain, tc.gap)
			}
		})
	}
}

// strider is a mem backend that reports a fixed pack stride (as zones reports its shard
// size), or fails to; it counts PackStride calls per pack.
type strider struct {
	backend.Backend
	stride int64
	fail   error
	mu     sync.Mutex
	asked  map[string]int
}

func (s *strider) PackStride(_ context.Context, h backend.Handle) (int64, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.asked[h.Name]++
	return s.stride, s.fail
}

func (s *strider) LoadInto(ctx context.Context, h backend.Handle, off int64, dst []byte) error {
	return s.Backend.(LoaderInto).LoadInto(ctx, h, off, dst)
}

// TestRestoreRunsFollowStrides: with a PackStrider backend, a run holds the adjacent blobs
// that end in one stride of the pack (so zones read it with one request) and is cut where
// the next blob ends in another; each pack's stride is asked once; a backend whose stride
// cannot be read gets runs cut by size only. Every case restores the volume exactly.
func TestRestoreRunsFollowStrides(t *testing.T) {
	vol := mixedVolume(6<<20, 27)
	for _, tc := range []struct {
		name    string
		stride  int64
		fail    error
		aligned bool
	}{
		{"quarter packs", 256 << 10, nil, true},
		{"odd stride", 300_001, nil, true},
		{"stride unknown", 256 << 10, errors.New("footer unavailable"), false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			sb := &strider{Backend: mem.New("m"), stride: tc.stride, fail: tc.fail, asked: map[string]int{}}
			r := newRepoOn(t, sb)
			s := backupBytes(t, r, vol, "v")
			rr, err := r.prepareRestore(t.Context(), s.ID)
			if err != nil {
				t.Fatal(err)
			}
			var jobs []restoreJob
			err = rr.planJobs(t.Context(), true, func(j restoreJob) error {
				jobs = append(jobs, j)
				return nil
			})
			rr.release(t.Context())
			if err != nil {
				t.Fatal(err)
			}
			st := uint64(tc.stride)
			strideOf := func(l index.Entry) uint64 { return (l.Offset + uint64(l.Length) - 1) / st }
			crossings := 0
			for k, j := range jobs {
				for _, l := range j.locs[1:] {
					if strideOf(l) != strideOf(j.locs[0]) {
						crossings++
					}
				}
				if k == 0 || !tc.aligned {
					continue
				}
				prev := jobs[k-1].locs[len(jobs[k-1].locs)-1]
				first := j.locs[0]
				if prev.Pack == first.Pack && prev.Offset+uint64(prev.Length) == first.Offset && strideOf(prev) == strideOf(first) {
					t.Errorf("job %d: cut between blobs that end in stride %d", k, strideOf(first))
				}
			}
			if tc.aligned && crossings > 0 {
				t.Errorf("%d blobs end in another stride than their run's first", crossings)
			}
			if !tc.aligned && crossings == 0 {
				t.Error("runs follow the stride although it could not be read")
			}
			for pack, n := range sb.asked {
				if n != 1 {
					t.Errorf("stride of pack %s asked %d times", pack[:8], n)
				}
			}
			if len(sb.asked) == 0 {
				t.Error("no stride asked")
			}
			w := &memWriterAt{buf: make([]byte, len(vol))}
			if err := r.Restore(t.Context(), s.ID, w, RestoreOptions{Sparse: true}); err != nil {
				t.Fatalf("Restore: %v", err)
			}
			if !bytes.Equal(w.buf, vol) {
				t.Fatal("restored volume differs")
			}
		})
	}
}

// TestRestorePlanFollowsPackOrder: blobs that lie back to back in a pack are read by one
// job even when the backup stored them out of volume order (its workers finish chunks out
// of order), as long as they are in one planning window: the volume here is smaller than
// restoreWindow, and mem packs are smaller than a run.
func TestRestorePlanFollowsPackOrder(t *testing.T) {
	vol := mixedVolume(6<<20, 28)
	r := newRepoOn(t, mem.New("m"))
	s := backupBytes(t, r, vol, "v")
	rr, err := r.prepareRestore(t.Context(), s.ID)
	if err != nil {
		t.Fatal(err)
	}
	type placed struct {
		loc index.Entry
		job int
	}
	var all []placed
	var covered int64
	jobs := 0
	err = rr.planJobs(t.Context(), true, func(j restoreJob) error {
		for i, l := range j.locs {
			all = append(all, placed{l, jobs})
			covered += j.exts[i].Length
		}
		jobs++
		return nil
	})
	rr.release(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	slices.SortFunc(all, func(a, b placed) int {
		if c := bytes.Compare(a.loc.Pack[:], b.loc.Pack[:]); c != 0 {
			return c
		}
		return cmp.Compare(a.loc.Offset, b.loc.Offset)
	})
	adjacent := 0
	for i := 1; i < len(all); i++ {
		a, b := all[i-1], all[i]
		if a.loc.Pack == b.loc.Pack && a.loc.Offset+uint64(a.loc.Length) == b.loc.Offset {
			adjacent++
			if a.job != b.job {
				t.Errorf("blobs at %d and %d of pack %s are read by two jobs", a.loc.Offset, b.loc.Offset, a.loc.Pack.Short())
			}
		}
	}
	if adjacent == 0 || covered == 0 {
		t.Fatalf("%d adjacent blob pairs, %d data bytes planned: nothing tested", adjacent, covered)
	}
}

// headerLoads records the header-only reads (offset 0, packDataStart bytes) of each pack.
type headerLoads struct {
	backend.Backend
	mu sync.Mutex
	n  map[string]int
}

func (h *headerLoads) note(hd backend.Handle, off, n int64) {
	if hd.Type == backend.Pack && off == 0 && n == packDataStart {
		h.mu.Lock()
		h.n[hd.Name]++
		h.mu.Unlock()
	}
}

func (h *headerLoads) Load(ctx context.Context, hd backend.Handle, off, n int64) ([]byte, error) {
	h.note(hd, off, n)
	return h.Backend.Load(ctx, hd, off, n)
}

func (h *headerLoads) LoadInto(ctx context.Context, hd backend.Handle, off int64, dst []byte) error {
	h.note(hd, off, int64(len(dst)))
	return h.Backend.(LoaderInto).LoadInto(ctx, hd, off, dst)
}

// TestRestoreReadsHeaderWithRun: a restore run that starts within headJoin of the header of
// a pack not opened yet reads the header with its blobs, so a pack costs no request of its
// own for its salt; runs further in (4 MiB packs) take the opener another way. Both restore
// the volume exactly.
func TestRestoreReadsHeaderWithRun(t *testing.T) {
	vol := mixedVolume(12<<20, 29)
	for _, packSize := range []int{1 << 20, 4 << 20} {
		t.Run(fmt.Sprintf("pack=%dMiB", packSize>>20), func(t *testing.T) {
			hl := &headerLoads{Backend: mem.New("m"), n: map[string]int{}}
			opts := testInitOptions(t)
			opts.PackSize = packSize
			r, err := InitWith(t.Context(), hl, opts)
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { r.Close() })
			s := backupBytes(t, r, vol, "v")
			rr, err := r.prepareRestore(t.Context(), s.ID)
			if err != nil {
				t.Fatal(err)
			}
			listPacks := map[string]bool{}
			for _, lid := range s.Lists {
				loc, ok, err := rr.cache.Lookup(lid)
				if err != nil || !ok {
					t.Fatalf("chunk list %s: %v", lid.Short(), err)
				}
				listPacks[loc.Pack.String()] = true
			}
			farRuns := 0
			err = rr.planJobs(t.Context(), true, func(j restoreJob) error {
				if j.locs[0].Offset > packDataStart+headJoin {
					farRuns++
				}
				return nil
			})
			rr.release(t.Context())
			if err != nil {
				t.Fatal(err)
			}
			r.openers.mu.Lock()
			r.openers.m = nil // as a new process: no pack opened yet
			r.openers.mu.Unlock()
			hl.mu.Lock()
			clear(hl.n)
			hl.mu.Unlock()

			w := &memWriterAt{buf: make([]byte, len(vol))}
			if err := r.Restore(t.Context(), s.ID, w, RestoreOptions{Sparse: true}); err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(w.buf, vol) {
				t.Fatal("restored volume differs")
			}
			if packSize > headJoin {
				if farRuns == 0 {
					t.Fatal("no run starts beyond headJoin: the fallback is not exercised")
				}
				return
			}
			for pack, n := range hl.n {
				if !listPacks[pack] {
					t.Errorf("pack %s: header read on its own %d times", pack[:8], n)
				}
			}
		})
	}
}

// TestRestoreRunsBridgeGaps: on a backend that does not prefetch, a run may step over blobs
// the restore does not need (an older snapshot's, in a pack both share) when the gap is at
// most runGap, so such a pack is not read with a request per blob; a blob the volume holds
// twice is never read twice by one run (runJob opens sealed bytes in place). The volume is
// restored exactly.
func TestRestoreRunsBridgeGaps(t *testing.T) {
	r := newRepoOn(t, mem.New("m"))
	vol1 := mixedVolume(8<<20, 30)
	backupBytes(t, r, vol1, "v")
	vol2 := bytes.Clone(vol1)
	rnd := rng(31)
	for off := 0; off+4096 <= len(vol2); off += 1 << 20 { // change one page in every MiB
		rnd.Read(vol2[off+300_000 : off+300_000+4096])
	}
	copy(vol2[6<<20:7<<20], vol2[2<<20:3<<20]) // a repeated MiB: the same blobs twice
	s := backupBytes(t, r, vol2, "v")
	rr, err := r.prepareRestore(t.Context(), s.ID)
	if err != nil {
		t.Fatal(err)
	}
	bridged := 0
	err = rr.planJobs(t.Context(), true, func(j restoreJob) error {
		for i := 1; i < len(j.locs); i++ {
			prev, l := j.locs[i-1], j.locs[i]
			prevEnd := prev.Offset + uint64(prev.Length)
			switch {
			case l.Pack != prev.Pack:
				t.Errorf("one run reads packs %s and %s", prev.Pack.Short(), l.Pack.Short())
			case l.Offset < prevEnd:
				t.Errorf("pack %s: blob at %d read again (or overlapping) in one run", l.Pack.Short(), l.Offset)
			case l.Offset-prevEnd > runGap:
				t.Errorf("pack %s: gap of %d bytes bridged", l.Pack.Short(), l.Offset-prevEnd)
			case l.Offset > prevEnd:
				bridged++
			}
		}
		return nil
	})
	rr.release(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	if bridged == 0 {
		t.Fatal("no gap bridged: nothing tested")
	}
	w := &memWriterAt{buf: make([]byte, len(vol2))}
	if err := r.Restore(t.Context(), s.ID, w, RestoreOptions{Sparse: true}); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(w.buf, vol2) {
		t.Fatal("restored volume differs")
	}
}
