package chunk

import (
	"bytes"
	"crypto/rand"
	"errors"
	"fmt"

	"github.com/restic/chunker"
)

// Algorithm names accepted in Params.Algorithm.
const (
	// AlgorithmRabin selects the Rabin-fingerprint chunker of github.com/restic/chunker.
	AlgorithmRabin = "rabin"
	// AlgorithmFastCDC selects the keyed gear-hash FastCDC chunker of
	// github.com/PlakarKorp/go-cdc-chunkers ("fastcdc-v1.0.0", normalization
	// level 2, gear table derived from Params.Key).
	AlgorithmFastCDC = "fastcdc"
)

// Defaults and limits for Params.
const (
	// The defaults give fastcdc chunks of ~0.6 MiB: about half restic's, so a few
	// scattered 4 KiB writes re-store less of a volume (incremental backup of the
	// bench's mixed image: 22-32% fewer new bytes than with 512 KiB / 2^20 / 8 MiB,
	// over three repositories; docs/DECISIONS.md §23).
	DefaultMinSize     = 256 << 10 // 256 KiB
	DefaultMaxSize     = 4 << 20   // 4 MiB
	DefaultAverageBits = 19        // normal size 512 KiB

	// MaxChunkSize is the largest MaxSize Validate accepts.
	MaxChunkSize = 64 << 20
	// MinChunkSize is the smallest MinSize Validate accepts (the rabin window size).
	MinChunkSize = 64
	// MinAverageBits and MaxAverageBits bound Params.AverageBits.
	MinAverageBits = 4
	MaxAverageBits = 30

	// KeySize is the length of Params.Key for AlgorithmFastCDC.
	KeySize = 32

	// rabinDegree is the degree of every polynomial chunker.RandomPolynomial returns.
	rabinDegree = 53
)

// ErrInvalidParams is wrapped by every error Validate returns.
var ErrInvalidParams = errors.New("invalid chunker parameters")

// Params are the chunking parameters recorded in the repository config.
// Changing any field moves chunk boundaries and therefore defeats
// deduplication against data written with the old values. Params holds a
// slice, so compare values with Equal.
//
// For AlgorithmRabin, Polynomial is the secret irreducible polynomial and Key
// is empty. For AlgorithmFastCDC, Key is the secret from which the gear table
// is derived, Polynomial is zero, and 2^AverageBits is FastCDC's normal size,
// which must lie strictly between MinSize and MaxSize.
type Params struct {
	Algorithm   string `json:"algorithm"`            // AlgorithmRabin or AlgorithmFastCDC
	Polynomial  uint64 `json:"polynomial,omitempty"` // rabin: irreducible polynomial of degree 53; fastcdc: 0
	MinSize     uint32 `json:"min_size"`             // smallest chunk, except the last of a data segment
	MaxSize     uint32 `json:"max_size"`             // largest chunk
	AverageBits uint8  `json:"average_bits"`         // rabin: cut where the low AverageBits bits of the fingerprint are zero; fastcdc: normal size 2^AverageBits
	Key         []byte `json:"key,omitempty"`        // fastcdc: KeySize secret bytes keying the gear table; rabin: empty
}

// DefaultAlgorithm is the algorithm new repositories use: FastCDC, about three
// times faster than Rabin on this project's benchmarks with the same dedup
// (docs/DECISIONS.md). AlgorithmRabin stays fully supported.
const DefaultAlgorithm = AlgorithmFastCDC

// DefaultParams returns the default parameters: DefaultAlgorithm with fresh
// secret material from crypto/rand.
func DefaultParams() (Params, error) {
	return DefaultParamsFor(DefaultAlgorithm)
}

// DefaultParamsFor returns the default sizes for algorithm with fresh secret
// material from crypto/rand: a random polynomial for AlgorithmRabin, a random
// KeySize-byte Key for AlgorithmFastCDC. Unknown algorithms give an error
// wrapping ErrInvalidParams.
func DefaultParamsFor(algorithm string) (Params, error) {
	p := Params{
		Algorithm:   algorithm,
		MinSize:     DefaultMinSize,
		MaxSize:     DefaultMaxSize,
		AverageBits: DefaultAverageBits,
	}
	switch algorithm {
	case AlgorithmRabin:
		pol, err := chunker.RandomPolynomial()
		if err != nil {
			return Params{}, fmt.Errorf("chunk: random polynomial: %w", err)
		}
		p.Polynomial = uint64(pol)
	case AlgorithmFastCDC:
		p.Key = make([]byte, KeySize)
		if _, err := rand.Read(p.Key); err != nil {
			return Params{}, fmt.Errorf("chunk: random key: %w", err)
		}
	default:
		return Params{}, fmt.Errorf("%w: unknown algorithm %q", ErrInvalidParams, algorithm)
	}
	return p, nil
}

// Equal reports whether p and q are the same parameters, and so give the
// same chunk boundaries.
func (p Params) Equal(q Params) bool {
	return p.Algorithm == q.Algorithm && p.Polynomial == q.Polynomial &&
		p.MinSize == q.MinSize && p.MaxSize == q.MaxSize &&
		p.AverageBits == q.AverageBits && bytes.Equal(p.Key, q.Key)
}

// Validate reports whether p can be used to build a Chunker. Errors wrap
// ErrInvalidParams and name the offending field.
func (p Params) Validate() error {
	switch p.Algorithm {
	case AlgorithmRabin, AlgorithmFastCDC:
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
	if p.Algorithm == AlgorithmFastCDC {
		return p.validateFastCDC()
	}
	return p.validateRabin()
}

func (p Params) validateRabin() error {
	if len(p.Key) != 0 {
		return fmt.Errorf("%w: key is not used by %q", ErrInvalidParams, p.Algorithm)
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

func (p Params) validateFastCDC() error {
	if p.Polynomial != 0 {
		return fmt.Errorf("%w: polynomial is not used by %q and must be 0", ErrInvalidParams, p.Algorithm)
	}
	if len(p.Key) != KeySize {
		return fmt.Errorf("%w: key has %d bytes, want %d", ErrInvalidParams, len(p.Key), KeySize)
	}
	if normal := uint64(1) << p.AverageBits; normal <= uint64(p.MinSize) || normal >= uint64(p.MaxSize) {
		return fmt.Errorf("%w: normal size 2^average_bits = %d not strictly between min_size %d and max_size %d",
			ErrInvalidParams, normal, p.MinSize, p.MaxSize)
	}
	return nil
}
