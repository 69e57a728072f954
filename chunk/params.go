package chunk

import (
	"errors"
	"fmt"

	"github.com/restic/chunker"
)

// Algorithm names accepted in Params.Algorithm.
const (
	// AlgorithmRabin selects the Rabin-fingerprint chunker of github.com/restic/chunker.
	AlgorithmRabin = "rabin"
	// AlgorithmFastCDC is reserved for a future gear/FastCDC chunker; it is not implemented yet.
	AlgorithmFastCDC = "fastcdc"
)

// Defaults and limits for Params.
const (
	DefaultMinSize     = 512 << 10 // 512 KiB
	DefaultMaxSize     = 8 << 20   // 8 MiB
	DefaultAverageBits = 20        // ~1 MiB average chunk

	// MaxChunkSize is the largest MaxSize Validate accepts.
	MaxChunkSize = 64 << 20
	// MinChunkSize is the smallest MinSize Validate accepts (the rabin window size).
	MinChunkSize = 64
	// MinAverageBits and MaxAverageBits bound Params.AverageBits.
	MinAverageBits = 4
	MaxAverageBits = 30

	// rabinDegree is the degree of every polynomial chunker.RandomPolynomial returns.
	rabinDegree = 53
)

// ErrInvalidParams is wrapped by every error Validate returns.
var ErrInvalidParams = errors.New("invalid chunker parameters")

// Params are the chunking parameters recorded in the repository config.
// Changing any field moves chunk boundaries and therefore defeats
// deduplication against data written with the old values.
type Params struct {
	Algorithm   string `json:"algorithm"`    // AlgorithmRabin
	Polynomial  uint64 `json:"polynomial"`   // irreducible polynomial of degree 53 (rabin)
	MinSize     uint32 `json:"min_size"`     // smallest chunk, except the last of a data segment
	MaxSize     uint32 `json:"max_size"`     // largest chunk
	AverageBits uint8  `json:"average_bits"` // a boundary is cut where the low AverageBits bits of the fingerprint are zero
}

// DefaultParams returns the default parameters with a fresh random
// irreducible polynomial (chunker.RandomPolynomial, from crypto/rand).
func DefaultParams() (Params, error) {
	pol, err := chunker.RandomPolynomial()
	if err != nil {
		return Params{}, fmt.Errorf("chunk: random polynomial: %w", err)
	}
	return Params{
		Algorithm:   AlgorithmRabin,
		Polynomial:  uint64(pol),
		MinSize:     DefaultMinSize,
		MaxSize:     DefaultMaxSize,
		AverageBits: DefaultAverageBits,
	}, nil
}

// Validate reports whether p can be used to build a Chunker. Errors wrap
// ErrInvalidParams and name the offending field.
func (p Params) Validate() error {
	switch p.Algorithm {
	case AlgorithmRabin:
	case AlgorithmFastCDC:
		return fmt.Errorf("%w: algorithm %q is not implemented", ErrInvalidParams, p.Algorithm)
	default:
		return fmt.Errorf("%w: unknown algorithm %q", ErrInvalidParams, p.Algorithm)
	}
	if p.MinSize < MinChunkSize {
		return fmt.Errorf("%w: min_size %d below %d", ErrInvalidParams, p.MinSize, MinChunkSize)
	}
	if p.MinSize > p.MaxSize {
		return fmt.Errorf("%w: min_size %d greater than max_size %d", ErrInvalidParams, p.MinSize, p.MaxSize)
	}
	if p.MaxSize > MaxChunkSize {
		return fmt.Errorf("%w: max_size %d above %d", ErrInvalidParams, p.MaxSize, MaxChunkSize)
	}
	if p.AverageBits < MinAverageBits || p.AverageBits > MaxAverageBits {
		return fmt.Errorf("%w: average_bits %d outside [%d, %d]", ErrInvalidParams, p.AverageBits, MinAverageBits, MaxAverageBits)
	}
	pol := chunker.Pol(p.Polynomial)
	if p.Polynomial == 0 {
		return fmt.Errorf("%w: polynomial is zero", ErrInvalidParams)
	}
	if d := pol.Deg(); d != rabinDegree {
		return fmt.Errorf("%w: polynomial %#x has degree %d, want %d", ErrInvalidParams, p.Polynomial, d, rabinDegree)
	}
	if !pol.Irreducible() {
		return fmt.Errorf("%w: polynomial %#x is reducible", ErrInvalidParams, p.Polynomial)
	}
	return nil
}
