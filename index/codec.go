package index

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math"

	"github.com/cairnbackup/cairn/internal/ids"
)

// ErrCorrupt is returned (wrapped, saying what was wrong) by Decode for any
// malformed index object.
var ErrCorrupt = errors.New("corrupt index object")

const (
	flagCompressed = 1 << 0

	// minBlobLen is the smallest encoding of one blob: type, ID, four
	// one-byte varints and flags.
	minBlobLen = 1 + ids.Size + 4 + 1
	// maxBlobLen is the largest encoding of one blob.
	maxBlobLen = 1 + ids.Size + binary.MaxVarintLen64 + 3*binary.MaxVarintLen32 + 1
	// minPackLen is the smallest encoding of one pack: ID, count, one blob.
	minPackLen = ids.Size + 1 + minBlobLen
)

// Encode returns the binary form of o (see the package documentation).
// Entries are grouped by pack: packs in order of first appearance, blobs in
// the order given. Encode does not validate: an entry with an unknown Type
// produces an object Decode rejects. A nil o encodes as an empty object.
func Encode(o *Object) []byte {
	if o == nil {
		o = &Object{}
	}
	es := o.Entries

	// Assign each entry its pack group, then order entries by group with a
	// stable counting sort. Runs of one pack (the usual case) skip the map.
	groupOf := make([]int32, len(es))
	var packs []ids.ID
	var counts []int
	groups := make(map[ids.ID]int32)
	for i := range es {
		if i > 0 && es[i].Pack == es[i-1].Pack {
			g := groupOf[i-1]
			groupOf[i] = g
			counts[g]++
			continue
		}
		g, ok := groups[es[i].Pack]
		if !ok {
			g = int32(len(packs))
			groups[es[i].Pack] = g
			packs = append(packs, es[i].Pack)
			counts = append(counts, 0)
		}
		groupOf[i] = g
		counts[g]++
	}
	start := make([]int, len(packs))
	for g := 1; g < len(packs); g++ {
		start[g] = start[g-1] + counts[g-1]
	}
	order := make([]int32, len(es))
	next := append([]int(nil), start...)
	for i, g := range groupOf {
		order[next[g]] = int32(i)
		next[g]++
	}

	size := 2*binary.MaxVarintLen64 + len(o.Supersedes)*ids.Size +
		len(packs)*(ids.Size+binary.MaxVarintLen64) + len(es)*maxBlobLen
	b := make([]byte, 0, size)
	b = binary.AppendUvarint(b, uint64(len(o.Supersedes)))
	for _, id := range o.Supersedes {
		b = append(b, id[:]...)
	}
	b = binary.AppendUvarint(b, uint64(len(packs)))
	for g, p := range packs {
		b = append(b, p[:]...)
		b = binary.AppendUvarint(b, uint64(counts[g]))
		for _, i := range order[start[g] : start[g]+counts[g]] {
			e := &es[i]
			b = append(b, byte(e.Type))
			b = append(b, e.ID[:]...)
			b = binary.AppendUvarint(b, e.Offset)
			b = binary.AppendUvarint(b, uint64(e.Length))
			b = binary.AppendUvarint(b, uint64(e.RawLength))
			b = binary.AppendUvarint(b, uint64(e.Seq))
			var flags byte
			if e.Compressed {
				flags |= flagCompressed
			}
			b = append(b, flags)
		}
	}
	return b
}

// Decode parses an index object. Any malformed input yields an error wrapping
// ErrCorrupt; Decode never panics and allocates at most a small multiple of
// len(b).
func Decode(b []byte) (*Object, error) {
	d := decoder{b: b}
	o := &Object{}

	nsup, err := d.count("superseded count", ids.Size)
	if err != nil {
		return nil, err
	}
	if nsup > 0 {
		o.Supersedes = make([]ids.ID, nsup)
		for i := range o.Supersedes {
			d.id(&o.Supersedes[i])
		}
	}

	npacks, err := d.count("pack count", minPackLen)
	if err != nil {
		return nil, err
	}
	var seen map[ids.ID]struct{}
	if npacks > 1 {
		seen = make(map[ids.ID]struct{}, npacks)
	}
	for p := 0; p < npacks; p++ {
		var pack ids.ID
		packAt := d.off
		if err := d.need(ids.Size, "pack ID"); err != nil {
			return nil, err
		}
		d.id(&pack)
		if seen != nil {
			if _, dup := seen[pack]; dup {
				return nil, fmt.Errorf("%w: pack %s listed twice (offset %d)", ErrCorrupt, pack.Short(), packAt)
			}
			seen[pack] = struct{}{}
		}
		nblobs, err := d.count("blob count", minBlobLen)
		if err != nil {
			return nil, err
		}
		if nblobs == 0 {
			return nil, fmt.Errorf("%w: pack %s has no blobs (offset %d)", ErrCorrupt, pack.Short(), packAt)
		}
		if o.Entries == nil {
			o.Entries = make([]Entry, 0, nblobs)
		} else if free := cap(o.Entries) - len(o.Entries); free < nblobs {
			grown := make([]Entry, len(o.Entries), 2*cap(o.Entries)+nblobs)
			copy(grown, o.Entries)
			o.Entries = grown
		}
		for range nblobs {
			e, err := d.entry(pack)
			if err != nil {
				return nil, err
			}
			o.Entries = append(o.Entries, e)
		}
	}
	if d.off != len(d.b) {
		return nil, fmt.Errorf("%w: %d trailing bytes at offset %d", ErrCorrupt, len(d.b)-d.off, d.off)
	}
	return o, nil
}

// decoder reads the index format from b; off is the read position.
type decoder struct {
	b   []byte
	off int
}

func (d *decoder) need(n int, what string) error {
	if len(d.b)-d.off < n {
		return fmt.Errorf("%w: truncated %s at offset %d (need %d bytes, have %d)",
			ErrCorrupt, what, d.off, n, len(d.b)-d.off)
	}
	return nil
}

// id copies the next ids.Size bytes into id; the caller checked need.
func (d *decoder) id(id *ids.ID) {
	copy(id[:], d.b[d.off:d.off+ids.Size])
	d.off += ids.Size
}

// uvarint reads one shortest-form varint no larger than max.
func (d *decoder) uvarint(what string, max uint64) (uint64, error) {
	v, n := binary.Uvarint(d.b[d.off:])
	switch {
	case n == 0:
		return 0, fmt.Errorf("%w: truncated %s at offset %d", ErrCorrupt, what, d.off)
	case n < 0:
		return 0, fmt.Errorf("%w: %s overflows 64 bits at offset %d", ErrCorrupt, what, d.off)
	case n > 1 && d.b[d.off+n-1] == 0:
		return 0, fmt.Errorf("%w: %s is not in shortest form at offset %d", ErrCorrupt, what, d.off)
	case v > max:
		return 0, fmt.Errorf("%w: %s %d exceeds %d at offset %d", ErrCorrupt, what, v, max, d.off)
	}
	d.off += n
	return v, nil
}

// count reads an element count and checks that the rest of the input can
// hold that many elements of at least minLen bytes each.
func (d *decoder) count(what string, minLen int) (int, error) {
	at := d.off
	v, err := d.uvarint(what, math.MaxInt32)
	if err != nil {
		return 0, err
	}
	if rest := len(d.b) - d.off; v > uint64(rest/minLen) {
		return 0, fmt.Errorf("%w: %s %d at offset %d cannot fit in the remaining %d bytes",
			ErrCorrupt, what, v, at, rest)
	}
	return int(v), nil
}

func (d *decoder) entry(pack ids.ID) (Entry, error) {
	at := d.off
	if err := d.need(1+ids.Size, "blob"); err != nil {
		return Entry{}, err
	}
	e := Entry{Type: BlobType(d.b[d.off]), Pack: pack}
	if !e.Type.Valid() {
		return Entry{}, fmt.Errorf("%w: unknown blob type %d at offset %d", ErrCorrupt, d.b[d.off], at)
	}
	d.off++
	d.id(&e.ID)
	var err error
	if e.Offset, err = d.uvarint("blob offset", math.MaxUint64); err != nil {
		return Entry{}, err
	}
	var v uint64
	if v, err = d.uvarint("blob length", math.MaxUint32); err != nil {
		return Entry{}, err
	}
	e.Length = uint32(v)
	if v, err = d.uvarint("blob raw length", math.MaxUint32); err != nil {
		return Entry{}, err
	}
	e.RawLength = uint32(v)
	if v, err = d.uvarint("blob seq", math.MaxUint32); err != nil {
		return Entry{}, err
	}
	e.Seq = uint32(v)
	if err := d.need(1, "blob flags"); err != nil {
		return Entry{}, err
	}
	flags := d.b[d.off]
	if flags&^flagCompressed != 0 {
		return Entry{}, fmt.Errorf("%w: unknown blob flags %#x at offset %d", ErrCorrupt, flags, d.off)
	}
	d.off++
	e.Compressed = flags&flagCompressed != 0
	return e, nil
}
