package chunk

import (
	"errors"
	"fmt"
	"io"
	"os"
)

// ReadSize is the size of the Splitter's reads from its source (a multiple
// of ZeroBlockSize); reads near a hole are shorter.
const ReadSize = 2 << 20

// Piece is one unit of a volume stream: a data chunk, or a run of zeros.
type Piece struct {
	Offset int64  // stream offset of the piece
	Length int64  // bytes covered
	Zero   bool   // all zero: Data is nil
	Data   []byte // for data pieces: the chunk bytes (appended to the caller's buf[:0])
}

// SplitStats counts what a Splitter has done so far. BytesRead+HoleBytes is
// the stream length consumed.
type SplitStats struct {
	BytesRead   int64 // bytes read from the source
	DirectBytes int64 // of BytesRead, bytes read bypassing the page cache (O_DIRECT)
	HoleBytes   int64 // bytes in file holes skipped without reading
	ZeroBytes   int64 // bytes of zero blocks found by scanning read data
	Pieces      int64 // pieces returned
	ZeroPieces  int64 // of which zero runs
}

// ErrNilSource is returned by NewSplitter for a nil reader.
var ErrNilSource = errors.New("chunk: nil source")

// blockKind classifies what follows the read position.
type blockKind int

const (
	kindEnd  blockKind = iota // end of stream
	kindData                  // a non-zero block
	kindZero                  // an all-zero block read from the source
	kindHole                  // a hole extent to skip without reading
)

// Splitter turns a volume stream into pieces: runs of zero blocks and
// content-defined chunks of the data between them. See the package
// documentation for the exact contract. A Splitter is not safe for
// concurrent use.
type Splitter struct {
	chunker  Chunker
	seg      segmentReader
	src      io.Reader  // read synchronously into sbuf unless ahead
	ra       *readAhead // reads *os.File sources ahead; made on first use
	prefetch bool       // src is read through ra
	sbuf     []byte     // synchronous read buffer; made on first use

	rbuf       []byte // the buffer being consumed: sbuf or a read-ahead buffer
	rpos, rend int    // rbuf[rpos:rend] is unconsumed stream data
	dataEnd    int    // rbuf[rpos:dataEnd] is known to be non-zero blocks
	zeroAt     int    // rbuf index of a block known to be zero, or -1
	off        int64  // stream offset of rbuf[rpos] (of the hole when hole > 0)
	hole       int64  // with rpos == rend: length of a hole extent at off
	eof        bool   // source exhausted

	inSeg  bool  // a data segment is being chunked
	segOff int64 // stream offset of the next chunk of the segment
	err    error // sticky
	stats  SplitStats
}

// NewSplitter returns a Splitter reading src with chunking parameters p.
//
// If src is an *os.File of a regular file or a block device, the Splitter
// reads it from its current offset with up to ReadAheadBuffers-1 concurrent
// positioned reads of ReadSize bytes ahead of the chunker, and tells the
// kernel the access is sequential; for a regular file it also skips holes
// with SEEK_DATA/SEEK_HOLE. The file offset is unspecified afterwards. Any
// other *os.File (a pipe, a terminal) is read sequentially by one goroutine
// into a second buffer while the first is chunked. Other readers are read
// synchronously, in the caller's goroutine. Call Close when abandoning a
// stream before Next returned io.EOF or an error.
func NewSplitter(src io.Reader, p Params) (*Splitter, error) {
	if src == nil {
		return nil, ErrNilSource
	}
	ch, err := New(p)
	if err != nil {
		return nil, err
	}
	s := &Splitter{chunker: ch}
	s.seg.s = s
	s.Reset(src)
	return s, nil
}

// Reset starts a new stream from src, reusing the Splitter's buffers; a
// stream not read to its end is abandoned as by Close. A nil src yields an
// empty stream.
func (s *Splitter) Reset(src io.Reader) {
	if src == nil {
		src = eofReader{}
	}
	if s.ra != nil {
		s.ra.abandon()
	}
	*s = Splitter{chunker: s.chunker, seg: s.seg, ra: s.ra, sbuf: s.sbuf, src: src, zeroAt: -1}
	if f, ok := src.(*os.File); ok {
		s.openFile(f)
	}
}

// Close stops reading ahead and lets go of the source: reads in flight are
// not waited for (a pipe read may block indefinitely) and their buffers are
// left to them. Next then reports io.EOF until Reset. Close never fails; the
// source itself is not closed.
func (s *Splitter) Close() error {
	if s.ra != nil {
		s.ra.abandon()
	}
	if s.err == nil {
		s.eof, s.prefetch, s.inSeg, s.rpos, s.rend, s.dataEnd, s.hole = true, false, false, 0, 0, 0, 0
		s.src = eofReader{}
	}
	return nil
}

// openFile starts reading an *os.File ahead: positioned reads (and hole
// skipping) for regular files and block devices, sequential reads for the
// rest. Any failure to inspect f falls back to sequential read-ahead.
func (s *Splitter) openFile(f *os.File) {
	if s.ra == nil {
		s.ra = newReadAhead(ReadSize, ReadAheadBuffers)
	}
	s.prefetch = true
	fi, err := f.Stat()
	if err != nil || !positioned(fi.Mode()) {
		s.ra.start(nil, f, 0, nil, nil)
		return
	}
	base, err := f.Seek(0, io.SeekCurrent)
	if err != nil {
		s.ra.start(nil, f, 0, nil, nil)
		return
	}
	var holes *holeFinder
	if holesSupported && fi.Mode().IsRegular() && fi.Size() > base {
		holes = &holeFinder{seek: fileSeeker(f), base: base, size: fi.Size() - base}
	}
	adviseSequential(f, base) // for the ranges read through the page cache
	s.ra.start(f, nil, base, holes, newDirectSource(f, base))
}

// positioned reports whether files of mode m take positioned reads at any
// offset: regular files and block devices.
func positioned(m os.FileMode) bool {
	return m.IsRegular() || (m&os.ModeDevice != 0 && m&os.ModeCharDevice == 0)
}

// Stats returns the counters so far.
func (s *Splitter) Stats() SplitStats { return s.stats }

// Next returns the next piece; data pieces are appended to buf[:0], grown if
// needed. It returns io.EOF after the last piece. Errors are sticky.
func (s *Splitter) Next(buf []byte) (Piece, error) {
	for s.err == nil {
		if s.inSeg {
			data, err := s.chunker.Next(buf)
			if err == nil {
				pc := Piece{Offset: s.segOff, Length: int64(len(data)), Data: data}
				s.segOff += pc.Length
				s.stats.Pieces++
				return pc, nil
			}
			s.inSeg = false
			if err == io.EOF {
				continue
			}
			if s.err == nil { // otherwise the segment reader already recorded it
				s.err = fmt.Errorf("chunk: chunking at offset %d: %w", s.segOff, err)
			}
			break
		}
		kind, _ := s.ahead()
		switch kind {
		case kindEnd:
			if s.err == nil {
				return Piece{}, io.EOF
			}
		case kindData:
			s.inSeg, s.segOff = true, s.off
			s.chunker.Reset(&s.seg)
		default:
			start := s.off
			s.zeroRun()
			if s.err == nil {
				s.stats.Pieces++
				s.stats.ZeroPieces++
				return Piece{Offset: start, Length: s.off - start, Zero: true}, nil
			}
		}
	}
	return Piece{}, s.err
}

// zeroRun consumes zero blocks and holes until data, the end, or an error.
func (s *Splitter) zeroRun() {
	for {
		kind, n := s.ahead()
		switch kind {
		case kindHole:
			s.off += s.hole
			s.stats.HoleBytes += s.hole
			s.hole = 0
		case kindZero:
			s.rpos += n
			s.off += int64(n)
			s.stats.ZeroBytes += int64(n)
		default:
			return
		}
	}
}

// ahead classifies what follows the read position, reading if needed. For
// kindZero it also returns the block length. Errors set s.err and report
// kindEnd.
func (s *Splitter) ahead() (blockKind, int) {
	if s.dataEnd > s.rpos {
		return kindData, 0
	}
	if s.rpos == s.rend {
		if s.hole == 0 {
			s.fill()
		}
		switch {
		case s.err != nil:
			return kindEnd, 0
		case s.hole > 0:
			return kindHole, 0
		case s.rpos == s.rend:
			return kindEnd, 0
		}
	}
	// Reads end on block boundaries except at EOF, so rbuf[rpos:] starts
	// with whole blocks and only the stream's final block may be shorter.
	blk := s.rbuf[s.rpos:min(s.rpos+ZeroBlockSize, s.rend)]
	if s.rpos == s.zeroAt || isZero(blk) {
		return kindZero, len(blk)
	}
	end := s.rpos + len(blk)
	for end < s.rend {
		blk = s.rbuf[end:min(end+ZeroBlockSize, s.rend)]
		if isZero(blk) {
			s.zeroAt = end
			break
		}
		end += len(blk)
	}
	s.dataEnd = end
	return kindData, 0
}

// fill refills the empty read buffer, or records the hole extent that starts
// at the read position instead of reading it.
func (s *Splitter) fill() {
	s.rpos, s.rend, s.dataEnd, s.zeroAt = 0, 0, 0, -1
	if s.eof {
		return
	}
	if s.prefetch {
		s.fillAhead()
		return
	}
	if s.sbuf == nil {
		s.sbuf = make([]byte, ReadSize)
	}
	s.rbuf = s.sbuf
	m, err := readFull(s.src, s.rbuf)
	s.rend = m
	s.stats.BytesRead += int64(m)
	switch {
	case err == io.EOF:
		s.eof = true
	case err != nil:
		s.err = fmt.Errorf("chunk: read at offset %d: %w", s.off+int64(m), err)
	}
}

// fillAhead takes the next extent from the read-ahead: data becomes rbuf, a
// hole is recorded.
func (s *Splitter) fillAhead() {
	ext, err := s.ra.next()
	switch {
	case err == io.EOF:
		s.eof = true
	case err != nil:
		s.err = fmt.Errorf("chunk: %w", err)
	case ext.hole > 0:
		s.hole = ext.hole
	default:
		s.rbuf, s.rend = ext.data, len(ext.data)
		s.stats.BytesRead += int64(len(ext.data))
		s.stats.DirectBytes += int64(ext.direct)
	}
}

// segmentReader feeds the Chunker one data segment: the bytes up to the next
// zero block, hole, or end of stream, where it reports io.EOF.
type segmentReader struct{ s *Splitter }

func (r *segmentReader) Read(p []byte) (int, error) {
	s := r.s
	if s.dataEnd == s.rpos {
		if kind, _ := s.ahead(); kind != kindData {
			if s.err != nil {
				return 0, s.err
			}
			return 0, io.EOF
		}
	}
	n := copy(p, s.rbuf[s.rpos:s.dataEnd])
	s.rpos += n
	s.off += int64(n)
	return n, nil
}
