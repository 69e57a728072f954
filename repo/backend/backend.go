// Package backend defines the storage contract every cairn repository backend fulfils
// (local directory, S3/MinIO bucket, multi-zone erasure set), and the sentinel errors
// callers branch on.
//
// A backend stores named, immutable objects of a few types. The repository never rewrites
// an object in place: packs, index objects and snapshots are content addressed, so saving the
// same name twice stores the same bytes. Backends must be safe for concurrent use.
package backend

import (
	"context"
	"errors"
	"fmt"
	"strings"
)

// Type is the kind of a stored object; it decides where the object lives.
type Type int

// Object types.
const (
	Config   Type = iota // the single "config" object
	Key                  // password key slots
	Snapshot             // snapshot objects
	Index                // index objects
	Pack                 // packs of blobs
	Lock                 // lock objects
)

// Types lists every object type, in a stable order.
var Types = []Type{Config, Key, Snapshot, Index, Pack, Lock}

// String returns the type's directory-style name.
func (t Type) String() string {
	switch t {
	case Config:
		return "config"
	case Key:
		return "keys"
	case Snapshot:
		return "snapshots"
	case Index:
		return "index"
	case Pack:
		return "data"
	case Lock:
		return "locks"
	}
	return fmt.Sprintf("type(%d)", int(t))
}

// Handle names one object.
type Handle struct {
	Type Type
	Name string // empty for Config
}

// String returns a path-like name for messages, e.g. "snapshots/ab12...".
func (h Handle) String() string {
	if h.Type == Config {
		return "config"
	}
	return h.Type.String() + "/" + h.Name
}

// Validate reports whether h names an object every backend can store: a known type and,
// except for Config, a non-empty name without path separators that does not start with a
// dot (backends keep temporary and internal files under dot names).
func (h Handle) Validate() error {
	if h.Type < Config || h.Type > Lock {
		return fmt.Errorf("invalid object type %s", h.Type)
	}
	if h.Type == Config {
		return nil
	}
	if h.Name == "" || strings.ContainsAny(h.Name, `/\`) || strings.HasPrefix(h.Name, ".") {
		return fmt.Errorf("invalid object name %q", h.Name)
	}
	return nil
}

// Sentinel errors. Backends wrap them with context; callers test with errors.Is.
var (
	// ErrNotFound: the object does not exist.
	ErrNotFound = errors.New("object not found")
	// ErrExists: SaveNew found the object already present.
	ErrExists = errors.New("object already exists")
	// ErrUnavailable: the store (or too many zones of it) could not be reached.
	ErrUnavailable = errors.New("storage unavailable")
	// ErrNoSpace: the store is out of space.
	ErrNoSpace = errors.New("no space left on storage")
)

// Backend is the storage contract.
//
// Guarantees a backend must give:
//   - Save is atomic: a concurrent or later Load sees either no object or all of it, never a
//     prefix, also after a crash. When Save returns nil the object is durable.
//   - Save of an existing name replaces it (callers only do so with identical content).
//   - SaveNew fails with ErrExists if the name exists (used for locks); atomic test-and-set.
//   - Load returns exactly length bytes at offset (length 0 means to the end); a short object
//     is an error, not a short read. A missing object wraps ErrNotFound.
//   - List calls fn for every object of the type, in no particular order.
//   - Remove of a missing object wraps ErrNotFound.
type Backend interface {
	// Location describes the backend for messages (never includes credentials).
	Location() string
	// Save stores data under h atomically and durably.
	Save(ctx context.Context, h Handle, data []byte) error
	// SaveNew is Save that fails with ErrExists if h already exists.
	SaveNew(ctx context.Context, h Handle, data []byte) error
	// Load reads length bytes at offset of h (length 0: the rest of the object).
	Load(ctx context.Context, h Handle, offset, length int64) ([]byte, error)
	// Stat returns the size of h.
	Stat(ctx context.Context, h Handle) (int64, error)
	// List calls fn for each object of type t with its name and size.
	List(ctx context.Context, t Type, fn func(name string, size int64) error) error
	// Remove deletes h.
	Remove(ctx context.Context, h Handle) error
	// Close releases resources.
	Close() error
}

// Window returns data[offset:offset+length] under Load's range rules (length 0: to the end),
// capped so appending to it cannot touch data beyond the window. The error, which callers
// wrap with the handle, says why not: offset beyond the end, or fewer than length bytes.
func Window(data []byte, offset, length int64) ([]byte, error) {
	size := int64(len(data))
	if offset > size {
		return nil, fmt.Errorf("offset %d beyond size %d", offset, size)
	}
	if length == 0 {
		length = size - offset
	}
	if offset+length > size {
		return nil, fmt.Errorf("short object: wanted %d bytes at %d, size %d", length, offset, size)
	}
	return data[offset : offset+length : offset+length], nil
}
