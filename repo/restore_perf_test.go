package repo

import (
	"bytes"
	"context"
	"math/rand/v2"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/cairnbackup/cairn/chunk"
	"github.com/cairnbackup/cairn/crypto"
	"github.com/cairnbackup/cairn/internal/pagecache"
)

// benchMixedImage is like the bench harness's "mixed" image: segments of 1-8 MiB, 40%
// random, 30% text-like (a skewed vocabulary, about 3x compressible), 30% zeros.
func benchMixedImage(n int, seed uint64) []byte {
	r := rand.New(rand.NewPCG(seed, 7))
	vocab := make([][]byte, 4096)
	for i := range vocab {
		w := make([]byte, 2+r.IntN(9))
		for j := range w {
			w[j] = byte('a' + r.IntN(26))
		}
		vocab[i] = append(w, ' ')
	}
	zipf := rand.NewZipf(r, 1.1, 1, uint64(len(vocab)-1))
	b := make([]byte, n)
	for off := 0; off < n; {
		part := min(n-off, (1+r.IntN(8))<<20)
		seg := b[off : off+part]
		switch p := r.IntN(10); {
		case p < 4:
			rng(seed ^ uint64(off)).Read(seg)
		case p < 7:
			for s := seg; len(s) > 0; {
				s = s[copy(s, vocab[zipf.Uint64()]):]
				if len(s) > 0 && r.IntN(12) == 0 {
					s[0] = '\n'
					s = s[1:]
				}
			}
		}
		off += part
	}
	return b
}

// benchRestoreFile measures what "cairn restore SNAP new-file" does after a cold start:
// open the repository (cheap test KDF), restore sparsely into a new file, set its size,
// fsync. The repository's and the cache's pages are dropped before every round.
func benchRestoreFile(b *testing.B, size int) {
	ctx := context.Background()
	dir := b.TempDir()
	repoDir, cacheDir := filepath.Join(dir, "repo"), filepath.Join(dir, "cache")
	kdf := crypto.TestKDFParams()
	p, err := chunk.DefaultParams()
	if err != nil {
		b.Fatal(err)
	}
	vol := benchMixedImage(size, 11)
	r, err := Init(ctx, repoDir, InitOptions{Password: testPassword, KDF: &kdf, Chunker: &p, CacheDir: cacheDir})
	if err != nil {
		b.Fatal(err)
	}
	s, err := r.Backup(ctx, bytes.NewReader(vol), BackupOptions{})
	if err != nil {
		b.Fatal(err)
	}
	r.Close()
	target := filepath.Join(dir, "restored.img")
	b.SetBytes(int64(size))
	b.ReportAllocs()
	var tOpen, tRestore, tSync time.Duration
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		b.StopTimer()
		_ = os.Remove(target)
		pagecache.Evict(repoDir, cacheDir)
		b.StartTimer()
		t0 := time.Now()
		r, err := Open(ctx, repoDir, OpenOptions{Password: testPassword, CacheDir: cacheDir})
		if err != nil {
			b.Fatal(err)
		}
		f, err := os.OpenFile(target, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
		if err != nil {
			b.Fatal(err)
		}
		t1 := time.Now()
		if err := r.Restore(ctx, s.ID, f, RestoreOptions{Sparse: true}); err != nil {
			b.Fatal(err)
		}
		t2 := time.Now()
		if err := f.Truncate(int64(size)); err != nil {
			b.Fatal(err)
		}
		if err := f.Sync(); err != nil {
			b.Fatal(err)
		}
		if err := f.Close(); err != nil {
			b.Fatal(err)
		}
		t3 := time.Now()
		tOpen, tRestore, tSync = tOpen+t1.Sub(t0), tRestore+t2.Sub(t1), tSync+t3.Sub(t2)
		r.Close()
	}
	b.StopTimer()
	b.ReportMetric(tOpen.Seconds()/float64(b.N), "open-s/op")
	b.ReportMetric(tRestore.Seconds()/float64(b.N), "restore-s/op")
	b.ReportMetric(tSync.Seconds()/float64(b.N), "sync-s/op")
	got, err := os.ReadFile(target)
	if err != nil {
		b.Fatal(err)
	}
	if !bytes.Equal(got, vol) {
		b.Fatal("restored file differs from the volume")
	}
}

// BenchmarkRestoreFile256M restores a 256 MiB mixed image into a new file, cold.
func BenchmarkRestoreFile256M(b *testing.B) { benchRestoreFile(b, 256<<20) }

// BenchmarkRestoreFile1G restores a 1 GiB mixed image into a new file, cold (issue 5).
func BenchmarkRestoreFile1G(b *testing.B) { benchRestoreFile(b, 1<<30) }
