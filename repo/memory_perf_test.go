package repo

import (
	"context"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"runtime/metrics"
	"runtime/pprof"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/cairnbackup/cairn/chunk"
	"github.com/cairnbackup/cairn/crypto"
)

// genVolume streams a deterministic mixed volume of n bytes without holding it: 1 MiB
// blocks, each random, text-like or zero (a third each), so any size can be backed up with
// constant test memory.
type genVolume struct {
	n, off int64
	seed   uint64
	block  []byte
	pos    int
}

func newGenVolume(n int64, seed uint64) *genVolume {
	return &genVolume{n: n, seed: seed, block: make([]byte, 1<<20), pos: 1 << 20}
}

func (g *genVolume) Read(p []byte) (int, error) {
	if g.off >= g.n {
		return 0, io.EOF
	}
	if g.pos == len(g.block) {
		i := uint64(g.off >> 20)
		r := rand.New(rand.NewPCG(g.seed, i))
		switch r.IntN(3) {
		case 0:
			rng(g.seed<<32 | i).Read(g.block)
		case 1:
			words := []string{"alpha ", "beta ", "gamma ", "volume ", "cairn ", "kubernetes ", "\n"}
			for b := g.block; len(b) > 0; {
				b = b[copy(b, words[r.IntN(len(words))]):]
			}
		default:
			clear(g.block)
		}
		g.pos = 0
	}
	n := copy(p, g.block[g.pos:])
	n = int(min(int64(n), g.n-g.off))
	g.pos += n
	g.off += int64(n)
	return n, nil
}

// memRepo is a local repository with the production chunker and pack size.
func memRepo(t testing.TB) *Repository {
	t.Helper()
	kdf := crypto.TestKDFParams()
	p, err := chunk.DefaultParams()
	if err != nil {
		t.Fatal(err)
	}
	r, err := Init(context.Background(), filepath.Join(t.TempDir(), "repo"), InitOptions{
		Password: testPassword, KDF: &kdf, Chunker: &p, CacheDir: filepath.Join(t.TempDir(), "cache")})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { r.Close() })
	return r
}

// TestBackupAllocationFlat: a backup's allocations do not grow with the volume: four times
// the data allocates well under twice as much (buffers are recycled, nothing per chunk is
// sized like a chunk).
func TestBackupAllocationFlat(t *testing.T) {
	if testing.Short() || raceEnabled {
		t.Skip("backs up 240 MiB")
	}
	alloc := func(size int64) uint64 {
		r := memRepo(t)
		var before, after runtime.MemStats
		runtime.ReadMemStats(&before)
		if _, err := r.Backup(context.Background(), newGenVolume(size, 3), BackupOptions{}); err != nil {
			t.Fatal(err)
		}
		runtime.ReadMemStats(&after)
		return after.TotalAlloc - before.TotalAlloc
	}
	small, large := alloc(48<<20), alloc(192<<20)
	t.Logf("allocated %d MiB for 48 MiB, %d MiB for 192 MiB", small>>20, large>>20)
	if large > 2*small {
		t.Errorf("allocations grow with the volume: %d MiB for 48 MiB, %d MiB for 192 MiB", small>>20, large>>20)
	}
}

// TestBackupPeakRSS backs up generated volumes of several sizes, each in a child process,
// and reports peak RSS: the engine's memory must be flat in the volume size. Slow:
//
//	CAIRN_RSS=256MiB,1GiB,4GiB go test -run TestBackupPeakRSS -v ./repo/
func TestBackupPeakRSS(t *testing.T) {
	if sz := os.Getenv("CAIRN_RSS_CHILD"); sz != "" {
		n, err := strconv.ParseInt(sz, 10, 64)
		if err != nil {
			t.Fatal(err)
		}
		r := memRepo(t)
		var maxLive uint64
		stop := make(chan struct{})
		sampled := make(chan struct{})
		go func() { // the live heap after each collection: what a memory limit must leave room for
			defer close(sampled)
			s := []metrics.Sample{{Name: "/gc/heap/live:bytes"}}
			for {
				select {
				case <-stop:
					return
				case <-time.After(20 * time.Millisecond):
				}
				metrics.Read(s)
				maxLive = max(maxLive, s[0].Value.Uint64())
			}
		}()
		opts := BackupOptions{}
		if path := os.Getenv("CAIRN_RSS_HEAPPROF"); path != "" {
			// A heap profile of what is live late in the backup (after two collections).
			var once sync.Once
			opts.ProgressInterval = 50 * time.Millisecond
			opts.Progress = func(p Progress) {
				if p.BytesDone < n*9/10 {
					return
				}
				once.Do(func() {
					runtime.GC()
					runtime.GC()
					f, err := os.Create(path)
					if err == nil {
						_ = pprof.Lookup("heap").WriteTo(f, 0)
						f.Close()
					}
				})
			}
		}
		_, err = r.Backup(context.Background(), newGenVolume(n, 5), opts)
		close(stop)
		<-sampled
		if err != nil {
			t.Fatal(err)
		}
		if os.Getenv("CAIRN_RSS_DEBUG") != "" {
			fmt.Fprintf(os.Stderr, "max live heap after a GC %d MiB\n", maxLive>>20)
			st, _ := os.ReadFile("/proc/self/status")
			var ms runtime.MemStats
			runtime.ReadMemStats(&ms)
			for _, l := range strings.Split(string(st), "\n") {
				if strings.HasPrefix(l, "Rss") || strings.HasPrefix(l, "VmHWM") {
					fmt.Fprintln(os.Stderr, l)
				}
			}
			fmt.Fprintf(os.Stderr, "HeapSys %d HeapAlloc %d NumGC %d\n", ms.HeapSys>>20, ms.HeapAlloc>>20, ms.NumGC)
		}
		return
	}
	sizes := os.Getenv("CAIRN_RSS")
	if sizes == "" {
		t.Skip("set CAIRN_RSS=256MiB,1GiB,... to measure peak RSS per volume size")
	}
	var peaks []int64
	for _, s := range strings.Split(sizes, ",") {
		n, err := parseMiB(s)
		if err != nil {
			t.Fatal(err)
		}
		cmd := exec.Command(os.Args[0], "-test.run=^TestBackupPeakRSS$")
		cmd.Env = append(os.Environ(), "CAIRN_RSS_CHILD="+strconv.FormatInt(n, 10))
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("child %s: %v\n%s", s, err, out)
		}
		ru := cmd.ProcessState.SysUsage().(*syscall.Rusage)
		peaks = append(peaks, ru.Maxrss<<10)
		t.Logf("%8s: peak RSS %5.1f MiB, %.1fs cpu", s, float64(ru.Maxrss)/1024,
			cmd.ProcessState.UserTime().Seconds()+cmd.ProcessState.SystemTime().Seconds())
	}
	if first, last := peaks[0], peaks[len(peaks)-1]; last > first+first/2 {
		t.Errorf("peak RSS grows with the volume: %d MiB → %d MiB", first>>20, last>>20)
	}
}

// parseMiB parses "256MiB" or "4GiB".
func parseMiB(s string) (int64, error) {
	s = strings.TrimSpace(s)
	for suf, mul := range map[string]int64{"MiB": 1 << 20, "GiB": 1 << 30} {
		if v, ok := strings.CutSuffix(s, suf); ok {
			n, err := strconv.ParseInt(v, 10, 64)
			return n * mul, err
		}
	}
	return 0, fmt.Errorf("size %q: want NMiB or NGiB", s)
}
