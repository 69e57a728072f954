package crypto

import "testing"

// testSecret is the fixed secret of the known-answer tests: bytes 0x00..0x1f.
func testSecret() []byte {
	s := make([]byte, SecretSize)
	for i := range s {
		s[i] = byte(i)
	}
	return s
}

// testSalt is the fixed salt of the known-answer tests: bytes 0x80..0x9f.
func testSalt() [SaltSize]byte {
	var s [SaltSize]byte
	for i := range s {
		s[i] = byte(0x80 + i)
	}
	return s
}

func testKey(tb testing.TB) *Key {
	tb.Helper()
	k, err := KeyFromSecret(testSecret())
	if err != nil {
		tb.Fatal(err)
	}
	return k
}

// patterned returns n bytes of the BLAKE3 test-vector pattern (i mod 251).
func patterned(n int) []byte {
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(i % 251)
	}
	return b
}
