// Package chunk owns content-defined splitting of a volume byte stream, plus
// cheap skipping of all-zero runs and file holes. It knows nothing about
// storage or crypto: it turns bytes into Pieces, and the caller identifies,
// deduplicates and stores them.
//
// # Dedup contract
//
// The sequence of Pieces produced for a stream is part of the repository
// format: the same bytes under the same Params must always give the same
// Pieces, whatever the source (file, sparse file, pipe, block device) and
// however its reads are sized. Precisely:
//
//   - Zero detection. The stream is divided into ZeroBlockSize (64 KiB)
//     blocks aligned to the stream offset, which is the volume offset. A block
//     that is entirely zero belongs to a zero run; the stream's final block,
//     if shorter, counts too when it is all zero. Consecutive zero blocks
//     merge into one zero Piece of unbounded Length. Zero bytes that do not
//     fill a whole aligned block stay inside data. Detection compares memory
//     against a shared zero block; nothing is hashed.
//   - Data segments. The bytes between zero runs form data segments. Each is
//     chunked from a fresh Chunker state (Reset at the segment start), so
//     boundaries depend only on the segment's content, and thus only on the
//     content and the zero-run positions. A segment shorter than MinSize is
//     one chunk; the last chunk of a segment may be shorter than MinSize.
//   - Holes. For an *os.File of a regular file on Linux, SEEK_HOLE/SEEK_DATA
//     find holes; whole aligned blocks inside a hole (and the final partial
//     block of a hole reaching EOF) are emitted as zero without being read.
//     Blocks only partly inside a hole are read and scanned. The output is
//     therefore identical to scanning the same bytes. Filesystems or
//     descriptors without SEEK_HOLE fall back to reading silently.
//   - Completeness. Offsets are contiguous from 0 and concatenating all
//     Pieces, zero runs expanded, reproduces the stream exactly.
//
// # Chunker
//
// Params.Algorithm selects the content-defined chunker; both cut only at
// or after MinSize and at most at MaxSize:
//
//   - "rabin" uses github.com/restic/chunker: a Rabin fingerprint over a
//     64-byte window with a secret irreducible polynomial of degree 53
//     (Params.Polynomial); a boundary where the low AverageBits bits of the
//     fingerprint are zero. Mean chunk on random data about
//     MinSize + 2^AverageBits (768 KiB by default). About 0.5 GB/s per core.
//   - "fastcdc" is github.com/PlakarKorp/go-cdc-chunkers' variant
//     "fastcdc-v1.0.0", scanned in this package (two bytes per step; tests
//     and a fuzz target pin the boundaries to the library's): a gear hash
//     (fp = fp<<1 + G[byte]) with normalized chunking of level 2: between MinSize and the normal size
//     N = 2^AverageBits a cut needs AverageBits+2 mask bits zero, after N
//     AverageBits-2, so sizes cluster around N (mean about 1.2 N with the
//     default MinSize = N/2). The gear table G is derived from the secret
//     32-byte Params.Key with keyed BLAKE3 (the library's KFastCDC keying);
//     the polynomial is unused and must be 0. The first MinSize bytes of
//     every chunk are skipped, not hashed. About 2.7 GB/s per core, 5x rabin.
//
// The secrets are created by DefaultParamsFor from crypto/rand and stored in
// the sealed repository config, so Params alone reproduce every boundary.
//
// # Resources
//
// A Splitter reads an *os.File ahead of the chunker into ReadAheadBuffers
// reused buffers of ReadSize (2 MiB): regular files and block devices with
// up to three concurrent positioned reads (pread) and POSIX_FADV_SEQUENTIAL,
// pipes and other streams with one goroutine filling a second buffer; other
// readers synchronously into one buffer. Holes are never read. On Linux the
// positioned reads bypass the page cache (O_DIRECT through a second
// descriptor, into 4 KiB-aligned buffers) when the file offset is aligned and
// the range is not mostly cached already (cachestat(2)); a filesystem that
// refuses O_DIRECT is read through the page cache, and SplitStats.DirectBytes
// counts what was read directly (docs/DECISIONS.md §16). Close stops
// the read-ahead of an abandoned stream. The rabin Chunker keeps a 512 KiB buffer, the fastcdc
// Chunker a 32 KiB carry buffer: it reads chunk bytes straight into the
// caller's buffer and scans them while they are in cache, carrying what it read
// past a cut to the next chunk. The caller's buffer grows to at most MaxSize. Memory does not depend on the
// stream length and Next allocates nothing once the caller's buffer has
// grown.
//
// # Caveats
//
//   - Keyed chunkers only hide boundaries from a passive observer. Chunk
//     boundaries of a keyed rolling hash leak the key to an attacker who
//     controls part of the input and can observe chunk sizes (for example
//     stored object or pack sizes); see IACR ePrint 2025/558. With the key,
//     chunk sizes fingerprint known content.
//   - rabin: the secret polynomial is weak against this; ePrint 2025/558
//     attacks restic's chunker, which is the one used here.
//   - fastcdc: the keyed gear table is better than a public one (which would
//     let anyone predict every boundary and fingerprint content from sizes
//     without any attack), but published attacks cover keyed gear chunkers
//     too (for example bupstash's), so it is no hardening over rabin against
//     an attacker who can inject data and watch sizes. A hardened chunker
//     can be added behind Chunker under a new Algorithm name.
//   - Params holds a slice (Key): compare values with Params.Equal, not ==.
//   - Params.Polynomial is a JSON number above 2^53: readers outside Go must
//     parse it as a 64-bit integer, not a float.
//   - Next takes no context: cancel a running split by closing its source.
//   - Hole skipping trusts the file not to change while it is read; back up
//     from a snapshot.
package chunk
