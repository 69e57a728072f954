package repo

import (
	"encoding/binary"
	"testing"

	"github.com/cairnbackup/cairn/internal/ids"
)

func TestBlobSet(t *testing.T) {
	s, err := newBlobSet()
	if err != nil {
		t.Fatal(err)
	}
	defer s.close()
	id := func(i int) ids.ID { return ids.Hash(binary.LittleEndian.AppendUint64(nil, uint64(i))) }
	for i := range 3 * setBatch {
		if err := s.add(id(i % (2 * setBatch))); err != nil { // duplicates across flushes
			t.Fatal(err)
		}
	}
	for _, i := range []int{0, setBatch - 1, 2*setBatch - 1} {
		if ok, err := s.contains(id(i)); !ok || err != nil {
			t.Fatalf("contains(%d) = %v, %v", i, ok, err)
		}
	}
	if ok, _ := s.contains(id(2 * setBatch)); ok {
		t.Fatal("contains an ID never added")
	}
	if n, err := s.count(); n != 2*setBatch || err != nil {
		t.Fatalf("count = %d, %v; want %d", n, err, 2*setBatch)
	}
}

// BenchmarkBlobSetAdd measures building the used set (prune's mark phase), per blob ID.
func BenchmarkBlobSetAdd(b *testing.B) {
	s, err := newBlobSet()
	if err != nil {
		b.Fatal(err)
	}
	defer s.close()
	b.SetBytes(ids.Size)
	b.ResetTimer()
	for i := range b.N {
		if err := s.add(ids.Hash(binary.LittleEndian.AppendUint64(nil, uint64(i)))); err != nil {
			b.Fatal(err)
		}
	}
	if err := s.flush(); err != nil {
		b.Fatal(err)
	}
}
