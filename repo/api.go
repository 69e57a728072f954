package repo

import (
	"log/slog"
	"time"

	"github.com/cairnbackup/cairn/chunk"
	"github.com/cairnbackup/cairn/crypto"
	"github.com/cairnbackup/cairn/internal/ids"
)

// ID names a snapshot, blob, pack or index object: 32 bytes, shown as 64 hex digits.
type ID = ids.ID

// ParseID parses a full 64-digit hex ID.
func ParseID(s string) (ID, error) { return ids.Parse(s) }

// InitOptions configure a new repository.
type InitOptions struct {
	Password    []byte            // required, non-empty
	Chunker     *chunk.Params     // nil: chunk.DefaultParams()
	PackSize    int               // target pack size in bytes; 0: DefaultPackSize
	Compression string            // "fastest" (default), "default", "better", "off"
	KDF         *crypto.KDFParams // nil: crypto.DefaultKDFParams()
	CacheDir    string            // "" : DefaultCacheDir(); "off": no persistent cache
	SpoolDir    string            // see OpenOptions.SpoolDir
	Logger      *slog.Logger      // nil: slog.Default()
}

// OpenOptions configure opening an existing repository.
type OpenOptions struct {
	Password []byte
	CacheDir string // "" : DefaultCacheDir(); "off": no persistent cache
	// SpoolDir is where packs bound for an object store (s3, zones) are staged, as
	// anonymous files, before their upload; "": "spool" in the cache directory, or the
	// system's temporary directory without one. If no file can be created there, packs
	// are buffered in memory.
	SpoolDir string
	Logger   *slog.Logger // nil: slog.Default()
}

// Progress is a point-in-time report of a running backup or restore.
type Progress struct {
	BytesDone   int64         `json:"bytes_done"`   // source bytes read (backup) or written (restore)
	BytesTotal  int64         `json:"bytes_total"`  // 0 when unknown (stdin)
	ZeroBytes   int64         `json:"zero_bytes"`   // bytes in zero runs and holes
	NewBytes    int64         `json:"new_bytes"`    // plaintext bytes of blobs not yet in the repository
	StoredBytes int64         `json:"stored_bytes"` // bytes written to storage so far
	Chunks      int64         `json:"chunks"`
	NewChunks   int64         `json:"new_chunks"`
	Elapsed     time.Duration `json:"elapsed_ns"`
}

// BackupOptions describe one backup.
type BackupOptions struct {
	Name     string    // e.g. the PVC name; used by "latest" lookups and retention groups
	Tags     []string  // free-form "key=value" or words
	Hostname string    // "" : os.Hostname()
	Time     time.Time // zero: now
	// SizeHint is the source size when known (for progress); 0 when unknown.
	SizeHint int64
	// Progress, if set, is called about every ProgressInterval and once at the end.
	Progress         func(Progress)
	ProgressInterval time.Duration // 0: 1s
}

// RestoreOptions describe one restore.
type RestoreOptions struct {
	// Sparse leaves zero runs unwritten (the target must read as zeros there, e.g. a freshly
	// truncated regular file). Otherwise zeros are written explicitly (block devices).
	Sparse           bool
	Progress         func(Progress)
	ProgressInterval time.Duration
}

// Extent is one piece of a snapshot's volume: a blob or a run of zeros.
type Extent struct {
	Offset int64 `json:"offset"`
	Length int64 `json:"length"`
	Zero   bool  `json:"zero,omitempty"`
	Blob   ID    `json:"blob,omitzero"`
}

// KeyInfo describes one password key slot.
type KeyInfo struct {
	ID       string    `json:"id"`
	Created  time.Time `json:"created"`
	Hostname string    `json:"hostname,omitempty"`
	Username string    `json:"username,omitempty"`
	Current  bool      `json:"current"` // the slot this session was opened with
}
