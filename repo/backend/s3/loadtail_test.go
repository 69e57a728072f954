package s3

import (
	"bytes"
	"errors"
	"fmt"
	"testing"

	"github.com/cairnbackup/cairn/internal/miniotest"
	"github.com/cairnbackup/cairn/repo/backend"
	"github.com/cairnbackup/cairn/repo/backend/backendtest"
)

// TestLoadTail: a suffix-range GET returns the last n bytes, or the whole object when it is
// shorter; a missing object is ErrNotFound; a bad length is refused before any request.
func TestLoadTail(t *testing.T) {
	srv := miniotest.Start(t, 1)[0]
	b := open(t, testConfig(t, srv))
	ctx := t.Context()
	tests := []struct {
		size int
		n    int64
	}{
		{0, 4096}, {1, 1}, {10, 4096}, {5000, 4096}, {4096, 4096}, {70_000, 100},
	}
	for _, tc := range tests {
		t.Run(fmt.Sprint(tc.size, "/", tc.n), func(t *testing.T) {
			h := backend.Handle{Type: backend.Pack, Name: backendtest.RandomName(t)}
			data := bytes.Repeat([]byte("0123456789abcdef"), tc.size/16+1)[:tc.size]
			if err := b.Save(ctx, h, data); err != nil {
				t.Fatal(err)
			}
			got, err := b.LoadTail(ctx, h, tc.n)
			if err != nil {
				t.Fatal(err)
			}
			want := data[max(0, int64(len(data))-tc.n):]
			if !bytes.Equal(got, want) {
				t.Fatalf("LoadTail(%d) of %d bytes: got %d bytes, want %d", tc.n, tc.size, len(got), len(want))
			}
		})
	}
	missing := backend.Handle{Type: backend.Pack, Name: backendtest.RandomName(t)}
	if _, err := b.LoadTail(ctx, missing, 10); !errors.Is(err, backend.ErrNotFound) {
		t.Fatalf("missing object: %v, want ErrNotFound", err)
	}
	for _, n := range []int64{0, -5} {
		if _, err := b.LoadTail(ctx, missing, n); err == nil || errors.Is(err, backend.ErrNotFound) {
			t.Fatalf("LoadTail(%d): %v, want an argument error", n, err)
		}
	}
}
