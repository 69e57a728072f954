package repo

import (
	"context"
	"errors"
	"fmt"

	"github.com/cairnbackup/cairn/crypto"
	"github.com/cairnbackup/cairn/internal/ids"
	"github.com/cairnbackup/cairn/repo/backend"
)

// FormatVersion is the repository format this code writes and reads (docs/FORMAT.md).
const FormatVersion = 1

// Object type bytes (docs/FORMAT.md §4).
const (
	typeConfig   byte = 'C'
	typeSnapshot byte = 'S'
	typeIndex    byte = 'I'
	typeLock     byte = 'L'
	typePack     byte = 'P'
)

const (
	encRaw  byte = 0
	encZstd byte = 1
)

func objectHeader(t byte) [8]byte {
	return [8]byte{'c', 'a', 'i', 'r', 'n', t, byte(FormatVersion >> 8), byte(FormatVersion)}
}

// checkHeader validates magic, type and version of a stored object's first bytes.
func checkHeader(b []byte, t byte, what string) error {
	if len(b) < 8 || string(b[:5]) != "cairn" {
		return fmt.Errorf("%w: %s: not a cairn object", ErrCorrupt, what)
	}
	if b[5] != t {
		return fmt.Errorf("%w: %s: object type %q, want %q", ErrCorrupt, what, b[5], t)
	}
	if v := int(b[6])<<8 | int(b[7]); v != FormatVersion {
		return fmt.Errorf("%w: %s has format version %d, this cairn reads version %d", ErrUnsupportedVersion, what, v, FormatVersion)
	}
	return nil
}

// sealObject encodes (optionally compressing) and seals plaintext as an object of type t.
func (r *Repository) sealObject(t byte, payload []byte) ([]byte, error) {
	pt := make([]byte, 0, len(payload)+1)
	if r.comp.enc != nil && len(payload) > 512 {
		pt = append(pt, encZstd)
		pt = r.comp.enc.EncodeAll(payload, pt)
	} else {
		pt = append(pt, encRaw)
		pt = append(pt, payload...)
	}
	return r.key.SealObject(objectHeader(t), pt)
}

// openObject authenticates and decodes a sealed object of type t.
func (r *Repository) openObject(t byte, sealed []byte, what string) ([]byte, error) {
	if err := checkHeader(sealed, t, what); err != nil {
		return nil, err
	}
	_, pt, err := r.key.OpenObject(sealed)
	if err != nil {
		return nil, fmt.Errorf("%w: %s: %v", ErrCorrupt, what, err)
	}
	if len(pt) == 0 {
		return nil, fmt.Errorf("%w: %s: empty plaintext", ErrCorrupt, what)
	}
	switch pt[0] {
	case encRaw:
		return pt[1:], nil
	case encZstd:
		out, err := r.comp.dec.DecodeAll(pt[1:], nil)
		if err != nil {
			return nil, fmt.Errorf("%w: %s: %v", ErrCorrupt, what, err)
		}
		return out, nil
	}
	return nil, fmt.Errorf("%w: %s: unknown encoding %d", ErrCorrupt, what, pt[0])
}

// saveObject seals payload and stores it under its content hash; returns the name.
func (r *Repository) saveObject(ctx context.Context, bt backend.Type, t byte, payload []byte) (ids.ID, error) {
	sealed, err := r.sealObject(t, payload)
	if err != nil {
		return ids.ID{}, err
	}
	id := ids.Hash(sealed)
	if err := r.be.Save(ctx, backend.Handle{Type: bt, Name: id.String()}, sealed); err != nil {
		return ids.ID{}, err
	}
	return id, nil
}

// loadObject loads, verifies the name hash of, and opens a content-addressed object.
func (r *Repository) loadObject(ctx context.Context, bt backend.Type, t byte, id ids.ID) ([]byte, error) {
	h := backend.Handle{Type: bt, Name: id.String()}
	sealed, err := r.be.Load(ctx, h, 0, 0)
	if err != nil {
		return nil, err
	}
	if ids.Hash(sealed) != id {
		return nil, fmt.Errorf("%w: %s: content does not match its name (truncated or modified)", ErrCorrupt, h)
	}
	return r.openObject(t, sealed, h.String())
}

// isCorrupt reports whether err means the repository data was bad (as opposed to I/O failure).
func isCorrupt(err error) bool {
	return errors.Is(err, ErrCorrupt) || errors.Is(err, crypto.ErrAuth)
}

func isNotFound(err error) bool { return errors.Is(err, backend.ErrNotFound) }
