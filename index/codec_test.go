package index

import (
	"bytes"
	"encoding/binary"
	"errors"
	"math"
	"math/rand/v2"
	"runtime"
	"testing"

	"github.com/cairnbackup/cairn/internal/ids"
)

func fill(b byte) ids.ID {
	var id ids.ID
	for i := range id {
		id[i] = b
	}
	return id
}

func TestEncodeGolden(t *testing.T) {
	sup, pack, blob := fill(0xaa), fill(0xbb), fill(0xcc)
	o := &Object{
		Supersedes: []ids.ID{sup},
		Entries: []Entry{{
			ID: blob, Type: ListBlob, Pack: pack, Offset: 300, Length: 1,
			RawLength: 128, Compressed: true, Seq: 0,
		}},
	}
	var want []byte
	want = append(want, 1)
	want = append(want, sup[:]...)
	want = append(want, 1)
	want = append(want, pack[:]...)
	want = append(want, 1) // blob count
	want = append(want, 1) // type
	want = append(want, blob[:]...)
	want = append(want, 0xac, 0x02) // offset 300
	want = append(want, 0x01)       // length
	want = append(want, 0x80, 0x01) // raw length 128
	want = append(want, 0x00)       // seq
	want = append(want, 0x01)       // flags: compressed
	if got := Encode(o); !bytes.Equal(got, want) {
		t.Fatalf("Encode:\n got %x\nwant %x", got, want)
	}
	if got := Encode(nil); !bytes.Equal(got, []byte{0, 0}) {
		t.Fatalf("Encode(nil) = %x, want 0000", got)
	}
}

func TestRoundTrip(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	interleaved := randObject(r, 12, 4)
	// Interleave three packs: a0 b0 c0 a1 b1 c1 ...
	var mixed []Entry
	for i := range 4 {
		for p := range 3 {
			mixed = append(mixed, interleaved.Entries[p*4+i])
		}
	}
	maxed := Entry{
		ID: fill(0xff), Type: ListBlob, Pack: fill(0xfe), Offset: math.MaxUint64,
		Length: math.MaxUint32, RawLength: math.MaxUint32, Compressed: true, Seq: math.MaxUint32,
	}
	zero := Entry{ID: fill(1), Pack: fill(2)}
	tests := []struct {
		name string
		o    *Object
	}{
		{"empty", &Object{}},
		{"one pack", randObject(r, 5, 5)},
		{"many packs", randObject(r, 1000, 7)},
		{"interleaved packs", &Object{Entries: mixed}},
		{"superseded only", &Object{Supersedes: []ids.ID{randID(r), randID(r), randID(r)}}},
		{"superseded and entries", &Object{Supersedes: []ids.ID{randID(r)}, Entries: randObject(r, 20, 3).Entries}},
		{"max values", &Object{Entries: []Entry{maxed}}},
		{"zero values", &Object{Entries: []Entry{zero}}},
		{"duplicate blob in two packs", &Object{Entries: []Entry{zero, {ID: fill(1), Pack: fill(3), Seq: 1}}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b := Encode(tt.o)
			got, err := Decode(b)
			if err != nil {
				t.Fatalf("Decode: %v", err)
			}
			want := &Object{Supersedes: tt.o.Supersedes, Entries: grouped(tt.o.Entries)}
			equalObjects(t, got, want)
			if again := Encode(got); !bytes.Equal(again, b) {
				t.Fatalf("re-encoding differs")
			}
		})
	}
}

// TestDecodeTruncated cuts a valid object at every length.
func TestDecodeTruncated(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	o := randObject(r, 9, 4)
	o.Supersedes = []ids.ID{randID(r)}
	o.Entries[0].Offset = math.MaxUint64
	b := Encode(o)
	for n := range len(b) {
		if _, err := Decode(b[:n]); !errors.Is(err, ErrCorrupt) {
			t.Fatalf("Decode(first %d of %d bytes) error = %v, want ErrCorrupt", n, len(b), err)
		}
	}
}

func TestDecodeMalformed(t *testing.T) {
	pack, blob := fill(0xbb), fill(0xcc)
	// blobBytes builds one blob record with raw fields.
	blobBytes := func(typ byte, offset []byte, rest []byte) []byte {
		b := append([]byte{typ}, blob[:]...)
		b = append(b, offset...)
		return append(b, rest...)
	}
	good := blobBytes(0, []byte{5}, []byte{1, 1, 0, 0})
	onePack := func(count byte, blobs ...[]byte) []byte {
		b := append([]byte{0, 1}, pack[:]...)
		b = append(b, count)
		for _, x := range blobs {
			b = append(b, x...)
		}
		return b
	}
	if _, err := Decode(onePack(1, good)); err != nil {
		t.Fatalf("control object rejected: %v", err)
	}
	huge := binary.AppendUvarint(nil, 1<<40)
	twoPacks := append(onePack(1, good), append(pack[:], append([]byte{1}, good...)...)...)
	twoPacks[1] = 2
	tests := []struct {
		name string
		b    []byte
	}{
		{"empty input", nil},
		{"trailing byte", append(onePack(1, good), 0)},
		{"trailing bytes after empty object", []byte{0, 0, 0}},
		{"flags bit 1", onePack(1, blobBytes(0, []byte{5}, []byte{1, 1, 0, 2}))},
		{"flags bit 7", onePack(1, blobBytes(0, []byte{5}, []byte{1, 1, 0, 0x80}))},
		{"unknown type", onePack(1, blobBytes(2, []byte{5}, []byte{1, 1, 0, 0}))},
		{"zero blobs", onePack(0)},
		{"blob count beyond input", onePack(2, good)},
		{"huge superseded count", append(huge, 0)},
		{"superseded count beyond input", append([]byte{2}, make([]byte, 33)...)},
		{"huge pack count", append([]byte{0}, huge...)},
		{"pack count beyond input", append([]byte{0, 3}, onePack(1, good)[2:]...)},
		{"huge blob count", append(append([]byte{0, 1}, pack[:]...), huge...)},
		{"duplicate pack", twoPacks},
		{"non-minimal offset", onePack(1, blobBytes(0, []byte{0x85, 0x00}, []byte{1, 1, 0, 0}))},
		{"non-minimal count", []byte{0x80, 0x00, 0x00}},
		{"offset overflows 64 bits", onePack(1, blobBytes(0, bytes.Repeat([]byte{0xff}, 10), []byte{1, 1, 1, 0, 0}))},
		{"length over 32 bits", onePack(1, blobBytes(0, []byte{5}, append(binary.AppendUvarint(nil, 1<<32), 1, 0, 0)))},
		{"raw length over 32 bits", onePack(1, blobBytes(0, []byte{5}, append(append([]byte{1}, binary.AppendUvarint(nil, 1<<32)...), 0, 0)))},
		{"seq over 32 bits", onePack(1, blobBytes(0, []byte{5}, append(append([]byte{1, 1}, binary.AppendUvarint(nil, 1<<32)...), 0)))},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			o, err := Decode(tt.b)
			if !errors.Is(err, ErrCorrupt) {
				t.Fatalf("Decode(%x) = %+v, %v; want ErrCorrupt", tt.b, o, err)
			}
		})
	}
}

// TestDecodeBoundedAllocation checks that a hostile count cannot make Decode
// allocate far beyond the size of its input.
func TestDecodeBoundedAllocation(t *testing.T) {
	pack := fill(1)
	hostile := func(count uint64) []byte {
		b := append([]byte{0, 1}, pack[:]...)
		b = binary.AppendUvarint(b, count)
		return append(b, make([]byte, minBlobLen)...)
	}
	tests := []struct {
		name string
		b    []byte
	}{
		{"blob count 1<<20", hostile(1 << 20)},
		{"blob count 1<<31-1", hostile(1<<31 - 1)},
		{"superseded count 1<<24", append(binary.AppendUvarint(nil, 1<<24), make([]byte, 64)...)},
		{"pack count 1<<24", append([]byte{0}, append(binary.AppendUvarint(nil, 1<<24), make([]byte, 200)...)...)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var before, after runtime.MemStats
			runtime.GC()
			runtime.ReadMemStats(&before)
			_, err := Decode(tt.b)
			runtime.ReadMemStats(&after)
			if !errors.Is(err, ErrCorrupt) {
				t.Fatalf("Decode = %v, want ErrCorrupt", err)
			}
			if n := after.TotalAlloc - before.TotalAlloc; n > 64<<10 {
				t.Fatalf("Decode of %d bytes allocated %d bytes", len(tt.b), n)
			}
		})
	}
}
