package zones

import (
	"bytes"
	"encoding/json"
	"errors"
	"testing"

	"github.com/cairnbackup/cairn/repo/backend"
)

// FuzzParseRecord: no panic; anything accepted re-encodes to a record that parses to the
// same value.
func FuzzParseRecord(f *testing.F) {
	for _, r := range []*Record{
		newRecord(OpSave, backend.Handle{Type: backend.Pack, Name: "ab"}, []string{"z1", "z2"}, []int{0, 5}),
		newRecord(OpRemove, backend.Handle{Type: backend.Index, Name: "cd"}, []string{"us-west"}, nil),
		newRecord(OpSave, backend.Handle{Type: backend.Config}, []string{"a"}, nil),
	} {
		_, data, err := r.Marshal()
		if err != nil {
			f.Fatal(err)
		}
		f.Add(data)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		r, err := ParseRecord(data)
		if err != nil {
			if !errors.Is(err, ErrBadRecord) {
				t.Fatalf("error does not wrap ErrBadRecord: %v", err)
			}
			return
		}
		_, again, err := r.Marshal()
		if err != nil {
			t.Fatal(err)
		}
		r2, err := ParseRecord(again)
		if err != nil {
			t.Fatalf("re-encoded record does not parse: %v", err)
		}
		a, _ := json.Marshal(r)
		b, _ := json.Marshal(r2)
		if !bytes.Equal(a, b) {
			t.Fatalf("round trip differs: %s vs %s", a, b)
		}
	})
}

// FuzzOpenCopy: no panic; an accepted copy seals back to the same bytes, and a sealed
// copy always opens.
func FuzzOpenCopy(f *testing.F) {
	h := backend.Handle{Type: backend.Snapshot, Name: "s1"}
	f.Add("s1", SealCopy(h, []byte("snapshot")))
	f.Add("s1", SealCopy(h, nil))
	f.Add("s2", SealCopy(h, []byte("misplaced")))
	f.Add("s1", []byte("short"))
	f.Fuzz(func(t *testing.T, name string, raw []byte) {
		h := backend.Handle{Type: backend.Snapshot, Name: name}
		data, err := OpenCopy(h, raw)
		if err == nil && !bytes.Equal(SealCopy(h, data), raw) {
			t.Fatal("accepted copy does not re-seal to the same bytes")
		}
		if err != nil && !errors.Is(err, ErrCorruptCopy) {
			t.Fatalf("error does not wrap ErrCorruptCopy: %v", err)
		}
		got, err := OpenCopy(h, SealCopy(h, raw))
		if err != nil || !bytes.Equal(got, raw) {
			t.Fatalf("sealed copy does not open: %v", err)
		}
	})
}

// FuzzParseShardName: no panic; accepted names round-trip.
func FuzzParseShardName(f *testing.F) {
	for _, s := range []string{"abc.s0", "a.s1.s255", "x.s256", "zones-degraded.00"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		pack, idx, ok := ParseShardName(s)
		if ok && ShardName(pack, idx) != s {
			t.Fatalf("%q parsed to %q, %d", s, pack, idx)
		}
	})
}
