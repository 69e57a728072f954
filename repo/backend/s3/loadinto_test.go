package s3

import (
	"bytes"
	"testing"

	"github.com/cairnbackup/cairn/internal/miniotest"
	"github.com/cairnbackup/cairn/repo/backend"
	"github.com/cairnbackup/cairn/repo/backend/backendtest"
)

func TestLoadInto(t *testing.T) {
	srv := miniotest.Start(t, 1)[0]
	backendtest.RunLoadInto(t, open(t, testConfig(t, srv)))
}

// TestLoadIntoMultipart reads ranges of a multipart object into one reused buffer: across
// a part boundary, and the whole object.
func TestLoadIntoMultipart(t *testing.T) {
	srv := miniotest.Start(t, 1)[0]
	cfg := testConfig(t, srv)
	cfg.PartSize = MinPartSize
	b := open(t, cfg)
	data := backendtest.RandomData(t, 2*MinPartSize+12345)
	h := backend.Handle{Type: backend.Pack, Name: backendtest.RandomName(t)}
	if err := b.Save(t.Context(), h, data); err != nil {
		t.Fatal(err)
	}
	buf := make([]byte, len(data))
	for _, r := range []struct{ off, n int }{{MinPartSize - 10, 20}, {0, len(data)}, {len(data) - 1, 1}} {
		dst := buf[:r.n]
		if err := b.LoadInto(t.Context(), h, int64(r.off), dst); err != nil {
			t.Fatalf("LoadInto [%d, +%d): %v", r.off, r.n, err)
		}
		if !bytes.Equal(dst, data[r.off:r.off+r.n]) {
			t.Fatalf("LoadInto [%d, +%d): wrong bytes", r.off, r.n)
		}
	}
}
