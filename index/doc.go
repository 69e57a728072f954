// Package index owns blob ID → location lookups: the binary encoding of the
// index objects written to the repository, and the local bbolt cache that is
// rebuilt from those objects at any time.
//
// The package knows nothing about storage backends, Kubernetes or
// cryptography: the repository hands it plaintext index object bytes (Decode),
// takes plaintext bytes back (Encode), and gives Cache.Sync a loader callback
// that fetches, authenticates and decodes one index object.
//
// # Index object format
//
// An index object lists where blobs live. It is the repository contract; all
// integers are unsigned LEB128 varints (encoding/binary Uvarint) in their
// shortest form, IDs are 32 raw bytes:
//
//	uvarint  number of superseded index IDs, then that many 32-byte IDs
//	uvarint  number of packs
//	per pack: 32-byte pack ID, uvarint blob count, then per blob:
//	    1 byte type | 32-byte blob ID | uvarint offset | uvarint length | uvarint raw length | uvarint seq | 1 byte flags (bit 0: compressed; other bits must be 0)
//	end of input exactly after the last blob (trailing bytes = ErrCorrupt)
//
// Type is 0 (DataBlob) or 1 (ListBlob). Length, raw length and seq must fit
// in 32 bits. A pack with zero blobs is invalid, and a pack ID may appear only
// once per object (Encode groups entries by pack: packs in order of first
// appearance, blobs in the order given). Non-shortest varints are rejected, so
// every accepted input re-encodes to the identical bytes. Decode checks every
// count against the remaining input before allocating, so a hostile object
// cannot make it allocate more than a small multiple of its own size.
//
// # Cache
//
// The cache is a bbolt file with these buckets (integers big endian):
//
//	meta     "version" → cache format version (1 byte), "repo" → repository ID,
//	         "blobs" → number of keys in the blobs bucket (8 bytes),
//	         "nextpack" → next unused pack number (4 bytes)
//	indexes  index object ID → uvarint entry count (an object is recorded only
//	         after all of its entries are committed)
//	blobs    blob ID → 26-byte location: type, flags, pack number (4),
//	         offset (8), length (4), raw length (4), seq (4)
//	packs    pack ID → pack number (4 bytes), and packnums the reverse
//
// Pack numbers are local to the cache file; they shrink each blob record from
// 86 to 58 bytes of key and value, which makes the file about a quarter
// smaller and keeps more of it in the page cache.
//
// A blob stored in several packs keeps the first location seen. Cache.Sync
// makes the cache reflect exactly the index objects the repository lists: it
// loads the objects it has not seen (at most four loads at once) and streams
// their entries into write transactions of at most 8192 sorted keys, so
// memory stays flat (about 60 MiB of bbolt dirty pages at worst, plus the
// decoded objects in flight) for repositories of millions of blobs. When an
// object it had seen is gone (compaction or prune removed it), it drops
// everything and rebuilds from the present objects.
//
// # Caveats
//
//   - The cache is opened with NoSync, NoFreelistSync and the map freelist:
//     writes are not fsynced. A killed process leaves a consistent file (the
//     page cache survives), but an OS crash or power loss can leave it torn.
//     To catch that, the first write of a session creates a "<path>.dirty"
//     marker (fsynced) holding the kernel boot ID; Close fsyncs the database
//     and removes the marker. A marker from another boot means the file may be
//     torn, and OpenCache deletes and recreates it. Without a readable boot ID
//     (not Linux) any leftover marker counts as stale.
//   - A file that is not a bbolt database, fails its meta checksum, is shorter
//     than its meta page claims (checked before bbolt maps it: touching a page
//     past the end of a mapped file is a SIGBUS no recover catches), or
//     belongs to another repository or cache format version is recreated and
//     logged at Info: the cache is only a cache. A repository mismatch is reset in
//     place while holding the file lock, so the file keeps its size.
//   - bbolt trusts the pages behind a valid meta page. Panics it raises on a
//     damaged page are turned into ErrCacheCorrupt (close the cache, call
//     RemoveCache and reopen), but a panic inside one of bbolt's own
//     goroutines (its freelist scan on the first write) would still crash
//     the process; the dirty marker is what keeps torn files from being
//     opened.
//   - One process at a time: bbolt holds an exclusive flock. A second opener
//     gets ErrLocked after Timeout and should use OpenTempCache.
package index
