package repo

import (
	"bytes"
	"context"
	"io"
	"path/filepath"
	"testing"

	"github.com/cairnbackup/cairn/chunk"
	"github.com/cairnbackup/cairn/crypto"
)

// benchRepo is a repository with production chunking and pack parameters.
func benchRepo(b *testing.B) *Repository {
	b.Helper()
	kdf := crypto.TestKDFParams()
	p, err := chunk.DefaultParams()
	if err != nil {
		b.Fatal(err)
	}
	r, err := Init(context.Background(), filepath.Join(b.TempDir(), "repo"), InitOptions{
		Password: testPassword, KDF: &kdf, Chunker: &p, CacheDir: filepath.Join(b.TempDir(), "cache")})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { r.Close() })
	return r
}

func benchBackup(b *testing.B, vol []byte) {
	r := benchRepo(b)
	b.SetBytes(int64(len(vol)))
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		// Vary one byte per chunk-sized region so every round stores new data.
		b.StopTimer()
		for off := 0; off < len(vol); off += 1 << 20 {
			if vol[off] != 0 {
				vol[off] ^= byte(i + 1)
			}
		}
		b.StartTimer()
		if _, err := r.Backup(context.Background(), bytes.NewReader(vol), BackupOptions{}); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkBackupRandom(b *testing.B)       { benchBackup(b, randomVolume(256<<20, 1)) }
func BenchmarkBackupMixed(b *testing.B)        { benchBackup(b, mixedVolume(256<<20, 2)) }
func BenchmarkBackupCompressible(b *testing.B) { benchBackup(b, compressibleVolume(256<<20, 3)) }
func BenchmarkBackupSparse(b *testing.B)       { benchBackup(b, sparseVolume(256<<20, 4)) }

// BenchmarkBackupUnchanged measures an incremental backup of an unchanged volume.
func BenchmarkBackupUnchanged(b *testing.B) {
	r := benchRepo(b)
	vol := mixedVolume(256<<20, 5)
	if _, err := r.Backup(context.Background(), bytes.NewReader(vol), BackupOptions{}); err != nil {
		b.Fatal(err)
	}
	b.SetBytes(int64(len(vol)))
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if _, err := r.Backup(context.Background(), bytes.NewReader(vol), BackupOptions{}); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkRestoreMixed(b *testing.B) {
	r := benchRepo(b)
	vol := mixedVolume(256<<20, 6)
	s, err := r.Backup(context.Background(), bytes.NewReader(vol), BackupOptions{})
	if err != nil {
		b.Fatal(err)
	}
	b.SetBytes(int64(len(vol)))
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if err := r.RestoreStream(context.Background(), s.ID, io.Discard, RestoreOptions{}); err != nil {
			b.Fatal(err)
		}
	}
}
