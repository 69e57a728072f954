//go:build linux

package chunk

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/cairnbackup/cairn/internal/pagecache"
)

// directWorks reports whether dir's filesystem takes O_DIRECT reads (tmpfs
// does not).
func directWorks(t testing.TB, dir string) bool {
	t.Helper()
	path := filepath.Join(dir, "direct-probe")
	if err := os.WriteFile(path, make([]byte, directAlign), 0o600); err != nil {
		t.Fatal(err)
	}
	f, err := os.OpenFile(path, os.O_RDONLY|unix.O_DIRECT, 0)
	if err != nil {
		return false
	}
	defer f.Close()
	_, err = f.ReadAt(alignedBuffer(directAlign), 0)
	return err == nil
}

// coldPageCache makes every range look cold, so the splitter reads directly
// whatever the page cache holds, until the test ends.
func coldPageCache(t *testing.T) {
	t.Helper()
	old := pageCached
	pageCached = func(*os.File, int64, int64) bool { return false }
	t.Cleanup(func() { pageCached = old })
}

// TestSplitterDirectAgrees: reading a file directly gives the pieces of the
// reference split, for every layout (holes, odd sizes, a final partial
// block), and every byte read is read directly when the filesystem allows.
func TestSplitterDirectAgrees(t *testing.T) {
	coldPageCache(t)
	direct := directWorks(t, t.TempDir())
	if !direct {
		t.Log("O_DIRECT not supported on the temp dir's filesystem: checking the fallback only")
	}
	p := smallParamsFor(AlgorithmFastCDC)
	for i, l := range layouts {
		t.Run(l.name, func(t *testing.T) {
			path, content := l.build(t, t.TempDir(), byte(i*16+3))
			f, err := os.Open(path)
			if err != nil {
				t.Fatal(err)
			}
			defer f.Close()
			got, st := split(t, f, p, content)
			diffRecs(t, "direct", got, reference(t, content, p))
			if direct && st.DirectBytes != st.BytesRead {
				t.Errorf("%d of %d bytes read directly", st.DirectBytes, st.BytesRead)
			}
		})
	}
}

// TestSplitterDirectBase: direct reads need an aligned file offset; a file
// split from an unaligned offset is read through the page cache.
func TestSplitterDirectBase(t *testing.T) {
	coldPageCache(t)
	dir := t.TempDir()
	if !directWorks(t, dir) {
		t.Skip("O_DIRECT not supported on the temp dir's filesystem")
	}
	l := layout{size: 5*mib + 5, regions: []region{{0, 5*mib + 5, false}}}
	path, content := l.build(t, dir, 9)
	for _, tc := range []struct {
		base   int64
		direct bool
	}{{0, true}, {1, false}, {directAlign, true}, {64*kib + 3, false}, {3 * mib, true}} {
		t.Run(fmt.Sprint(tc.base), func(t *testing.T) {
			f, err := os.Open(path)
			if err != nil {
				t.Fatal(err)
			}
			defer f.Close()
			if _, err := f.Seek(tc.base, io.SeekStart); err != nil {
				t.Fatal(err)
			}
			got, st := split(t, f, smallParams, content[tc.base:])
			diffRecs(t, "file", got, reference(t, content[tc.base:], smallParams))
			if want := map[bool]int64{true: st.BytesRead, false: 0}[tc.direct]; st.DirectBytes != want {
				t.Errorf("%d bytes read directly, want %d", st.DirectBytes, want)
			}
		})
	}
}

// fakeDirect is a directFile over data that fails as told, and records its
// reads and closing.
type fakeDirect struct {
	data    []byte
	failAt  int64 // reads reaching past this offset return what is before it and err
	err     error
	reads   atomic.Int64
	closed  chan struct{}
	aligned atomic.Bool // every read was aligned (offset, length, buffer)
}

func newFakeDirect(data []byte, failAt int64, err error) *fakeDirect {
	f := &fakeDirect{data: data, failAt: failAt, err: err, closed: make(chan struct{})}
	f.aligned.Store(true)
	return f
}

func (f *fakeDirect) ReadAt(p []byte, off int64) (int, error) {
	f.reads.Add(1)
	if off%directAlign != 0 || len(p)%directAlign != 0 || !aligned(p) {
		f.aligned.Store(false)
	}
	if off >= int64(len(f.data)) {
		return 0, io.EOF
	}
	end := min(off+int64(len(p)), int64(len(f.data)))
	if f.err != nil && end > f.failAt {
		n := copy(p, f.data[off:max(off, f.failAt)])
		return n, f.err
	}
	n := copy(p, f.data[off:end])
	if n < len(p) {
		return n, io.EOF
	}
	return n, nil
}

func (f *fakeDirect) Close() error { close(f.closed); return nil }

// waitClosed fails the test unless f is closed within a generous bound (the
// read goroutines close it when they exit).
func (f *fakeDirect) waitClosed(t *testing.T) {
	t.Helper()
	select {
	case <-f.closed:
	case <-time.After(10 * time.Second):
		t.Fatal("direct descriptor not closed")
	}
}

// TestSplitterDirectFallback: a direct read the filesystem refuses (EINVAL)
// switches the stream to the page cache, from where the refused read
// stopped; any other error is the source's read error. The descriptor is
// closed either way.
func TestSplitterDirectFallback(t *testing.T) {
	coldPageCache(t)
	errIO := errors.New("injected I/O error")
	content := randBytes(11, 9*mib+123)
	path := filepath.Join(t.TempDir(), "vol")
	if err := os.WriteFile(path, content, 0o600); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name   string
		failAt int64
		err    error
		// Bytes read directly: reads run concurrently, so any of them may be
		// the first to be refused (a read wholly past the failure point
		// included), and those before it may or may not be read directly.
		minDirect, maxDirect int64
		wantErr              error
	}{
		{"no failure", -1, nil, int64(len(content)), int64(len(content)), nil},
		{"EINVAL at once", 0, syscall.EINVAL, 0, 0, nil},
		{"EINVAL after 3 MiB", 3*mib + 4*kib, syscall.EINVAL, 0, 3*mib + 4*kib, nil},
		{"I/O error", 5 * mib, errIO, 0, 0, errIO},
	} {
		t.Run(tc.name, func(t *testing.T) {
			fd := newFakeDirect(content, tc.failAt, tc.err)
			old := openDirectFile
			openDirectFile = func(*os.File) (directFile, error) { return fd, nil }
			defer func() { openDirectFile = old }()
			f, err := os.Open(path)
			if err != nil {
				t.Fatal(err)
			}
			defer f.Close()
			if tc.wantErr != nil {
				s, err := NewSplitter(f, smallParams)
				if err != nil {
					t.Fatal(err)
				}
				for err == nil {
					_, err = s.Next(nil)
				}
				if !errors.Is(err, tc.wantErr) {
					t.Fatalf("Next: %v, want %v", err, tc.wantErr)
				}
				s.Close()
				fd.waitClosed(t)
				return
			}
			got, st := split(t, f, smallParams, content)
			diffRecs(t, "file", got, reference(t, content, smallParams))
			fd.waitClosed(t)
			if st.DirectBytes < tc.minDirect || st.DirectBytes > tc.maxDirect || !fd.aligned.Load() {
				t.Errorf("%d bytes read directly, want %d..%d (aligned reads: %v)", st.DirectBytes, tc.minDirect, tc.maxDirect, fd.aligned.Load())
			}
			if tc.err == syscall.EINVAL && fd.reads.Load() > 1+ReadAheadBuffers {
				t.Errorf("%d direct reads after EINVAL: not disabled", fd.reads.Load())
			}
		})
	}
}

// TestSplitterDirectPageCache: ranges in the page cache are read through it
// (a file just written is not read back from the disk); once evicted, the
// same file is read directly.
func TestSplitterDirectPageCache(t *testing.T) {
	dir := t.TempDir()
	if !directWorks(t, dir) {
		t.Skip("O_DIRECT not supported on the temp dir's filesystem")
	}
	content := randBytes(5, 6*mib)
	path := filepath.Join(dir, "vol")
	if err := os.WriteFile(path, content, 0o600); err != nil {
		t.Fatal(err)
	}
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if _, err := pagecache.Resident(path); err != nil {
		t.Skipf("cachestat(2) unavailable (%v): every range counts as cold", err)
	}
	_, st := split(t, f, smallParams, content)
	if st.DirectBytes != 0 {
		t.Errorf("cached file: %d of %d bytes read directly", st.DirectBytes, st.BytesRead)
	}
	pagecache.Evict(path)
	if _, err := f.Seek(0, io.SeekStart); err != nil {
		t.Fatal(err)
	}
	_, st = split(t, f, smallParams, content)
	if st.DirectBytes != st.BytesRead {
		t.Errorf("evicted file: %d of %d bytes read directly", st.DirectBytes, st.BytesRead)
	}
}

func TestAlignedBuffer(t *testing.T) {
	for _, n := range []int{1, 100, directAlign, 64 * kib, ReadSize} {
		b := alignedBuffer(n)
		if len(b) != n || cap(b) != n || !aligned(b) {
			t.Errorf("alignedBuffer(%d): len %d cap %d aligned %v", n, len(b), cap(b), aligned(b))
		}
	}
}
