package s3

import (
	"errors"
	"fmt"
	"io"
	"sync"
)

// errBodyClosed is what a request body read after its PUT returned gets.
var errBodyClosed = errors.New("s3: request body read after the upload returned")

// partsReader is the request body of a PUT: the concatenation of parts, read in place. It
// is an io.ReadSeeker (minio-go retries by seeking to 0) and an io.ReaderAt (minio-go then
// reads a section of it instead of buffering). After Close every read fails, so memory the
// caller reuses once Save returns is never read by a transport goroutine still draining the
// body of a failed request.
type partsReader struct {
	mu     sync.Mutex
	parts  [][]byte
	size   int64
	off    int64
	closed bool
}

func newPartsReader(parts [][]byte) *partsReader {
	r := &partsReader{parts: parts}
	for _, p := range parts {
		r.size += int64(len(p))
	}
	return r
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

// readAt copies from offset off; io.EOF when p is not filled. Called with mu held.
func (r *partsReader) readAt(p []byte, off int64) (int, error) {
	if r.closed {
		return 0, errBodyClosed
	}
	n := 0
	for _, part := range r.parts {
		if n == len(p) {
			break
		}
		if off >= int64(len(part)) {
			off -= int64(len(part))
			continue
		}
		c := copy(p[n:], part[off:])
		n += c
		off = 0
	}
	if n < len(p) {
		return n, io.EOF
	}
	return n, nil
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
