// Package erasure owns Reed-Solomon k+m coding of packs: the shard object format and its
// checksums, shard placement across zones, range reads that need no decoding while the
// data shards are healthy, degraded reads with reconstruction, and healing. It works on
// byte slices and the ShardSource interface it defines; it knows nothing of snapshots, S3
// or Kubernetes (the multi-zone storage backend builds on it).
//
// # Coding
//
// A pack of N bytes is coded with a Layout of k data and m parity shards (systematic
// Reed-Solomon over GF(2^8), github.com/klauspost/reedsolomon with its default matrix;
// 1 <= k, 0 <= m, k+m <= 256). The shard size is
//
//	S = ceil(N/k) rounded up to a multiple of 64
//
// and data shard i (0 <= i < k) is the contiguous pack slice [i*S, (i+1)*S), zero-padded
// past N. Parity shards k..k+m-1 are S bytes each. Byte range [off, off+len) of the pack
// therefore lives in data shard off/S at payload offset off%S (spanning into the following
// shard(s) when it crosses a multiple of S), and a healthy read fetches it straight from the
// data shard objects with no decoding. An empty pack (N = 0) has S = 0: every shard is an
// empty payload plus its footer.
//
// # Shard object
//
// Every shard is stored as its own object: payload (S bytes) || footer (F bytes). The
// footer is at the end so that range reads of the payload start at object offset 0. All
// integers are little-endian; offsets are within the footer:
//
//	off       size  field
//	0         8     magic "cairnES1"
//	8         2     version (1)
//	10        2     k, data shards
//	12        2     m, parity shards
//	14        2     index of this shard, 0..k+m-1 (data first)
//	16        4     block size B (power of two; 1 MiB by default)
//	20        4     reserved, 0
//	24        8     N, pack length
//	32        8     S, shard size (must equal ceil(N/k) rounded up to 64)
//	40        32    pack ID (opaque bytes given by the writer)
//	72        16*n  block checksums: n = ceil(S/B); checksum j = BLAKE3-256 of payload
//	                [j*B, min((j+1)*B, S)) truncated to its first 16 bytes
//	72+16n    32    footer checksum: BLAKE3-256 of footer bytes [0, 72+16n)
//	104+16n   4     F, the footer length = 112+16n (this and the next field: the trailer)
//	108+16n   4     trailer magic "cES1"
//
// The 8-byte trailer is fixed, so a reader that knows nothing about a shard reads a suffix
// of the object (4 KiB covers every shard up to 249 MiB with 1 MiB blocks; a 16 MiB shard
// has F = 368), takes F from the trailer (FooterLen), reads again if F was larger, and
// parses the footer (ParseFooter). k, m and the index are 16-bit so that every valid
// layout, including 256+0, is representable.
//
// There is no separate whole-payload hash: the payload is intact exactly when every block
// checksum matches, and the footer checksum binds those to the geometry and the pack ID. A
// second hash over the payload would double the hashing cost of Encode and of every full
// verification without detecting anything more. The checksums detect rot and misplaced
// objects; they are unkeyed, so authenticity still comes from the AEAD sealing of pack
// contents above this layer.
//
// A shard whose trailer, footer checksum, fields, length or any payload block does not
// verify, or whose footer names another pack, index or layout, is an erasure: it is
// treated exactly like a missing shard, never as data.
//
// # Reads
//
// PackReader.ReadRange (and ReadRangeInto, into the caller's buffer, and the one-shot
// Coder.ReadRange) learns the geometry from the
// first footer that verifies, range-reads the covering data shard(s) rounded out to block
// boundaries and checks the block checksums (VerifyRange), so corrupt bytes are never
// returned even before the AEAD check. If a data shard fails, does not verify or (with
// WithHedgeAfter) is slow, the same block-aligned range is fetched from k other shards in
// parallel, data shards first (the next one when one fails, all of them after the hedge
// delay), and the missing data is reconstructed block by block from just that range,
// straight into the caller's buffer. Heal rebuilds whole shard objects for re-upload and
// Check finds the shards that need it.
//
// Blocks a PackReader fetched and verified, or reconstructed, enter a byte-bounded LRU
// cache shared by the Coder's readers (WithBlockCache), keyed by reader, shard and block,
// so that a range starting in a block the previous range ended in (consecutive blobs of a
// restore) fetches only the blocks it does not share. The uncached blocks of a range are
// fetched with one request per data shard; a block another read of the same reader is
// fetching is waited for rather than fetched twice. A read that ends in a shard's
// second-to-last block also fetches (and keeps) the last one, for the read that starts
// there. The other shards' blocks a degraded read fetched are deposited in the cache (a
// budget of their own) for the reads of those shards' ranges, which take them out, so a
// pack read whole with a data shard down fetches each surviving block about once; a
// degraded read likewise takes blocks from the cache, or waits for another read fetching
// them, once the shard it rebuilds has failed (not while it only races a slow read).
// Nothing enters the cache before its checksum verified, and a reader only ever sees its
// own blocks, so it never trusts bytes checked against another reader's footers. The
// one-shot Coder.ReadRange bypasses it.
//
// A ShardSource that also implements ShardReaderInto is read with one request into several
// buffers: the blocks a read covers whole go straight into the caller's buffer (no copy, no
// buffer of the reader's own), only the blocks at its ends, a kept tail and a footer into
// buffers of their own.
//
// # Placement
//
// Placement puts shard i of a pack in zone (i + r) mod Z, r = the first 8 bytes of the pack
// ID (big-endian) mod Z. With Z >= k+m no zone holds two shards of one pack, and the
// rotation spreads shards evenly over zones.
//
// # Caveats
//
//   - A healthy read of a small range still reads and hashes whole blocks (up to 2*B bytes
//     for a range crossing a block boundary) unless they are cached; WithBlockSize trades
//     footer size for less read amplification of random reads. Readers honour the block
//     size recorded in each footer.
//   - The block cache holds at most its budget (DefaultBlockCache, 8 MiB, per Coder,
//     whatever the number of open PackReaders) plus the blocks of reads in flight, and
//     keeps only blocks a read used part of (a block read whole is not kept); blocks
//     larger than the budget are never cached. When more packs are read at once than the
//     budget has blocks for, blocks are evicted before reuse and reads fall back to
//     fetching them again (correct, just amplified). A cached block stays valid for the
//     reader's lifetime: the cache does not notice a shard object changing under a reader.
//   - A PackReader remembers shards that failed for its lifetime, including transient
//     errors; open a new one to retry them.
//   - Reconstruct and Join do not verify payloads: give them only verified ones.
//   - Shards whose footers verify but disagree on the pack length (same pack ID, different
//     bytes: a writer bug or deliberate forgery, as the checksums are unkeyed) are resolved
//     first come, first served: the first verified footer fixes the geometry and the
//     others count as corrupt.
//   - Without WithHedgeAfter a data shard that hangs holds its read until ctx ends; the
//     ShardSource must honour ctx cancellation for hedging to release goroutines.
package erasure
