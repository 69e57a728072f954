package index

import (
	"bytes"
	"encoding/binary"
	"fmt"

	"github.com/cairnbackup/cairn/internal/ids"
	bolt "go.etcd.io/bbolt"
)

// valueLen is the size of a location in the blobs bucket:
// type, flags, pack ID, offset, length, raw length, seq.
const valueLen = 1 + 1 + ids.Size + 8 + 4 + 4 + 4

// forEachChunk is how many entries ForEach reads per read transaction.
const forEachChunk = 1024

// putValue writes e's location into v (len valueLen).
func putValue(v []byte, e *Entry) {
	v[0] = byte(e.Type)
	v[1] = 0
	if e.Compressed {
		v[1] = flagCompressed
	}
	copy(v[2:], e.Pack[:])
	o := 2 + ids.Size
	binary.BigEndian.PutUint64(v[o:], e.Offset)
	binary.BigEndian.PutUint32(v[o+8:], e.Length)
	binary.BigEndian.PutUint32(v[o+12:], e.RawLength)
	binary.BigEndian.PutUint32(v[o+16:], e.Seq)
}

// parseValue decodes a location stored under key k.
func parseValue(k, v []byte) (Entry, error) {
	if len(k) != ids.Size || len(v) != valueLen || v[1]&^flagCompressed != 0 {
		return Entry{}, fmt.Errorf("%w: bad blob record (key %d bytes, value %d bytes)",
			ErrCacheCorrupt, len(k), len(v))
	}
	e := Entry{Type: BlobType(v[0]), Compressed: v[1]&flagCompressed != 0}
	copy(e.ID[:], k)
	copy(e.Pack[:], v[2:])
	o := 2 + ids.Size
	e.Offset = binary.BigEndian.Uint64(v[o:])
	e.Length = binary.BigEndian.Uint32(v[o+8:])
	e.RawLength = binary.BigEndian.Uint32(v[o+12:])
	e.Seq = binary.BigEndian.Uint32(v[o+16:])
	return e, nil
}

// blobs returns the blobs bucket or ErrCacheCorrupt.
func blobsBucket(tx *bolt.Tx) (*bolt.Bucket, error) {
	b := tx.Bucket(bucketBlobs)
	if b == nil {
		return nil, fmt.Errorf("%w: blobs bucket missing", ErrCacheCorrupt)
	}
	return b, nil
}

// Lookup returns a location of blob id; ok is false if the cache has none.
// When a blob is in several packs, any one of them is returned.
func (c *Cache) Lookup(id ids.ID) (e Entry, ok bool, err error) {
	defer recoverCorrupt(&err)
	err = c.db.View(func(tx *bolt.Tx) error {
		b, err := blobsBucket(tx)
		if err != nil {
			return err
		}
		v := b.Get(id[:])
		if v == nil {
			return nil
		}
		e, err = parseValue(id[:], v)
		ok = err == nil
		return err
	})
	if err != nil {
		return Entry{}, false, fmt.Errorf("index cache lookup %s: %w", id.Short(), err)
	}
	return e, ok, nil
}

// LookupBatch looks up every ID in one read transaction, calling fn with its
// position, its location and whether it was found, in order. fn runs inside
// the transaction: it must not call Sync or Add.
func (c *Cache) LookupBatch(list []ids.ID, fn func(i int, e Entry, ok bool)) (err error) {
	defer recoverCorrupt(&err)
	err = c.db.View(func(tx *bolt.Tx) error {
		b, err := blobsBucket(tx)
		if err != nil {
			return err
		}
		for i := range list {
			v := b.Get(list[i][:])
			if v == nil {
				fn(i, Entry{}, false)
				continue
			}
			e, err := parseValue(list[i][:], v)
			if err != nil {
				return err
			}
			fn(i, e, true)
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("index cache lookup batch: %w", err)
	}
	return nil
}

// ForEach calls fn for every cached location in blob ID order, stopping at
// the first error fn returns. It reads in short transactions, so fn may call
// any Cache method, and memory does not grow with the cache; entries written
// concurrently may or may not be visited.
func (c *Cache) ForEach(fn func(Entry) error) error {
	buf := make([]Entry, 0, forEachChunk)
	var after []byte
	for {
		var err error
		buf, err = c.readChunk(after, buf[:0])
		if err != nil {
			return fmt.Errorf("index cache iterate: %w", err)
		}
		for _, e := range buf {
			if err := fn(e); err != nil {
				return err
			}
		}
		if len(buf) < forEachChunk {
			return nil
		}
		last := buf[len(buf)-1].ID
		after = last[:]
	}
}

// readChunk appends up to cap(buf) entries with keys after `after` (from the
// start if nil).
func (c *Cache) readChunk(after []byte, buf []Entry) (_ []Entry, err error) {
	defer recoverCorrupt(&err)
	err = c.db.View(func(tx *bolt.Tx) error {
		b, err := blobsBucket(tx)
		if err != nil {
			return err
		}
		cur := b.Cursor()
		var k, v []byte
		if after == nil {
			k, v = cur.First()
		} else if k, v = cur.Seek(after); k != nil && bytes.Equal(k, after) {
			k, v = cur.Next()
		}
		for ; k != nil && len(buf) < cap(buf); k, v = cur.Next() {
			e, err := parseValue(k, v)
			if err != nil {
				return err
			}
			buf = append(buf, e)
		}
		return nil
	})
	return buf, err
}

// Count returns the number of cached blobs and of index objects recorded.
func (c *Cache) Count() (blobs int, indexes int, err error) {
	defer recoverCorrupt(&err)
	err = c.db.View(func(tx *bolt.Tx) error {
		meta, idx := tx.Bucket(bucketMeta), tx.Bucket(bucketIndexes)
		if meta == nil || idx == nil {
			return fmt.Errorf("%w: buckets missing", ErrCacheCorrupt)
		}
		n := meta.Get(keyBlobs)
		if len(n) != 8 {
			return fmt.Errorf("%w: bad blob count", ErrCacheCorrupt)
		}
		blobs = int(binary.BigEndian.Uint64(n))
		cur := idx.Cursor()
		for k, _ := cur.First(); k != nil; k, _ = cur.Next() {
			indexes++
		}
		return nil
	})
	if err != nil {
		return 0, 0, fmt.Errorf("index cache count: %w", err)
	}
	return blobs, indexes, nil
}
