package repo

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"slices"

	bolt "go.etcd.io/bbolt"

	"github.com/cairnbackup/cairn/index"
	"github.com/cairnbackup/cairn/internal/ids"
	"github.com/cairnbackup/cairn/repo/backend"
)

// setBatch caps the keys written per transaction of a blobSet (bbolt keeps every dirtied
// page in memory until commit; see index.batchEntries).
const setBatch = 8 << 10

// blobSet is a disk-backed set of blob IDs with a small per-blob state, kept in a temporary
// bbolt file so prune and check use bounded memory for any number of blobs. The file has no
// name once open (POSIX), so a killed process leaves no garbage. It is not safe for
// concurrent use.
type blobSet struct {
	db  *bolt.DB
	dir string
	buf []ids.ID // pending adds, flushed sorted in one transaction
	in  map[ids.ID]struct{}
}

// Buckets of a blobSet's file.
var (
	bucketUsed  = []byte("used")  // blob → state (see prune.go)
	bucketCover = []byte("cover") // sweep: used blobs with a copy outside the deletion set
	bucketInDel = []byte("indel") // sweep: pack‖blob of used blobs inside the deletion set
)

func newBlobSet() (*blobSet, error) {
	dir, err := os.MkdirTemp("", "cairn-set-")
	if err != nil {
		return nil, fmt.Errorf("temporary blob set: %w", err)
	}
	db, err := bolt.Open(filepath.Join(dir, "set.db"), 0o600, &bolt.Options{
		NoSync: true, NoFreelistSync: true, FreelistType: bolt.FreelistMapType, NoGrowSync: true,
		NoStatistics: true,
	})
	if err != nil {
		os.RemoveAll(dir)
		return nil, fmt.Errorf("temporary blob set: %w", err)
	}
	s := &blobSet{db: db, dir: dir, in: map[ids.ID]struct{}{}}
	// Unlink the file while it is open (bbolt only uses its descriptor from here on): a
	// killed prune or check leaves nothing behind in the temporary directory. Where an open
	// file cannot be removed (Windows), close removes it.
	if os.RemoveAll(dir) == nil {
		s.dir = ""
	}
	err = db.Update(func(tx *bolt.Tx) error {
		for _, b := range [][]byte{bucketUsed, bucketCover, bucketInDel} {
			if _, err := tx.CreateBucket(b); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		s.close()
		return nil, fmt.Errorf("temporary blob set: %w", err)
	}
	return s, nil
}

func (s *blobSet) close() {
	if s.db != nil {
		_ = s.db.Close()
		s.db = nil
	}
	if s.dir != "" {
		_ = os.RemoveAll(s.dir)
	}
}

// add records id as used (state stateUnlocated unless it is present already).
func (s *blobSet) add(id ids.ID) error {
	if _, ok := s.in[id]; ok {
		return nil
	}
	s.in[id] = struct{}{}
	s.buf = append(s.buf, id)
	if len(s.buf) >= setBatch {
		return s.flush()
	}
	return nil
}

func (s *blobSet) flush() error {
	if len(s.buf) == 0 {
		return nil
	}
	slices.SortFunc(s.buf, func(a, b ids.ID) int { return bytes.Compare(a[:], b[:]) })
	err := s.db.Update(func(tx *bolt.Tx) error {
		b := tx.Bucket(bucketUsed)
		for i := range s.buf {
			if b.Get(s.buf[i][:]) == nil {
				if err := b.Put(s.buf[i][:], []byte{stateUnlocated}); err != nil {
					return err
				}
			}
		}
		return nil
	})
	s.buf = s.buf[:0]
	clear(s.in)
	if err != nil {
		return fmt.Errorf("temporary blob set: %w", err)
	}
	return nil
}

// contains reports whether id was added.
func (s *blobSet) contains(id ids.ID) (bool, error) {
	if _, ok := s.in[id]; ok {
		return true, nil
	}
	var found bool
	err := s.db.View(func(tx *bolt.Tx) error {
		found = tx.Bucket(bucketUsed).Get(id[:]) != nil
		return nil
	})
	return found, err
}

// count returns the number of blobs in the set (after a flush).
func (s *blobSet) count() (int, error) {
	if err := s.flush(); err != nil {
		return 0, err
	}
	var n int
	err := s.db.View(func(tx *bolt.Tx) error {
		n = tx.Bucket(bucketUsed).Stats().KeyN
		return nil
	})
	return n, err
}

// usedSet is the set of blobs referenced by a set of snapshots.
type usedSet struct {
	*blobSet
	snaps map[ids.ID]struct{} // snapshots already added
}

func newUsedSet() (*usedSet, error) {
	s, err := newBlobSet()
	if err != nil {
		return nil, err
	}
	return &usedSet{blobSet: s, snaps: map[ids.ID]struct{}{}}, nil
}

// addSnapshots adds the list and data blobs of every snapshot not added before. A list
// blob already in the set is not read again: its records were added with it (list blobs
// are content addressed, so unchanged regions of later snapshots cost nothing).
func (r *Repository) addSnapshots(ctx context.Context, u *usedSet, c *index.Cache, snaps []*Snapshot) error {
	var buf []byte
	for _, s := range snaps {
		if _, ok := u.snaps[s.ID]; ok {
			continue
		}
		for _, lid := range s.Lists {
			if err := ctx.Err(); err != nil {
				return err
			}
			seen, err := u.contains(lid)
			if err != nil {
				return err
			}
			if seen {
				continue
			}
			e, ok, err := c.Lookup(lid)
			if err != nil {
				return fmt.Errorf("index lookup: %w", err)
			}
			if !ok || e.Type != index.ListBlob {
				return fmt.Errorf("%w: snapshot %s: chunk list %s is not in the index (run check)", ErrCorrupt, s.ID.Short(), lid.Short())
			}
			if buf, err = r.readBlob(ctx, e, buf); err != nil {
				return fmt.Errorf("snapshot %s: chunk list: %w", s.ID.Short(), err)
			}
			if _, err := decodeList(buf, 0, func(x Extent) error {
				if x.Zero {
					return nil
				}
				return u.add(x.Blob)
			}); err != nil {
				return fmt.Errorf("snapshot %s: %w", s.ID.Short(), err)
			}
			if err := u.add(lid); err != nil {
				return err
			}
		}
		u.snaps[s.ID] = struct{}{}
	}
	return u.flush()
}

// forEachIndex loads the index objects named in list one at a time (one read ahead) and
// calls fn with each. Objects removed meanwhile are skipped.
func (r *Repository) forEachIndex(ctx context.Context, list []ids.ID, fn func(id ids.ID, o *index.Object) error) error {
	type res struct {
		id  ids.ID
		o   *index.Object
		err error
	}
	ch := make(chan res, 1)
	ctx, cancel := context.WithCancel(ctx)
	defer func() {
		cancel()
		for range ch { // wait for the loader to stop
		}
	}()
	go func() {
		defer close(ch)
		for _, id := range list {
			o, err := r.loadIndex(ctx, id)
			select {
			case ch <- res{id, o, err}:
			case <-ctx.Done():
				return
			}
			if err != nil && !isNotFound(err) {
				return
			}
		}
	}()
	for x := range ch {
		if isNotFound(x.err) {
			continue
		}
		if x.err != nil {
			return fmt.Errorf("index %s: %w", x.id.Short(), x.err)
		}
		if err := fn(x.id, x.o); err != nil {
			return err
		}
	}
	return ctx.Err()
}

// listPacks returns every stored pack with its size (memory grows with the number of
// packs, not blobs).
func (r *Repository) listPacks(ctx context.Context) (map[ids.ID]int64, error) {
	out := map[ids.ID]int64{}
	err := r.be.List(ctx, backend.Pack, func(name string, size int64) error {
		id, err := ids.Parse(name)
		if err != nil {
			r.log.Warn("ignoring pack with a malformed name", "name", name)
			return nil
		}
		out[id] = size
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("list packs: %w", err)
	}
	return out, nil
}

// sortedEntries returns the entries sorted by blob ID (a copy), for ordered bbolt access.
func sortedEntries(es []index.Entry) []index.Entry {
	out := slices.Clone(es)
	slices.SortFunc(out, func(a, b index.Entry) int { return bytes.Compare(a.ID[:], b.ID[:]) })
	return out
}

// liveSnapshots lists and loads the snapshots, skipping any removed meanwhile (a
// concurrent forget must not fail a prune).
func (r *Repository) liveSnapshots(ctx context.Context) ([]*Snapshot, error) {
	names, err := r.objectNames(ctx, backend.Snapshot)
	if err != nil {
		return nil, err
	}
	out := make([]*Snapshot, 0, len(names))
	for _, id := range names {
		s, err := r.loadSnapshot(ctx, id)
		if isNotFound(err) {
			continue
		}
		if err != nil {
			return nil, err
		}
		out = append(out, s)
	}
	return out, nil
}
