package index

import (
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/cairnbackup/cairn/internal/ids"
)

// randID returns a pseudo-random ID from r.
func randID(r *rand.Rand) ids.ID {
	var id ids.ID
	for i := 0; i < ids.Size; i += 8 {
		v := r.Uint64()
		for j := range 8 {
			id[i+j] = byte(v >> (8 * j))
		}
	}
	return id
}

// randObject returns an object of n entries spread over packs of up to
// perPack blobs, with realistic field values.
func randObject(r *rand.Rand, n, perPack int) *Object {
	o := &Object{Entries: make([]Entry, 0, n)}
	var pack ids.ID
	var off uint64
	for i := range n {
		if i%perPack == 0 {
			pack, off = randID(r), 0
		}
		raw := uint32(512<<10 + r.IntN(1<<20))
		e := Entry{
			ID:         randID(r),
			Type:       BlobType(r.IntN(2)),
			Pack:       pack,
			Offset:     off,
			Length:     raw/2 + 16,
			RawLength:  raw,
			Compressed: r.IntN(2) == 0,
			Seq:        uint32(i % perPack),
		}
		off += uint64(e.Length)
		o.Entries = append(o.Entries, e)
	}
	return o
}

// grouped returns es ordered as Encode writes them: by pack in order of
// first appearance, stable within a pack.
func grouped(es []Entry) []Entry {
	first := map[ids.ID]int{}
	for i, e := range es {
		if _, ok := first[e.Pack]; !ok {
			first[e.Pack] = i
		}
	}
	out := slices.Clone(es)
	slices.SortStableFunc(out, func(a, b Entry) int { return first[a.Pack] - first[b.Pack] })
	return out
}

// equalObjects reports whether a and b hold the same supersedes and entries
// (nil and empty slices are equal).
func equalObjects(t *testing.T, got, want *Object) {
	t.Helper()
	if !slices.Equal(got.Supersedes, want.Supersedes) {
		t.Fatalf("supersedes: got %d IDs, want %d (or different)", len(got.Supersedes), len(want.Supersedes))
	}
	if len(got.Entries) != len(want.Entries) {
		t.Fatalf("entries: got %d, want %d", len(got.Entries), len(want.Entries))
	}
	for i := range got.Entries {
		if got.Entries[i] != want.Entries[i] {
			t.Fatalf("entry %d: got %+v, want %+v", i, got.Entries[i], want.Entries[i])
		}
	}
}
