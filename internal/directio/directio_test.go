package directio

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"syscall"
	"testing"
)

func TestBuffer(t *testing.T) {
	for _, n := range []int{1, 100, Align, 64 << 10, 1 << 20, 1<<20 + 1} {
		b := Buffer(n)
		if len(b) != n || cap(b) != n || !Aligned(b) {
			t.Errorf("Buffer(%d): len %d cap %d aligned %v", n, len(b), cap(b), Aligned(b))
		}
	}
	if b := Buffer(0); len(b) != 0 || Aligned(b) {
		t.Errorf("Buffer(0) = %d bytes, aligned %v", len(b), Aligned(b))
	}
}

func TestRounding(t *testing.T) {
	for _, tc := range []struct{ n, down, up int64 }{
		{0, 0, 0}, {1, 0, Align}, {Align - 1, 0, Align}, {Align, Align, Align}, {Align + 1, Align, 2 * Align},
	} {
		if d, u := Down(tc.n), Up(tc.n); d != tc.down || u != tc.up {
			t.Errorf("Down/Up(%d) = %d/%d, want %d/%d", tc.n, d, u, tc.down, tc.up)
		}
	}
}

func TestUnsupported(t *testing.T) {
	for _, tc := range []struct {
		err  error
		want bool
	}{
		{nil, false},
		{syscall.EINVAL, true},
		{fmt.Errorf("open x: %w", &os.PathError{Op: "open", Path: "x", Err: syscall.EINVAL}), true},
		{ErrNotSupported, true},
		{syscall.EIO, false},
		{errors.New("other"), false},
	} {
		if got := Unsupported(tc.err); got != tc.want {
			t.Errorf("Unsupported(%v) = %v, want %v", tc.err, got, tc.want)
		}
	}
}

// TestReopen writes a file through a reopened direct descriptor and reads it back, where
// the platform and the temporary directory's filesystem allow it.
func TestReopen(t *testing.T) {
	path := filepath.Join(t.TempDir(), "f")
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	w, err := Reopen(f, os.O_WRONLY)
	if runtime.GOOS != "linux" {
		if !Unsupported(err) {
			t.Fatalf("Reopen outside Linux: %v", err)
		}
		return
	}
	if Unsupported(err) {
		t.Skipf("no direct I/O here: %v", err)
	}
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	data := Buffer(2 * Align)
	for i := range data {
		data[i] = byte(i * 7)
	}
	if _, err := w.WriteAt(data, Align); err != nil {
		t.Fatal(err)
	}
	r, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	got := make([]byte, 2*Align)
	if _, err := r.ReadAt(got, Align); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, data) {
		t.Fatal("read back differs")
	}
}
