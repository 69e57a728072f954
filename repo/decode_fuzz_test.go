package repo

import (
	"encoding/json"
	"errors"
	"reflect"
	"testing"

	"github.com/cairnbackup/cairn/internal/ids"
)

// FuzzDecodeObject: the fuzzer supplies an object type, an encoding byte and a body; they
// are sealed with a test key (so authentication passes and the decoders behind it are
// reached: the zstd frame decoder and the config and snapshot parsers). Opening must not
// panic; a rejected object wraps ErrCorrupt or ErrUnsupportedVersion; an accepted config or
// snapshot re-encodes to JSON that decodes to the same value.
func FuzzDecodeObject(f *testing.F) {
	r := fuzzRepo(f)
	cfg := `{"version":1,"id":"` + ids.Hash([]byte("x")).String() + `","created":"2026-11-24T16:00:00Z",` +
		`"chunker":{"algorithm":"fastcdc","key":"AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=","min_size":524288,` +
		`"max_size":8388608,"average_bits":20},"pack_size":16777216,"compression":"fastest"}`
	f.Add(typeConfig, encRaw, []byte(cfg))
	f.Add(typeConfig, encRaw, []byte(`{"version":2}`))
	f.Add(typeSnapshot, encRaw, []byte(`{"version":1,"time":"2026-11-24T16:00:00Z","hostname":"h","name":"pvc","tags":["a=b"],"size":5,"lists":["`+
		ids.Hash(nil).String()+`"]}`))
	f.Add(typeSnapshot, encRaw, []byte(`{"version":1,"size":-1}`))
	f.Add(typeSnapshot, encZstd, r.comp.enc.EncodeAll([]byte(`{"version":1,"size":0}`), nil))
	f.Add(typeSnapshot, encZstd, []byte{0x28, 0xb5, 0x2f, 0xfd, 0, 0x58, 0xff})
	f.Add(typeIndex, byte(7), []byte("x"))
	f.Fuzz(func(t *testing.T, typ, enc byte, body []byte) {
		h := objectHeader(typ)
		sealed, err := r.key.SealObject(h, append([]byte{enc}, body...))
		if err != nil {
			t.Skip()
		}
		pt, err := r.openObject(typ, sealed, "fuzz")
		if err != nil {
			if !errors.Is(err, ErrCorrupt) && !errors.Is(err, ErrUnsupportedVersion) {
				t.Fatalf("open: unexpected error class: %v", err)
			}
			return
		}
		switch typ {
		case typeConfig:
			c, err := decodeConfig(pt)
			if err != nil {
				if !errors.Is(err, ErrCorrupt) && !errors.Is(err, ErrUnsupportedVersion) {
					t.Fatalf("config: unexpected error class: %v", err)
				}
				return
			}
			b, err := json.Marshal(c)
			if err != nil {
				t.Fatal(err)
			}
			c2, err := decodeConfig(b)
			if err != nil || !reflect.DeepEqual(c, c2) {
				t.Fatalf("config does not round-trip: %v\n%+v\n%+v", err, c, c2)
			}
		case typeSnapshot:
			id := ids.Hash(sealed)
			s, err := decodeSnapshot(id, pt)
			if err != nil {
				if !errors.Is(err, ErrCorrupt) && !errors.Is(err, ErrUnsupportedVersion) {
					t.Fatalf("snapshot: unexpected error class: %v", err)
				}
				return
			}
			b, err := json.Marshal(s)
			if err != nil {
				t.Fatal(err)
			}
			s2, err := decodeSnapshot(id, b)
			if err != nil || s2.Size != s.Size || len(s2.Lists) != len(s.Lists) || s2.Name != s.Name {
				t.Fatalf("snapshot does not round-trip: %v\n%+v\n%+v", err, s, s2)
			}
		}
	})
}
