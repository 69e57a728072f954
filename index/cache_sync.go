package index

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"slices"
	"sync"

	"github.com/cairnbackup/cairn/internal/ids"
	bolt "go.etcd.io/bbolt"
	"golang.org/x/sync/errgroup"
)

// syncLoaders is how many index objects Sync loads at once.
const syncLoaders = 4

// batchEntries caps the entries of one write transaction. Once the cache is
// large, almost every entry of a batch dirties its own leaf page, which bbolt
// holds in memory (page buffer plus decoded node, about 7 KiB) until commit,
// so this bounds a transaction's memory to roughly 60 MiB; larger batches
// were barely faster on a cache of a million blobs. A variable so tests can
// make objects span several transactions.
var batchEntries = 8 << 10

// SyncStats reports what Sync did.
type SyncStats struct {
	Present int  // distinct index objects in the repository's list
	Loaded  int  // index objects loaded and recorded
	Entries int  // entries read from loaded objects
	Added   int  // blob IDs new to the cache
	Removed int  // recorded index objects no longer present
	Rebuilt bool // the cache was emptied and rebuilt because Removed > 0
}

// Loader fetches and decodes one index object for Sync.
type Loader func(ctx context.Context, id ids.ID) (*Object, error)

// Sync makes the cache reflect exactly the index objects in present (the
// repository's current list). It loads, at most four at a time, the objects
// it has not recorded and streams their entries into write transactions of
// sorted keys. If a recorded object is no longer present (compaction or
// prune removed it), Sync empties the cache and rebuilds it from present.
// Entries of all present objects are unioned; Supersedes is not consulted.
//
// On error, objects whose entries were fully committed stay recorded, so a
// later Sync resumes where this one stopped.
func (c *Cache) Sync(ctx context.Context, present []ids.ID, load func(ctx context.Context, id ids.ID) (*Object, error)) (st SyncStats, err error) {
	c.wmu.Lock()
	defer c.wmu.Unlock()
	defer recoverCorrupt(&err)

	want := make(map[ids.ID]struct{}, len(present))
	var order []ids.ID
	for _, id := range present {
		if _, dup := want[id]; !dup {
			want[id] = struct{}{}
			order = append(order, id)
		}
	}
	st.Present = len(order)

	seen := make(map[ids.ID]struct{})
	err = c.db.View(func(tx *bolt.Tx) error {
		b := tx.Bucket(bucketIndexes)
		if b == nil {
			return fmt.Errorf("%w: indexes bucket missing", ErrCacheCorrupt)
		}
		cur := b.Cursor()
		for k, _ := cur.First(); k != nil; k, _ = cur.Next() {
			if len(k) != ids.Size {
				return fmt.Errorf("%w: bad index record key", ErrCacheCorrupt)
			}
			id := ids.ID(k)
			seen[id] = struct{}{}
			if _, ok := want[id]; !ok {
				st.Removed++
			}
		}
		return nil
	})
	if err != nil {
		return st, fmt.Errorf("index cache sync: %w", err)
	}
	if st.Removed > 0 {
		c.log.Info("index objects removed from repository; rebuilding index cache",
			"path", c.path, "removed", st.Removed, "present", st.Present)
		if err := c.update(resetBlobs); err != nil {
			return st, fmt.Errorf("index cache sync: reset: %w", err)
		}
		clear(seen)
		st.Rebuilt = true
	}

	todo := order[:0:0]
	for _, id := range order {
		if _, ok := seen[id]; !ok {
			todo = append(todo, id)
		}
	}
	if len(todo) == 0 {
		return st, nil
	}
	if err := c.loadAll(ctx, todo, load, &st); err != nil {
		return st, fmt.Errorf("index cache sync: %w", err)
	}
	return st, nil
}

// loaded is one index object handed from a loader to the writer.
type loaded struct {
	id ids.ID
	o  *Object
}

// loadAll loads todo with syncLoaders goroutines and writes the objects in
// the calling goroutine. The caller holds c.wmu.
func (c *Cache) loadAll(ctx context.Context, todo []ids.ID, load Loader, st *SyncStats) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	g, gctx := errgroup.WithContext(ctx)
	jobs := make(chan ids.ID)
	results := make(chan loaded) // unbuffered: at most syncLoaders+1 objects in memory

	g.Go(func() error {
		defer close(jobs)
		for _, id := range todo {
			select {
			case jobs <- id:
			case <-gctx.Done():
				return gctx.Err()
			}
		}
		return nil
	})
	var workers sync.WaitGroup
	for range min(syncLoaders, len(todo)) {
		workers.Add(1)
		g.Go(func() error {
			defer workers.Done()
			for id := range jobs {
				o, err := load(gctx, id)
				if err == nil && o == nil {
					err = errors.New("loader returned no object")
				}
				if err != nil {
					return fmt.Errorf("load index %s: %w", id, err)
				}
				select {
				case results <- loaded{id, o}:
				case <-gctx.Done():
					return gctx.Err()
				}
			}
			return nil
		})
	}
	go func() {
		workers.Wait()
		close(results)
	}()

	w := c.newWriter()
	var werr error
	for r := range results {
		if werr != nil {
			continue // drain so the loaders can exit
		}
		if werr = w.add(r.id, r.o); werr != nil {
			cancel()
		}
	}
	if werr == nil {
		// Commit what is complete even if a load failed: it is valid.
		werr = w.flush()
	}
	gerr := g.Wait()
	st.Loaded += w.loaded
	st.Entries += w.entries
	st.Added += w.added
	if werr != nil {
		return werr
	}
	return gerr
}

// Add records an index object this process just wrote, so its blobs are
// found without another Sync. Adding an object already recorded does nothing.
func (c *Cache) Add(indexID ids.ID, o *Object) (err error) {
	c.wmu.Lock()
	defer c.wmu.Unlock()
	defer recoverCorrupt(&err)
	if o == nil {
		o = &Object{}
	}
	var have bool
	err = c.db.View(func(tx *bolt.Tx) error {
		b := tx.Bucket(bucketIndexes)
		if b == nil {
			return fmt.Errorf("%w: indexes bucket missing", ErrCacheCorrupt)
		}
		have = b.Get(indexID[:]) != nil
		return nil
	})
	if err == nil && !have {
		w := c.newWriter()
		if err = w.add(indexID, o); err == nil {
			err = w.flush()
		}
	}
	if err != nil {
		return fmt.Errorf("index cache add %s: %w", indexID.Short(), err)
	}
	return nil
}

// writer batches entries of loaded objects into sorted write transactions.
// An object is recorded in the transaction that commits its last entries.
type writer struct {
	c        *Cache
	batch    []Entry
	done     []doneObject
	values   []byte            // value buffer, valid until the transaction commits
	packNums map[ids.ID]uint32 // pack numbers resolved in the current flush
	loaded   int
	entries  int
	added    int
}

type doneObject struct {
	id      ids.ID
	entries int
}

func (c *Cache) newWriter() *writer { return &writer{c: c} }

// add copies o's entries into the batch, flushing full batches.
func (w *writer) add(id ids.ID, o *Object) error {
	es := o.Entries
	for len(es) > 0 {
		if w.batch == nil {
			w.batch = make([]Entry, 0, min(batchEntries, len(es)))
		}
		n := min(len(es), batchEntries-len(w.batch))
		w.batch = append(w.batch, es[:n]...)
		es = es[n:]
		if len(w.batch) >= batchEntries && len(es) > 0 {
			if err := w.flush(); err != nil {
				return err
			}
		}
	}
	w.done = append(w.done, doneObject{id, len(o.Entries)})
	if len(w.batch) >= batchEntries {
		return w.flush()
	}
	return nil
}

// flush commits the batch and the objects completed by it.
func (w *writer) flush() error {
	if len(w.batch) == 0 && len(w.done) == 0 {
		return nil
	}
	slices.SortFunc(w.batch, func(a, b Entry) int { return bytes.Compare(a.ID[:], b.ID[:]) })
	// bbolt keeps the value slices until commit: carve them from one buffer.
	// Worst case per entry: its location plus a new pack's number twice.
	need := len(w.batch)*(valueLen+8) + len(w.done)*binary.MaxVarintLen64
	if cap(w.values) < need {
		w.values = make([]byte, need)
	}
	vals := w.values[:cap(w.values)]
	if w.packNums == nil {
		w.packNums = make(map[ids.ID]uint32)
	}
	clear(w.packNums)
	added := 0
	err := w.c.update(func(tx *bolt.Tx) error {
		meta, idx, blobs := tx.Bucket(bucketMeta), tx.Bucket(bucketIndexes), tx.Bucket(bucketBlobs)
		packs, nums := tx.Bucket(bucketPacks), tx.Bucket(bucketPackNums)
		if meta == nil || idx == nil || blobs == nil || packs == nil || nums == nil {
			return fmt.Errorf("%w: buckets missing", ErrCacheCorrupt)
		}
		n, np := meta.Get(keyBlobs), meta.Get(keyNextPack)
		if len(n) != 8 || len(np) != 4 {
			return fmt.Errorf("%w: bad counters", ErrCacheCorrupt)
		}
		count, next := binary.BigEndian.Uint64(n), binary.BigEndian.Uint32(np)
		off := 0
		// take returns the next k bytes of the value buffer.
		take := func(k int) []byte {
			v := vals[off : off+k : off+k]
			off += k
			return v
		}
		for i := range w.batch {
			e := &w.batch[i]
			if blobs.Get(e.ID[:]) != nil {
				continue // keep the first location seen
			}
			num, ok := w.packNums[e.Pack]
			if !ok {
				if v := packs.Get(e.Pack[:]); len(v) == 4 {
					num = binary.BigEndian.Uint32(v)
				} else {
					if next == math.MaxUint32 {
						return errors.New("pack numbers exhausted")
					}
					num, next = next, next+1
					nb := take(4)
					binary.BigEndian.PutUint32(nb, num)
					if err := packs.Put(e.Pack[:], nb); err != nil {
						return fmt.Errorf("put pack %s: %w", e.Pack.Short(), err)
					}
					if err := nums.Put(nb, e.Pack[:]); err != nil {
						return fmt.Errorf("put pack %s: %w", e.Pack.Short(), err)
					}
				}
				w.packNums[e.Pack] = num
			}
			v := take(valueLen)
			putValue(v, e, num)
			if err := blobs.Put(e.ID[:], v); err != nil {
				return fmt.Errorf("put blob %s: %w", e.ID.Short(), err)
			}
			added++
		}
		for _, d := range w.done {
			v := binary.AppendUvarint(vals[off:off], uint64(d.entries))
			off += len(v)
			if err := idx.Put(d.id[:], v); err != nil {
				return fmt.Errorf("put index %s: %w", d.id.Short(), err)
			}
		}
		if err := meta.Put(keyNextPack, binary.BigEndian.AppendUint32(nil, next)); err != nil {
			return err
		}
		return meta.Put(keyBlobs, binary.BigEndian.AppendUint64(nil, count+uint64(added)))
	})
	if err != nil {
		return err
	}
	w.loaded += len(w.done)
	w.entries += len(w.batch)
	w.added += added
	w.batch = w.batch[:0]
	w.done = w.done[:0]
	return nil
}
