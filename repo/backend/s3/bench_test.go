package s3

import (
	"testing"

	"github.com/cairnbackup/cairn/internal/miniotest"
	"github.com/cairnbackup/cairn/repo/backend"
	"github.com/cairnbackup/cairn/repo/backend/backendtest"
)

const benchSize = 16 << 20

func BenchmarkS3Save16MiB(b *testing.B) {
	srv := miniotest.Start(b, 1)[0]
	be := open(b, testConfig(b, srv))
	data := backendtest.RandomData(b, benchSize)
	// A few names, reused: the store does not grow with b.N.
	names := make([]string, 4)
	for i := range names {
		names[i] = backendtest.RandomName(b)
	}
	b.SetBytes(benchSize)
	b.ResetTimer()
	for i := 0; b.Loop(); i++ {
		h := backend.Handle{Type: backend.Pack, Name: names[i%len(names)]}
		if err := be.Save(b.Context(), h, data); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkS3Load reads whole objects and ranges with Load, and the ranges with LoadInto
// into one reused buffer: compare allocs/op and B/op (a LoadInto allocates no buffer of the
// range's size).
func BenchmarkS3Load(b *testing.B) {
	srv := miniotest.Start(b, 1)[0]
	be := open(b, testConfig(b, srv))
	h := backend.Handle{Type: backend.Pack, Name: backendtest.RandomName(b)}
	if err := be.Save(b.Context(), h, backendtest.RandomData(b, benchSize)); err != nil {
		b.Fatal(err)
	}
	for _, bc := range []struct {
		name           string
		offset, length int64
		into           bool
	}{
		{"16MiB", 0, 0, false},
		{"range1MiB", 5 << 20, 1 << 20, false},
		{"range4KiB", 7 << 20, 4 << 10, false},
		{"into/range1MiB", 5 << 20, 1 << 20, true},
		{"into/range4KiB", 7 << 20, 4 << 10, true},
	} {
		b.Run(bc.name, func(b *testing.B) {
			n := bc.length
			if n == 0 {
				n = benchSize
			}
			dst := make([]byte, bc.length)
			b.SetBytes(n)
			b.ReportAllocs()
			for b.Loop() {
				var err error
				if bc.into {
					err = be.LoadInto(b.Context(), h, bc.offset, dst)
				} else {
					_, err = be.Load(b.Context(), h, bc.offset, bc.length)
				}
				if err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
