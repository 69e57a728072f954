package repo

import (
	"bytes"
	"context"
	"fmt"
	"slices"
	"time"

	bolt "go.etcd.io/bbolt"

	"github.com/cairnbackup/cairn/index"
	"github.com/cairnbackup/cairn/internal/ids"
	"github.com/cairnbackup/cairn/repo/backend"
)

// Prune defaults (docs/LIFECYCLE.md).
const (
	// DefaultGrace is how long marked packs stay before a later prune may delete them.
	DefaultGrace = time.Hour
	// DefaultClockSkew is the clock difference between hosts that prune tolerates.
	DefaultClockSkew = 5 * time.Minute
	// DefaultRepackThreshold: a pack with at least this fraction of unused bytes is repacked.
	DefaultRepackThreshold = 0.5
)

// PruneOptions tune Prune. Zero values mean the defaults.
type PruneOptions struct {
	// Grace is the minimum time between marking packs and deleting them
	// (0: DefaultGrace; negative: none, delete in the same run when no backup blocks it).
	Grace time.Duration
	// ClockSkew is the tolerated clock difference between hosts (0: DefaultClockSkew;
	// negative: none).
	ClockSkew time.Duration
	// RepackThreshold: repack packs whose unused fraction of bytes is at least this
	// (0: DefaultRepackThreshold; 1 or more: never repack, only delete fully unused packs).
	RepackThreshold float64
	// DryRun computes and reports what would happen, changing nothing.
	DryRun bool
}

func (o PruneOptions) grace() time.Duration { return durationOpt(o.Grace, DefaultGrace) }
func (o PruneOptions) skew() time.Duration  { return durationOpt(o.ClockSkew, DefaultClockSkew) }

func (o PruneOptions) threshold() float64 {
	if o.RepackThreshold == 0 {
		return DefaultRepackThreshold
	}
	return o.RepackThreshold
}

func durationOpt(d, def time.Duration) time.Duration {
	switch {
	case d < 0:
		return 0
	case d == 0:
		return def
	}
	return d
}

// PruneResult reports what Prune did (or, with DryRun, would do).
type PruneResult struct {
	Snapshots int   `json:"snapshots"`
	UsedBlobs int   `json:"used_blobs"`
	Packs     int   `json:"packs"` // stored packs
	Bytes     int64 `json:"bytes"` // stored pack bytes

	// Marking (phase 1).
	UnusedPacks     int   `json:"unused_packs"`      // indexed packs without a used blob
	UnindexedPacks  int   `json:"unindexed_packs"`   // stored packs no index names (interrupted backups)
	MissingPacks    int   `json:"missing_packs"`     // indexed but not stored, without used blobs
	RepackPacks     int   `json:"repack_packs"`      // packs whose used blobs were copied
	RepackedBlobs   int   `json:"repacked_blobs"`    //
	RepackedBytes   int64 `json:"repacked_bytes"`    // bytes of new packs written
	MarkedPacks     int   `json:"marked_packs"`      // packs put in a new pending-deletion record
	MarkedBytes     int64 `json:"marked_bytes"`      // their stored size
	AlreadyPending  int   `json:"already_pending"`   // packs in earlier records, not re-examined
	PendingRecords  int   `json:"pending_records"`   // records left waiting after this run
	SkippedBadPacks []ID  `json:"skipped_bad_packs"` // repack candidates that failed verification

	// Sweeping (phase 2).
	SweptRecords      int   `json:"swept_records"`
	DeletedPacks      int   `json:"deleted_packs"`
	DeletedBytes      int64 `json:"deleted_bytes"`
	KeptPacks         int   `json:"kept_packs"` // dropped from a record: a newer snapshot uses them
	IndexesWritten    int   `json:"indexes_written"`
	IndexesDeleted    int   `json:"indexes_deleted"`
	SupersededDeleted int   `json:"superseded_deleted"` // leftovers of an interrupted compaction

	Blocked           []string   `json:"blocked,omitempty"` // why records could not be swept yet
	StaleLocksRemoved []LockInfo `json:"stale_locks_removed,omitempty"`
}

// Per-blob states in a usedSet's "used" bucket during marking.
const (
	stateUnlocated   byte = 0 // referenced, no copy seen yet
	statePendingOnly byte = 1 // referenced, copies seen only in packs pending deletion
	stateLocated     byte = 2 // followed by the pack ID of the copy prune keeps
)

type packStat struct {
	blobs, used     int
	bytes, usedByte int64
}

// pruneRun is the state of one Prune call.
type pruneRun struct {
	r    *Repository
	opts PruneOptions
	lk   *heldLock
	res  *PruneResult
	u    *usedSet
}

// Prune deletes data no snapshot needs, safely against concurrent backups: packs are first
// marked in a pending-deletion record (backups stop deduplicating against them) and
// deleted only by a run at least Grace later, once every backup that might have used them
// has finished and a fresh walk of the snapshots confirms they are unneeded
// (docs/LIFECYCLE.md). Prune holds an exclusive lock: a second prune fails with ErrLocked.
func (r *Repository) Prune(ctx context.Context, opts PruneOptions) (*PruneResult, error) {
	lk, unlock, err := r.lockFor(ctx, "prune", LockPrune, true)
	if err != nil {
		return nil, err
	}
	defer unlock()
	u, err := newUsedSet()
	if err != nil {
		return nil, fmt.Errorf("prune: %w", err)
	}
	defer u.close()
	p := &pruneRun{r: r, opts: opts, lk: lk, res: &PruneResult{}, u: u}
	if err := p.run(ctx); err != nil {
		return p.res, fmt.Errorf("prune: %w", err)
	}
	return p.res, nil
}

func (p *pruneRun) run(ctx context.Context) error {
	r, res := p.r, p.res
	if !p.opts.DryRun {
		removed, err := r.removeLocks(ctx, false, p.lk.lockName())
		res.StaleLocksRemoved = removed
		if err != nil {
			return err
		}
	}
	recs, err := p.records(ctx)
	if err != nil {
		return err
	}
	pending := map[ids.ID]struct{}{}
	for _, rec := range recs {
		for _, id := range rec.Packs {
			pending[id] = struct{}{}
		}
	}
	res.AlreadyPending = len(pending)

	// Phase 1: mark.
	marked, err := p.mark(ctx, pending)
	if err != nil {
		return err
	}
	if len(marked) > 0 && !p.opts.DryRun {
		rec, err := p.writeRecord(ctx, marked)
		if err != nil {
			return err
		}
		recs = append(recs, rec)
	}

	// Phase 2: sweep what may be swept.
	locks, err := r.listLockObjects(ctx, p.lk.lockName())
	if err != nil {
		return err
	}
	var eligible []pendingRecord
	for _, rec := range recs {
		if why := p.blocked(rec, locks, time.Now()); why != "" {
			res.Blocked = append(res.Blocked, why)
			continue
		}
		eligible = append(eligible, rec)
	}
	res.PendingRecords = len(recs) - len(eligible)
	if len(eligible) == 0 || p.opts.DryRun {
		if p.opts.DryRun {
			res.PendingRecords = len(recs)
		}
		return nil
	}
	return p.sweep(ctx, eligible)
}

// records loads the pending-deletion records and finalises those an interrupted prune left
// half-written (their time becomes now).
func (p *pruneRun) records(ctx context.Context) ([]pendingRecord, error) {
	all, err := p.r.listLockObjects(ctx, p.lk.lockName())
	if err != nil {
		return nil, err
	}
	var out []pendingRecord
	for _, e := range all {
		if e.typ != typePending {
			continue
		}
		rec := pendingRecord{name: e.name, pendingJSON: e.pend}
		if !rec.Final && !p.opts.DryRun {
			rec.Time, rec.Final = time.Now(), true
			name, err := p.r.savePending(ctx, rec.pendingJSON)
			if err != nil {
				return nil, err
			}
			if err := p.r.be.Remove(ctx, backend.Handle{Type: backend.Lock, Name: e.name}); err != nil && !isNotFound(err) {
				return nil, fmt.Errorf("remove pending-deletion record: %w", err)
			}
			rec.name = name
		}
		out = append(out, rec)
	}
	return out, nil
}

// writeRecord stores a pending-deletion record in two steps, so that its time T1 is taken
// after the record became visible: every backup whose lock starts after T1 read it.
func (p *pruneRun) writeRecord(ctx context.Context, packs []ids.ID) (pendingRecord, error) {
	first, err := p.r.savePending(ctx, pendingJSON{Time: time.Now(), Packs: packs})
	if err != nil {
		return pendingRecord{}, err
	}
	rec := pendingRecord{pendingJSON: pendingJSON{Version: 1, Time: time.Now(), Final: true, Packs: packs}}
	if rec.name, err = p.r.savePending(ctx, rec.pendingJSON); err != nil {
		return pendingRecord{}, err
	}
	if err := p.r.be.Remove(ctx, backend.Handle{Type: backend.Lock, Name: first}); err != nil && !isNotFound(err) {
		return pendingRecord{}, fmt.Errorf("remove pending-deletion record: %w", err)
	}
	return rec, nil
}

// blocked says why rec may not be swept yet ("" if it may): the grace period has not
// passed, or a live backup (or an unreadable lock) may have deduplicated against its
// packs without seeing the record.
func (p *pruneRun) blocked(rec pendingRecord, locks []lockEntry, now time.Time) string {
	if !rec.Final {
		return fmt.Sprintf("record %s is not final yet", shortName(rec.name))
	}
	if wait := rec.Time.Add(p.opts.grace()).Sub(now); wait > 0 {
		return fmt.Sprintf("record %s (%d packs): grace period ends in %s", shortName(rec.name), len(rec.Packs), wait.Round(time.Second))
	}
	limit := rec.Time.Add(p.opts.skew())
	for _, e := range locks {
		if e.name == p.lk.lockName() || e.typ == typePending {
			continue
		}
		info := p.r.lockInfo(e, now)
		if info.Unreadable {
			return fmt.Sprintf("record %s: unreadable lock %s (remove it with cairn unlock)", shortName(rec.name), shortName(e.name))
		}
		if !info.Stale && info.Kind == LockBackup && !info.Time.After(limit) {
			return fmt.Sprintf("record %s: waiting for %s", shortName(rec.name), info)
		}
	}
	return ""
}

// mark walks every snapshot into the used set, chooses one copy of each used blob, and
// marks unused, unindexed and missing packs; sparse packs are repacked first.
func (p *pruneRun) mark(ctx context.Context, pending map[ids.ID]struct{}) ([]ids.ID, error) {
	r, res, u := p.r, p.res, p.u
	snaps, err := r.liveSnapshots(ctx)
	if err != nil {
		return nil, err
	}
	res.Snapshots = len(snaps)
	cache, err := r.indexCache(ctx)
	if err != nil {
		return nil, err
	}
	if err := r.addSnapshots(ctx, u, cache, snaps); err != nil {
		return nil, err
	}
	if res.UsedBlobs, err = u.count(); err != nil {
		return nil, err
	}
	idxList, err := r.objectNames(ctx, backend.Index)
	if err != nil {
		return nil, err
	}
	stored, err := r.listPacks(ctx)
	if err != nil {
		return nil, err
	}
	res.Packs = len(stored)
	for _, n := range stored {
		res.Bytes += n
	}

	stats := map[ids.ID]*packStat{}
	superseded := map[ids.ID]struct{}{}
	present := map[ids.ID]struct{}{}
	for _, id := range idxList {
		present[id] = struct{}{}
	}
	err = r.forEachIndex(ctx, idxList, func(_ ids.ID, o *index.Object) error {
		for _, s := range o.Supersedes {
			superseded[s] = struct{}{}
		}
		return p.markEntries(o.Entries, stats, stored, pending)
	})
	if err != nil {
		return nil, err
	}
	if err := p.checkLocated(); err != nil {
		return nil, err
	}

	// Finish compactions an interrupted prune left: the superseding series is complete.
	if !p.opts.DryRun {
		for id := range superseded {
			if _, ok := present[id]; !ok {
				continue
			}
			if err := r.be.Remove(ctx, backend.Handle{Type: backend.Index, Name: id.String()}); err != nil && !isNotFound(err) {
				return nil, fmt.Errorf("remove superseded index %s: %w", id.Short(), err)
			}
			res.SupersededDeleted++
		}
	}

	var marked, repack []ids.ID
	thr := p.opts.threshold()
	for id, st := range stats {
		if _, ok := pending[id]; ok {
			continue
		}
		size, isStored := stored[id]
		switch {
		case !isStored:
			res.MissingPacks++
			marked = append(marked, id)
		case st.used == 0:
			res.UnusedPacks++
			res.MarkedBytes += size
			marked = append(marked, id)
		case thr < 1 && st.bytes > 0 && float64(st.bytes-st.usedByte) >= thr*float64(st.bytes):
			repack = append(repack, id)
		}
	}
	for id, size := range stored {
		if _, indexed := stats[id]; indexed {
			continue
		}
		if _, ok := pending[id]; ok {
			continue
		}
		res.UnindexedPacks++
		res.MarkedBytes += size
		marked = append(marked, id)
	}
	slices.SortFunc(repack, cmpID)
	if p.opts.DryRun {
		res.RepackPacks = len(repack)
		for _, id := range repack {
			res.MarkedBytes += stored[id]
		}
		res.MarkedPacks = len(marked) + len(repack)
		return nil, nil
	}
	done, err := p.repack(ctx, repack)
	if err != nil {
		return nil, err
	}
	for _, id := range done {
		res.MarkedBytes += stored[id]
	}
	marked = append(marked, done...)
	slices.SortFunc(marked, cmpID)
	res.MarkedPacks = len(marked)
	return marked, nil
}

func cmpID(a, b ids.ID) int { return bytes.Compare(a[:], b[:]) }

// markEntries updates pack statistics and the chosen copy of each used blob.
func (p *pruneRun) markEntries(entries []index.Entry, stats map[ids.ID]*packStat, stored map[ids.ID]int64, pending map[ids.ID]struct{}) error {
	es := sortedEntries(entries)
	for start := 0; start < len(es); start += setBatch {
		batch := es[start:min(start+setBatch, len(es))]
		err := p.u.db.Update(func(tx *bolt.Tx) error {
			b := tx.Bucket(bucketUsed)
			for i := range batch {
				e := &batch[i]
				st := stats[e.Pack]
				if st == nil {
					st = &packStat{}
					stats[e.Pack] = st
				}
				st.blobs++
				st.bytes += int64(e.Length)
				v := b.Get(e.ID[:])
				if v == nil {
					continue // unused
				}
				_, isPending := pending[e.Pack]
				_, isStored := stored[e.Pack]
				switch {
				case v[0] == stateLocated:
					if bytes.Equal(v[1:], e.Pack[:]) { // the chosen copy, listed again
						st.blobs--
						st.bytes -= int64(e.Length)
					}
				case isPending || !isStored:
					if isPending && v[0] == stateUnlocated {
						if err := b.Put(e.ID[:], []byte{statePendingOnly}); err != nil {
							return err
						}
					}
				default:
					if err := b.Put(e.ID[:], append([]byte{stateLocated}, e.Pack[:]...)); err != nil {
						return err
					}
					st.used++
					st.usedByte += int64(e.Length)
				}
			}
			return nil
		})
		if err != nil {
			return fmt.Errorf("temporary blob set: %w", err)
		}
	}
	return nil
}

// checkLocated refuses to go on when a snapshot needs a blob that no index places in a
// stored pack: deleting anything then could make matters worse.
func (p *pruneRun) checkLocated() error {
	var missing []string
	n := 0
	err := p.u.db.View(func(tx *bolt.Tx) error {
		return tx.Bucket(bucketUsed).ForEach(func(k, v []byte) error {
			if v[0] == stateUnlocated {
				n++
				if len(missing) < 5 {
					missing = append(missing, fmt.Sprintf("%x", k[:4]))
				}
			}
			return nil
		})
	})
	if err != nil {
		return err
	}
	if n > 0 {
		return fmt.Errorf("%w: %d blobs used by snapshots are in no stored pack (e.g. %v); run check, then repair",
			ErrCorrupt, n, missing)
	}
	return nil
}

// chosen reports which entries of pack (in order) are the kept copies of used blobs.
func (p *pruneRun) chosen(pack ids.ID, entries []index.Entry) ([]bool, error) {
	out := make([]bool, len(entries))
	err := p.u.db.View(func(tx *bolt.Tx) error {
		b := tx.Bucket(bucketUsed)
		for i := range entries {
			v := b.Get(entries[i].ID[:])
			out[i] = len(v) == 1+ids.Size && v[0] == stateLocated && bytes.Equal(v[1:], pack[:])
		}
		return nil
	})
	return out, err
}

// repack copies the kept blobs of each pack into new packs and indexes them, then returns
// the packs whose blobs are all safe elsewhere. A pack that fails verification is skipped
// (check reports it; repair packs handles it).
func (p *pruneRun) repack(ctx context.Context, packs []ids.ID) ([]ids.ID, error) {
	r, res := p.r, p.res
	if len(packs) == 0 {
		return nil, nil
	}
	w := r.newBlobWriter()
	var done []ids.ID
	for _, pack := range packs {
		data, err := r.be.Load(ctx, backend.Handle{Type: backend.Pack, Name: pack.String()}, 0, 0)
		if err != nil {
			return nil, fmt.Errorf("repack: %w", err)
		}
		entries, err := r.parsePack(pack, data)
		if err != nil {
			r.log.Warn("prune: not repacking a pack that fails verification", "pack", pack.Short(), "err", err)
			res.SkippedBadPacks = append(res.SkippedBadPacks, pack)
			continue
		}
		keep, err := p.chosen(pack, entries)
		if err != nil {
			return nil, err
		}
		op, err := r.key.NewPackOpener(data[packHeaderSize:packDataStart])
		if err != nil {
			return nil, err
		}
		ok := true
		for i, e := range entries {
			if !keep[i] {
				continue
			}
			aad := blobAAD(e.Type, e.ID)
			payload, err := op.OpenBlob(nil, uint64(e.Seq), aad[:], data[e.Offset:e.Offset+uint64(e.Length)])
			if err != nil {
				ok = false
				break
			}
			if err := w.add(ctx, e.Type, e.ID, int(e.RawLength), e.Compressed, payload); err != nil {
				return nil, fmt.Errorf("repack: %w", err)
			}
			res.RepackedBlobs++
		}
		if !ok {
			r.log.Warn("prune: not repacking a pack with a damaged blob", "pack", pack.Short())
			res.SkippedBadPacks = append(res.SkippedBadPacks, pack)
			continue
		}
		done = append(done, pack)
	}
	if err := w.finish(ctx); err != nil {
		return nil, fmt.Errorf("repack: %w", err)
	}
	res.RepackPacks = len(done)
	res.RepackedBytes = w.bytes
	return done, nil
}

// sweep deletes the packs of the eligible records that no current snapshot needs.
func (p *pruneRun) sweep(ctx context.Context, recs []pendingRecord) error {
	r, res := p.r, p.res
	del := map[ids.ID]struct{}{}
	for _, rec := range recs {
		for _, id := range rec.Packs {
			del[id] = struct{}{}
		}
	}
	// Re-compute the used set from the current snapshots: a backup that started before T1
	// may have deduplicated against a marked pack and finished since.
	snaps, err := r.liveSnapshots(ctx)
	if err != nil {
		return err
	}
	cache, err := r.indexCache(ctx)
	if err != nil {
		return err
	}
	if err := r.addSnapshots(ctx, p.u, cache, snaps); err != nil {
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
	keep, affected, err := p.sweepPass(ctx, idxList, stored, del)
	if err != nil {
		return err
	}
	for id := range keep {
		delete(del, id)
	}
	res.KeptPacks = len(keep)

	// Last look at the locks before anything is deleted (narrows the window in which a
	// backup declared stale could come back; docs/LIFECYCLE.md §6).
	locks, err := r.listLockObjects(ctx, p.lk.lockName())
	if err != nil {
		return err
	}
	for _, rec := range recs {
		if why := p.blocked(rec, locks, time.Now()); why != "" {
			res.Blocked = append(res.Blocked, why)
			res.PendingRecords += len(recs)
			return nil
		}
	}
	if err := p.lk.verify(ctx); err != nil {
		return err
	}

	written, err := r.rewriteIndexes(ctx, affected, del)
	res.IndexesWritten += written
	if err != nil {
		return err
	}
	res.IndexesDeleted += len(affected)
	doomed := make([]ids.ID, 0, len(del))
	for id := range del {
		doomed = append(doomed, id)
	}
	slices.SortFunc(doomed, cmpID)
	for _, id := range doomed {
		err := r.be.Remove(ctx, backend.Handle{Type: backend.Pack, Name: id.String()})
		if isNotFound(err) {
			continue
		}
		if err != nil {
			return fmt.Errorf("remove pack %s: %w", id.Short(), err)
		}
		res.DeletedPacks++
		res.DeletedBytes += stored[id]
	}
	for _, rec := range recs {
		if err := r.be.Remove(ctx, backend.Handle{Type: backend.Lock, Name: rec.name}); err != nil && !isNotFound(err) {
			return fmt.Errorf("remove pending-deletion record: %w", err)
		}
		res.SweptRecords++
	}
	return nil
}

// sweepPass finds the packs of del that hold a used blob with no copy in a stored pack
// outside del (they must stay), and the index objects that name any pack of del.
func (p *pruneRun) sweepPass(ctx context.Context, idxList []ids.ID, stored map[ids.ID]int64, del map[ids.ID]struct{}) (map[ids.ID]struct{}, []ids.ID, error) {
	db := p.u.db
	err := db.Update(func(tx *bolt.Tx) error {
		for _, name := range [][]byte{bucketCover, bucketInDel} {
			if err := tx.DeleteBucket(name); err != nil {
				return err
			}
			if _, err := tx.CreateBucket(name); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return nil, nil, err
	}
	var affected []ids.ID
	err = p.r.forEachIndex(ctx, idxList, func(iid ids.ID, o *index.Object) error {
		hit := false
		es := sortedEntries(o.Entries)
		for start := 0; start < len(es); start += setBatch {
			batch := es[start:min(start+setBatch, len(es))]
			err := db.Update(func(tx *bolt.Tx) error {
				used, cover, indel := tx.Bucket(bucketUsed), tx.Bucket(bucketCover), tx.Bucket(bucketInDel)
				for i := range batch {
					e := &batch[i]
					_, doomed := del[e.Pack]
					hit = hit || doomed
					if used.Get(e.ID[:]) == nil {
						continue
					}
					if doomed {
						k := make([]byte, 0, 2*ids.Size)
						k = append(append(k, e.Pack[:]...), e.ID[:]...)
						if err := indel.Put(k, nil); err != nil {
							return err
						}
					} else if _, ok := stored[e.Pack]; ok {
						if err := cover.Put(e.ID[:], nil); err != nil {
							return err
						}
					}
				}
				return nil
			})
			if err != nil {
				return err
			}
		}
		if hit {
			affected = append(affected, iid)
		}
		return nil
	})
	if err != nil {
		return nil, nil, err
	}
	keep := map[ids.ID]struct{}{}
	err = db.View(func(tx *bolt.Tx) error {
		cover := tx.Bucket(bucketCover)
		return tx.Bucket(bucketInDel).ForEach(func(k, _ []byte) error {
			if cover.Get(k[ids.Size:]) == nil {
				var pack ids.ID
				copy(pack[:], k[:ids.Size])
				keep[pack] = struct{}{}
			}
			return nil
		})
	})
	return keep, affected, err
}

// rewriteIndexes replaces the index objects affected by a series of new ones without the
// entries of the packs in del (the last new object lists affected as superseded), then
// deletes the affected objects. Packs are deleted only after this returns.
func (r *Repository) rewriteIndexes(ctx context.Context, affected []ids.ID, del map[ids.ID]struct{}) (int, error) {
	if len(affected) == 0 {
		return 0, nil
	}
	iw := &indexWriter{r: r}
	err := r.forEachIndex(ctx, affected, func(_ ids.ID, o *index.Object) error {
		for _, e := range o.Entries {
			if _, gone := del[e.Pack]; !gone {
				if err := iw.add(ctx, e); err != nil {
					return err
				}
			}
		}
		return nil
	})
	if err != nil {
		return len(iw.written), err
	}
	if iw.entries > 0 {
		if err := iw.finish(ctx, affected); err != nil {
			return len(iw.written), err
		}
	}
	for _, id := range affected {
		if err := r.be.Remove(ctx, backend.Handle{Type: backend.Index, Name: id.String()}); err != nil && !isNotFound(err) {
			return len(iw.written), fmt.Errorf("remove index %s: %w", id.Short(), err)
		}
	}
	return len(iw.written), nil
}
