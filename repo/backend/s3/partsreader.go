package s3

import (
	"errors"
	"fmt"
	"io"
	"sync"

	"github.com/cairnbackup/cairn/internal/sections"
)

// errBodyClosed is what a request body read after its PUT returned gets.
var errBodyClosed = errors.New("s3: request body read after the upload returned")

// partsReader is the request body of a PUT: size bytes of src, read in place (src is
// typically a sections.Reader joining the caller's parts). It is an io.ReadSeeker (minio-go
// retries by seeking to 0) and an io.ReaderAt (minio-go then reads a section of it instead
// of buffering). After Close every read fails, so memory the caller reuses once Save
// returns is never read by a transport goroutine still draining the body of a failed
// request.
type partsReader struct {
	mu     sync.Mutex
	src    io.ReaderAt
	size   int64
	off    int64
	closed bool
}

// newPartsReader returns the body of the concatenation of parts.
func newPartsReader(parts [][]byte) *partsReader {
	ps := make([]sections.Part, len(parts))
	for i, p := range parts {
		ps[i] = sections.Bytes(p)
	}
	s := sections.New(ps...)
	return &partsReader{src: s, size: s.Size()}
}

// newBodyReader returns the body of size bytes of src.
func newBodyReader(src io.ReaderAt, size int64) *partsReader {
	return &partsReader{src: src, size: size}
}

// Size returns the total length of the parts.
func (r *partsReader) Size() int64 { return r.size }

// Read implements io.Reader.
func (r *partsReader) Read(p []byte) (int, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	n, err := r.readAt(p, r.off)
	r.off += int64(n)
	if err == io.EOF && n > 0 {
		err = nil
	}
	return n, err
}

// ReadAt implements io.ReaderAt.
func (r *partsReader) ReadAt(p []byte, off int64) (int, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if off < 0 {
		return 0, fmt.Errorf("s3: read body at %d: negative offset", off)
	}
	return r.readAt(p, off)
}

// readAt reads from offset off, within size; io.EOF when p is not filled. Called with mu
// held.
func (r *partsReader) readAt(p []byte, off int64) (int, error) {
	if r.closed {
		return 0, errBodyClosed
	}
	if off >= r.size {
		return 0, io.EOF
	}
	short := false
	if rest := r.size - off; int64(len(p)) > rest {
		p, short = p[:rest], true
	}
	n, err := r.src.ReadAt(p, off)
	if n == len(p) && (err == nil || err == io.EOF) {
		if short {
			return n, io.EOF
		}
		return n, nil
	}
	if err == nil || err == io.EOF {
		err = io.ErrUnexpectedEOF
	}
	return n, err
}

// Seek implements io.Seeker.
func (r *partsReader) Seek(offset int64, whence int) (int64, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	switch whence {
	case io.SeekStart:
	case io.SeekCurrent:
		offset += r.off
	case io.SeekEnd:
		offset += r.size
	default:
		return 0, fmt.Errorf("s3: seek body: bad whence %d", whence)
	}
	if offset < 0 {
		return 0, fmt.Errorf("s3: seek body to %d: negative position", offset)
	}
	r.off = offset
	return offset, nil
}

// Close makes every later read fail; it waits for a read in progress.
func (r *partsReader) Close() error {
	r.mu.Lock()
	r.closed = true
	r.mu.Unlock()
	return nil
}
