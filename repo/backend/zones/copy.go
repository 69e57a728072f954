package zones

import (
	"bytes"
	"errors"
	"fmt"

	"github.com/zeebo/blake3"

	"github.com/cairnbackup/cairn/repo/backend"
)

// Metadata copy format: data || sum (32) || CopyMagic (8), where sum is BLAKE3-256 of
// copyDomain || handle || 0x00 || data. The handle binding makes a copy stored under the
// wrong name fail like a corrupt one.
const (
	// CopyMagic closes every metadata copy.
	CopyMagic = "cairnZM1"
	// CopyTrailerSize is the bytes a copy adds to the object it holds.
	CopyTrailerSize = 32 + len(CopyMagic)
	copyDomain      = "cairn zones copy v1\x00"
)

// ErrCorruptCopy marks a metadata copy whose trailer does not verify.
var ErrCorruptCopy = errors.New("zones: corrupt metadata copy")

func copySum(h backend.Handle, data []byte) [32]byte {
	d := blake3.New()
	d.Write([]byte(copyDomain))
	d.Write([]byte(h.String()))
	d.Write([]byte{0})
	d.Write(data)
	var out [32]byte
	copy(out[:], d.Sum(nil))
	return out
}

// SealCopy returns the stored form of metadata object h holding data.
func SealCopy(h backend.Handle, data []byte) []byte {
	sum := copySum(h, data)
	out := make([]byte, 0, len(data)+CopyTrailerSize)
	out = append(out, data...)
	out = append(out, sum[:]...)
	return append(out, CopyMagic...)
}

// OpenCopy verifies a stored copy of h and returns the object's bytes (a sub-slice of raw).
func OpenCopy(h backend.Handle, raw []byte) ([]byte, error) {
	if len(raw) < CopyTrailerSize {
		return nil, fmt.Errorf("%w: %s: %d bytes, shorter than the trailer", ErrCorruptCopy, h, len(raw))
	}
	n := len(raw) - CopyTrailerSize
	if string(raw[len(raw)-len(CopyMagic):]) != CopyMagic {
		return nil, fmt.Errorf("%w: %s: bad magic", ErrCorruptCopy, h)
	}
	sum := copySum(h, raw[:n])
	if !bytes.Equal(sum[:], raw[n:n+32]) {
		return nil, fmt.Errorf("%w: %s: checksum mismatch", ErrCorruptCopy, h)
	}
	return raw[:n:n], nil
}
