package repo

import (
	"context"
	"fmt"
	"slices"

	"github.com/cairnbackup/cairn/index"
	"github.com/cairnbackup/cairn/internal/ids"
	"github.com/cairnbackup/cairn/repo/backend"
)

// RepairedTag is added to a snapshot that RepairSnapshots rewrote with zeros in place of
// lost data.
const RepairedTag = "repaired"

// RepairIndexResult reports what RepairIndex did.
type RepairIndexResult struct {
	Packs          int  `json:"packs"` // packs read and indexed
	Blobs          int  `json:"blobs"`
	BadPacks       []ID `json:"bad_packs,omitempty"` // packs whose table did not verify (not indexed)
	IndexesWritten int  `json:"indexes_written"`
	IndexesRemoved int  `json:"indexes_removed"`
}

// RepairIndex rebuilds the index from the packs alone: it reads every pack's table
// (verifying the pack's name hash and table authentication), writes new index objects, the
// last of which supersedes every index object that existed before, and then removes those.
// A pack whose table does not verify is left out and reported (see RepairPacks). Safe
// against concurrent backups; excludes prune.
func (r *Repository) RepairIndex(ctx context.Context) (*RepairIndexResult, error) {
	lk, unlock, err := r.lockFor(ctx, "repair index", LockRepair, true)
	if err != nil {
		return nil, err
	}
	defer unlock()
	res := &RepairIndexResult{}
	// Index objects first, then packs: every pack an old object names was stored before it.
	old, err := r.objectNames(ctx, backend.Index)
	if err != nil {
		return nil, fmt.Errorf("repair index: %w", err)
	}
	stored, err := r.listPacks(ctx)
	if err != nil {
		return nil, fmt.Errorf("repair index: %w", err)
	}
	packs := make([]ids.ID, 0, len(stored))
	for id := range stored {
		packs = append(packs, id)
	}
	slices.SortFunc(packs, cmpID)
	iw := &indexWriter{r: r}
	for _, p := range packs {
		data, err := r.be.Load(ctx, backend.Handle{Type: backend.Pack, Name: p.String()}, 0, 0)
		if isNotFound(err) {
			continue
		}
		if err != nil {
			return res, fmt.Errorf("repair index: %w", err)
		}
		entries, err := r.parsePack(p, data)
		if err != nil {
			r.log.Warn("repair index: pack does not verify; not indexed", "pack", p.Short(), "err", err)
			res.BadPacks = append(res.BadPacks, p)
			continue
		}
		if err := iw.add(ctx, entries...); err != nil {
			return res, fmt.Errorf("repair index: %w", err)
		}
		res.Packs++
		res.Blobs += len(entries)
	}
	if err := iw.finish(ctx, old); err != nil {
		return res, fmt.Errorf("repair index: %w", err)
	}
	res.IndexesWritten = len(iw.written)
	if err := lk.verify(ctx); err != nil {
		return res, fmt.Errorf("repair index: %w", err)
	}
	for _, id := range old {
		if err := r.be.Remove(ctx, backend.Handle{Type: backend.Index, Name: id.String()}); err != nil && !isNotFound(err) {
			return res, fmt.Errorf("repair index: remove index %s: %w", id.Short(), err)
		}
		res.IndexesRemoved++
	}
	return res, nil
}

// SnapshotDamage describes one snapshot that needs blobs the repository no longer has.
type SnapshotDamage struct {
	Snapshot     ID     `json:"snapshot"`
	Name         string `json:"name,omitempty"`
	MissingBlobs int    `json:"missing_blobs"`
	MissingBytes int64  `json:"missing_bytes"`
	BadLists     int    `json:"bad_lists"` // chunk-list blobs missing or unreadable
	// Action: "reported" (without force), "rewritten" (lost data replaced by zeros, tagged
	// RepairedTag, old snapshot removed) or "removed" (a chunk list is lost, so offsets
	// are unknown).
	Action      string `json:"action"`
	NewSnapshot ID     `json:"new_snapshot,omitzero"`
}

// RepairSnapshots finds snapshots that reference blobs which are not indexed or whose pack
// is not stored. Without force it only reports them. With force, a snapshot whose chunk
// lists are intact is rewritten with zero runs in place of the lost chunks (so the volume
// keeps its size and every other byte) and tagged RepairedTag; a snapshot with a lost
// chunk list is removed. Data is never deleted here; run RepairIndex first if check
// reported index problems.
func (r *Repository) RepairSnapshots(ctx context.Context, force bool) ([]SnapshotDamage, error) {
	lk, unlock, err := r.lockFor(ctx, "repair snapshots", LockRepair, true)
	if err != nil {
		return nil, err
	}
	defer unlock()
	snaps, err := r.Snapshots(ctx)
	if err != nil {
		return nil, fmt.Errorf("repair snapshots: %w", err)
	}
	cache, err := r.indexCache(ctx)
	if err != nil {
		return nil, fmt.Errorf("repair snapshots: %w", err)
	}
	stored, err := r.listPacks(ctx)
	if err != nil {
		return nil, fmt.Errorf("repair snapshots: %w", err)
	}
	out := []SnapshotDamage{}
	for _, s := range snaps {
		d, err := r.snapshotDamage(ctx, cache, stored, s, nil)
		if err != nil {
			return out, fmt.Errorf("repair snapshots: %w", err)
		}
		if d.MissingBlobs == 0 && d.BadLists == 0 {
			continue
		}
		d.Action = "reported"
		if force {
			if err := r.repairSnapshot(ctx, lk, cache, stored, s, &d); err != nil {
				return out, fmt.Errorf("repair snapshots: %w", err)
			}
		}
		out = append(out, d)
	}
	return out, nil
}

// snapshotDamage walks s; if emit is set it receives every extent in order, with lost
// data extents turned into zero extents.
func (r *Repository) snapshotDamage(ctx context.Context, cache *index.Cache, stored map[ids.ID]int64, s *Snapshot, emit func(Extent) error) (SnapshotDamage, error) {
	d := SnapshotDamage{Snapshot: s.ID, Name: s.Name}
	var buf []byte
	var exts []Extent
	var list []ids.ID
	for _, lid := range s.Lists {
		e, ok, err := cache.Lookup(lid)
		if err != nil {
			return d, err
		}
		if _, have := stored[e.Pack]; !ok || !have || e.Type != index.ListBlob {
			d.BadLists++
			continue
		}
		if buf, err = r.readBlob(ctx, e, buf); err != nil {
			if !isCorrupt(err) && !isNotFound(err) {
				return d, err
			}
			d.BadLists++
			continue
		}
		exts = exts[:0]
		if _, err := decodeList(buf, 0, func(x Extent) error { exts = append(exts, x); return nil }); err != nil {
			d.BadLists++
			continue
		}
		list = list[:0]
		for _, x := range exts {
			list = append(list, x.Blob)
		}
		lost := make([]bool, len(exts))
		err = cache.LookupBatch(list, func(i int, loc index.Entry, ok bool) {
			if exts[i].Zero {
				return
			}
			_, have := stored[loc.Pack]
			if !ok || !have || loc.Type != index.DataBlob || int64(loc.RawLength) != exts[i].Length {
				lost[i] = true
			}
		})
		if err != nil {
			return d, err
		}
		for i, x := range exts {
			if lost[i] {
				d.MissingBlobs++
				d.MissingBytes += x.Length
				x = Extent{Length: x.Length, Zero: true}
			}
			if emit != nil {
				if err := emit(x); err != nil {
					return d, err
				}
			}
		}
	}
	return d, nil
}

func (r *Repository) repairSnapshot(ctx context.Context, lk *heldLock, cache *index.Cache, stored map[ids.ID]int64, s *Snapshot, d *SnapshotDamage) error {
	if err := lk.verify(ctx); err != nil {
		return err
	}
	if d.BadLists > 0 {
		if err := r.removeSnapshot(ctx, s.ID); err != nil {
			return err
		}
		d.Action = "removed"
		return nil
	}
	w := r.newBlobWriter()
	h := r.key.NewChunkHasher()
	var lb listBuilder
	ns := *s
	ns.Lists = []ID{}
	ns.Size = 0
	emitList := func() error {
		pt := lb.take()
		id := ID(h.Sum(pt))
		ns.Lists = append(ns.Lists, id)
		return w.addPlain(ctx, index.ListBlob, id, pt)
	}
	if _, err := r.snapshotDamage(ctx, cache, stored, s, func(x Extent) error {
		ns.Size += x.Length
		if lb.add(x) {
			return emitList()
		}
		return nil
	}); err != nil {
		return err
	}
	if lb.records > 0 {
		if err := emitList(); err != nil {
			return err
		}
	}
	if ns.Size != s.Size {
		return fmt.Errorf("%w: snapshot %s: lists cover %d bytes, snapshot says %d", ErrCorrupt, s.ID.Short(), ns.Size, s.Size)
	}
	if err := w.finish(ctx); err != nil {
		return err
	}
	if !slices.Contains(ns.Tags, RepairedTag) {
		ns.Tags = append(slices.Clone(ns.Tags), RepairedTag)
	}
	payload, err := marshalSnapshot(&ns)
	if err != nil {
		return err
	}
	id, err := r.saveObject(ctx, backend.Snapshot, typeSnapshot, payload)
	if err != nil {
		return fmt.Errorf("save snapshot: %w", err)
	}
	if err := r.removeSnapshot(ctx, s.ID); err != nil {
		return err
	}
	d.Action, d.NewSnapshot = "rewritten", id
	return nil
}

// PackDamage describes one pack that failed verification.
type PackDamage struct {
	Pack         ID     `json:"pack"`
	Error        string `json:"error"`
	Blobs        int    `json:"blobs"`         // blobs in its table (0 if the table is unreadable)
	DamagedBlobs int    `json:"damaged_blobs"` // blobs that failed authentication or their ID check
	Salvaged     int    `json:"salvaged"`      // intact blobs copied to new packs (force)
	Removed      bool   `json:"removed"`
}

// RepairPacks reads and verifies every pack. Without force it only reports damaged ones.
// With force it copies every intact blob of a damaged pack into new packs, rewrites the
// index without the damaged packs, and then removes them; snapshots that needed a lost blob
// are then reported by check and fixed by RepairSnapshots.
func (r *Repository) RepairPacks(ctx context.Context, force bool) ([]PackDamage, error) {
	lk, unlock, err := r.lockFor(ctx, "repair packs", LockRepair, true)
	if err != nil {
		return nil, err
	}
	defer unlock()
	stored, err := r.listPacks(ctx)
	if err != nil {
		return nil, fmt.Errorf("repair packs: %w", err)
	}
	packs := make([]ids.ID, 0, len(stored))
	for id := range stored {
		packs = append(packs, id)
	}
	slices.SortFunc(packs, cmpID)
	out := []PackDamage{}
	w := r.newBlobWriter()
	h := r.key.NewChunkHasher()
	for _, p := range packs {
		d, err := r.verifyPack(ctx, p, h, w, force)
		if err != nil {
			return out, fmt.Errorf("repair packs: %w", err)
		}
		if d != nil {
			out = append(out, *d)
		}
	}
	if !force || len(out) == 0 {
		return out, nil
	}
	if err := w.finish(ctx); err != nil {
		return out, fmt.Errorf("repair packs: %w", err)
	}
	del := map[ids.ID]struct{}{}
	for _, d := range out {
		del[d.Pack] = struct{}{}
	}
	idxList, err := r.objectNames(ctx, backend.Index)
	if err != nil {
		return out, fmt.Errorf("repair packs: %w", err)
	}
	var affected []ids.ID
	err = r.forEachIndex(ctx, idxList, func(id ids.ID, o *index.Object) error {
		for _, e := range o.Entries {
			if _, ok := del[e.Pack]; ok {
				affected = append(affected, id)
				break
			}
		}
		return nil
	})
	if err != nil {
		return out, fmt.Errorf("repair packs: %w", err)
	}
	if err := lk.verify(ctx); err != nil {
		return out, fmt.Errorf("repair packs: %w", err)
	}
	if _, err := r.rewriteIndexes(ctx, affected, del); err != nil {
		return out, fmt.Errorf("repair packs: %w", err)
	}
	for i := range out {
		err := r.be.Remove(ctx, backend.Handle{Type: backend.Pack, Name: out[i].Pack.String()})
		if err != nil && !isNotFound(err) {
			return out, fmt.Errorf("repair packs: remove pack %s: %w", out[i].Pack.Short(), err)
		}
		out[i].Removed = true
	}
	return out, nil
}

// verifyPack returns nil for an intact pack, else its damage; with salvage, intact blobs
// of a damaged pack go to w.
func (r *Repository) verifyPack(ctx context.Context, p ids.ID, h interface{ Sum([]byte) [32]byte }, w *blobWriter, salvage bool) (*PackDamage, error) {
	data, err := r.be.Load(ctx, backend.Handle{Type: backend.Pack, Name: p.String()}, 0, 0)
	if isNotFound(err) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	entries, err := r.parsePack(p, data)
	if err != nil {
		return &PackDamage{Pack: p, Error: err.Error()}, nil
	}
	op, err := r.key.NewPackOpener(data[packHeaderSize:packDataStart])
	if err != nil {
		return nil, err
	}
	type good struct {
		e       index.Entry
		payload []byte
	}
	var ok []good
	var firstErr error
	damaged := 0
	for _, e := range entries {
		sealed := data[e.Offset : e.Offset+uint64(e.Length)]
		pt, err := r.openBlob(op, e, sealed, nil)
		if err == nil && ID(h.Sum(pt)) != e.ID {
			err = fmt.Errorf("%w: blob %s: content does not match its ID", ErrCorrupt, e.ID.Short())
		}
		if err != nil {
			damaged++
			if firstErr == nil {
				firstErr = err
			}
			continue
		}
		aad := blobAAD(e.Type, e.ID)
		payload, _ := op.OpenBlob(nil, uint64(e.Seq), aad[:], sealed)
		ok = append(ok, good{e, payload})
	}
	if damaged == 0 {
		return nil, nil
	}
	d := &PackDamage{Pack: p, Error: firstErr.Error(), Blobs: len(entries), DamagedBlobs: damaged}
	if salvage {
		for _, g := range ok {
			if err := w.add(ctx, g.e.Type, g.e.ID, int(g.e.RawLength), g.e.Compressed, g.payload); err != nil {
				return nil, err
			}
			d.Salvaged++
		}
	}
	return d, nil
}
