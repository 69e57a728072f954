package repo

import (
	"testing"

	"github.com/cairnbackup/cairn/index"
	"github.com/cairnbackup/cairn/internal/ids"
)

// BenchmarkPackBuilder: the packing stage of a backup, sealing 1 MiB blobs into 16 MiB packs
// (AES-256-GCM under a per-pack key, table and trailer) in a reused buffer.
func BenchmarkPackBuilder(b *testing.B) {
	r, _ := newTestRepo(b)
	payload := randomVolume(1<<20, 21)
	buf := make([]byte, 0, DefaultPackSize+2<<20)
	b.SetBytes(DefaultPackSize)
	b.ReportAllocs()
	for b.Loop() {
		pb, err := r.newPackBuilder(buf)
		if err != nil {
			b.Fatal(err)
		}
		for i := 0; pb.size() < DefaultPackSize; i++ {
			pb.add(index.DataBlob, ids.ID{byte(i), byte(i >> 8)}, len(payload), false, payload)
		}
		_, data, _ := pb.finish()
		buf = data[:0]
	}
}

// BenchmarkReadBlob: the fetch stage of a restore: load one 1 MiB blob from a local pack,
// open it and decompress it.
func BenchmarkReadBlob(b *testing.B) {
	for _, bc := range benchChunks()[:2] {
		b.Run(bc.name, func(b *testing.B) {
			r, _ := newTestRepo(b)
			s := backupBytes(b, r, bc.data, "bench")
			c, err := r.indexCache(b.Context())
			if err != nil {
				b.Fatal(err)
			}
			var e index.Entry
			err = r.walkExtents(b.Context(), c, s, func(x Extent) error {
				if !x.Zero {
					e, _, err = c.Lookup(x.Blob)
				}
				return err
			})
			if err != nil || e.Length == 0 {
				b.Fatalf("no blob: %v", err)
			}
			var buf []byte
			b.SetBytes(int64(e.RawLength))
			b.ReportAllocs()
			for b.Loop() {
				out, err := r.readBlob(b.Context(), e, buf)
				if err != nil {
					b.Fatal(err)
				}
				buf = out[:0]
			}
		})
	}
}
