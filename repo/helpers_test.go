package repo

import (
	"bytes"
	"context"
	"math/rand/v2"
	"os"
	"path/filepath"
	"testing"

	"github.com/cairnbackup/cairn/chunk"
	"github.com/cairnbackup/cairn/crypto"
	"github.com/cairnbackup/cairn/repo/backend"
	"github.com/cairnbackup/cairn/repo/backend/local"
)

var testPassword = []byte("correct horse battery staple")

// testChunker gives small chunks so small test volumes exercise many chunks and packs.
func testChunker() *chunk.Params {
	return &chunk.Params{Algorithm: "rabin", Polynomial: 0x3DA3358B4DC173, MinSize: 64 << 10, MaxSize: 1 << 20, AverageBits: 18}
}

func testInitOptions(t testing.TB) InitOptions {
	kdf := crypto.TestKDFParams()
	return InitOptions{Password: testPassword, Chunker: testChunker(), PackSize: 1 << 20, KDF: &kdf,
		CacheDir: filepath.Join(t.TempDir(), "cache")}
}

// newTestRepo creates a repository in a temp dir and returns it with its directory.
func newTestRepo(t testing.TB) (*Repository, string) {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "repo")
	r, err := Init(context.Background(), dir, testInitOptions(t))
	if err != nil {
		t.Fatalf("Init: %v", err)
	}
	t.Cleanup(func() { r.Close() })
	return r, dir
}

// newRepoOn creates a repository on a given backend.
func newRepoOn(t testing.TB, be backend.Backend) *Repository {
	t.Helper()
	r, err := InitWith(context.Background(), be, testInitOptions(t))
	if err != nil {
		t.Fatalf("InitWith: %v", err)
	}
	t.Cleanup(func() { r.Close() })
	return r
}

func localBackend(t testing.TB) *local.Backend {
	t.Helper()
	be, err := local.Create(filepath.Join(t.TempDir(), "repo"))
	if err != nil {
		t.Fatal(err)
	}
	return be
}

func rng(seed uint64) *rand.ChaCha8 {
	var s [32]byte
	s[0], s[1] = byte(seed), byte(seed>>8)
	return rand.NewChaCha8(s)
}

// Volume generators. All deterministic.
func randomVolume(n int, seed uint64) []byte {
	b := make([]byte, n)
	rng(seed).Read(b)
	return b
}

func compressibleVolume(n int, seed uint64) []byte {
	r := rand.New(rng(seed))
	words := []string{"alpha ", "beta ", "gamma ", "delta ", "volume ", "block ", "cairn ", "kubernetes ", "\n"}
	var buf bytes.Buffer
	for buf.Len() < n {
		buf.WriteString(words[r.IntN(len(words))])
	}
	return buf.Bytes()[:n]
}

// sparseVolume has data islands in a sea of zeros (about 70% zero).
func sparseVolume(n int, seed uint64) []byte {
	b := make([]byte, n)
	r := rand.New(rng(seed))
	for off := 0; off < n; {
		run := 64<<10 + r.IntN(512<<10)
		if r.IntN(10) < 3 {
			end := min(off+run, n)
			rng(seed + uint64(off)).Read(b[off:end])
		}
		off += run
	}
	return b
}

func mixedVolume(n int, seed uint64) []byte {
	b := make([]byte, 0, n)
	for i := 0; len(b) < n; i++ {
		part := min(n-len(b), 3<<20+i*12345)
		switch i % 3 {
		case 0:
			b = append(b, randomVolume(part, seed+uint64(i))...)
		case 1:
			b = append(b, compressibleVolume(part, seed+uint64(i))...)
		default:
			b = append(b, make([]byte, part)...)
		}
	}
	return b
}

func backupBytes(t testing.TB, r *Repository, data []byte, name string) *Snapshot {
	t.Helper()
	s, err := r.Backup(context.Background(), bytes.NewReader(data), BackupOptions{Name: name})
	if err != nil {
		t.Fatalf("Backup: %v", err)
	}
	return s
}

func restoreBytes(t testing.TB, r *Repository, id ID) []byte {
	t.Helper()
	var buf bytes.Buffer
	if err := r.RestoreStream(context.Background(), id, &buf, RestoreOptions{}); err != nil {
		t.Fatalf("RestoreStream: %v", err)
	}
	return buf.Bytes()
}

// dirSize is the total size of the files under dir.
func dirSize(t testing.TB, dir string) int64 {
	t.Helper()
	var n int64
	err := filepath.Walk(dir, func(_ string, fi os.FileInfo, err error) error {
		if err != nil {
			return err
		}
		if !fi.IsDir() {
			n += fi.Size()
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return n
}
