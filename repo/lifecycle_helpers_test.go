package repo

import (
	"bytes"
	"context"
	"path/filepath"
	"testing"

	"github.com/cairnbackup/cairn/chunk"
	"github.com/cairnbackup/cairn/crypto"
	"github.com/cairnbackup/cairn/internal/ids"
	"github.com/cairnbackup/cairn/repo/backend"
)

// lcChunker makes small chunks (~16 KiB) so small volumes give many blobs and packs.
func lcChunker() *chunk.Params {
	return &chunk.Params{Algorithm: "rabin", Polynomial: 0x3DA3358B4DC173, MinSize: 4 << 10, MaxSize: 64 << 10, AverageBits: 14}
}

// newLCRepo creates a repository for lifecycle tests: 1 MiB packs, small chunks, index
// objects every 256 blobs.
func newLCRepo(t testing.TB) (*Repository, string) {
	t.Helper()
	return newLCRepoAt(t, filepath.Join(t.TempDir(), "repo"))
}

// newLCRepoAt is newLCRepo at any location (a directory, s3:// URL or zones file).
func newLCRepoAt(t testing.TB, dir string) (*Repository, string) {
	t.Helper()
	kdf := crypto.TestKDFParams()
	r, err := Init(context.Background(), dir, InitOptions{Password: testPassword, Chunker: lcChunker(),
		PackSize: 1 << 20, KDF: &kdf, CacheDir: filepath.Join(t.TempDir(), "cache")})
	if err != nil {
		t.Fatalf("Init: %v", err)
	}
	r.life.indexFlush = 256
	t.Cleanup(func() { r.Close() })
	return r, dir
}

// openLC opens dir as a separate handle (own cache dir), like another process would.
func openLC(t testing.TB, dir string) *Repository {
	t.Helper()
	r, err := Open(context.Background(), dir, OpenOptions{Password: testPassword, CacheDir: filepath.Join(t.TempDir(), "cache")})
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	r.life.indexFlush = 256
	t.Cleanup(func() { r.Close() })
	return r
}

// noGrace prunes immediately (tests run on one clock).
var noGrace = PruneOptions{Grace: -1, ClockSkew: -1}

func mustPrune(t testing.TB, r *Repository, opts PruneOptions) *PruneResult {
	t.Helper()
	res, err := r.Prune(context.Background(), opts)
	if err != nil {
		t.Fatalf("Prune: %v", err)
	}
	return res
}

// mustCheck runs Check and fails the test on any error-level problem.
func mustCheck(t testing.TB, r *Repository, opts CheckOptions) *CheckReport {
	t.Helper()
	rep, err := r.Check(context.Background(), opts)
	if err != nil {
		t.Fatalf("Check: %v", err)
	}
	if !rep.OK() {
		for _, p := range rep.Problems {
			t.Log(p)
		}
		t.Fatalf("Check found %d errors", rep.Errors)
	}
	return rep
}

func checkRestore(t testing.TB, r *Repository, id ID, want []byte) {
	t.Helper()
	var buf bytes.Buffer
	if err := r.RestoreStream(context.Background(), id, &buf, RestoreOptions{}); err != nil {
		t.Fatalf("restore %s: %v", id.Short(), err)
	}
	if !bytes.Equal(buf.Bytes(), want) {
		t.Fatalf("restore %s: content differs (%d bytes, want %d)", id.Short(), buf.Len(), len(want))
	}
}

func countObjects(t testing.TB, r *Repository, typ backend.Type) int {
	t.Helper()
	n := 0
	if err := r.be.List(context.Background(), typ, func(string, int64) error { n++; return nil }); err != nil {
		t.Fatal(err)
	}
	return n
}

// editVolume returns a copy of base with a few regions replaced by fresh random data.
func editVolume(base []byte, seed uint64, regions int) []byte {
	out := bytes.Clone(base)
	r := rng(seed)
	var b [8]byte
	for i := 0; i < regions; i++ {
		r.Read(b[:])
		off := int(uint64(b[0])|uint64(b[1])<<8|uint64(b[2])<<16) % max(1, len(out)-64<<10)
		rng(seed*1000 + uint64(i)).Read(out[off:min(len(out), off+64<<10)])
	}
	return out
}

func bytesReader(b []byte) *bytes.Reader { return bytes.NewReader(b) }

func hashOf(b []byte) [32]byte { return ids.Hash(b) }
