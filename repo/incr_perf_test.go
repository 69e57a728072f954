package repo

import (
	"context"
	"math/rand/v2"
	"os"
	"path/filepath"
	"runtime/pprof"
	"testing"
)

// mutateClustered rewrites pct percent of vol's 4 KiB blocks in runs of 1..maxRun blocks at
// random places, half with random bytes and half with text, as the bench harness makes a
// volume's second generation (bench/gen_image.go, mutateInPlace).
func mutateClustered(vol []byte, pct float64, maxRun int, seed uint64) {
	const blk = 4 << 10
	r := rand.New(rng(seed))
	blocks := len(vol) / blk
	want := int(float64(blocks) * pct / 100)
	for done := 0; done < want; {
		run := min(1+r.IntN(maxRun), want-done)
		start := r.IntN(blocks - run + 1)
		b := vol[start*blk : (start+run)*blk]
		if r.IntN(2) == 0 {
			rng(seed + uint64(done)).Read(b)
		} else {
			copy(b, compressibleVolume(len(b), seed+uint64(done)))
		}
		done += run
	}
}

// BenchmarkIncremental measures an incremental backup of a 512 MiB mixed volume read from a
// file (as the CLI does) after 3% of its 4 KiB blocks were rewritten in runs of up to 64
// blocks (the bench harness's defaults). Most chunks deduplicate against the previous
// generation. The timed backups carry the pprof label phase=incremental, so a CPU profile
// can leave the setup out: go tool pprof -tagfocus=phase=incremental.
func BenchmarkIncremental(b *testing.B) {
	r := benchRepo(b)
	vol := mixedVolume(512<<20, 7)
	path := filepath.Join(b.TempDir(), "vol.img")
	backup := func(ctx context.Context) *Snapshot {
		f, err := os.Open(path)
		if err != nil {
			b.Fatal(err)
		}
		defer f.Close()
		s, err := r.Backup(ctx, f, BackupOptions{})
		if err != nil {
			b.Fatal(err)
		}
		return s
	}
	if err := os.WriteFile(path, vol, 0o600); err != nil {
		b.Fatal(err)
	}
	backup(context.Background())
	b.SetBytes(int64(len(vol)))
	b.ReportAllocs()
	b.ResetTimer()
	var newBytes, newChunks, chunks int64
	for i := 0; i < b.N; i++ {
		b.StopTimer()
		mutateClustered(vol, 3, 64, uint64(100+i))
		if err := os.WriteFile(path, vol, 0o600); err != nil {
			b.Fatal(err)
		}
		b.StartTimer()
		pprof.Do(context.Background(), pprof.Labels("phase", "incremental"), func(ctx context.Context) {
			s := backup(ctx)
			newBytes += s.Stats.NewBytes
			newChunks += s.Stats.NewChunks
			chunks += s.Stats.Chunks
		})
	}
	b.ReportMetric(float64(newBytes)/float64(b.N)/(1<<20), "newMiB/op")
	b.ReportMetric(float64(newChunks)/float64(max(chunks, 1)), "newChunkFrac")
}
