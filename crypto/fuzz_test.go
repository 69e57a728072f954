package crypto

import (
	"bytes"
	"errors"
	"testing"
)

// FuzzOpenObject: OpenObject never panics, fails only with ErrAuth, and anything it accepts
// re-seals (same key, same salt) to exactly the input.
func FuzzOpenObject(f *testing.F) {
	k := testKey(f)
	salt := testSalt()
	for _, pt := range [][]byte{nil, []byte("\x00{}"), patterned(300)} {
		sealed, err := k.sealObjectWithSalt(MakeHeader('S', 1), &salt, pt)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(sealed)
	}
	f.Add([]byte("cairnC\x00\x01"))
	f.Fuzz(func(t *testing.T, sealed []byte) {
		hdr, pt, err := k.OpenObject(sealed)
		if err != nil {
			if !errors.Is(err, ErrAuth) {
				t.Fatalf("err = %v, want ErrAuth", err)
			}
			return
		}
		var s [SaltSize]byte
		copy(s[:], sealed[HeaderSize:])
		again, err := k.sealObjectWithSalt(hdr, &s, pt)
		if err != nil {
			t.Fatalf("accepted object does not re-seal: %v", err)
		}
		if !bytes.Equal(again, sealed) {
			t.Fatal("accepted object re-seals differently")
		}
	})
}

// FuzzOpenBlob: OpenBlob and OpenTable never panic, fail only with ErrAuth, and anything they
// accept re-seals to exactly the input.
func FuzzOpenBlob(f *testing.F) {
	k := testKey(f)
	salt := testSalt()
	ps, err := k.newPackSealer(&salt)
	if err != nil {
		f.Fatal(err)
	}
	o, err := k.NewPackOpener(salt[:])
	if err != nil {
		f.Fatal(err)
	}
	f.Add(uint64(0), []byte("\x00aad"), ps.SealBlob(nil, 0, []byte("\x00aad"), []byte("first blob")))
	f.Add(uint64(41), []byte{}, ps.SealBlob(nil, 41, nil, patterned(200)))
	f.Add(^uint64(0), []byte("hdr"), ps.SealTable(nil, []byte("hdr"), []byte("\x01table")))
	f.Fuzz(func(t *testing.T, i uint64, aad, ct []byte) {
		pt, err := o.OpenBlob(nil, i, aad, ct)
		if err == nil {
			if !bytes.Equal(ps.SealBlob(nil, i, aad, pt), ct) {
				t.Fatal("accepted blob re-seals differently")
			}
		} else if !errors.Is(err, ErrAuth) {
			t.Fatalf("OpenBlob err = %v, want ErrAuth", err)
		}
		pt, err = o.OpenTable(nil, aad, ct)
		if err == nil {
			if !bytes.Equal(ps.SealTable(nil, aad, pt), ct) {
				t.Fatal("accepted table re-seals differently")
			}
		} else if !errors.Is(err, ErrAuth) {
			t.Fatalf("OpenTable err = %v, want ErrAuth", err)
		}
	})
}

// FuzzParseKeySlot: ParseKeySlot never panics and fails only with ErrMalformed or
// ErrUnsupported; an accepted slot marshals to a stable form; with cheap parameters, Unlock
// either fails with ErrWrongPassword or returns a key that re-wraps to the same data.
func FuzzParseKeySlot(f *testing.F) {
	golden := []byte(`{"version":1,"created":"2026-11-24T16:00:00Z","hostname":"testhost","username":"tester","kdf":"argon2id","params":{"time":1,"memory_kib":64,"threads":1},"salt":"gIGCg4SFhoeIiYqLjI2Oj5CRkpOUlZaXmJmam5ydnp8=","data":"oKGio6SlpqeoqaqrucogDKkdFs7zwOq07dIZH9Wjbpg2jWVNLYTTYS5jJ3cIzcrTlTMVzGyuBdNP2UmF"}`)
	f.Add(golden, []byte(goldenPassword))
	f.Add(golden, []byte("wrong"))
	f.Add([]byte(`{"version":2}`), []byte(""))
	f.Fuzz(func(t *testing.T, b, password []byte) {
		s, err := ParseKeySlot(b)
		if err != nil {
			if !errors.Is(err, ErrMalformed) && !errors.Is(err, ErrUnsupported) {
				t.Fatalf("err = %v, want ErrMalformed or ErrUnsupported", err)
			}
			return
		}
		m1, err := s.Marshal()
		if err != nil {
			t.Fatalf("accepted slot does not marshal: %v", err)
		}
		s2, err := ParseKeySlot(m1)
		if err != nil {
			t.Fatalf("marshalled slot does not parse: %v\n%s", err, m1)
		}
		m2, err := s2.Marshal()
		if err != nil || !bytes.Equal(m1, m2) {
			t.Fatalf("marshal not stable (%v):\n%s\n%s", err, m1, m2)
		}
		if s.Params.Time > 2 || s.Params.MemoryKiB > 256 {
			return // keep each fuzz input cheap
		}
		k, err := s.Unlock(password)
		if err != nil {
			if !errors.Is(err, ErrWrongPassword) {
				t.Fatalf("Unlock err = %v, want ErrWrongPassword", err)
			}
			return
		}
		again := *s
		var nonce [NonceSize]byte
		copy(nonce[:], s.Data)
		if err := again.seal(k, password, nonce); err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(again.Data, s.Data) {
			t.Fatal("unlocked slot re-wraps differently")
		}
	})
}
