package index

import (
	"fmt"

	"github.com/cairnbackup/cairn/internal/ids"
)

// BlobType says what a blob holds.
type BlobType uint8

const (
	// DataBlob is a chunk of volume data.
	DataBlob BlobType = 0
	// ListBlob is a chunk of a snapshot's chunk list.
	ListBlob BlobType = 1
)

// String returns "data", "list" or "type(N)".
func (t BlobType) String() string {
	switch t {
	case DataBlob:
		return "data"
	case ListBlob:
		return "list"
	default:
		return fmt.Sprintf("type(%d)", uint8(t))
	}
}

// Valid reports whether t is a known blob type.
func (t BlobType) Valid() bool { return t <= ListBlob }

// Entry locates one blob inside a pack.
type Entry struct {
	ID         ids.ID
	Type       BlobType
	Pack       ids.ID
	Offset     uint64 // byte offset of the sealed blob in the pack
	Length     uint32 // sealed length (ciphertext + 16-byte tag)
	RawLength  uint32 // plaintext length before compression
	Compressed bool   // stored zstd-compressed
	Seq        uint32 // the blob's ordinal in its pack (its AEAD nonce counter)
}

// Object is the decoded content of one index object.
type Object struct {
	Supersedes []ids.ID // index objects this one replaces (compaction); usually empty
	Entries    []Entry
}
