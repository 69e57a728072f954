package crypto

import (
	"bytes"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/zeebo/blake3"
)

// TestBLAKE3Vectors checks the two BLAKE3 modes we rely on against the official test vectors
// (input length 1024), so a swapped or broken BLAKE3 implementation is caught.
func TestBLAKE3Vectors(t *testing.T) {
	in := patterned(1024)
	h, err := blake3.NewKeyed([]byte("whats the Elvish word for friend"))
	if err != nil {
		t.Fatal(err)
	}
	_, _ = h.Write(in)
	if got, want := hex.EncodeToString(h.Sum(nil)), "75c46f6f3d9eb4f55ecaaee480db732e6c2105546f1e675003687c31719c7ba4"; got != want {
		t.Errorf("keyed hash = %s, want %s", got, want)
	}
	var dk [32]byte
	blake3.DeriveKey("BLAKE3 2019-12-27 16:29:52 test vectors context", in, dk[:])
	if got, want := hex.EncodeToString(dk[:]), "7356cd7720d5b66b6d0697eb3177d9f8d73a4a5c5e968896eb6a689684302706"; got != want {
		t.Errorf("derive key = %s, want %s", got, want)
	}
}

// TestKnownAnswers pins every derivation and sealing format for a fixed secret and salt.
// The AES-GCM outputs were cross-checked with Python's cryptography package (AESGCM) from the
// object key below. If this test fails, the on-disk format changed.
func TestKnownAnswers(t *testing.T) {
	k := testKey(t)
	salt := testSalt()

	if got, want := hex.EncodeToString(k.m.chunkIDKey[:]), "f4c0184cac1b0c116228c8303783dbb6a5787a4e04868d7b87fa800fb3f206d4"; got != want {
		t.Errorf("chunkIDKey = %s, want %s", got, want)
	}
	ok := k.objectKey(&salt)
	if got, want := hex.EncodeToString(ok[:]), "b0f1b45cb7e17b6bd663306b60e8e497e9600914786079c8b825a4e6a8b1ab8e"; got != want {
		t.Errorf("objectKey = %s, want %s", got, want)
	}

	h := k.NewChunkHasher()
	for _, tc := range []struct {
		name string
		in   []byte
		want string
	}{
		{"empty", nil, "2ab4b4810f924693337f158cf47bf9cfd795f47d036e8dbb844e25e0077e5c75"},
		{"cairn", []byte("cairn"), "61bfb51649d98aacbc683d80a1a04387cf697193e1570dbdd9fd1dcfb5926fc2"},
		{"1MiB", patterned(1 << 20), "120ee26d99939cfd3b2506a01802fe475bcb923df940ba5f4345ab13222327ae"},
	} {
		id := h.Sum(tc.in)
		if got := hex.EncodeToString(id[:]); got != tc.want {
			t.Errorf("chunk id %s = %s, want %s", tc.name, got, tc.want)
		}
	}

	sealed, err := k.sealObjectWithSalt(MakeHeader('C', 1), &salt, []byte("hello config"))
	if err != nil {
		t.Fatal(err)
	}
	wantSealed := "636169726e430001" + // "cairn" 'C' 0x0001
		"808182838485868788898a8b8c8d8e8f909192939495969798999a9b9c9d9e9f" + // salt
		"c1c1eafeed77d7b512a3357947857214bc48cc91576a46f23c61b14d" // ct || tag
	if got := hex.EncodeToString(sealed); got != wantSealed {
		t.Errorf("sealed object = %s, want %s", got, wantSealed)
	}

	ps, err := k.newPackSealer(&salt)
	if err != nil {
		t.Fatal(err)
	}
	if got, want := hex.EncodeToString(ps.SealBlob(nil, 7, []byte("aad"), []byte("blob plaintext"))), "b45a94ed547aa79c90cf13c8dd6eee440bb28ec0e7c757869c955822dba9"; got != want {
		t.Errorf("blob 7 = %s, want %s", got, want)
	}
	if got, want := hex.EncodeToString(ps.SealTable(nil, []byte("aad"), []byte("table plaintext"))), "21fbff7bdca753ceffb06932e6971ee260cc804c956e257eeeaa7105d60ae4"; got != want {
		t.Errorf("table = %s, want %s", got, want)
	}
}

func TestKeyFromSecretLength(t *testing.T) {
	for _, n := range []int{0, 1, 31, 33, 64} {
		if _, err := KeyFromSecret(make([]byte, n)); !errors.Is(err, ErrMalformed) {
			t.Errorf("KeyFromSecret(%d bytes) err = %v, want ErrMalformed", n, err)
		}
	}
	secret := testSecret()
	k, err := KeyFromSecret(secret)
	if err != nil {
		t.Fatal(err)
	}
	secret[0] ^= 1 // the key must hold its own copy
	if !bytes.Equal(k.m.secret[:], testSecret()) {
		t.Error("KeyFromSecret did not copy the secret")
	}
}

func TestNewRandomKeyDistinct(t *testing.T) {
	a, err := NewRandomKey()
	if err != nil {
		t.Fatal(err)
	}
	b, err := NewRandomKey()
	if err != nil {
		t.Fatal(err)
	}
	if *a.m.secret == *b.m.secret || *a.m.chunkIDKey == *b.m.chunkIDKey {
		t.Error("two random keys are equal")
	}
	if a.NewChunkHasher().Sum([]byte("x")) == b.NewChunkHasher().Sum([]byte("x")) {
		t.Error("chunk IDs do not depend on the key")
	}
}

func TestChunkHasherReuse(t *testing.T) {
	h := testKey(t).NewChunkHasher()
	first := h.Sum([]byte("abc"))
	_ = h.Sum(patterned(10000))
	if h.Sum([]byte("abc")) != first {
		t.Error("ChunkHasher.Sum depends on earlier calls")
	}
}

func TestKeyRedacted(t *testing.T) {
	k := testKey(t)
	type exported struct{ K Key }
	type unexported struct{ k Key }
	type ptr struct{ k *Key }
	secretHex := hex.EncodeToString(k.m.secret[:])
	for _, verb := range []string{"%v", "%+v", "%#v", "%s", "%x", "%X", "%q", "%d"} {
		for _, arg := range []any{k, *k, exported{*k}, unexported{*k}, ptr{k}, []*Key{k}} {
			out := fmt.Sprintf(verb, arg)
			if strings.Contains(strings.ToLower(out), secretHex[:16]) || strings.Contains(out, fmt.Sprint(k.m.secret[:4])[1:8]) {
				t.Errorf("Sprintf(%s, %T) leaks the secret: %s", verb, arg, out)
			}
		}
	}
	if got := k.String(); got != "crypto.Key{redacted}" {
		t.Errorf("String() = %q", got)
	}
}
