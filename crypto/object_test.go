package crypto

import (
	"bytes"
	"errors"
	"testing"
)

func TestObjectRoundTrip(t *testing.T) {
	k := testKey(t)
	for _, tc := range []struct {
		name   string
		header [HeaderSize]byte
		pt     []byte
	}{
		{"empty", MakeHeader('C', 1), nil},
		{"small", MakeHeader('S', 1), []byte("snapshot")},
		{"large", MakeHeader('I', 7), patterned(1 << 20)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			sealed, err := k.SealObject(tc.header, tc.pt)
			if err != nil {
				t.Fatal(err)
			}
			if got, want := len(sealed), HeaderSize+SaltSize+len(tc.pt)+Overhead; got != want {
				t.Fatalf("sealed length %d, want %d", got, want)
			}
			if !bytes.Equal(sealed[:HeaderSize], tc.header[:]) {
				t.Fatalf("sealed object does not start with its header")
			}
			hdr, pt, err := k.OpenObject(sealed)
			if err != nil {
				t.Fatal(err)
			}
			if hdr != tc.header || !bytes.Equal(pt, tc.pt) || pt == nil {
				t.Fatalf("round trip: header %q plaintext %d bytes, want %q %d bytes", hdr, len(pt), tc.header, len(tc.pt))
			}
			again, err := k.SealObject(tc.header, tc.pt)
			if err != nil {
				t.Fatal(err)
			}
			if bytes.Equal(again[HeaderSize:HeaderSize+SaltSize], sealed[HeaderSize:HeaderSize+SaltSize]) {
				t.Fatal("two seals used the same salt")
			}
		})
	}
}

func TestSealObjectRejectsBadHeader(t *testing.T) {
	k := testKey(t)
	if _, err := k.SealObject([HeaderSize]byte{'x'}, nil); !errors.Is(err, ErrMalformed) {
		t.Fatalf("err = %v, want ErrMalformed", err)
	}
}

func TestOpenObjectTamper(t *testing.T) {
	k := testKey(t)
	header := MakeHeader('S', 1)
	sealed, err := k.SealObject(header, []byte("a snapshot of thirty-two bytes.."))
	if err != nil {
		t.Fatal(err)
	}
	ctStart := HeaderSize + SaltSize
	tagStart := len(sealed) - Overhead
	regions := []struct {
		name     string
		from, to int
	}{
		{"magic", 0, 5},
		{"type", 5, 6},
		{"version", 6, HeaderSize},
		{"salt", HeaderSize, ctStart},
		{"ciphertext", ctStart, tagStart},
		{"tag", tagStart, len(sealed)},
	}
	for _, r := range regions {
		for i := r.from; i < r.to; i++ {
			for _, bit := range []byte{0x01, 0x80} {
				bad := bytes.Clone(sealed)
				bad[i] ^= bit
				if _, _, err := k.OpenObject(bad); !errors.Is(err, ErrAuth) {
					t.Fatalf("%s: flipping bit %#x of byte %d: err = %v, want ErrAuth", r.name, bit, i, err)
				}
			}
		}
	}
	for n := range len(sealed) {
		if _, _, err := k.OpenObject(sealed[:n]); !errors.Is(err, ErrAuth) {
			t.Fatalf("truncated to %d bytes: err = %v, want ErrAuth", n, err)
		}
	}
	if _, _, err := k.OpenObject(append(bytes.Clone(sealed), 0)); !errors.Is(err, ErrAuth) {
		t.Fatalf("extended by one byte: err = %v, want ErrAuth", err)
	}
	other, err := NewRandomKey()
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := other.OpenObject(sealed); !errors.Is(err, ErrAuth) {
		t.Fatalf("other key: err = %v, want ErrAuth", err)
	}
	if _, _, err := k.OpenObject(sealed); err != nil {
		t.Fatalf("original no longer opens: %v", err)
	}
}

func TestHeader(t *testing.T) {
	h := MakeHeader('I', 0x0102)
	if string(h[:]) != "cairnI\x01\x02" {
		t.Fatalf("MakeHeader = %q", h)
	}
	typ, v, err := ParseHeader(append(h[:], "rest"...))
	if err != nil || typ != 'I' || v != 0x0102 {
		t.Fatalf("ParseHeader = %c %d %v", typ, v, err)
	}
	for _, bad := range [][]byte{nil, []byte("cairnI\x01"), []byte("cairNI\x01\x02")} {
		if _, _, err := ParseHeader(bad); !errors.Is(err, ErrMalformed) {
			t.Errorf("ParseHeader(%q) err = %v, want ErrMalformed", bad, err)
		}
	}
}
