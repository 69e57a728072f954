package repo

import (
	"context"
	"testing"
	"time"

	"github.com/cairnbackup/cairn/repo/backend"
)

func TestPruneDeletesUnusedAndKeepsUsed(t *testing.T) {
	ctx := context.Background()
	r, dir := newLCRepo(t)
	v1 := randomVolume(3<<20, 1)
	v2 := editVolume(v1, 2, 3)
	v3 := randomVolume(2<<20, 3)
	s1 := backupBytes(t, r, v1, "a")
	s2 := backupBytes(t, r, v2, "a")
	s3 := backupBytes(t, r, v3, "b")
	full := dirSize(t, dir)

	// Nothing unused yet.
	res := mustPrune(t, r, noGrace)
	if res.MarkedPacks != 0 || res.DeletedPacks != 0 {
		t.Fatalf("prune of a fully used repository: %+v", res)
	}
	if err := r.RemoveSnapshots(ctx, []ID{s1.ID, s3.ID}); err != nil {
		t.Fatal(err)
	}
	before := dirSize(t, dir)
	dry := mustPrune(t, r, PruneOptions{Grace: -1, ClockSkew: -1, DryRun: true})
	if dry.MarkedPacks == 0 || dry.DeletedPacks != 0 {
		t.Fatalf("dry run: %+v", dry)
	}
	if dirSize(t, dir) != before {
		t.Fatal("dry run changed the repository")
	}
	res = mustPrune(t, r, noGrace)
	if res.DeletedPacks == 0 || res.SweptRecords != 1 || res.UnusedPacks == 0 {
		t.Fatalf("prune: %+v", res)
	}
	after := dirSize(t, dir)
	if after >= full-int64(len(v3)) {
		t.Fatalf("repository %d bytes before, %d after: too little reclaimed", before, after)
	}
	checkRestore(t, r, s2.ID, v2)
	mustCheck(t, r, CheckOptions{ReadData: true})
	if n := countObjects(t, r, backend.Lock); n != 0 {
		t.Fatalf("%d objects left under locks/", n)
	}
	// A second run finds nothing to do.
	if res := mustPrune(t, r, noGrace); res.MarkedPacks != 0 || res.DeletedPacks != 0 {
		t.Fatalf("second prune: %+v", res)
	}
	// A fresh handle (new cache) still restores.
	checkRestore(t, openLC(t, dir), s2.ID, v2)
}

func TestPruneGraceTwoPhases(t *testing.T) {
	ctx := context.Background()
	r, _ := newLCRepo(t)
	v1 := randomVolume(2<<20, 11)
	s1 := backupBytes(t, r, v1, "a")
	if err := r.RemoveSnapshots(ctx, []ID{s1.ID}); err != nil {
		t.Fatal(err)
	}
	res := mustPrune(t, r, PruneOptions{}) // default grace: mark only
	if res.MarkedPacks == 0 || res.DeletedPacks != 0 || res.PendingRecords != 1 || len(res.Blocked) != 1 {
		t.Fatalf("first prune: %+v", res)
	}
	packs := countObjects(t, r, backend.Pack)
	// A backup after the mark must not deduplicate against marked packs.
	s2 := backupBytes(t, r, v1, "a")
	if s2.Stats.NewBytes != int64(len(v1)) {
		t.Fatalf("backup after mark stored %d new bytes, want all %d (marked packs are excluded)", s2.Stats.NewBytes, len(v1))
	}
	// Another prune within the grace period does not delete, and does not re-mark.
	res = mustPrune(t, r, PruneOptions{})
	if res.DeletedPacks != 0 || res.MarkedPacks != 0 || res.AlreadyPending != packs {
		t.Fatalf("second prune: %+v (packs %d)", res, packs)
	}
	res = mustPrune(t, r, PruneOptions{Grace: -1, ClockSkew: -1})
	if res.DeletedPacks != packs || res.KeptPacks != 0 {
		t.Fatalf("sweep: %+v, want %d packs deleted", res, packs)
	}
	checkRestore(t, r, s2.ID, v1)
	mustCheck(t, r, CheckOptions{ReadData: true})
}

// A backup that started before the mark and deduplicated against a marked pack blocks
// the sweep while it runs; once its snapshot exists the sweep keeps the pack.
func TestPruneSweepRespectsEarlierBackups(t *testing.T) {
	ctx := context.Background()
	r, _ := newLCRepo(t)
	v1 := randomVolume(2<<20, 21)
	s1 := backupBytes(t, r, v1, "a")
	sealed, err := r.be.Load(ctx, backend.Handle{Type: backend.Snapshot, Name: s1.ID.String()}, 0, 0)
	if err != nil {
		t.Fatal(err)
	}
	// The "slow backup" takes its lock before the mark.
	slow, err := r.acquireLock(ctx, LockBackup, false)
	if err != nil {
		t.Fatal(err)
	}
	if err := r.RemoveSnapshots(ctx, []ID{s1.ID}); err != nil {
		t.Fatal(err)
	}
	res := mustPrune(t, r, noGrace)
	if res.MarkedPacks == 0 || res.DeletedPacks != 0 || len(res.Blocked) == 0 {
		t.Fatalf("prune with an older backup running: %+v", res)
	}
	// It finishes: its snapshot (deduplicated against the marked packs) appears, the lock goes.
	if err := r.be.Save(ctx, backend.Handle{Type: backend.Snapshot, Name: s1.ID.String()}, sealed); err != nil {
		t.Fatal(err)
	}
	if err := slow.release(ctx); err != nil {
		t.Fatal(err)
	}
	res = mustPrune(t, r, noGrace)
	if res.SweptRecords != 1 || res.DeletedPacks != 0 || res.KeptPacks != res.AlreadyPending {
		t.Fatalf("sweep after the backup finished: %+v", res)
	}
	checkRestore(t, r, s1.ID, v1)
	mustCheck(t, r, CheckOptions{ReadData: true})
	if n := countObjects(t, r, backend.Lock); n != 0 {
		t.Fatalf("%d objects left under locks/", n)
	}
}

func TestPruneRepacks(t *testing.T) {
	ctx := context.Background()
	r, dir := newLCRepo(t)
	// Interleave two volumes in 512 KiB runs so every 1 MiB pack holds blobs of both,
	// whatever order the pipeline packs them in (concatenated, the pack at the seam
	// could fall either side of the repack threshold).
	v1, v2 := randomVolume(3<<20, 31), randomVolume(3<<20, 32)
	const run = 512 << 10
	var mixed []byte
	for off := 0; off < len(v1); off += run {
		mixed = append(mixed, v1[off:off+run]...)
		mixed = append(mixed, v2[off:off+run]...)
	}
	s := backupBytes(t, r, mixed, "m")
	keep := backupBytes(t, r, v2, "half")
	if keep.Stats.NewBytes > 256<<10 {
		t.Fatalf("second half deduplicated poorly: %d new bytes", keep.Stats.NewBytes)
	}
	if err := r.RemoveSnapshots(ctx, []ID{s.ID}); err != nil {
		t.Fatal(err)
	}
	before := dirSize(t, dir)
	res := mustPrune(t, r, PruneOptions{Grace: -1, ClockSkew: -1, RepackThreshold: 0.2})
	if res.RepackPacks == 0 || res.RepackedBlobs == 0 || res.DeletedPacks == 0 {
		t.Fatalf("prune: %+v", res)
	}
	if after := dirSize(t, dir); after > before-2<<20 {
		t.Fatalf("%d bytes before, %d after", before, after)
	}
	checkRestore(t, r, keep.ID, v2)
	mustCheck(t, r, CheckOptions{ReadData: true})
	// Never repack: nothing changes.
	if res := mustPrune(t, r, PruneOptions{Grace: -1, ClockSkew: -1, RepackThreshold: 1}); res.MarkedPacks != 0 {
		t.Fatalf("third prune: %+v", res)
	}
}

func TestPruneRemovesUnindexedPacksAndLeftovers(t *testing.T) {
	ctx := context.Background()
	r, _ := newLCRepo(t)
	v := randomVolume(1<<20, 41)
	s := backupBytes(t, r, v, "a")
	// An interrupted backup's pack: stored, never indexed.
	w := r.newBlobWriter()
	if err := w.addPlain(ctx, 0, ID(r.key.NewChunkHasher().Sum([]byte("orphan"))), []byte("orphan")); err != nil {
		t.Fatal(err)
	}
	if err := w.flushPack(ctx); err != nil {
		t.Fatal(err)
	}
	w.pending = nil
	rep := mustCheck(t, r, CheckOptions{})
	if rep.UnindexedPacks != 1 || rep.Infos == 0 {
		t.Fatalf("check: %+v", rep)
	}
	res := mustPrune(t, r, noGrace)
	if res.UnindexedPacks != 1 || res.DeletedPacks != 1 {
		t.Fatalf("prune: %+v", res)
	}
	rep = mustCheck(t, r, CheckOptions{ReadData: true})
	if rep.UnindexedPacks != 0 {
		t.Fatalf("after prune: %+v", rep)
	}
	checkRestore(t, r, s.ID, v)
}

func TestPruneLockedAndStale(t *testing.T) {
	ctx := context.Background()
	r, dir := newLCRepo(t)
	other := openLC(t, dir)
	l, err := other.acquireLock(ctx, LockPrune, true)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := r.Prune(ctx, noGrace); err == nil {
		t.Fatal("two prunes at once")
	}
	r.life.staleAfter = time.Nanosecond
	res, err := r.Prune(ctx, noGrace)
	if err != nil {
		t.Fatalf("prune beside a stale lock: %v", err)
	}
	if len(res.StaleLocksRemoved) != 1 {
		t.Fatalf("stale locks removed: %+v", res.StaleLocksRemoved)
	}
	if err := l.verify(ctx); err == nil {
		t.Fatal("holder did not notice its lock was removed")
	}
	l.release(ctx)
}
