package local

import (
	"bytes"
	"context"
	"errors"
	"math/rand/v2"
	"os"
	"syscall"
	"testing"

	"github.com/cairnbackup/cairn/internal/directio"
	"github.com/cairnbackup/cairn/repo/backend"
)

// strictDirect stands in for an O_DIRECT descriptor on any filesystem: it refuses (and
// reports) writes a real one would refuse, and fails with fail the write numbered failAt
// (1-based; 0: never).
type strictDirect struct {
	t      *testing.T
	f      *os.File
	writes int
	failAt int
	fail   error
}

func (s *strictDirect) WriteAt(p []byte, off int64) (int, error) {
	s.writes++
	if s.writes == s.failAt {
		return 0, s.fail
	}
	if off%directio.Align != 0 || len(p)%directio.Align != 0 || !directio.Aligned(p) {
		s.t.Errorf("unaligned direct write: %d bytes at %d", len(p), off)
		return 0, syscall.EINVAL
	}
	return s.f.WriteAt(p, off)
}

func (s *strictDirect) Close() error { return s.f.Close() }

// useStrictDirect makes new pack files use strictDirect descriptors and returns the last one
// made.
func useStrictDirect(t *testing.T, failAt int, fail error) **strictDirect {
	var last *strictDirect
	old := reopenDirect
	t.Cleanup(func() { reopenDirect = old })
	reopenDirect = func(f *os.File) (writerAtCloser, error) {
		g, err := os.OpenFile(f.Name(), os.O_WRONLY, 0)
		if err != nil {
			return nil, err
		}
		last = &strictDirect{t: t, f: g, failAt: failAt, fail: fail}
		return last, nil
	}
	return &last
}

// writePack writes data to a new pack file in pieces of random sizes and commits it as h.
func writePack(t *testing.T, b *Backend, h backend.Handle, data []byte, seed uint64) error {
	t.Helper()
	ctx := context.Background()
	p, err := b.CreatePack(ctx)
	if err != nil {
		t.Fatal(err)
	}
	rng := rand.New(rand.NewPCG(seed, 1))
	for rest := data; len(rest) > 0; {
		n := min(len(rest), 1+rng.IntN(300<<10))
		if _, err := p.Write(rest[:n]); err != nil {
			_ = p.Abort()
			return err
		}
		rest = rest[n:]
	}
	return p.Commit(ctx, h)
}

func randomBytes(n int, seed uint64) []byte {
	b := make([]byte, n)
	_, _ = rand.NewChaCha8([32]byte{byte(seed)}).Read(b)
	return b
}

// TestPackFileDirect: packs of sizes around the alignment and the buffer size are stored
// exactly, through aligned direct writes only.
func TestPackFileDirect(t *testing.T) {
	for _, size := range []int{0, 1, directio.Align - 1, directio.Align, directio.Align + 1,
		directBufSize - 1, directBufSize, directBufSize + 1, 3*directBufSize + 12345} {
		t.Run("", func(t *testing.T) {
			last := useStrictDirect(t, 0, nil)
			b, err := Create(t.TempDir())
			if err != nil {
				t.Fatal(err)
			}
			h := backend.Handle{Type: backend.Pack, Name: "ab12cd34"}
			data := randomBytes(size, uint64(size))
			if err := writePack(t, b, h, data, uint64(size)); err != nil {
				t.Fatal(err)
			}
			got, err := os.ReadFile(b.Path(h))
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(got, data) {
				t.Fatalf("stored %d bytes, want %d (equal prefix: %v)", len(got), len(data), bytes.HasPrefix(got, data))
			}
			if want := (size + directBufSize - 1) / directBufSize; (*last).writes != want {
				t.Fatalf("%d direct writes, want %d", (*last).writes, want)
			}
		})
	}
}

// TestPackFileDirectReal writes a pack through a real O_DIRECT descriptor where the
// temporary directory's filesystem has them.
func TestPackFileDirectReal(t *testing.T) {
	b, err := Create(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	p, err := b.CreatePack(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	direct := p.d != nil
	_ = p.Abort()
	if !direct {
		t.Skip("no direct I/O on this filesystem")
	}
	h := backend.Handle{Type: backend.Pack, Name: "ab12cd34"}
	data := randomBytes(2*directBufSize+777, 3)
	if err := writePack(t, b, h, data, 3); err != nil {
		t.Fatal(err)
	}
	got := make([]byte, len(data)-5)
	if err := b.LoadInto(context.Background(), h, 5, got); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, data[5:]) {
		t.Fatal("read back differs")
	}
}

// TestPackFileDirectFailures: a filesystem refusing direct writes gets the pack written
// through the page cache; any other write error fails the pack and leaves nothing behind.
func TestPackFileDirectFailures(t *testing.T) {
	tests := []struct {
		name    string
		failAt  int
		err     error
		wantErr error
	}{
		{"refused at once", 1, syscall.EINVAL, nil},
		{"refused later", 3, syscall.EINVAL, nil},
		{"disk full", 2, syscall.ENOSPC, backend.ErrNoSpace},
		{"i/o error", 3, syscall.EIO, syscall.EIO},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			useStrictDirect(t, tc.failAt, tc.err)
			dir := t.TempDir()
			b, err := Create(dir)
			if err != nil {
				t.Fatal(err)
			}
			h := backend.Handle{Type: backend.Pack, Name: "ab12cd34"}
			data := randomBytes(4*directBufSize+99, 5)
			err = writePack(t, b, h, data, 5)
			if tc.wantErr != nil {
				if !errors.Is(err, tc.wantErr) {
					t.Fatalf("err = %v, want %v", err, tc.wantErr)
				}
				if _, serr := os.Stat(b.Path(h)); !errors.Is(serr, os.ErrNotExist) {
					t.Fatalf("a failed pack was stored: %v", serr)
				}
				if left, _ := os.ReadDir(dir + "/data/ab"); len(left) != 0 {
					t.Fatalf("files left: %v", left)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			got, err := os.ReadFile(b.Path(h))
			if err != nil || !bytes.Equal(got, data) {
				t.Fatalf("stored %d bytes (%v), want %d", len(got), err, len(data))
			}
		})
	}
}
