package repo

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	bolt "go.etcd.io/bbolt"
	"golang.org/x/sync/errgroup"

	"github.com/cairnbackup/cairn/crypto"
	"github.com/cairnbackup/cairn/index"
	"github.com/cairnbackup/cairn/internal/ids"
	"github.com/cairnbackup/cairn/repo/backend"
	"github.com/cairnbackup/cairn/repo/backend/zones"
)

// CheckOptions select how deep Check goes.
type CheckOptions struct {
	// ReadData downloads packs and verifies every blob: authentication, decompression and
	// the blob ID (keyed hash of the plaintext).
	ReadData bool
	// Subset limits ReadData to part of the packs: "n/m" (the n-th of m deterministic
	// slices by pack ID, so m runs with n = 1..m cover everything once) or "N%" (a random
	// N percent). Empty means all packs.
	Subset string
}

// Problem levels.
const (
	LevelError   = "error"   // data is missing or damaged: a restore may fail
	LevelWarning = "warning" // something needs attention but no data is at risk
	LevelInfo    = "info"    // expected leftovers (interrupted backups, pending deletions)
)

// CheckProblem is one finding.
type CheckProblem struct {
	Level   string `json:"level"`
	Object  string `json:"object"` // e.g. "snapshots/ab12cd34", "data/…", "index/…"
	Message string `json:"message"`
}

func (p CheckProblem) String() string { return p.Level + ": " + p.Object + ": " + p.Message }

// maxProblems bounds the problems a report lists (the counts stay exact).
const maxProblems = 1000

// CheckReport is what Check found.
type CheckReport struct {
	Keys           int   `json:"keys"`
	Snapshots      int   `json:"snapshots"`
	Indexes        int   `json:"indexes"`
	IndexedBlobs   int   `json:"indexed_blobs"`
	IndexedPacks   int   `json:"indexed_packs"`
	StoredPacks    int   `json:"stored_packs"`
	UnindexedPacks int   `json:"unindexed_packs"`
	PendingPacks   int   `json:"pending_packs"`
	BlobRefs       int64 `json:"blob_refs"` // chunk-list references checked
	PacksRead      int   `json:"packs_read"`
	BlobsRead      int64 `json:"blobs_read"`
	BytesRead      int64 `json:"bytes_read"`
	// Shards is the shard health of a zones repository (nil for other backends).
	Shards *zones.ShardReport `json:"shards,omitempty"`

	Errors          int            `json:"errors"`
	Warnings        int            `json:"warnings"`
	Infos           int            `json:"infos"`
	Problems        []CheckProblem `json:"problems"`
	ProblemsOmitted int            `json:"problems_omitted,omitempty"`

	mu sync.Mutex
}

// OK reports whether Check found no error-level problem.
func (c *CheckReport) OK() bool { return c.Errors == 0 }

func (c *CheckReport) add(level, object, format string, args ...any) {
	c.mu.Lock()
	defer c.mu.Unlock()
	switch level {
	case LevelError:
		c.Errors++
	case LevelWarning:
		c.Warnings++
	default:
		c.Infos++
	}
	if len(c.Problems) >= maxProblems {
		c.ProblemsOmitted++
		return
	}
	c.Problems = append(c.Problems, CheckProblem{Level: level, Object: object, Message: fmt.Sprintf(format, args...)})
}

// packAgg summarises the index entries naming one pack.
type packAgg struct {
	entries int
	maxEnd  uint64
}

// parseSubset returns a pack filter for opts.Subset (nil: every pack).
func parseSubset(s string, packs []ids.ID) (map[ids.ID]struct{}, error) {
	sel := map[ids.ID]struct{}{}
	switch {
	case s == "":
		for _, p := range packs {
			sel[p] = struct{}{}
		}
	case strings.HasSuffix(s, "%"):
		pct, err := strconv.ParseFloat(strings.TrimSuffix(s, "%"), 64)
		if err != nil || pct <= 0 || pct > 100 || math.IsNaN(pct) {
			return nil, fmt.Errorf("check: bad subset %q (want N%% with 0 < N <= 100)", s)
		}
		n := int(math.Ceil(pct / 100 * float64(len(packs))))
		perm := rand.Perm(len(packs))
		for _, i := range perm[:n] {
			sel[packs[i]] = struct{}{}
		}
	default:
		a, b, ok := strings.Cut(s, "/")
		n, err1 := strconv.ParseUint(a, 10, 32)
		m, err2 := strconv.ParseUint(b, 10, 32)
		if !ok || err1 != nil || err2 != nil || n < 1 || m < 1 || n > m {
			return nil, fmt.Errorf("check: bad subset %q (want n/m with 1 <= n <= m, or N%%)", s)
		}
		for _, p := range packs {
			if binary.BigEndian.Uint64(p[:8])%m == n-1 {
				sel[p] = struct{}{}
			}
		}
	}
	return sel, nil
}

type checkRun struct {
	r   *Repository
	rep *CheckReport
	sel map[ids.ID]struct{} // packs to read (ReadData)
	tmp *blobSet            // index entries of selected packs; checked list blobs

	tmpCache *index.Cache // private cache when some index objects are unreadable
	own      string       // this check's lock object
}

// Check verifies the repository's structure and, with ReadData, its data. Findings go into
// the report (see CheckReport.OK); the error is for failures that stopped the check.
// Memory stays bounded: blob-level state lives in the index cache and a temporary file.
func (r *Repository) Check(ctx context.Context, opts CheckOptions) (*CheckReport, error) {
	lk, unlock, err := r.lockFor(ctx, "check", LockCheck, false)
	if err != nil {
		return nil, err
	}
	defer unlock()
	tmp, err := newBlobSet()
	if err != nil {
		return nil, fmt.Errorf("check: %w", err)
	}
	defer tmp.close()
	c := &checkRun{r: r, rep: &CheckReport{Problems: []CheckProblem{}}, tmp: tmp, own: lk.lockName()}
	defer func() {
		if c.tmpCache != nil {
			c.tmpCache.Close()
		}
	}()
	if err := c.run(ctx, opts); err != nil {
		return c.rep, fmt.Errorf("check: %w", err)
	}
	return c.rep, nil
}

func (c *checkRun) run(ctx context.Context, opts CheckOptions) error {
	r, rep := c.r, c.rep
	if err := c.checkKeys(ctx); err != nil {
		return err
	}
	// Snapshots first: every index object a listed snapshot needs was stored before it.
	snapIDs, err := r.objectNames(ctx, backend.Snapshot)
	if err != nil {
		return err
	}
	var snaps []*Snapshot
	for _, id := range snapIDs {
		s, err := r.loadSnapshot(ctx, id)
		if isNotFound(err) {
			continue // forgotten meanwhile
		}
		if err != nil {
			if ctx.Err() != nil {
				return ctx.Err()
			}
			rep.add(LevelError, "snapshots/"+id.Short(), "%v", err)
			continue
		}
		snaps = append(snaps, s)
	}
	rep.Snapshots = len(snapIDs)

	pending, err := c.checkLocks(ctx)
	if err != nil {
		return err
	}
	idxList, err := r.objectNames(ctx, backend.Index)
	if err != nil {
		return err
	}
	stored, err := r.listPacks(ctx)
	if err != nil {
		return err
	}
	rep.StoredPacks = len(stored)
	if err := c.checkShards(ctx, opts); err != nil {
		return err
	}
	if opts.ReadData {
		all := make([]ids.ID, 0, len(stored))
		for id := range stored {
			all = append(all, id)
		}
		slices.SortFunc(all, cmpID)
		if c.sel, err = parseSubset(opts.Subset, all); err != nil {
			return err
		}
	}

	good, aggs, err := c.checkIndexes(ctx, idxList)
	if err != nil {
		return err
	}
	rep.Indexes = len(idxList)
	rep.IndexedPacks = len(aggs)
	for pack, a := range aggs {
		size, ok := stored[pack]
		switch {
		case !ok:
			rep.add(LevelError, "data/"+pack.Short(), "pack is indexed (%d blobs) but not stored", a.entries)
		case a.maxEnd > uint64(size):
			rep.add(LevelError, "data/"+pack.Short(), "index places blobs up to byte %d, the pack has %d bytes", a.maxEnd, size)
		}
	}
	for pack := range stored {
		if _, ok := aggs[pack]; ok {
			continue
		}
		rep.UnindexedPacks++
		if _, ok := pending[pack]; ok {
			rep.add(LevelInfo, "data/"+pack.Short(), "pack is in no index and pending deletion")
		} else {
			rep.add(LevelInfo, "data/"+pack.Short(), "pack is in no index (left by an interrupted backup or prune; prune removes it)")
		}
	}
	for pack := range pending {
		if _, ok := stored[pack]; ok {
			rep.PendingPacks++
		}
	}

	cache, err := c.cacheFor(ctx, good, len(good) != len(idxList))
	if err != nil {
		return err
	}
	if cache != nil {
		if n, _, err := cache.Count(); err == nil {
			rep.IndexedBlobs = n
		}
		for _, s := range snaps {
			if err := c.checkSnapshot(ctx, cache, s, stored); err != nil {
				return err
			}
		}
	}
	if opts.ReadData {
		return c.readPacks(ctx, cache, aggs)
	}
	return nil
}

func (c *checkRun) checkKeys(ctx context.Context) error {
	var names []string
	if err := c.r.be.List(ctx, backend.Key, func(name string, _ int64) error {
		names = append(names, name)
		return nil
	}); err != nil {
		return fmt.Errorf("list keys: %w", err)
	}
	for _, name := range names {
		b, err := c.r.be.Load(ctx, backend.Handle{Type: backend.Key, Name: name}, 0, 0)
		if err == nil {
			_, err = crypto.ParseKeySlot(b)
		}
		if err == nil && ids.Hash(b).String() != name {
			err = errors.New("content does not match its name")
		}
		if err != nil {
			if ctx.Err() != nil {
				return ctx.Err()
			}
			c.rep.add(LevelError, "keys/"+shortName(name), "%v", err)
		}
	}
	c.rep.Keys = len(names)
	return nil
}

// checkLocks reports stale and unreadable locks and returns the packs pending deletion.
func (c *checkRun) checkLocks(ctx context.Context) (map[ids.ID]struct{}, error) {
	all, err := c.r.listLockObjects(ctx, c.own)
	if err != nil {
		return nil, err
	}
	pending := map[ids.ID]struct{}{}
	for _, e := range all {
		switch {
		case e.err != nil:
			c.rep.add(LevelWarning, "locks/"+shortName(e.name), "unreadable: %v (cairn unlock removes it)", e.err)
		case e.name == c.own:
		case e.typ == typePending:
			for _, p := range e.pend.Packs {
				pending[p] = struct{}{}
			}
		default:
			if info := c.r.lockInfo(e, time.Now()); info.Stale {
				c.rep.add(LevelInfo, "locks/"+shortName(e.name), "stale: %s (cairn unlock removes it)", info)
			}
		}
	}
	return pending, nil
}

// checkIndexes decodes every index object, aggregates per pack, and (for ReadData) keeps
// the entries of selected packs in the temporary file. It returns the decodable objects.
func (c *checkRun) checkIndexes(ctx context.Context, list []ids.ID) ([]ids.ID, map[ids.ID]*packAgg, error) {
	aggs := map[ids.ID]*packAgg{}
	present := map[ids.ID]struct{}{}
	for _, id := range list {
		present[id] = struct{}{}
	}
	var good []ids.ID
	for _, id := range list {
		o, err := c.r.loadIndex(ctx, id)
		if isNotFound(err) {
			continue
		}
		if err != nil {
			if ctx.Err() != nil {
				return nil, nil, ctx.Err()
			}
			c.rep.add(LevelError, "index/"+id.Short(), "%v (cairn repair index rebuilds the index)", err)
			continue
		}
		good = append(good, id)
		for _, s := range o.Supersedes {
			if _, ok := present[s]; ok {
				c.rep.add(LevelInfo, "index/"+s.Short(), "superseded by index %s but still present (prune removes it)", id.Short())
			}
		}
		var keep []index.Entry
		for _, e := range o.Entries {
			a := aggs[e.Pack]
			if a == nil {
				a = &packAgg{}
				aggs[e.Pack] = a
			}
			a.entries++
			if end := e.Offset + uint64(e.Length); end > a.maxEnd {
				a.maxEnd = end
			}
			if e.Offset < packDataStart {
				c.rep.add(LevelError, "index/"+id.Short(), "blob %s has offset %d inside the pack header", e.ID.Short(), e.Offset)
			}
			if _, ok := c.sel[e.Pack]; ok {
				keep = append(keep, e)
			}
		}
		if len(keep) > 0 {
			if err := c.storeEntries(keep); err != nil {
				return nil, nil, err
			}
		}
	}
	return good, aggs, nil
}

// Entry records of the temporary file: pack ‖ blob → type, flags, offset, length, raw, seq.
func entryKey(e *index.Entry) []byte {
	k := make([]byte, 0, 2*ids.Size)
	return append(append(k, e.Pack[:]...), e.ID[:]...)
}

func entryVal(e *index.Entry) []byte {
	v := []byte{byte(e.Type), 0}
	if e.Compressed {
		v[1] = 1
	}
	v = binary.BigEndian.AppendUint64(v, e.Offset)
	v = binary.BigEndian.AppendUint32(v, e.Length)
	v = binary.BigEndian.AppendUint32(v, e.RawLength)
	return binary.BigEndian.AppendUint32(v, e.Seq)
}

func (c *checkRun) storeEntries(es []index.Entry) error {
	return c.tmp.db.Update(func(tx *bolt.Tx) error {
		b, err := tx.CreateBucketIfNotExists([]byte("entries"))
		if err != nil {
			return err
		}
		for i := range es {
			k, v := entryKey(&es[i]), entryVal(&es[i])
			if old := b.Get(k); old != nil && string(old) != string(v) {
				c.rep.add(LevelError, "data/"+es[i].Pack.Short(), "index objects disagree about blob %s", es[i].ID.Short())
				continue
			}
			if err := b.Put(k, v); err != nil {
				return err
			}
		}
		return nil
	})
}

// cacheFor returns the repository's index cache or, when some index objects are
// unreadable, a private cache built from the readable ones (nil if even that fails).
func (c *checkRun) cacheFor(ctx context.Context, good []ids.ID, partial bool) (*index.Cache, error) {
	if !partial {
		cache, err := c.r.indexCache(ctx)
		if err == nil {
			return cache, nil
		}
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		c.rep.add(LevelError, "index", "index cache: %v", err)
	}
	cache, err := index.OpenTempCache("", c.r.cfg.ID, index.CacheOptions{Logger: c.r.log})
	if err != nil {
		return nil, err
	}
	if _, err := cache.Sync(ctx, good, c.r.loadIndex); err != nil {
		cache.Close()
		c.rep.add(LevelError, "index", "cannot build an index from the readable objects: %v", err)
		return nil, nil
	}
	c.tmpCache = cache
	return cache, nil
}

// checkSnapshot walks one snapshot's chunk lists and looks up every blob. A list blob
// already checked (shared with an earlier snapshot) is skipped with its records.
func (c *checkRun) checkSnapshot(ctx context.Context, cache *index.Cache, s *Snapshot, stored map[ids.ID]int64) error {
	obj := "snapshots/" + s.ID.Short()
	var off int64
	var buf []byte
	missing, wrong, lost := 0, 0, 0
	batch := make([]Extent, 0, 4096)
	idsBuf := make([]ids.ID, 0, 4096)
	flush := func() error {
		idsBuf = idsBuf[:0]
		for _, e := range batch {
			idsBuf = append(idsBuf, e.Blob)
		}
		err := cache.LookupBatch(idsBuf, func(i int, loc index.Entry, ok bool) {
			e := batch[i]
			switch {
			case !ok || loc.Type != index.DataBlob:
				if missing++; missing <= 5 {
					c.rep.add(LevelError, obj, "data blob %s at offset %d is not in the index", e.Blob.Short(), e.Offset)
				}
			case int64(loc.RawLength) != e.Length:
				if wrong++; wrong <= 5 {
					c.rep.add(LevelError, obj, "data blob %s is %d bytes, the chunk list says %d", e.Blob.Short(), loc.RawLength, e.Length)
				}
			default:
				if _, ok := stored[loc.Pack]; !ok {
					if lost++; lost <= 5 {
						c.rep.add(LevelError, obj, "data blob %s is in pack %s, which is not stored", e.Blob.Short(), loc.Pack.Short())
					}
				}
			}
		})
		c.rep.BlobRefs += int64(len(batch))
		batch = batch[:0]
		return err
	}
	listsOK := true
	for _, lid := range s.Lists {
		if err := ctx.Err(); err != nil {
			return err
		}
		seen, err := c.tmp.contains(lid)
		if err != nil {
			return err
		}
		e, ok, err := cache.Lookup(lid)
		if err != nil {
			return err
		}
		if !ok || e.Type != index.ListBlob {
			c.rep.add(LevelError, obj, "chunk list blob %s is not in the index", lid.Short())
			listsOK = false
			continue
		}
		if _, ok := stored[e.Pack]; !ok {
			c.rep.add(LevelError, obj, "chunk list blob %s is in pack %s, which is not stored", lid.Short(), e.Pack.Short())
			listsOK = false
			continue
		}
		if buf, err = c.r.readBlob(ctx, e, buf); err != nil {
			if ctx.Err() != nil {
				return ctx.Err()
			}
			c.rep.add(LevelError, obj, "chunk list blob %s: %v", lid.Short(), err)
			listsOK = false
			continue
		}
		var derr error
		off, derr = decodeList(buf, off, func(x Extent) error {
			if x.Zero || seen {
				return nil
			}
			batch = append(batch, x)
			if len(batch) == cap(batch) {
				return flush()
			}
			return nil
		})
		if derr != nil {
			if isCorrupt(derr) {
				c.rep.add(LevelError, obj, "chunk list blob %s: %v", lid.Short(), derr)
				listsOK = false
				continue
			}
			return derr
		}
		if err := flush(); err != nil {
			return err
		}
		if err := c.tmp.add(lid); err != nil {
			return err
		}
	}
	if err := flush(); err != nil {
		return err
	}
	if listsOK && off != s.Size {
		c.rep.add(LevelError, obj, "chunk lists cover %d bytes, the snapshot says %d", off, s.Size)
	}
	for _, t := range []struct {
		n    int
		what string
	}{{missing, "missing"}, {wrong, "mis-sized"}, {lost, "in missing packs"}} {
		if t.n > 5 {
			c.rep.add(LevelError, obj, "%d data blobs %s in total", t.n, t.what)
		}
	}
	return c.tmp.flush()
}

// readPacks downloads the selected packs (two at a time) and verifies every blob.
func (c *checkRun) readPacks(ctx context.Context, cache *index.Cache, aggs map[ids.ID]*packAgg) error {
	packs := make([]ids.ID, 0, len(c.sel))
	for id := range c.sel {
		packs = append(packs, id)
	}
	slices.SortFunc(packs, cmpID)
	g, gctx := errgroup.WithContext(ctx)
	work := make(chan ids.ID)
	g.Go(func() error {
		defer close(work)
		for _, p := range packs {
			select {
			case work <- p:
			case <-gctx.Done():
				return gctx.Err()
			}
		}
		return nil
	})
	for range 2 {
		g.Go(func() error {
			h := c.r.key.NewChunkHasher()
			for p := range work {
				if err := c.readPack(gctx, h, p, aggs[p] != nil); err != nil {
					return err
				}
			}
			return nil
		})
	}
	return g.Wait()
}

func (c *checkRun) readPack(ctx context.Context, h *crypto.ChunkHasher, pack ids.ID, indexed bool) error {
	obj := "data/" + pack.Short()
	data, err := c.r.be.Load(ctx, backend.Handle{Type: backend.Pack, Name: pack.String()}, 0, 0)
	if isNotFound(err) {
		return nil // removed meanwhile (reported by the structure check if indexed)
	}
	if err != nil {
		return fmt.Errorf("read pack %s: %w", pack.Short(), err)
	}
	c.rep.mu.Lock()
	c.rep.PacksRead++
	c.rep.BytesRead += int64(len(data))
	c.rep.mu.Unlock()
	entries, err := c.r.parsePack(pack, data)
	if err != nil {
		c.rep.add(LevelError, obj, "%v", err)
		return nil
	}
	op, err := c.r.key.NewPackOpener(data[packHeaderSize:packDataStart])
	if err != nil {
		return err
	}
	table := make(map[string][]byte, len(entries))
	var pt []byte
	bad := 0
	for i := range entries {
		e := &entries[i]
		table[string(entryKey(e))] = entryVal(e)
		pt, err = c.r.openBlob(op, *e, data[e.Offset:e.Offset+uint64(e.Length)], pt[:0])
		if err == nil && ids.ID(h.Sum(pt)) != e.ID {
			err = fmt.Errorf("%w: blob %s: content does not match its ID", ErrCorrupt, e.ID.Short())
		}
		if err != nil {
			if bad++; bad <= 5 {
				c.rep.add(LevelError, obj, "%v", err)
			}
		}
	}
	if bad > 5 {
		c.rep.add(LevelError, obj, "%d damaged blobs in total", bad)
	}
	c.rep.mu.Lock()
	c.rep.BlobsRead += int64(len(entries))
	c.rep.mu.Unlock()
	if !indexed {
		return nil
	}
	// Every index entry naming this pack must match the pack's own table.
	return c.tmp.db.View(func(tx *bolt.Tx) error {
		b := tx.Bucket([]byte("entries"))
		if b == nil {
			return nil
		}
		cur := b.Cursor()
		for k, v := cur.Seek(pack[:]); k != nil && string(k[:ids.Size]) == string(pack[:]); k, v = cur.Next() {
			want, ok := table[string(k)]
			switch {
			case !ok:
				c.rep.add(LevelError, obj, "index lists blob %x, which the pack does not hold", k[ids.Size:ids.Size+4])
			case string(want) != string(v):
				c.rep.add(LevelError, obj, "index entry for blob %x disagrees with the pack table", k[ids.Size:ids.Size+4])
			}
		}
		return nil
	})
}
