package repo

import (
	"encoding/binary"
	"fmt"

	"github.com/cairnbackup/cairn/internal/ids"
)

// Chunk-list records and the content-defined cut of the list into blobs (docs/FORMAT.md §6).
const (
	recData byte = 0
	recZero byte = 1

	listCutMask    = 0x3ff // a list blob ends after a data record whose id[0:2] & mask == 0
	listMaxRecords = 8192
)

// listBuilder accumulates records and reports when a list blob is complete.
type listBuilder struct {
	buf     []byte
	records int
}

// add appends a record and reports whether the list blob should end here.
func (l *listBuilder) add(e Extent) bool {
	if e.Zero {
		l.buf = append(l.buf, recZero)
		l.buf = binary.AppendUvarint(l.buf, uint64(e.Length))
	} else {
		l.buf = append(l.buf, recData)
		l.buf = binary.AppendUvarint(l.buf, uint64(e.Length))
		l.buf = append(l.buf, e.Blob[:]...)
	}
	l.records++
	if l.records >= listMaxRecords {
		return true
	}
	return !e.Zero && binary.BigEndian.Uint16(e.Blob[:2])&listCutMask == 0
}

// take returns the pending list blob plaintext and resets the builder.
func (l *listBuilder) take() []byte {
	b := l.buf
	l.buf = nil
	l.records = 0
	return b
}

// decodeList calls fn for each record of a list blob; offset is the volume offset of the first.
func decodeList(b []byte, offset int64, fn func(Extent) error) (int64, error) {
	for len(b) > 0 {
		kind := b[0]
		n, k := binary.Uvarint(b[1:])
		if k <= 0 || n == 0 || n > 1<<62 {
			return offset, fmt.Errorf("%w: chunk list: bad length", ErrCorrupt)
		}
		b = b[1+k:]
		e := Extent{Offset: offset, Length: int64(n)}
		switch kind {
		case recZero:
			e.Zero = true
		case recData:
			if len(b) < ids.Size {
				return offset, fmt.Errorf("%w: chunk list: truncated blob id", ErrCorrupt)
			}
			copy(e.Blob[:], b[:ids.Size])
			b = b[ids.Size:]
		default:
			return offset, fmt.Errorf("%w: chunk list: unknown record kind %d", ErrCorrupt, kind)
		}
		if offset+e.Length < offset {
			return offset, fmt.Errorf("%w: chunk list: offset overflow", ErrCorrupt)
		}
		offset += e.Length
		if err := fn(e); err != nil {
			return offset, err
		}
	}
	return offset, nil
}
