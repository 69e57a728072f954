package crypto

import (
	"bytes"
	"crypto/rand"
	"encoding/binary"
	"fmt"
)

// Sizes of the parts of a sealed object (docs/FORMAT.md §4).
const (
	HeaderSize = 8  // "cairn" | type | version uint16 BE
	SaltSize   = 32 // random salt selecting the object or pack key
	Overhead   = 16 // AES-GCM tag appended to every ciphertext
	NonceSize  = 12 // AES-GCM nonce
)

// Magic is the first five bytes of every sealed object and pack.
const Magic = "cairn"

// MakeHeader returns the 8-byte header "cairn" | typ | version (big-endian).
func MakeHeader(typ byte, version uint16) [HeaderSize]byte {
	var h [HeaderSize]byte
	copy(h[:], Magic)
	h[5] = typ
	binary.BigEndian.PutUint16(h[6:], version)
	return h
}

// ParseHeader splits the header at the start of b into type and version. It checks only the
// length and magic; the result is unauthenticated until [Key.OpenObject] succeeds, so use it
// to pick an error message (e.g. an unsupported version), never to trust the contents.
func ParseHeader(b []byte) (typ byte, version uint16, err error) {
	if len(b) < HeaderSize {
		return 0, 0, fmt.Errorf("%w: %d bytes is too short for a header", ErrMalformed, len(b))
	}
	if !bytes.Equal(b[:len(Magic)], []byte(Magic)) {
		return 0, 0, fmt.Errorf("%w: bad magic %q", ErrMalformed, b[:len(Magic)])
	}
	return b[5], binary.BigEndian.Uint16(b[6:8]), nil
}

// zeroNonce is the nonce of every sealed object; each object has its own key.
var zeroNonce [NonceSize]byte

// SealObject seals plaintext as a sealed object: header || salt || AES-256-GCM(objectKey(salt),
// zero nonce, plaintext, aad = header), with a fresh random salt. header must start with Magic.
func (k *Key) SealObject(header [HeaderSize]byte, plaintext []byte) ([]byte, error) {
	var salt [SaltSize]byte
	if _, err := rand.Read(salt[:]); err != nil {
		return nil, fmt.Errorf("seal object: salt: %w", err)
	}
	return k.sealObjectWithSalt(header, &salt, plaintext)
}

// maxObjectSize bounds what AES-GCM can seal under one nonce (2^32-2 blocks).
const maxObjectSize = (1<<32 - 2) * 16

func (k *Key) sealObjectWithSalt(header [HeaderSize]byte, salt *[SaltSize]byte, plaintext []byte) ([]byte, error) {
	if _, _, err := ParseHeader(header[:]); err != nil {
		return nil, fmt.Errorf("seal object: %w", err)
	}
	if uint64(len(plaintext)) > maxObjectSize {
		return nil, fmt.Errorf("seal object: %w: plaintext of %d bytes is too large", ErrMalformed, len(plaintext))
	}
	aead, err := k.objectAEAD(salt)
	if err != nil {
		return nil, fmt.Errorf("seal object: %w", err)
	}
	out := make([]byte, 0, HeaderSize+SaltSize+len(plaintext)+Overhead)
	out = append(out, header[:]...)
	out = append(out, salt[:]...)
	return aead.Seal(out, zeroNonce[:], plaintext, header[:]), nil
}

// OpenObject authenticates and decrypts a sealed object made by [Key.SealObject], returning its
// header and plaintext. Any modification or truncation gives an error wrapping [ErrAuth].
func (k *Key) OpenObject(sealed []byte) (header [HeaderSize]byte, plaintext []byte, err error) {
	if len(sealed) < HeaderSize+SaltSize+Overhead {
		return header, nil, fmt.Errorf("open object: %w: %d bytes is too short", ErrAuth, len(sealed))
	}
	var salt [SaltSize]byte
	copy(salt[:], sealed[HeaderSize:])
	aead, err := k.objectAEAD(&salt)
	if err != nil {
		return header, nil, fmt.Errorf("open object: %w", err)
	}
	hdr := sealed[:HeaderSize]
	pt, err := aead.Open(nil, zeroNonce[:], sealed[HeaderSize+SaltSize:], hdr)
	if err != nil {
		return header, nil, fmt.Errorf("open object: %w", ErrAuth)
	}
	copy(header[:], hdr)
	if pt == nil {
		pt = []byte{}
	}
	return header, pt, nil
}
