// Package crypto owns cairn's key material and every cryptographic transform applied to
// repository data: the master key, password key slots (Argon2id), keyed BLAKE3 chunk IDs, and
// AES-256-GCM sealing of stored objects and of the blobs and table inside packs.
//
// It knows nothing about chunking or storage: callers hand it bytes and get bytes back. The
// byte formats produced here are part of the repository format (docs/FORMAT.md §2–§5).
//
// # Keys
//
// A repository has one 32-byte master secret. Everything else is derived from it with
// BLAKE3's key-derivation mode:
//
//	chunkIDKey      = BLAKE3-derive_key("cairn 2026-11 chunk id v1", secret)
//	objectKey(salt) = BLAKE3-derive_key("cairn 2026-11 object key v1", secret || salt)
//
// A chunk ID is keyed BLAKE3-256(chunkIDKey, plaintext), so IDs reveal nothing about content to
// someone without the key. The secret is stored only inside key slots ([KeySlot]): a random
// 32-byte salt, Argon2id(password, salt) → 32-byte key, and the secret sealed under it with a
// random 12-byte nonce and associated data "cairn key slot v1".
//
// # Nonces and keys
//
// All sealing is AES-256-GCM with a 12-byte nonce and a 16-byte tag.
//
//   - A sealed object (config, index, snapshot, lock) is header(8) || salt(32) || ciphertext.
//     The salt is fresh randomness and the object is sealed under objectKey(salt) with the
//     all-zero nonce and the header as associated data. Every object key is used exactly once.
//   - A pack gets its own key objectKey(salt) from a fresh random salt. Blob i is sealed with
//     nonce uint64-LE(i) || 4 zero bytes; the pack's blob table with the reserved nonce 12×0xFF,
//     which no blob index can produce (blob nonces always end in four zero bytes, so every
//     index, 2^64-1 included, is usable).
//
// Safety argument, for 2^40 blobs and far beyond: a (key, nonce) pair can repeat only when two
// keys are equal, i.e. (BLAKE3 being a PRF) when two salts collide, since within one key every
// nonce is used once (objects: one message per key; packs: distinct counters plus a reserved
// table nonce). With n objects and packs the birthday bound gives a collision probability of
// about n²/2^257; for n = 2^40 that is ≈ 2^-177. Nothing here depends on the total number of
// blobs in the repository, only on the number of salts, which is at most the number of blobs.
// Within one pack key, AES-GCM's limits (2^32 invocations for random nonces, ~2^36 bytes per
// message) are far away: packs hold well under 2^32 blobs of at most a few MiB each.
//
// # Caveats
//
//   - [ChunkHasher] is not safe for concurrent use; give each goroutine its own.
//     [PackSealer] and [PackOpener] are.
//   - A wrong password and a tampered key slot are indistinguishable; both give
//     [ErrWrongPassword].
//   - Go cannot reliably wipe memory; secrets live in ordinary heap memory for the life of a Key.
//   - Keyed chunk IDs hide content, but chunk boundaries of a content-defined chunker can leak
//     information to an attacker who controls some input; that is the chunk package's concern.
package crypto
