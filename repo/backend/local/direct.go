package local

import (
	"fmt"
	"io"
	"os"
	"sync"

	"github.com/cairnbackup/cairn/internal/directio"
)

// directBufSize is the size of one direct write of a pack. Two per pack being written: one
// filling, one in flight. At 1 MiB a write keeps this VM's disk at its direct-write rate
// (1.3 GB/s with dd), and the two buffers are 2 MiB of a backup's ~45 MiB.
const directBufSize = 1 << 20

// directBufsKept bounds the backend's free list of direct-write buffers: two packs' worth
// (the one filling and the one being committed).
const directBufsKept = 4

// PackFileMemory is the memory the direct-write buffers of a backend's pack files take
// while one pack fills and one is committed; a backup counts it in its heap allowance.
const PackFileMemory = directBufsKept * directBufSize

// directWriter writes a file sequentially through a second, O_DIRECT descriptor, from a
// goroutine of its own: the caller copies into an aligned buffer (a user-space copy to
// memory in use) while the previous buffer is written, instead of the kernel allocating
// and copying page-cache pages (docs/DECISIONS.md §27). When the filesystem refuses a
// direct write (EINVAL) it and every later write go through the buffered descriptor f.
type directWriter struct {
	f    *os.File
	d    writerAtCloser // the O_DIRECT descriptor
	free chan []byte    // of the backend: recycled buffers
	cur  []byte         // filling; len is the bytes in it
	off  int64          // file offset of cur
	work chan dwrite
	idle chan []byte // buffers back from the writer goroutine
	wg   sync.WaitGroup
	mu   sync.Mutex
	err  error // first write error (sticky)
	// direct is false once the filesystem refused a direct write; only the writer goroutine
	// touches it.
	direct bool
}

// dwrite is one buffer to write: buf[:n] at off, buf padded with zeros to a multiple of
// directio.Align.
type dwrite struct {
	buf []byte
	n   int
	off int64
}

// writerAtCloser is the direct descriptor of a pack file (tests substitute it).
type writerAtCloser interface {
	io.WriterAt
	io.Closer
}

// reopenDirect reopens a pack file for direct writes; replaced by tests.
var reopenDirect = func(f *os.File) (writerAtCloser, error) { return directio.Reopen(f, os.O_WRONLY) }

// newDirectWriter returns a directWriter for the empty file f, or nil when f cannot be
// reopened for direct I/O (the caller then writes f as usual).
func newDirectWriter(f *os.File, free chan []byte) *directWriter {
	d, err := reopenDirect(f)
	if err != nil {
		return nil
	}
	w := &directWriter{f: f, d: d, free: free, work: make(chan dwrite, 1), idle: make(chan []byte, 2), direct: true}
	w.idle <- w.buffer()
	w.idle <- w.buffer()
	w.cur = <-w.idle
	w.wg.Add(1)
	go w.run()
	return w
}

// buffer takes a buffer from the free list or makes one.
func (w *directWriter) buffer() []byte {
	select {
	case b := <-w.free:
		return b[:0]
	default:
		return directio.Buffer(directBufSize)[:0]
	}
}

func (w *directWriter) run() {
	defer w.wg.Done()
	for j := range w.work {
		if w.failed() == nil {
			w.write(j)
		}
		w.idle <- j.buf[:0]
	}
}

// write makes one write, direct while the filesystem allows it.
func (w *directWriter) write(j dwrite) {
	if w.direct {
		m := int(directio.Up(int64(j.n)))
		clear(j.buf[j.n:m])
		_, err := w.d.WriteAt(j.buf[:m], j.off)
		if !directio.Unsupported(err) {
			w.fail(err)
			return
		}
		w.direct = false
	}
	_, err := w.f.WriteAt(j.buf[:j.n], j.off)
	w.fail(err)
}

func (w *directWriter) fail(err error) {
	if err == nil {
		return
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.err == nil {
		w.err = err
	}
}

func (w *directWriter) failed() error {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.err
}

// Write copies p into the buffers, handing each full one to the writer goroutine. It
// returns the first error of an earlier write, if any.
func (w *directWriter) Write(p []byte) (int, error) {
	if err := w.failed(); err != nil {
		return 0, err
	}
	n := len(p)
	for len(p) > 0 {
		k := copy(w.cur[len(w.cur):cap(w.cur)], p)
		w.cur = w.cur[:len(w.cur)+k]
		p = p[k:]
		if len(w.cur) == cap(w.cur) {
			w.submit()
		}
	}
	return n, nil
}

func (w *directWriter) submit() {
	w.work <- dwrite{buf: w.cur[:cap(w.cur)], n: len(w.cur), off: w.off}
	w.off += int64(len(w.cur))
	w.cur = <-w.idle
}

// finish writes what is left, waits for every write and sets the file's size to the bytes
// written (the last direct write was padded to the alignment). It closes the direct
// descriptor and returns the buffers to the free list; f stays open.
func (w *directWriter) finish() error {
	if len(w.cur) > 0 {
		w.submit()
	}
	size := w.off
	w.close()
	if err := w.failed(); err != nil {
		return fmt.Errorf("write pack: %w", mapErr(err))
	}
	if size%directio.Align != 0 {
		if err := w.f.Truncate(size); err != nil {
			return fmt.Errorf("write pack: %w", mapErr(err))
		}
	}
	return nil
}

// close stops the writer goroutine, closes the direct descriptor and recycles the buffers.
// It does not wait for anything but the writes already handed on.
func (w *directWriter) close() {
	if w.work == nil {
		return
	}
	close(w.work)
	w.wg.Wait()
	w.work = nil
	_ = w.d.Close()
	for _, b := range [][]byte{w.cur, <-w.idle} {
		select {
		case w.free <- b:
		default:
		}
	}
	w.cur = nil
}
