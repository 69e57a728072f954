package sections

import (
	"bytes"
	"errors"
	"io"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"testing/iotest"
)

// pattern returns n bytes that differ from their neighbours and from zero.
func pattern(n int, seed byte) []byte {
	b := make([]byte, n)
	for i := range b {
		b[i] = seed + byte(i%251) + 1
		if b[i] == 0 {
			b[i] = 0x5a
		}
	}
	return b
}

// layout is a Reader and the bytes it must read as.
type layout struct {
	name string
	r    *Reader
	want []byte
}

func layouts() []layout {
	src := pattern(40, 7)
	a, b := pattern(5, 100), pattern(3, 200)
	br := bytes.NewReader(src)
	return []layout{
		{"none", New(), nil},
		{"one empty", New(Bytes(nil)), nil},
		{"empty zeros", New(Zeros(0), Zeros(0)), nil},
		{"bytes", New(Bytes(a)), a},
		{"zeros", New(Zeros(6)), make([]byte, 6)},
		{"section", New(Section(br, 10, 7)), src[10:17]},
		{"whole section", New(Section(br, 0, 40)), src},
		{"mixed", New(Bytes(a), Zeros(4), Bytes(nil), Section(br, 3, 6), Zeros(0), Bytes(b)),
			bytes.Join([][]byte{a, make([]byte, 4), src[3:9], b}, nil)},
		{"empty ends", New(Zeros(0), Bytes(b), Section(br, 0, 0), Zeros(2), Bytes(nil)),
			bytes.Join([][]byte{b, make([]byte, 2)}, nil)},
		{"same source twice", New(Section(br, 30, 10), Section(br, 0, 5), Section(br, 30, 10)),
			bytes.Join([][]byte{src[30:], src[:5], src[30:]}, nil)},
		{"one-byte parts", New(Bytes(a[:1]), Zeros(1), Section(br, 39, 1), Bytes(b[:1])),
			[]byte{a[0], 0, src[39], b[0]}},
	}
}

func TestReadAtEveryRange(t *testing.T) {
	for _, l := range layouts() {
		t.Run(l.name, func(t *testing.T) {
			size := int64(len(l.want))
			if got := l.r.Size(); got != size {
				t.Fatalf("Size() = %d, want %d", got, size)
			}
			for off := int64(0); off <= size+2; off++ {
				for n := int64(0); n <= size+2; n++ {
					p := bytes.Repeat([]byte{0xee}, int(n)) // poison: zero parts must clear it
					got, err := l.r.ReadAt(p, off)
					wantN, wantErr := n, error(nil)
					if n > 0 && off+n > size {
						wantN, wantErr = max(size-off, 0), io.EOF
					}
					if int64(got) != wantN || err != wantErr {
						t.Fatalf("ReadAt(len %d, off %d) = %d, %v; want %d, %v", n, off, got, err, wantN, wantErr)
					}
					if lo := min(off, size); !bytes.Equal(p[:got], l.want[lo:lo+int64(got)]) {
						t.Fatalf("ReadAt(len %d, off %d) read %x, want %x", n, off, p[:got], l.want[lo:lo+int64(got)])
					}
				}
			}
		})
	}
}

// TestIOTest runs the standard library's io conformance checks (which use ReadAt too).
func TestIOTest(t *testing.T) {
	for _, l := range layouts() {
		t.Run(l.name, func(t *testing.T) {
			if err := iotest.TestReader(io.NewSectionReader(l.r, 0, l.r.Size()), l.want); err != nil {
				t.Fatal(err)
			}
		})
	}
}

func TestReadAtNegativeOffset(t *testing.T) {
	r := New(Bytes([]byte("abc")))
	for _, off := range []int64{-1, -3, -1 << 62} {
		n, err := r.ReadAt(make([]byte, 2), off)
		if n != 0 || err == nil || err == io.EOF {
			t.Errorf("ReadAt(off %d) = %d, %v; want 0 and an error other than io.EOF", off, n, err)
		}
	}
}

var errBoom = errors.New("boom")

// faultyReaderAt serves src but fails every read that reaches past failAt, after copying
// the bytes before it.
type faultyReaderAt struct {
	src    []byte
	failAt int64
	err    error
}

func (f faultyReaderAt) ReadAt(p []byte, off int64) (int, error) {
	if off+int64(len(p)) <= f.failAt {
		return copy(p, f.src[off:]), nil
	}
	return copy(p, f.src[off:f.failAt]), f.err
}

// eagerEOF returns io.EOF with every full read, which io.ReaderAt allows.
type eagerEOF []byte

func (e eagerEOF) ReadAt(p []byte, off int64) (int, error) { return copy(p, e[off:]), io.EOF }

func TestReadAtSourceErrors(t *testing.T) {
	head, src := pattern(4, 1), pattern(20, 50)
	short := bytes.NewReader(src[:10]) // 10 bytes behind a 15-byte section
	tests := []struct {
		name    string
		r       *Reader
		off, n  int64
		wantN   int
		wantErr error // nil: no error
	}{
		{"short source, read within", New(Bytes(head), Section(short, 2, 15)), 0, 12, 12, nil},
		{"short source, read across", New(Bytes(head), Section(short, 2, 15)), 0, 19, 12, io.ErrUnexpectedEOF},
		{"short source, read past", New(Bytes(head), Section(short, 2, 15)), 14, 4, 0, io.ErrUnexpectedEOF},
		{"short source, before next part", New(Section(short, 0, 15), Bytes(head)), 8, 10, 2, io.ErrUnexpectedEOF},
		{"source error", New(Bytes(head), Section(faultyReaderAt{src, 6, errBoom}, 0, 20)), 2, 10, 8, errBoom},
		{"source error at start", New(Section(faultyReaderAt{src, 0, errBoom}, 0, 20)), 0, 5, 0, errBoom},
		{"source error, read before it", New(Section(faultyReaderAt{src, 6, errBoom}, 0, 20)), 0, 6, 6, nil},
		{"source EOF with full read", New(Section(eagerEOF(src), 5, 10), Bytes(head)), 0, 14, 14, nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			p := make([]byte, tc.n)
			n, err := tc.r.ReadAt(p, tc.off)
			if n != tc.wantN {
				t.Errorf("n = %d, want %d", n, tc.wantN)
			}
			switch {
			case tc.wantErr == nil && err != nil:
				t.Errorf("err = %v, want nil", err)
			case tc.wantErr != nil && !errors.Is(err, tc.wantErr):
				t.Errorf("err = %v, want one wrapping %v", err, tc.wantErr)
			case tc.wantErr != nil && !strings.HasPrefix(err.Error(), "sections: "):
				t.Errorf("err = %q, want context prefix", err)
			}
		})
	}
}

func TestReadAtConcurrentFile(t *testing.T) {
	data := pattern(64<<10, 3)
	path := filepath.Join(t.TempDir(), "src")
	if err := os.WriteFile(path, data, 0o600); err != nil {
		t.Fatal(err)
	}
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	extra := pattern(777, 9)
	r := New(Section(f, 100, 30000), Zeros(5000), Bytes(extra), Section(f, 0, 1000), Section(f, 40000, 24<<10))
	want := bytes.Join([][]byte{data[100:30100], make([]byte, 5000), extra, data[:1000], data[40000 : 40000+24<<10]}, nil)
	if r.Size() != int64(len(want)) {
		t.Fatalf("Size() = %d, want %d", r.Size(), len(want))
	}
	var wg sync.WaitGroup
	for g := range 8 {
		wg.Go(func() {
			rng := rand.New(rand.NewPCG(uint64(g), 42))
			for range 200 {
				off := rng.Int64N(r.Size())
				p := make([]byte, rng.IntN(9000))
				n, err := r.ReadAt(p, off)
				end := min(off+int64(len(p)), r.Size())
				if n != int(end-off) || (err != nil && !(err == io.EOF && n < len(p))) {
					t.Errorf("ReadAt(len %d, off %d) = %d, %v", len(p), off, n, err)
					return
				}
				if !bytes.Equal(p[:n], want[off:end]) {
					t.Errorf("ReadAt(len %d, off %d): wrong bytes", len(p), off)
					return
				}
			}
		})
	}
	wg.Wait()
}

func BenchmarkReadAt(b *testing.B) {
	const partSize = 1 << 20
	src := pattern(2*partSize, 1)
	r := New(Bytes(src[:partSize]), Zeros(partSize), Section(bytes.NewReader(src), partSize, partSize), Bytes(src[:partSize]))
	buf := make([]byte, 64<<10)
	b.SetBytes(r.Size())
	for b.Loop() {
		for off := int64(0); off < r.Size(); off += int64(len(buf)) {
			if _, err := r.ReadAt(buf, off); err != nil && err != io.EOF {
				b.Fatal(err)
			}
		}
	}
}
