package sections

import (
	"fmt"
	"io"
)

// Part is one range of a Reader: n bytes of r from off, or n zero bytes when r is nil.
type Part struct {
	r   io.ReaderAt
	off int64
	n   int64
}

// Section is n bytes of r starting at off.
func Section(r io.ReaderAt, off, n int64) Part { return Part{r: r, off: off, n: n} }

// Bytes is all of b (not copied: b must not change while the Reader is in use).
func Bytes(b []byte) Part { return Part{r: byteReader(b), n: int64(len(b))} }

// Zeros is n zero bytes.
func Zeros(n int64) Part { return Part{n: n} }

// Len returns the length of the part.
func (p Part) Len() int64 { return p.n }

// byteReader is a byte slice as an io.ReaderAt (bytes.Reader without its cursor).
type byteReader []byte

func (b byteReader) ReadAt(p []byte, off int64) (int, error) {
	if off >= int64(len(b)) {
		return 0, io.EOF
	}
	n := copy(p, b[off:])
	if n < len(p) {
		return n, io.EOF
	}
	return n, nil
}

// Reader is the concatenation of parts. ReadAt is safe for concurrent use when the sources'
// ReadAt is.
type Reader struct {
	parts []Part
	size  int64
}

// New returns the concatenation of parts.
func New(parts ...Part) *Reader {
	r := &Reader{parts: parts}
	for _, p := range parts {
		r.size += p.n
	}
	return r
}

// Size returns the total length.
func (r *Reader) Size() int64 { return r.size }

// ReadAt implements io.ReaderAt: io.EOF when p reaches past the end. A source that returns
// fewer bytes than its part's length is an error (io.ErrUnexpectedEOF), not a short object.
func (r *Reader) ReadAt(p []byte, off int64) (int, error) {
	if off < 0 {
		return 0, fmt.Errorf("sections: read at %d: negative offset", off)
	}
	n := 0
	for _, part := range r.parts {
		if n == len(p) {
			break
		}
		if off >= part.n {
			off -= part.n
			continue
		}
		want := min(int64(len(p)-n), part.n-off)
		dst := p[n : n+int(want)]
		if part.r == nil {
			clear(dst)
		} else if got, err := part.r.ReadAt(dst, part.off+off); int64(got) < want {
			if err == nil || err == io.EOF {
				err = io.ErrUnexpectedEOF
			}
			return n + got, fmt.Errorf("sections: read part at %d: %w", part.off+off, err)
		}
		n += int(want)
		off = 0
	}
	if n < len(p) {
		return n, io.EOF
	}
	return n, nil
}
