package repo

import (
	"encoding/json"
	"errors"
	"reflect"
	"testing"

	"github.com/cairnbackup/cairn/crypto"
)

// fuzzRepo is a key-only repository for decoding sealed objects in fuzz targets.
func fuzzRepo(f *testing.F) *Repository {
	key, err := crypto.KeyFromSecret(make([]byte, 32))
	if err != nil {
		f.Fatal(err)
	}
	comp, err := newCompressor("fastest")
	if err != nil {
		f.Fatal(err)
	}
	return &Repository{key: key, comp: comp}
}

// FuzzDecodeLockObject: the fuzzer supplies a type byte and the plaintext of an object
// under locks/, sealed with a test key. Decoding must not panic; an accepted object must be
// a lock or a version-1 record whose JSON round-trips; a rejected one wraps ErrCorrupt.
func FuzzDecodeLockObject(f *testing.F) {
	r := fuzzRepo(f)
	f.Add(typeLock, []byte(`{"time":"2026-11-24T16:00:00Z","refreshed":"2026-11-24T16:05:00Z","hostname":"h","pid":7,"kind":"backup","exclusive":false}`))
	f.Add(typeLock, []byte(`{"kind":"prune","exclusive":true}`))
	f.Add(typePending, []byte(`{"version":1,"time":"2026-11-24T16:00:00Z","final":true,"packs":["`+
		"00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff"+`"]}`))
	f.Add(typePending, []byte(`{"version":2,"packs":[]}`))
	f.Add(typeSnapshot, []byte(`{}`))
	f.Add(typeLock, []byte(`{"pid":"x"}`))
	f.Fuzz(func(t *testing.T, typ byte, payload []byte) {
		sealed, err := r.sealObject(typ, payload)
		if err != nil {
			t.Skip()
		}
		e := r.decodeLockObject("x", sealed)
		if e.err != nil {
			if e.typ != 0 || !(errors.Is(e.err, ErrCorrupt)) {
				t.Fatalf("rejected object: typ %q, err %v", e.typ, e.err)
			}
			return
		}
		switch e.typ {
		case typeLock:
			b, _ := json.Marshal(&e.lock)
			var again lockJSON
			if err := json.Unmarshal(b, &again); err != nil || !reflect.DeepEqual(again, e.lock) {
				t.Fatalf("lock does not round-trip: %+v vs %+v (%v)", e.lock, again, err)
			}
		case typePending:
			if e.pend.Version != 1 {
				t.Fatalf("accepted record version %d", e.pend.Version)
			}
			b, _ := json.Marshal(&e.pend)
			var again pendingJSON
			if err := json.Unmarshal(b, &again); err != nil || len(again.Packs) != len(e.pend.Packs) || !again.Time.Equal(e.pend.Time) {
				t.Fatalf("record does not round-trip: %+v vs %+v (%v)", e.pend, again, err)
			}
		default:
			t.Fatalf("accepted object of type %q", e.typ)
		}
		// Truncated or altered bytes never decode.
		if bad := r.decodeLockObject("x", sealed[:len(sealed)-1]); bad.err == nil {
			t.Fatal("truncated object accepted")
		}
	})
}
