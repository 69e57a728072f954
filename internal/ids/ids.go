// Package ids defines the 32-byte identifier used for blobs, packs, snapshots and index objects.
package ids

import (
	"encoding/hex"
	"errors"
	"fmt"
	"strings"

	"github.com/zeebo/blake3"
)

// Size is the length of an ID in bytes.
const Size = 32

// ID names a blob (keyed BLAKE3 of its plaintext) or a stored object (BLAKE3 of its bytes).
type ID [Size]byte

// ErrInvalid is returned by Parse for a string that is not a 64-digit hex ID.
var ErrInvalid = errors.New("invalid id")

// Hash returns the unkeyed BLAKE3-256 of data, the name of a stored object.
func Hash(data []byte) ID { return ID(blake3.Sum256(data)) }

// String returns the ID as 64 lowercase hex digits.
func (id ID) String() string { return hex.EncodeToString(id[:]) }

// Short returns the first 8 hex digits, for display.
func (id ID) Short() string { return hex.EncodeToString(id[:4]) }

// IsZero reports whether id is all zero (unset).
func (id ID) IsZero() bool { return id == ID{} }

// MarshalText implements encoding.TextMarshaler (hex).
func (id ID) MarshalText() ([]byte, error) { return []byte(id.String()), nil }

// UnmarshalText implements encoding.TextUnmarshaler (hex).
func (id *ID) UnmarshalText(b []byte) error {
	p, err := Parse(string(b))
	if err != nil {
		return err
	}
	*id = p
	return nil
}

// Parse decodes a full 64-digit hex ID.
func Parse(s string) (ID, error) {
	var id ID
	if len(s) != 2*Size {
		return id, fmt.Errorf("%w: %q has %d characters, want %d", ErrInvalid, s, len(s), 2*Size)
	}
	if _, err := hex.Decode(id[:], []byte(strings.ToLower(s))); err != nil {
		return id, fmt.Errorf("%w: %q: %v", ErrInvalid, s, err)
	}
	return id, nil
}
