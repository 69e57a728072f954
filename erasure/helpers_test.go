package erasure

import (
	"bytes"
	"encoding/binary"
	"math/rand/v2"
	"os"
	"path/filepath"
	"testing"

	"github.com/zeebo/blake3"
)

// testPack returns n deterministic pseudo-random bytes.
func testPack(n int, seed uint64) []byte {
	var key [32]byte
	binary.LittleEndian.PutUint64(key[:], seed)
	out := make([]byte, n)
	rand.NewChaCha8(key).Read(out)
	return out
}

// packFile returns a file in a fresh temporary directory holding pack, closed when the
// test ends.
func packFile(t testing.TB, pack []byte) *os.File {
	t.Helper()
	f, err := os.Create(filepath.Join(t.TempDir(), "pack"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { f.Close() })
	if _, err := f.Write(pack); err != nil {
		t.Fatal(err)
	}
	return f
}

func testID(seed uint64) []byte {
	var b [8]byte
	binary.LittleEndian.PutUint64(b[:], seed)
	id := blake3.Sum256(b[:])
	return id[:]
}

func mustCoder(t testing.TB, l Layout, opts ...Option) *Coder {
	t.Helper()
	c, err := NewCoder(l, opts...)
	if err != nil {
		t.Fatalf("NewCoder(%v): %v", l, err)
	}
	return c
}

func mustEncode(t testing.TB, c *Coder, id, pack []byte) [][]byte {
	t.Helper()
	objs, err := c.Encode(id, pack)
	if err != nil {
		t.Fatalf("Encode: %v", err)
	}
	return objs
}

// payloads parses every object and returns its payload.
func payloads(t testing.TB, objs [][]byte) [][]byte {
	t.Helper()
	out := make([][]byte, len(objs))
	for i, o := range objs {
		_, p, err := ParseShard(o)
		if err != nil {
			t.Fatalf("ParseShard(shard %d): %v", i, err)
		}
		out[i] = p
	}
	return out
}

func cloneShards(s [][]byte) [][]byte {
	out := make([][]byte, len(s))
	for i := range s {
		out[i] = bytes.Clone(s[i])
	}
	return out
}

// subsets calls fn with every subset of {0..n-1} of size exactly r.
func subsets(n, r int, fn func([]int)) {
	var rec func(start int, cur []int)
	rec = func(start int, cur []int) {
		if len(cur) == r {
			fn(cur)
			return
		}
		for i := start; i < n; i++ {
			rec(i+1, append(cur, i))
		}
	}
	rec(0, nil)
}
