package crypto

import "github.com/zeebo/blake3"

// ChunkHasher computes chunk IDs: keyed BLAKE3-256 of a chunk's plaintext under the key's
// chunk-ID key. It is not safe for concurrent use; it is cheap to reuse, so keep one per
// goroutine.
type ChunkHasher struct {
	h *blake3.Hasher
}

// NewChunkHasher returns a hasher for chunk IDs under k.
func (k *Key) NewChunkHasher() *ChunkHasher {
	h, err := blake3.NewKeyed(k.m.chunkIDKey[:])
	if err != nil {
		// Unreachable: the chunk-ID key is always 32 bytes.
		panic("crypto: blake3.NewKeyed: " + err.Error())
	}
	return &ChunkHasher{h: h}
}

// Sum returns the chunk ID of data.
func (h *ChunkHasher) Sum(data []byte) [32]byte {
	h.h.Reset()
	_, _ = h.h.Write(data)
	var id [32]byte
	h.h.Sum(id[:0])
	return id
}
