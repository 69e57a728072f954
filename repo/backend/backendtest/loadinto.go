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
	h, data := saveDigits(t, be, "ab0123")
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
			if !loadOK(t, "LoadInto", be.LoadInto(ctx, tc.h, tc.off, dst), tc.fail, tc.notFound) {
				return
			}
			if !bytes.Equal(dst, tc.want) {
				t.Fatalf("got %q, want %q", dst, tc.want)
			}
		})
	}
}

// PartsLoader is a backend that can read a range into consecutive parts with one request.
type PartsLoader interface {
	backend.Backend
	LoadParts(ctx context.Context, h backend.Handle, offset int64, parts [][]byte) error
}

// RunLoadParts checks LoadParts on an empty backend be: ranges split into parts of every
// shape (one part, several, empty ones between) fill the parts in order; short and
// out-of-range reads fail; a missing object is ErrNotFound.
func RunLoadParts(t *testing.T, be PartsLoader) {
	ctx := context.Background()
	h, data := saveDigits(t, be, "ef0123")
	tests := []struct {
		name     string
		h        backend.Handle
		off      int64
		sizes    []int
		notFound bool
		fail     bool
	}{
		{name: "one part", h: h, sizes: []int{20}},
		{name: "three parts", h: h, off: 2, sizes: []int{3, 10, 5}},
		{name: "empty parts between", h: h, off: 1, sizes: []int{0, 4, 0, 0, 6, 0}},
		{name: "tail", h: h, off: 15, sizes: []int{1, 4}},
		{name: "short", h: h, off: 15, sizes: []int{4, 2}, fail: true},
		{name: "beyond", h: h, off: 30, sizes: []int{1}, fail: true},
		{name: "missing", h: backend.Handle{Type: backend.Pack, Name: "cd4567"}, sizes: []int{1, 1}, fail: true, notFound: true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			parts := make([][]byte, len(tc.sizes))
			for i, n := range tc.sizes {
				parts[i] = bytes.Repeat([]byte{'.'}, n)
			}
			if !loadOK(t, "LoadParts", be.LoadParts(ctx, tc.h, tc.off, parts), tc.fail, tc.notFound) {
				return
			}
			got := bytes.Join(parts, nil)
			if want := data[tc.off : tc.off+int64(len(got))]; !bytes.Equal(got, want) {
				t.Fatalf("got %q, want %q", got, want)
			}
		})
	}
}

// loadOK checks the error of a load that should fail (fail; as ErrNotFound if notFound) or
// succeed, and reports whether it succeeded.
func loadOK(t *testing.T, op string, err error, fail, notFound bool) bool {
	t.Helper()
	if fail {
		if err == nil {
			t.Fatalf("%s succeeded, want an error", op)
		}
		if errors.Is(err, backend.ErrNotFound) != notFound {
			t.Fatalf("err %v: ErrNotFound %v, want %v", err, !notFound, notFound)
		}
		return false
	}
	if err != nil {
		t.Fatalf("%s: %v", op, err)
	}
	return true
}

// saveDigits stores a 20-byte object named name on be and returns its handle and bytes.
func saveDigits(t *testing.T, be backend.Backend, name string) (backend.Handle, []byte) {
	t.Helper()
	h := backend.Handle{Type: backend.Pack, Name: name}
	data := []byte("0123456789abcdefghij")
	if err := be.Save(context.Background(), h, data); err != nil {
		t.Fatal(err)
	}
	return h, data
}
