package crypto

import (
	"crypto/cipher"
	"crypto/rand"
	"encoding/binary"
	"fmt"
)

// tableNonce is the reserved nonce for a pack's blob table. No blob index produces it: blob
// nonces end in four zero bytes.
var tableNonce = [NonceSize]byte{0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff}

// blobNonce returns uint64-LE(i) || 4 zero bytes.
func blobNonce(i uint64) [NonceSize]byte {
	var n [NonceSize]byte
	binary.LittleEndian.PutUint64(n[:8], i)
	return n
}

// PackSealer seals the blobs and table of one pack under the pack key objectKey(salt).
// It is safe for concurrent use. The caller must seal each blob index at most once.
type PackSealer struct {
	salt [SaltSize]byte
	aead cipher.AEAD
}

// NewPackSealer returns a sealer for a new pack with a fresh random salt.
func (k *Key) NewPackSealer() (*PackSealer, error) {
	var salt [SaltSize]byte
	if _, err := rand.Read(salt[:]); err != nil {
		return nil, fmt.Errorf("new pack sealer: salt: %w", err)
	}
	return k.newPackSealer(&salt)
}

func (k *Key) newPackSealer(salt *[SaltSize]byte) (*PackSealer, error) {
	aead, err := k.objectAEAD(salt)
	if err != nil {
		return nil, fmt.Errorf("new pack sealer: %w", err)
	}
	return &PackSealer{salt: *salt, aead: aead}, nil
}

// Salt returns the pack's salt, to be written after the pack header.
func (p *PackSealer) Salt() [SaltSize]byte { return p.salt }

// SealBlob appends the sealed blob i (ciphertext || tag, len(plaintext)+Overhead bytes) to
// dst and returns the result. aad binds the blob's identity (type || id). dst and plaintext
// may overlap exactly (dst[:0] of plaintext) or not at all. plaintext must be < 64 GiB.
func (p *PackSealer) SealBlob(dst []byte, i uint64, aad, plaintext []byte) []byte {
	n := blobNonce(i)
	return p.aead.Seal(dst, n[:], plaintext, aad)
}

// SealTable appends the sealed pack table to dst and returns the result.
func (p *PackSealer) SealTable(dst []byte, aad, plaintext []byte) []byte {
	return p.aead.Seal(dst, tableNonce[:], plaintext, aad)
}

// PackOpener opens the blobs and table of one pack. It is safe for concurrent use.
type PackOpener struct {
	aead cipher.AEAD
}

// NewPackOpener returns an opener for the pack whose salt (read after its header) is salt.
func (k *Key) NewPackOpener(salt []byte) (*PackOpener, error) {
	if len(salt) != SaltSize {
		return nil, fmt.Errorf("new pack opener: %w: salt is %d bytes, want %d", ErrMalformed, len(salt), SaltSize)
	}
	var s [SaltSize]byte
	copy(s[:], salt)
	aead, err := k.objectAEAD(&s)
	if err != nil {
		return nil, fmt.Errorf("new pack opener: %w", err)
	}
	return &PackOpener{aead: aead}, nil
}

// OpenBlob authenticates and decrypts blob i, appending its plaintext to dst. A wrong index,
// wrong aad, wrong pack or any change to ct gives an error wrapping [ErrAuth].
func (o *PackOpener) OpenBlob(dst []byte, i uint64, aad, ct []byte) ([]byte, error) {
	n := blobNonce(i)
	out, err := o.aead.Open(dst, n[:], ct, aad)
	if err != nil {
		return dst, fmt.Errorf("open blob %d: %w", i, ErrAuth)
	}
	return out, nil
}

// OpenTable authenticates and decrypts the pack table, appending it to dst.
func (o *PackOpener) OpenTable(dst []byte, aad, ct []byte) ([]byte, error) {
	out, err := o.aead.Open(dst, tableNonce[:], ct, aad)
	if err != nil {
		return dst, fmt.Errorf("open pack table: %w", ErrAuth)
	}
	return out, nil
}
