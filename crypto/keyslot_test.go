package crypto

import (
	"bytes"
	"encoding/json"
	"errors"
	"os"
	"strings"
	"testing"
)

const goldenPassword = "correct horse battery staple"

// TestKeySlotGolden opens a committed slot file. testdata/keyslot-v1.json wraps testSecret()
// under goldenPassword with TestKDFParams; it was cross-checked with Python's cryptography
// package (Argon2id + AESGCM), so this pins the slot format and the KDF call.
func TestKeySlotGolden(t *testing.T) {
	b, err := os.ReadFile("testdata/keyslot-v1.json")
	if err != nil {
		t.Fatal(err)
	}
	s, err := ParseKeySlot(b)
	if err != nil {
		t.Fatal(err)
	}
	k, err := s.Unlock([]byte(goldenPassword))
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(k.m.secret[:], testSecret()) {
		t.Fatal("golden slot unwrapped the wrong secret")
	}
	if _, err := s.Unlock([]byte(goldenPassword + "!")); !errors.Is(err, ErrWrongPassword) {
		t.Fatalf("wrong password: err = %v, want ErrWrongPassword", err)
	}
	out, err := s.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(out, bytes.TrimSpace(b)) {
		t.Fatalf("re-marshalled slot differs:\n%s\n%s", out, b)
	}
}

func TestKeySlotRoundTrip(t *testing.T) {
	k, err := NewRandomKey()
	if err != nil {
		t.Fatal(err)
	}
	s, err := NewKeySlot(k, []byte("pw"), TestKDFParams())
	if err != nil {
		t.Fatal(err)
	}
	if s.Version != 1 || s.KDF != "argon2id" || len(s.Salt) != SaltSize || s.Created.IsZero() {
		t.Fatalf("new slot fields: %+v", s)
	}
	b, err := s.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	if bytes.Contains(b, k.m.secret[:8]) {
		t.Fatal("slot file contains the raw secret")
	}
	parsed, err := ParseKeySlot(b)
	if err != nil {
		t.Fatal(err)
	}
	got, err := parsed.Unlock([]byte("pw"))
	if err != nil {
		t.Fatal(err)
	}
	if *got.m.secret != *k.m.secret || *got.m.chunkIDKey != *k.m.chunkIDKey {
		t.Fatal("unlocked key differs")
	}
	for _, pw := range []string{"", "pW", "pw ", "p"} {
		if _, err := parsed.Unlock([]byte(pw)); !errors.Is(err, ErrWrongPassword) {
			t.Errorf("password %q: err = %v, want ErrWrongPassword", pw, err)
		}
	}
	// Two slots for the same key and password differ (fresh salt and nonce).
	s2, err := NewKeySlot(k, []byte("pw"), TestKDFParams())
	if err != nil {
		t.Fatal(err)
	}
	if bytes.Equal(s.Salt, s2.Salt) || bytes.Equal(s.Data, s2.Data) {
		t.Fatal("two slots share salt or data")
	}
}

func TestKeySlotTamper(t *testing.T) {
	b, err := os.ReadFile("testdata/keyslot-v1.json")
	if err != nil {
		t.Fatal(err)
	}
	good, err := ParseKeySlot(b)
	if err != nil {
		t.Fatal(err)
	}
	for i := range good.Data {
		s := *good
		s.Data = bytes.Clone(good.Data)
		s.Data[i] ^= 1
		if _, err := s.Unlock([]byte(goldenPassword)); !errors.Is(err, ErrWrongPassword) {
			t.Fatalf("data byte %d flipped: err = %v, want ErrWrongPassword", i, err)
		}
	}
	s := *good
	s.Salt = bytes.Clone(good.Salt)
	s.Salt[0] ^= 1
	if _, err := s.Unlock([]byte(goldenPassword)); !errors.Is(err, ErrWrongPassword) {
		t.Fatalf("salt flipped: err = %v", err)
	}
	s = *good
	s.Params.MemoryKiB *= 2
	if _, err := s.Unlock([]byte(goldenPassword)); !errors.Is(err, ErrWrongPassword) {
		t.Fatalf("params changed: err = %v", err)
	}
}

func TestParseKeySlotRejects(t *testing.T) {
	b, err := os.ReadFile("testdata/keyslot-v1.json")
	if err != nil {
		t.Fatal(err)
	}
	var base map[string]any
	if err := json.Unmarshal(b, &base); err != nil {
		t.Fatal(err)
	}
	edit := func(f func(m map[string]any)) []byte {
		m := map[string]any{}
		for k, v := range base {
			m[k] = v
		}
		m["params"] = map[string]any{"time": 1, "memory_kib": 64, "threads": 1}
		f(m)
		out, err := json.Marshal(m)
		if err != nil {
			t.Fatal(err)
		}
		return out
	}
	params := func(time, mem, threads int) func(map[string]any) {
		return func(m map[string]any) {
			m["params"] = map[string]any{"time": time, "memory_kib": mem, "threads": threads}
		}
	}
	for _, tc := range []struct {
		name string
		in   []byte
		want error
	}{
		{"not json", []byte("{"), ErrMalformed},
		{"empty", nil, ErrMalformed},
		{"trailing garbage", append(bytes.Clone(b), 'x'), ErrMalformed},
		{"null", []byte("null"), ErrUnsupported},
		{"version 2", edit(func(m map[string]any) { m["version"] = 2 }), ErrUnsupported},
		{"version 2 new shape", []byte(`{"version":2,"params":"new"}`), ErrUnsupported},
		{"version 0", edit(func(m map[string]any) { delete(m, "version") }), ErrUnsupported},
		{"kdf scrypt", edit(func(m map[string]any) { m["kdf"] = "scrypt" }), ErrUnsupported},
		{"short salt", edit(func(m map[string]any) { m["salt"] = "AAAA" }), ErrMalformed},
		{"no salt", edit(func(m map[string]any) { delete(m, "salt") }), ErrMalformed},
		{"short data", edit(func(m map[string]any) { m["data"] = "AAAA" }), ErrMalformed},
		{"bad base64", edit(func(m map[string]any) { m["data"] = "!!" }), ErrMalformed},
		{"time 0", edit(params(0, 64, 1)), ErrMalformed},
		{"time 101", edit(params(101, 64, 1)), ErrMalformed},
		{"memory 4GiB+1", edit(params(1, 4<<20+1, 1)), ErrMalformed},
		{"memory max uint32", edit(params(1, 1<<32-1, 1)), ErrMalformed},
		{"memory below 8*threads", edit(params(1, 31, 4)), ErrMalformed},
		{"threads 0", edit(params(1, 64, 0)), ErrMalformed},
		{"threads 256", edit(params(1, 64, 256)), ErrMalformed},
		{"negative time", edit(params(-1, 64, 1)), ErrMalformed},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s, err := ParseKeySlot(tc.in)
			if !errors.Is(err, tc.want) {
				t.Fatalf("err = %v, want %v", err, tc.want)
			}
			if s != nil {
				t.Fatal("returned a slot with an error")
			}
		})
	}
	// The edit helper itself must produce something acceptable.
	if _, err := ParseKeySlot(edit(func(map[string]any) {})); err != nil {
		t.Fatalf("unedited slot rejected: %v", err)
	}
	if _, err := ParseKeySlot(edit(params(100, 4<<20, 255))); err != nil {
		t.Fatalf("maximal params rejected: %v", err)
	}
}

func TestNewKeySlotBadParams(t *testing.T) {
	k := testKey(t)
	for _, p := range []KDFParams{{}, {Time: 1, MemoryKiB: 64}, {Time: 1000, MemoryKiB: 64, Threads: 1}} {
		if _, err := NewKeySlot(k, []byte("pw"), p); !errors.Is(err, ErrMalformed) {
			t.Errorf("params %+v: err = %v, want ErrMalformed", p, err)
		}
	}
	for _, tc := range []struct {
		name string
		got  KDFParams
		want KDFParams
	}{
		{"default", DefaultKDFParams(), KDFParams{Time: 3, MemoryKiB: 32768, Threads: 4}},
		{"strong (RFC 9106 second recommendation)", StrongKDFParams(), KDFParams{Time: 3, MemoryKiB: 65536, Threads: 4}},
	} {
		if err := tc.got.Validate(); err != nil {
			t.Errorf("%s params invalid: %v", tc.name, err)
		}
		if tc.got != tc.want {
			t.Errorf("%s = %+v, want %+v", tc.name, tc.got, tc.want)
		}
	}
}

func TestUnlockInvalidSlot(t *testing.T) {
	s := &KeySlot{Version: 1, KDF: "argon2id", Params: KDFParams{Time: 1, MemoryKiB: 1 << 31, Threads: 1},
		Salt: make([]byte, SaltSize), Data: make([]byte, keySlotDataLen)}
	if _, err := s.Unlock(nil); !errors.Is(err, ErrMalformed) || !strings.Contains(err.Error(), "memory") {
		t.Fatalf("absurd memory: err = %v, want ErrMalformed about memory", err)
	}
}
