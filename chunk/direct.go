package chunk

import (
	"errors"
	"io"
	"os"
	"sync/atomic"
	"syscall"
	"unsafe"
)

// directAlign is the alignment of direct reads: file offset, length and
// buffer address. 4096 covers the logical block size of every common disk
// and filesystem (512 or 4096); a device needing more refuses the read with
// EINVAL, and the source falls back to buffered reads.
const directAlign = 4096

// directFile is a descriptor of the source that bypasses the page cache.
type directFile interface {
	io.ReaderAt
	io.Closer
}

// directSource reads a positioned source with direct I/O (O_DIRECT) where that
// is both possible and cheaper than the page cache.
//
// Reading a cold volume through the page cache costs the kernel a page
// allocation and a copy per 4 KiB, and on virtual machines the allocation
// itself is expensive: a cold GiB took 0.25–2.4 s of system time from run to
// run on the benchmark VMs, against ~0.1 s read directly (docs/DECISIONS.md
// §16). It also fills the page cache with a volume nobody will read again,
// evicting the application's own cache and charging the backup pod's memory
// cgroup. Ranges already (mostly) in the page cache are still read through it:
// a file just written is copied from memory, not read back from the disk, and
// dirty pages are not forced out first.
type directSource struct {
	f        directFile
	cached   func(off, n int64) bool // whether [off, off+n) is mostly in the page cache already
	disabled atomic.Bool             // the filesystem refused a direct read: buffered from then on
}

// Hooks, replaced by tests: how a direct descriptor is opened and how page
// cache residency is asked.
var (
	openDirectFile = openDirect
	pageCached     = mostlyCached
)

// newDirectSource returns a directSource for f read from file offset base, or
// nil when direct reads are impossible: an unaligned base, a platform or
// filesystem without O_DIRECT (tmpfs refuses it), no /proc.
func newDirectSource(f *os.File, base int64) *directSource {
	if base%directAlign != 0 {
		return nil
	}
	d, err := openDirectFile(f)
	if err != nil {
		return nil
	}
	return &directSource{f: d, cached: func(off, n int64) bool { return pageCached(f, off, n) }}
}

// readAt reads up to n bytes at file offset off into buf (len(buf) >= n,
// rounded up to directAlign) with one direct read, and reports how many bytes
// it read, whether it was used at all, and the error. A read the filesystem
// refuses (EINVAL) disables direct reads for the rest of the stream and
// returns the bytes read before it with ok set and a nil error, so the caller
// reads the rest through the page cache.
func (d *directSource) readAt(buf []byte, n int, off int64) (got int, ok bool, err error) {
	if d == nil || d.disabled.Load() || off%directAlign != 0 || !aligned(buf) || d.cached(off, int64(n)) {
		return 0, false, nil
	}
	m := (n + directAlign - 1) &^ (directAlign - 1)
	if m > len(buf) {
		return 0, false, nil
	}
	got, err = d.f.ReadAt(buf[:m], off)
	if errors.Is(err, syscall.EINVAL) {
		d.disabled.Store(true)
		return got, true, nil
	}
	if got >= n {
		got, err = n, nil // the rounded-up tail is not part of the extent
	}
	return got, true, err
}

// close closes the direct descriptor.
func (d *directSource) close() {
	if d != nil {
		_ = d.f.Close()
	}
}

// aligned reports whether b starts on a directAlign boundary.
func aligned(b []byte) bool {
	return len(b) > 0 && uintptr(unsafe.Pointer(&b[0]))%directAlign == 0
}

// alignedBuffer returns a zeroed buffer of n bytes that starts on a
// directAlign boundary. Go's allocator already page-aligns large buffers, so
// this only costs extra when it does not.
func alignedBuffer(n int) []byte {
	b := make([]byte, n)
	if n == 0 || aligned(b) {
		return b
	}
	b = make([]byte, n+directAlign)
	skip := (directAlign - int(uintptr(unsafe.Pointer(&b[0]))%directAlign)) % directAlign
	return b[skip : skip+n : skip+n]
}
