package crypto

import (
	"crypto/rand"
	"encoding/json"
	"fmt"
	"os"
	"os/user"
	"sync"
	"time"

	"golang.org/x/crypto/argon2"
)

// Key slot constants (docs/FORMAT.md §3).
const (
	KeySlotVersion = 1          // the only key slot version this package reads and writes
	KDFArgon2id    = "argon2id" // the only supported KDF
	keySlotAAD     = "cairn key slot v1"
	keySlotDataLen = NonceSize + SecretSize + Overhead

	// Limits enforced before running the KDF, so a crafted slot cannot make Unlock
	// allocate or compute without bound.
	maxKDFTime      = 100
	maxKDFMemoryKiB = 4 << 20 // 4 GiB
)

// KDFParams are the Argon2id cost parameters of a key slot.
type KDFParams struct {
	Time      uint32 `json:"time"`       // passes over memory
	MemoryKiB uint32 `json:"memory_kib"` // memory in KiB
	Threads   uint8  `json:"threads"`    // degree of parallelism
}

// DefaultKDFParams returns the parameters of new key slots: Argon2id, t=3, 32 MiB, p=4.
// That is half the memory of RFC 9106's second recommendation (StrongKDFParams) at the same
// passes: ~0.05 s and 32 MiB per unlock instead of ~0.15 s and 64 MiB, for every command
// (docs/DECISIONS.md §13 weighs the cost to a password guesser).
func DefaultKDFParams() KDFParams { return KDFParams{Time: 3, MemoryKiB: 32 << 10, Threads: 4} }

// StrongKDFParams returns RFC 9106's second recommended Argon2id setting: t=3, 64 MiB, p=4;
// for repositories protected by a password a person chose (`cairn init --kdf strong`).
func StrongKDFParams() KDFParams { return KDFParams{Time: 3, MemoryKiB: 64 << 10, Threads: 4} }

// TestKDFParams returns the cheapest valid parameters, for tests only.
func TestKDFParams() KDFParams { return KDFParams{Time: 1, MemoryKiB: 64, Threads: 1} }

// Validate reports whether p is within the accepted ranges: 1 ≤ Time ≤ 100,
// 8·Threads KiB ≤ MemoryKiB ≤ 4 GiB, Threads ≥ 1.
func (p KDFParams) Validate() error {
	switch {
	case p.Time < 1 || p.Time > maxKDFTime:
		return fmt.Errorf("%w: argon2id time %d outside [1, %d]", ErrMalformed, p.Time, maxKDFTime)
	case p.Threads < 1:
		return fmt.Errorf("%w: argon2id threads must be at least 1", ErrMalformed)
	case p.MemoryKiB < 8*uint32(p.Threads) || p.MemoryKiB > maxKDFMemoryKiB:
		return fmt.Errorf("%w: argon2id memory %d KiB outside [%d, %d]", ErrMalformed, p.MemoryKiB, 8*uint32(p.Threads), maxKDFMemoryKiB)
	}
	return nil
}

// KeySlot wraps the master secret under a password. It is stored as plaintext JSON
// (keys/<id>); only Data is secret.
type KeySlot struct {
	Version  int       `json:"version"`
	Created  time.Time `json:"created"`
	Hostname string    `json:"hostname,omitempty"`
	Username string    `json:"username,omitempty"`
	KDF      string    `json:"kdf"`
	Params   KDFParams `json:"params"`
	Salt     []byte    `json:"salt"` // 32 random bytes
	Data     []byte    `json:"data"` // nonce(12) || AES-256-GCM(argon2id key, secret, aad "cairn key slot v1")
}

// NewKeySlot wraps k's secret under password with Argon2id parameters p. Created, Hostname and
// Username are filled in from the current time and environment (best effort); the caller may
// change them before Marshal.
func NewKeySlot(k *Key, password []byte, p KDFParams) (*KeySlot, error) {
	if err := p.Validate(); err != nil {
		return nil, fmt.Errorf("new key slot: %w", err)
	}
	s := &KeySlot{
		Version: KeySlotVersion,
		Created: time.Now().UTC().Truncate(time.Second),
		KDF:     KDFArgon2id,
		Params:  p,
		Salt:    make([]byte, SaltSize),
	}
	if h, err := os.Hostname(); err == nil {
		s.Hostname = h
	}
	if u, err := user.Current(); err == nil {
		s.Username = u.Username
	}
	var nonce [NonceSize]byte
	if _, err := rand.Read(s.Salt); err != nil {
		return nil, fmt.Errorf("new key slot: salt: %w", err)
	}
	if _, err := rand.Read(nonce[:]); err != nil {
		return nil, fmt.Errorf("new key slot: nonce: %w", err)
	}
	if err := s.seal(k, password, nonce); err != nil {
		return nil, fmt.Errorf("new key slot: %w", err)
	}
	return s, nil
}

// seal sets s.Data from the secret, the password, s.Salt, s.Params and nonce.
func (s *KeySlot) seal(k *Key, password []byte, nonce [NonceSize]byte) error {
	kek := s.deriveKEK(password)
	defer clear(kek)
	aead, err := newGCM(kek)
	if err != nil {
		return err
	}
	data := make([]byte, 0, keySlotDataLen)
	data = append(data, nonce[:]...)
	s.Data = aead.Seal(data, nonce[:], k.m.secret[:], []byte(keySlotAAD))
	return nil
}

// kdfMu serialises key derivations: each takes all cores and its memory for a fraction of a
// second, and prefault relies on being the only one.
var kdfMu sync.Mutex

func (s *KeySlot) deriveKEK(password []byte) []byte {
	p := s.Params
	kdfMu.Lock()
	defer kdfMu.Unlock()
	defer prefault(int(p.MemoryKiB) * 1024)()
	return argon2.IDKey(password, s.Salt, p.Time, p.MemoryKiB, p.Threads, 32)
}

// Unlock derives the key-encryption key from password and unwraps the master key. A wrong
// password (or a modified slot) gives [ErrWrongPassword]; an invalid slot gives [ErrMalformed]
// or [ErrUnsupported] without running the KDF.
func (s *KeySlot) Unlock(password []byte) (*Key, error) {
	if err := s.validate(); err != nil {
		return nil, fmt.Errorf("unlock key slot: %w", err)
	}
	kek := s.deriveKEK(password)
	defer clear(kek)
	aead, err := newGCM(kek)
	if err != nil {
		return nil, fmt.Errorf("unlock key slot: %w", err)
	}
	secret, err := aead.Open(nil, s.Data[:NonceSize], s.Data[NonceSize:], []byte(keySlotAAD))
	if err != nil {
		return nil, ErrWrongPassword
	}
	defer clear(secret)
	return KeyFromSecret(secret)
}

// validate checks everything that can be checked without the password.
func (s *KeySlot) validate() error {
	if s.Version != KeySlotVersion {
		return fmt.Errorf("%w: key slot version %d", ErrUnsupported, s.Version)
	}
	if s.KDF != KDFArgon2id {
		return fmt.Errorf("%w: key slot kdf %q", ErrUnsupported, s.KDF)
	}
	if len(s.Salt) != SaltSize {
		return fmt.Errorf("%w: key slot salt is %d bytes, want %d", ErrMalformed, len(s.Salt), SaltSize)
	}
	if len(s.Data) != keySlotDataLen {
		return fmt.Errorf("%w: key slot data is %d bytes, want %d", ErrMalformed, len(s.Data), keySlotDataLen)
	}
	return s.Params.Validate()
}

// ParseKeySlot decodes and validates a key slot file. It refuses unknown versions and KDFs
// ([ErrUnsupported]) and wrong lengths or absurd KDF parameters ([ErrMalformed]).
func ParseKeySlot(b []byte) (*KeySlot, error) {
	var s KeySlot
	if err := json.Unmarshal(b, &s); err != nil {
		// A newer version may change field types; report the version if we can read it.
		var v struct {
			Version int `json:"version"`
		}
		if json.Unmarshal(b, &v) == nil && v.Version != KeySlotVersion {
			return nil, fmt.Errorf("parse key slot: %w: version %d", ErrUnsupported, v.Version)
		}
		return nil, fmt.Errorf("parse key slot: %w: %w", ErrMalformed, err)
	}
	if err := s.validate(); err != nil {
		return nil, fmt.Errorf("parse key slot: %w", err)
	}
	return &s, nil
}

// Marshal encodes the slot as JSON after validating it.
func (s *KeySlot) Marshal() ([]byte, error) {
	if err := s.validate(); err != nil {
		return nil, fmt.Errorf("marshal key slot: %w", err)
	}
	b, err := json.Marshal(s)
	if err != nil {
		return nil, fmt.Errorf("marshal key slot: %w", err)
	}
	return b, nil
}
