package chunk

import (
	"fmt"
	"io"
	"sync/atomic"
)

// ReadAheadBuffers is how many ReadSize buffers a Splitter reading an
// *os.File uses: one being chunked while the others are read concurrently
// (regular files and block devices) or, for pipes and other streams, two:
// one being chunked while one goroutine reads the next.
const ReadAheadBuffers = 4

// streamBuffers is how many buffers a sequential (stream) source uses.
const streamBuffers = 2

// ReadBufferBytes is the most memory a Splitter's source reading holds
// (ReadAheadBuffers × ReadSize), whatever the source and the stream length.
const ReadBufferBytes = ReadAheadBuffers * ReadSize

// raSlot is one read buffer of a readAhead and the extent planned into it.
type raSlot struct {
	buf   []byte
	off   int64 // stream offset of the data to read
	n     int   // bytes to read (0: nothing follows the hole)
	hole  int64 // length of a hole just before off, not yet returned: nothing is read
	got   int   // bytes read
	dgot  int   // of got, bytes read directly (bypassing the page cache)
	err   error
	ready chan struct{} // capacity 1: signalled once the extent is complete
}

// raSource is what the read goroutines of one stream share; it never changes
// while they run.
type raSource struct {
	at     io.ReaderAt   // positioned source; nil for a stream
	stream io.Reader     // sequential source when at is nil
	base   int64         // source offset of stream offset 0 (positioned only)
	direct *directSource // direct reads of a positioned source, or nil
	stop   chan struct{}
	active atomic.Int32 // read goroutines still running; the last closes direct
}

// extent is one step of a readAhead stream: data (len(data) > 0) or a hole
// (hole > 0) at stream offset off.
type extent struct {
	off    int64
	data   []byte // valid until the next call of next
	hole   int64
	direct int // of len(data), bytes read directly (bypassing the page cache)
}

// readAhead reads a source ahead of its consumer into a fixed ring of
// reused buffers. A positioned source (io.ReaderAt: regular files, block
// devices) gets up to len(slots)-1 concurrent positioned reads; a stream gets
// one goroutine reading sequentially into the buffer the consumer does not
// hold. Hole extents found by holes are planned in order with the reads but
// never read. Reads end on ZeroBlockSize boundaries (of the stream offset)
// except at the end of the stream, as the Splitter requires.
//
// Positioned reads go through a directSource when one is given (see there);
// the buffers are aligned for it.
//
// The consumer is one goroutine calling next; planning (hole lookups
// included) runs on it, so only reads happen concurrently. Nothing is
// allocated per read once the buffers exist.
type readAhead struct {
	size  int // bytes per read, a multiple of ZeroBlockSize
	slots []raSlot
	n     int // slots used by the current stream

	src   *raSource
	reqs  chan *raSlot
	holes *holeFinder

	plan     int64 // stream offset of the next extent to plan
	head     int   // slot of the next extent to return
	inflight int   // planned extents not yet returned
	cur      int   // slot the consumer holds, or -1
	end      bool  // the stream ended (EOF or error) at an extent already returned or draining
	err      error // sticky: io.EOF or the read error
	errOff   int64 // stream offset of err
}

// newReadAhead returns an idle readAhead of the given read size (a multiple of
// ZeroBlockSize) and buffer count (at least 2).
func newReadAhead(size, buffers int) *readAhead {
	return &readAhead{size: size, slots: make([]raSlot, buffers), cur: -1, err: io.EOF}
}

// start begins a stream from a positioned source (at, reading at base+offset)
// or, if at is nil, from the sequential source stream. holes, if non-nil,
// lists the extents to skip, and direct, if non-nil, reads at directly
// (positioned sources only). The readAhead owns direct from then on and
// closes it. Any previous stream is abandoned.
func (r *readAhead) start(at io.ReaderAt, stream io.Reader, base int64, holes *holeFinder, direct *directSource) {
	r.abandon()
	r.n = len(r.slots)
	workers := r.n - 1
	if at == nil {
		direct.close()
		r.n, workers, holes, direct = min(streamBuffers, len(r.slots)), 1, nil, nil
	}
	for i := range r.slots[:r.n] {
		if r.slots[i].buf == nil {
			r.slots[i] = raSlot{buf: alignedBuffer(r.size), ready: make(chan struct{}, 1)}
		}
	}
	r.src = &raSource{at: at, stream: stream, base: base, direct: direct, stop: make(chan struct{})}
	r.src.active.Store(int32(workers))
	r.reqs = make(chan *raSlot, len(r.slots))
	r.holes = holes
	r.plan, r.head, r.inflight, r.cur, r.end, r.err, r.errOff = 0, 0, 0, -1, false, nil, 0
	for range workers {
		go r.src.work(r.reqs)
	}
	for i := range r.n {
		r.planInto(i)
	}
}

// work serves read requests until reqs is closed. A stream is read in request
// order by a single worker; once it reports an error or EOF, later requests
// are answered with io.EOF without reading.
func (s *raSource) work(reqs <-chan *raSlot) {
	defer func() {
		if s.active.Add(-1) == 0 {
			s.direct.close()
		}
	}()
	var done bool
	for sl := range reqs {
		select {
		case <-s.stop:
			sl.got, sl.err = 0, io.EOF
			sl.ready <- struct{}{}
			continue
		default:
		}
		switch {
		case s.at != nil:
			s.readAt(sl)
		case done:
			sl.got, sl.err = 0, io.EOF
		default:
			sl.got, sl.err = readFull(s.stream, sl.buf[:sl.n])
			done = sl.err != nil
		}
		sl.ready <- struct{}{}
	}
}

// readAt reads a positioned extent: directly when the directSource takes it
// (in whole or in part), the rest through at.
func (s *raSource) readAt(sl *raSlot) {
	off := s.base + sl.off
	got, ok, err := s.direct.readAt(sl.buf, sl.n, off)
	sl.dgot = got
	if ok && (err != nil || got == sl.n) {
		sl.got, sl.err = got, err
		return
	}
	m, err := s.at.ReadAt(sl.buf[got:sl.n], off+int64(got))
	sl.got, sl.err = got+m, err
	if sl.got < sl.n && sl.err == nil {
		sl.err = io.ErrUnexpectedEOF // io.ReaderAt contract broken
	}
}

// planInto plans the next extent of the stream into slot i and queues its
// read. A hole at the planning offset shares the slot with the data after
// it, so holes take no read slot from the data: on a sparse file every
// worker has a read in flight. After the end of the stream was seen it plans
// nothing.
func (r *readAhead) planInto(i int) {
	if r.end {
		return
	}
	sl := &r.slots[i]
	sl.n, sl.hole, sl.got, sl.dgot, sl.err = r.size, 0, 0, 0, nil
	r.inflight++
	if r.holes != nil {
		start, end := r.holes.next(r.plan)
		if start <= r.plan {
			sl.hole = end - r.plan
			r.plan = end
			start, _ = r.holes.next(r.plan)
		}
		sl.n = int(min(int64(sl.n), start-r.plan))
	}
	sl.off = r.plan
	r.plan += int64(sl.n)
	if sl.n == 0 { // only after a hole, if the hole finder's answers changed
		sl.ready <- struct{}{}
		return
	}
	r.reqs <- sl // capacity len(slots): never blocks
}

// next returns the next extent. data is valid until the following call. At
// the end of the stream it returns io.EOF; a read error is returned with the
// stream offset where it happened in extent.off. Both are sticky.
func (r *readAhead) next() (extent, error) {
	for {
		if r.cur >= 0 {
			r.planInto(r.cur) // the consumer is done with this buffer
			r.cur = -1
		}
		if r.inflight == 0 {
			return extent{off: r.errOff}, r.err
		}
		i := r.head
		sl := &r.slots[i]
		if sl.hole > 0 { // known when planned: returned before the read after it completes
			h := extent{off: sl.off - sl.hole, hole: sl.hole}
			sl.hole = 0
			return h, nil
		}
		<-sl.ready
		r.head = (r.head + 1) % r.n
		r.inflight--
		r.cur = i
		if sl.n > 0 {
			break
		}
	}
	sl := &r.slots[r.cur]
	if sl.err != nil {
		r.err, r.errOff = sl.err, sl.off+int64(sl.got)
		if sl.err != io.EOF {
			r.err = fmt.Errorf("read at offset %d: %w", r.errOff, sl.err)
		}
		r.finish()
		if sl.err != io.EOF || sl.got == 0 {
			return extent{off: r.errOff}, r.err
		}
	}
	return extent{off: sl.off, data: sl.buf[:sl.got], direct: sl.dgot}, nil
}

// finish ends the stream after its last extent: it waits for the reads still
// in flight (past the end they return at once) and stops the workers, so the
// buffers can be reused by the next stream.
func (r *readAhead) finish() {
	r.end = true
	for r.inflight > 0 {
		<-r.slots[r.head].ready
		r.head = (r.head + 1) % r.n
		r.inflight--
	}
	r.stopWorkers()
}

func (r *readAhead) stopWorkers() {
	if r.src != nil {
		close(r.src.stop)
		close(r.reqs)
		r.src, r.reqs = nil, nil
	}
}

// abandon stops the current stream without waiting for reads in flight (a
// stream read can block indefinitely): their buffers are left to the read
// goroutines, which exit after them, and fresh buffers are made for the next
// stream.
func (r *readAhead) abandon() {
	if r.src == nil {
		return
	}
	if r.inflight > 0 {
		r.slots = make([]raSlot, len(r.slots)) // the read goroutines may still hold the old ones
	}
	r.stopWorkers()
	r.inflight, r.cur, r.end, r.err = 0, -1, true, io.EOF
}
