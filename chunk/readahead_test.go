package chunk

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"sync"
	"testing"
	"time"
)

// raTestSize is the read size of the readAhead tests: small, so streams of a
// few hundred KiB cross many buffer boundaries.
const raTestSize = 2 * ZeroBlockSize

// drainReadAhead reads r to its end, checking the extent invariants (contiguous
// offsets, data reads of whole blocks except the last, sticky end) and returns
// the stream (holes as zeros), the hole extents and the final error.
func drainReadAhead(t *testing.T, r *readAhead) ([]byte, [][2]int64, error) {
	t.Helper()
	var out []byte
	var holes [][2]int64
	short := false // a read shorter than a whole number of blocks was returned
	for {
		ext, err := r.next()
		if err != nil {
			if _, err2 := r.next(); !errors.Is(err2, err) && err2 != err {
				t.Fatalf("end not sticky: %v, then %v", err, err2)
			}
			return out, holes, err
		}
		if ext.off != int64(len(out)) {
			t.Fatalf("extent at %d, want %d", ext.off, len(out))
		}
		switch {
		case ext.hole > 0:
			if ext.data != nil {
				t.Fatalf("hole extent at %d has data", ext.off)
			}
			holes = append(holes, [2]int64{ext.off, ext.off + ext.hole})
			out = append(out, make([]byte, ext.hole)...)
		case len(ext.data) == 0:
			t.Fatalf("empty extent at %d", ext.off)
		default:
			if short {
				t.Fatalf("data after a short read at %d", ext.off)
			}
			if len(ext.data) > raTestSize {
				t.Fatalf("extent of %d bytes, read size %d", len(ext.data), raTestSize)
			}
			short = len(ext.data)%ZeroBlockSize != 0
			out = append(out, ext.data...)
		}
	}
}

// failAt is an io.ReaderAt over data that fails every read reaching past at
// (never when at < 0), and records the reads.
type failAt struct {
	data []byte
	at   int64
	mu   sync.Mutex
	log  [][2]int64 // [off, end) of every read
}

func (f *failAt) ReadAt(p []byte, off int64) (int, error) {
	f.mu.Lock()
	f.log = append(f.log, [2]int64{off, off + int64(len(p))})
	f.mu.Unlock()
	if f.at >= 0 && off+int64(len(p)) > f.at {
		end := min(f.at, int64(len(f.data)))
		if off >= end {
			return 0, errBoom
		}
		return copy(p, f.data[off:end]), errBoom
	}
	return bytes.NewReader(f.data).ReadAt(p, off)
}

func TestReadAheadSizes(t *testing.T) {
	sizes := []int{0, 1, ZeroBlockSize - 1, ZeroBlockSize, raTestSize - 1, raTestSize, raTestSize + 1,
		2 * raTestSize, 3*raTestSize + 5, 7*raTestSize + ZeroBlockSize, 20*raTestSize - 1}
	for _, buffers := range []int{2, 3, 4} {
		for _, n := range sizes {
			in := randBytes(byte(n), n)
			sources := map[string]func(r *readAhead){
				"positioned": func(r *readAhead) { r.start(bytes.NewReader(in), nil, 0, nil, nil) },
				"stream":     func(r *readAhead) { r.start(nil, bytes.NewReader(in), 0, nil, nil) },
				"chunky":     func(r *readAhead) { r.start(nil, newChunkyReader(in, uint64(n)), 0, nil, nil) },
				"positioned base": func(r *readAhead) {
					r.start(bytes.NewReader(append(make([]byte, 3), in...)), nil, 3, nil, nil)
				},
			}
			for name, start := range sources {
				t.Run(fmt.Sprintf("%s/buffers=%d/n=%d", name, buffers, n), func(t *testing.T) {
					r := newReadAhead(raTestSize, buffers)
					for round := range 2 { // the second stream reuses the buffers
						start(r)
						got, holes, err := drainReadAhead(t, r)
						if err != io.EOF {
							t.Fatalf("round %d: end %v, want io.EOF", round, err)
						}
						if len(holes) != 0 || !bytes.Equal(got, in) {
							t.Fatalf("round %d: got %d bytes (holes %v), want %d", round, len(got), holes, n)
						}
					}
				})
			}
		}
	}
}

func TestReadAheadErrors(t *testing.T) {
	in := randBytes(5, 9*raTestSize+77)
	for _, at := range []int64{0, 1, raTestSize - 1, raTestSize, 4*raTestSize + 3, int64(len(in)) - 1} {
		for _, buffers := range []int{2, 4} {
			t.Run(fmt.Sprintf("positioned/at=%d/buffers=%d", at, buffers), func(t *testing.T) {
				r := newReadAhead(raTestSize, buffers)
				r.start(&failAt{data: in, at: at}, nil, 0, nil, nil)
				got, _, err := drainReadAhead(t, r)
				if !errors.Is(err, errBoom) {
					t.Fatalf("err %v, want %v", err, errBoom)
				}
				if int64(len(got)) > at || !bytes.Equal(got, in[:len(got)]) {
					t.Fatalf("%d bytes before the error at %d, or wrong bytes", len(got), at)
				}
				if ext, _ := r.next(); ext.off < int64(len(got)) || ext.off > at {
					t.Fatalf("error offset %d, want in [%d, %d]", ext.off, len(got), at)
				}
			})
			t.Run(fmt.Sprintf("stream/at=%d/buffers=%d", at, buffers), func(t *testing.T) {
				r := newReadAhead(raTestSize, buffers)
				r.start(nil, &errReader{data: in[:at], err: errBoom}, 0, nil, nil)
				got, _, err := drainReadAhead(t, r)
				if !errors.Is(err, errBoom) {
					t.Fatalf("err %v, want %v", err, errBoom)
				}
				if int64(len(got)) > at || !bytes.Equal(got, in[:len(got)]) {
					t.Fatalf("%d bytes before the error at %d, or wrong bytes", len(got), at)
				}
			})
		}
	}
}

// TestReadAheadHoles: hole extents come back in order and their bytes are
// never read.
func TestReadAheadHoles(t *testing.T) {
	dir := t.TempDir()
	if !holesWork(t, dir) {
		t.Skip("filesystem does not report holes")
	}
	for i, l := range layouts {
		t.Run(l.name, func(t *testing.T) {
			path, content := l.build(t, t.TempDir(), byte(i))
			f, err := os.Open(path)
			if err != nil {
				t.Fatal(err)
			}
			defer f.Close()
			rec := &failAt{data: content, at: -1}
			r := newReadAhead(raTestSize, 3)
			var hf *holeFinder
			if l.size > 0 {
				hf = &holeFinder{seek: fileSeeker(f), size: l.size}
			}
			r.start(rec, nil, 0, hf, nil)
			got, holes, err := drainReadAhead(t, r)
			if err != io.EOF || !bytes.Equal(got, content) {
				t.Fatalf("got %d bytes, %v; want %d bytes", len(got), err, len(content))
			}
			if hasAlignedHole(l) && len(holes) == 0 {
				t.Fatalf("no hole extent")
			}
			for _, h := range holes {
				if !allZero(content[h[0]:h[1]]) {
					t.Fatalf("hole extent %v covers data", h)
				}
				for _, rd := range rec.log {
					if rd[0] < h[1] && h[0] < rd[1] {
						t.Fatalf("read %v overlaps hole %v", rd, h)
					}
				}
			}
		})
	}
}

// gatedAt is an io.ReaderAt whose reads each announce themselves on entered
// and then wait for release to be closed.
type gatedAt struct {
	data    []byte
	entered chan int64
	release chan struct{}
}

func (g *gatedAt) ReadAt(p []byte, off int64) (int, error) {
	g.entered <- off
	<-g.release
	return bytes.NewReader(g.data).ReadAt(p, off)
}

// TestReadAheadHolesKeepReadsInFlight: on a file of alternating data and
// holes, the holes take no read slot: every worker has a data read in flight
// at once (with a slot per hole, only half of them did).
func TestReadAheadHolesKeepReadsInFlight(t *testing.T) {
	dir := t.TempDir()
	if !holesWork(t, dir) {
		t.Skip("filesystem does not report holes")
	}
	var l layout
	for _, c := range layouts {
		if c.name == "alternating 64k" {
			l = c
		}
	}
	path, content := l.build(t, dir, 9)
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	const buffers = 4
	g := &gatedAt{data: content, entered: make(chan int64, 64), release: make(chan struct{})}
	r := newReadAhead(raTestSize, buffers)
	r.start(g, nil, 0, &holeFinder{seek: fileSeeker(f), size: l.size}, nil)
	deadline := time.After(30 * time.Second) // a failure, not synchronisation
	for n := 0; n < buffers-1; n++ {
		select {
		case <-g.entered:
		case <-deadline:
			close(g.release)
			r.abandon()
			t.Fatalf("%d reads in flight, want %d", n, buffers-1)
		}
	}
	close(g.release)
	go func() { // later reads announce themselves too
		for range g.entered {
		}
	}()
	got, holes, err := drainReadAhead(t, r)
	close(g.entered)
	if err != io.EOF || !bytes.Equal(got, content) || len(holes) == 0 {
		t.Fatalf("got %d bytes, %d holes, %v; want %d bytes", len(got), len(holes), err, len(content))
	}
}

// blockingReader returns data, then blocks until release is closed.
type blockingReader struct {
	data    []byte
	release chan struct{}
}

func (b *blockingReader) Read(p []byte) (int, error) {
	if len(b.data) == 0 {
		<-b.release
		return 0, io.EOF
	}
	n := copy(p, b.data)
	b.data = b.data[n:]
	return n, nil
}

// TestReadAheadAbandon: a stream abandoned while a read blocks does not wait
// for it, and the next stream gets fresh buffers.
func TestReadAheadAbandon(t *testing.T) {
	in := randBytes(6, 5*raTestSize)
	br := &blockingReader{data: in[:raTestSize+7], release: make(chan struct{})}
	defer close(br.release)
	r := newReadAhead(raTestSize, 4)
	r.start(nil, br, 0, nil, nil)
	if ext, err := r.next(); err != nil || !bytes.Equal(ext.data, in[:raTestSize]) {
		t.Fatalf("first extent: %d bytes, %v", len(ext.data), err)
	}
	r.abandon() // the worker is blocked in Read: must not wait
	if _, err := r.next(); err != io.EOF {
		t.Fatalf("after abandon: %v, want io.EOF", err)
	}
	r.start(bytes.NewReader(in), nil, 0, nil, nil)
	got, _, err := drainReadAhead(t, r)
	if err != io.EOF || !bytes.Equal(got, in) {
		t.Fatalf("after restart: %d bytes, %v", len(got), err)
	}
}

// TestSplitterCloseBlockedPipe: Close returns while a pipe read blocks, and
// Next then reports io.EOF.
func TestSplitterCloseBlockedPipe(t *testing.T) {
	pr, pw, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	defer pr.Close()
	defer pw.Close()
	go func() { _, _ = pw.Write(randBytes(7, 3*mib)) }() // then keeps the pipe open
	s, err := NewSplitter(pr, smallParams)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.Next(nil); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Next(nil); err != io.EOF {
		t.Fatalf("Next after Close: %v, want io.EOF", err)
	}
}
