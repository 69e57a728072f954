package chunk

import (
	"fmt"
	"io"

	"github.com/restic/chunker"
)

// Chunker splits one stream into content-defined chunks. A Chunker is not
// safe for concurrent use.
type Chunker interface {
	// Reset starts a new stream read from r; chunking state is discarded, so
	// boundaries depend only on the bytes read from r.
	Reset(r io.Reader)
	// Next returns the next chunk appended to buf[:0] (grown if needed).
	// It returns io.EOF after the last chunk; any other error comes from
	// the reader and leaves the stream unusable until Reset.
	Next(buf []byte) ([]byte, error)
}

// New returns a Chunker for p, which must pass Validate. It reads nothing
// until Reset is called; Next before Reset returns io.EOF.
func New(p Params) (Chunker, error) {
	if err := p.Validate(); err != nil {
		return nil, err
	}
	switch p.Algorithm {
	case AlgorithmRabin:
		return newRabin(p), nil
	case AlgorithmFastCDC:
		return newFastCDC(p)
	default:
		// Unreachable: Validate rejects every other algorithm.
		return nil, fmt.Errorf("%w: unknown algorithm %q", ErrInvalidParams, p.Algorithm)
	}
}

// rabin adapts restic/chunker to Chunker.
type rabin struct {
	c        *chunker.Chunker
	pol      chunker.Pol
	min, max uint
	bits     int
}

func newRabin(p Params) *rabin {
	r := &rabin{
		pol:  chunker.Pol(p.Polynomial),
		min:  uint(p.MinSize),
		max:  uint(p.MaxSize),
		bits: int(p.AverageBits),
	}
	r.c = chunker.NewWithBoundaries(eofReader{}, r.pol, r.min, r.max)
	r.c.SetAverageBits(r.bits)
	return r
}

// Reset implements Chunker.
func (r *rabin) Reset(rd io.Reader) {
	// ResetWithBoundaries also resets the split mask to 20 bits.
	r.c.ResetWithBoundaries(rd, r.pol, r.min, r.max)
	r.c.SetAverageBits(r.bits)
}

// Next implements Chunker.
func (r *rabin) Next(buf []byte) ([]byte, error) {
	c, err := r.c.Next(buf)
	if err != nil {
		return nil, err
	}
	return c.Data, nil
}

// eofReader is an empty stream.
type eofReader struct{}

func (eofReader) Read([]byte) (int, error) { return 0, io.EOF }
