package index

import (
	"bytes"
	"errors"
	"math/rand/v2"
	"testing"

	"github.com/cairnbackup/cairn/internal/ids"
)

// FuzzDecode asserts that Decode never panics, rejects only with ErrCorrupt,
// and that everything it accepts re-encodes to the identical bytes.
func FuzzDecode(f *testing.F) {
	r := rand.New(rand.NewPCG(5, 6))
	f.Add([]byte{0, 0})
	f.Add(Encode(randObject(r, 3, 2)))
	f.Add(Encode(&Object{Supersedes: []ids.ID{randID(r)}, Entries: randObject(r, 2, 1).Entries}))
	f.Fuzz(func(t *testing.T, b []byte) {
		o, err := Decode(b)
		if err != nil {
			if !errors.Is(err, ErrCorrupt) {
				t.Fatalf("error does not wrap ErrCorrupt: %v", err)
			}
			if o != nil {
				t.Fatalf("object returned with error")
			}
			return
		}
		re := Encode(o)
		if !bytes.Equal(re, b) {
			t.Fatalf("accepted input re-encodes differently:\n in %x\nout %x", b, re)
		}
		o2, err := Decode(re)
		if err != nil {
			t.Fatalf("re-encoded object rejected: %v", err)
		}
		equalObjects(t, o2, o)
	})
}
