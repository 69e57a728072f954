package crypto

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"fmt"

	"github.com/zeebo/blake3"
)

// SecretSize is the length of the master secret in bytes.
const SecretSize = 32

// Key derivation contexts (docs/FORMAT.md §2). Changing either makes existing repositories
// unreadable.
const (
	chunkIDContext   = "cairn 2026-11 chunk id v1"
	objectKeyContext = "cairn 2026-11 object key v1"
)

// Key is a repository's master key: the secret and the chunk-ID key derived from it.
// A Key is immutable and safe for concurrent use. Its String and Format methods never print
// the secret.
type Key struct {
	// The bytes sit two pointers deep so that fmt, printing a Key nested in an unexported
	// field (where it cannot call Format), shows addresses rather than the bytes: fmt expands
	// only the first pointer level of a value it cannot format with its methods.
	m *keyMaterial
}

type keyMaterial struct {
	secret     *[SecretSize]byte
	chunkIDKey *[32]byte
}

// NewRandomKey returns a key with a fresh secret from crypto/rand.
func NewRandomKey() (*Key, error) {
	var secret [SecretSize]byte
	if _, err := rand.Read(secret[:]); err != nil {
		return nil, fmt.Errorf("generate master secret: %w", err)
	}
	return KeyFromSecret(secret[:])
}

// KeyFromSecret returns the key for a 32-byte secret. The slice is copied.
func KeyFromSecret(secret []byte) (*Key, error) {
	if len(secret) != SecretSize {
		return nil, fmt.Errorf("%w: master secret is %d bytes, want %d", ErrMalformed, len(secret), SecretSize)
	}
	m := &keyMaterial{secret: new([SecretSize]byte), chunkIDKey: new([32]byte)}
	copy(m.secret[:], secret)
	blake3.DeriveKey(chunkIDContext, m.secret[:], m.chunkIDKey[:])
	return &Key{m: m}, nil
}

// String returns a fixed placeholder; the secret is never printed.
func (k Key) String() string { return "crypto.Key{redacted}" }

// GoString returns the same placeholder as String, for %#v.
func (k Key) GoString() string { return k.String() }

// Format implements fmt.Formatter so that every verb (%x, %v, %+v, …) prints the placeholder.
func (k Key) Format(f fmt.State, _ rune) { _, _ = f.Write([]byte(k.String())) }

// objectKey derives the AES key for one sealed object or pack from its salt.
func (k *Key) objectKey(salt *[SaltSize]byte) [32]byte {
	var material [SecretSize + SaltSize]byte
	copy(material[:], k.m.secret[:])
	copy(material[SecretSize:], salt[:])
	var out [32]byte
	blake3.DeriveKey(objectKeyContext, material[:], out[:])
	clear(material[:])
	return out
}

// objectAEAD returns AES-256-GCM under objectKey(salt).
func (k *Key) objectAEAD(salt *[SaltSize]byte) (cipher.AEAD, error) {
	key := k.objectKey(salt)
	defer clear(key[:])
	return newGCM(key[:])
}

// newGCM returns AES-256-GCM with the standard 12-byte nonce and 16-byte tag.
func newGCM(key []byte) (cipher.AEAD, error) {
	block, err := aes.NewCipher(key)
	if err != nil {
		return nil, fmt.Errorf("aes: %w", err)
	}
	aead, err := cipher.NewGCM(block)
	if err != nil {
		return nil, fmt.Errorf("gcm: %w", err)
	}
	return aead, nil
}
