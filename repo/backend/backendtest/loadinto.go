package backendtest

import (
	"bytes"
	"context"
	"errors"
	"testing"

	"github.com/cairnbackup/cairn/repo/backend"
)

// LoaderInto is a backend that can read into a caller's buffer (repo.LoaderInto).
type LoaderInto interface {
	backend.Backend
	LoadInto(ctx context.Context, h backend.Handle, offset int64, dst []byte) error
}

// RunLoadInto checks LoadInto on an empty backend be: exact ranges, the empty range at the
// end, short and out-of-range reads failing, a missing object reported as ErrNotFound, and
// invalid names refused.
func RunLoadInto(t *testing.T, be LoaderInto) {
	ctx := context.Background()
	h := backend.Handle{Type: backend.Pack, Name: "ab0123"}
	data := []byte("0123456789abcdefghij")
	if err := be.Save(ctx, h, data); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name     string
		h        backend.Handle
		off, n   int64
		want     []byte
		notFound bool
		fail     bool
	}{
		{name: "all", h: h, n: 20, want: data},
		{name: "middle", h: h, off: 5, n: 7, want: data[5:12]},
		{name: "tail", h: h, off: 15, n: 5, want: data[15:]},
		{name: "empty", h: h, off: 20, n: 0, want: []byte{}},
		{name: "short", h: h, off: 15, n: 6, fail: true},
		{name: "beyond", h: h, off: 30, n: 1, fail: true},
		{name: "negative", h: h, off: -1, n: 1, fail: true},
		{name: "missing", h: backend.Handle{Type: backend.Pack, Name: "cd4567"}, n: 1, fail: true, notFound: true},
		{name: "invalid name", h: backend.Handle{Type: backend.Pack, Name: "../x"}, n: 1, fail: true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			dst := make([]byte, tc.n)
			err := be.LoadInto(ctx, tc.h, tc.off, dst)
			if tc.fail {
				if err == nil {
					t.Fatal("LoadInto succeeded, want an error")
				}
				if errors.Is(err, backend.ErrNotFound) != tc.notFound {
					t.Fatalf("err %v: ErrNotFound %v, want %v", err, !tc.notFound, tc.notFound)
				}
				return
			}
			if err != nil {
				t.Fatalf("LoadInto: %v", err)
			}
			if !bytes.Equal(dst, tc.want) {
				t.Fatalf("got %q, want %q", dst, tc.want)
			}
		})
	}
}
