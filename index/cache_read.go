package index

import (
	"bytes"
	"encoding/binary"
	"fmt"

	"github.com/cairnbackup/cairn/internal/ids"
	bolt "go.etcd.io/bbolt"
)

// valueLen is the size of a location in the blobs bucket: type, flags,
// pack number, offset, length, raw length, seq.
const valueLen = 1 + 1 + 4 + 8 + 4 + 4 + 4

// forEachChunk is how many entries ForEach reads per read transaction.
const forEachChunk = 1024

// putValue writes e's location, with its pack's number, into v (len valueLen).
func putValue(v []byte, e *Entry, packNum uint32) {
	v[0] = byte(e.Type)
	v[1] = 0
	if e.Compressed {
		v[1] = flagCompressed
	}
	binary.BigEndian.PutUint32(v[2:], packNum)
	binary.BigEndian.PutUint64(v[6:], e.Offset)
	binary.BigEndian.PutUint32(v[14:], e.Length)
	binary.BigEndian.PutUint32(v[18:], e.RawLength)
	binary.BigEndian.PutUint32(v[22:], e.Seq)
}

// blobReader reads locations within one transaction, resolving pack numbers
// to pack IDs (remembering the last one: neighbours often share a pack).
type blobReader struct {
	blobs, packNums *bolt.Bucket
	lastNum         uint32
	lastPack        ids.ID
	haveLast        bool
}

func newBlobReader(tx *bolt.Tx) (*blobReader, error) {
	r := &blobReader{blobs: tx.Bucket(bucketBlobs), packNums: tx.Bucket(bucketPackNums)}
	if r.blobs == nil || r.packNums == nil {
		return nil, fmt.Errorf("%w: buckets missing", ErrCacheCorrupt)
	}
	return r, nil
}

// get returns the location of id, if cached.
func (r *blobReader) get(id *ids.ID) (Entry, bool, error) {
	v := r.blobs.Get(id[:])
	if v == nil {
		return Entry{}, false, nil
	}
	e, err := r.parse(id[:], v)
	return e, err == nil, err
}

// parse decodes the record k → v of the blobs bucket.
func (r *blobReader) parse(k, v []byte) (Entry, error) {
	if len(k) != ids.Size || len(v) != valueLen || v[1]&^flagCompressed != 0 {
		return Entry{}, fmt.Errorf("%w: bad blob record (key %d bytes, value %d bytes)",
			ErrCacheCorrupt, len(k), len(v))
	}
	e := Entry{Type: BlobType(v[0]), Compressed: v[1]&flagCompressed != 0}
	copy(e.ID[:], k)
	num := binary.BigEndian.Uint32(v[2:])
	if !r.haveLast || num != r.lastNum {
		p := r.packNums.Get(v[2:6])
		if len(p) != ids.Size {
			return Entry{}, fmt.Errorf("%w: blob %s refers to unknown pack number %d",
				ErrCacheCorrupt, e.ID.Short(), num)
		}
		r.lastNum, r.lastPack, r.haveLast = num, ids.ID(p), true
	}
	e.Pack = r.lastPack
	e.Offset = binary.BigEndian.Uint64(v[6:])
	e.Length = binary.BigEndian.Uint32(v[14:])
	e.RawLength = binary.BigEndian.Uint32(v[18:])
	e.Seq = binary.BigEndian.Uint32(v[22:])
	return e, nil
}

// Lookup returns a location of blob id; ok is false if the cache has none.
// When a blob is in several packs, any one of them is returned.
func (c *Cache) Lookup(id ids.ID) (e Entry, ok bool, err error) {
	defer recoverCorrupt(&err)
	err = c.db.View(func(tx *bolt.Tx) error {
		r, err := newBlobReader(tx)
		if err != nil {
			return err
		}
		e, ok, err = r.get(&id)
		return err
	})
	if err != nil {
		return Entry{}, false, fmt.Errorf("index cache lookup %s: %w", id.Short(), err)
	}
	return e, ok, nil
}

// Has reports whether blob id is cached, without resolving its location
// (the dedup check of a backup; about twice as fast as Lookup).
func (c *Cache) Has(id ids.ID) (ok bool, err error) {
	defer recoverCorrupt(&err)
	err = c.db.View(func(tx *bolt.Tx) error {
		b := tx.Bucket(bucketBlobs)
		if b == nil {
			return fmt.Errorf("%w: blobs bucket missing", ErrCacheCorrupt)
		}
		ok = b.Get(id[:]) != nil
		return nil
	})
	if err != nil {
		return false, fmt.Errorf("index cache lookup %s: %w", id.Short(), err)
	}
	return ok, nil
}

// LookupBatch looks up every ID in one read transaction, calling fn with its
// position, its location and whether it was found, in order. fn runs inside
// the transaction: it must not call Sync or Add.
func (c *Cache) LookupBatch(list []ids.ID, fn func(i int, e Entry, ok bool)) (err error) {
	defer recoverCorrupt(&err)
	err = c.db.View(func(tx *bolt.Tx) error {
		r, err := newBlobReader(tx)
		if err != nil {
			return err
		}
		for i := range list {
			e, ok, err := r.get(&list[i])
			if err != nil {
				return err
			}
			fn(i, e, ok)
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
		r, err := newBlobReader(tx)
		if err != nil {
			return err
		}
		cur := r.blobs.Cursor()
		var k, v []byte
		if after == nil {
			k, v = cur.First()
		} else if k, v = cur.Seek(after); k != nil && bytes.Equal(k, after) {
			k, v = cur.Next()
		}
		for ; k != nil && len(buf) < cap(buf); k, v = cur.Next() {
			e, err := r.parse(k, v)
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
