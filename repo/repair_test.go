package repo

import (
	"bytes"
	"context"
	"slices"
	"testing"

	"github.com/cairnbackup/cairn/index"
	"github.com/cairnbackup/cairn/repo/backend"
)

func TestRepairIndexRebuildsFromPacks(t *testing.T) {
	ctx := context.Background()
	r, dir := newLCRepo(t)
	v1, v2 := randomVolume(3<<20, 71), randomVolume(1<<20, 72)
	s1, s2 := backupBytes(t, r, v1, "a"), backupBytes(t, r, v2, "b")
	old, err := r.objectNames(ctx, backend.Index)
	if err != nil {
		t.Fatal(err)
	}
	// Lose half the index objects.
	for _, id := range old[:len(old)/2+1] {
		if err := r.be.Remove(ctx, backend.Handle{Type: backend.Index, Name: id.String()}); err != nil {
			t.Fatal(err)
		}
	}
	if rep, _ := openLC(t, dir).Check(ctx, CheckOptions{}); rep.OK() {
		t.Fatal("check passed with index objects missing")
	}
	res, err := r.RepairIndex(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if res.Packs != countObjects(t, r, backend.Pack) || len(res.BadPacks) != 0 || res.IndexesRemoved != len(old)-len(old)/2-1 {
		t.Fatalf("RepairIndex: %+v", res)
	}
	r2 := openLC(t, dir)
	mustCheck(t, r2, CheckOptions{ReadData: true})
	checkRestore(t, r2, s1.ID, v1)
	checkRestore(t, r2, s2.ID, v2)
	// Idempotent.
	if _, err := r2.RepairIndex(ctx); err != nil {
		t.Fatal(err)
	}
	mustCheck(t, r2, CheckOptions{})
}

// packOf returns the pack holding blob id.
func packOf(t *testing.T, r *Repository, id ID) ID {
	t.Helper()
	c, err := r.indexCache(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	e, ok, err := c.Lookup(id)
	if err != nil || !ok {
		t.Fatalf("blob %s not indexed: %v", id.Short(), err)
	}
	return e.Pack
}

// dataPackOf returns a pack that holds data blobs but no list blob of any snapshot.
func dataPackOf(t *testing.T, r *Repository, snaps ...*Snapshot) ID {
	t.Helper()
	lists := map[ID]bool{}
	for _, s := range snaps {
		for _, l := range s.Lists {
			lists[packOf(t, r, l)] = true
		}
	}
	var found ID
	c, _ := r.indexCache(context.Background())
	_ = c.ForEach(func(e index.Entry) error {
		if e.Type == index.DataBlob && !lists[e.Pack] && found.IsZero() {
			found = e.Pack
		}
		return nil
	})
	if found.IsZero() {
		t.Fatal("no pack with only data blobs")
	}
	return found
}

func TestRepairSnapshotsRewritesWithZeros(t *testing.T) {
	ctx := context.Background()
	r, dir := newLCRepo(t)
	v := randomVolume(4<<20, 81)
	s := backupBytes(t, r, v, "a")
	lost := dataPackOf(t, r, s)
	if err := r.be.Remove(ctx, backend.Handle{Type: backend.Pack, Name: lost.String()}); err != nil {
		t.Fatal(err)
	}
	if _, err := r.RepairIndex(ctx); err != nil {
		t.Fatal(err)
	}
	r = openLC(t, dir)
	if rep, _ := r.Check(ctx, CheckOptions{}); rep.OK() {
		t.Fatal("check passed with a lost pack")
	}
	dmg, err := r.RepairSnapshots(ctx, false)
	if err != nil || len(dmg) != 1 || dmg[0].Action != "reported" || dmg[0].MissingBlobs == 0 {
		t.Fatalf("report: %+v %v", dmg, err)
	}
	if all, _ := r.Snapshots(ctx); len(all) != 1 || all[0].ID != s.ID {
		t.Fatal("report-only run changed snapshots")
	}
	dmg, err = r.RepairSnapshots(ctx, true)
	if err != nil || len(dmg) != 1 || dmg[0].Action != "rewritten" {
		t.Fatalf("force: %+v %v", dmg, err)
	}
	mustCheck(t, r, CheckOptions{ReadData: true})
	all, _ := r.Snapshots(ctx)
	if len(all) != 1 || !slices.Contains(all[0].Tags, RepairedTag) || all[0].Size != s.Size {
		t.Fatalf("snapshots after repair: %+v", all)
	}
	var got bytes.Buffer
	if err := r.RestoreStream(ctx, all[0].ID, &got, RestoreOptions{}); err != nil {
		t.Fatal(err)
	}
	// Every byte is either the original or a zero of a lost chunk.
	zeroed := 0
	for i, b := range got.Bytes() {
		if b != v[i] {
			if b != 0 {
				t.Fatalf("byte %d: %d, want %d or 0", i, b, v[i])
			}
			zeroed++
		}
	}
	if int64(zeroed) > dmg[0].MissingBytes || zeroed == 0 {
		t.Fatalf("%d bytes zeroed, %d reported missing", zeroed, dmg[0].MissingBytes)
	}
}

func TestRepairSnapshotsRemovesSnapshotWithLostList(t *testing.T) {
	ctx := context.Background()
	r, dir := newLCRepo(t)
	s := backupBytes(t, r, randomVolume(1<<20, 91), "a")
	keep := backupBytes(t, r, randomVolume(1<<20, 92), "b")
	if err := r.be.Remove(ctx, backend.Handle{Type: backend.Pack, Name: packOf(t, r, s.Lists[0]).String()}); err != nil {
		t.Fatal(err)
	}
	if _, err := r.RepairIndex(ctx); err != nil {
		t.Fatal(err)
	}
	r = openLC(t, dir)
	dmg, err := r.RepairSnapshots(ctx, true)
	if err != nil || len(dmg) == 0 {
		t.Fatalf("%+v %v", dmg, err)
	}
	for _, d := range dmg {
		if d.Snapshot == s.ID && d.Action != "removed" {
			t.Fatalf("snapshot with a lost list: %+v", d)
		}
	}
	all, _ := r.Snapshots(ctx)
	for _, x := range all {
		if x.ID == s.ID {
			t.Fatal("snapshot with a lost list kept")
		}
	}
	mustCheck(t, r, CheckOptions{})
	_ = keep
}

func TestRepairPacks(t *testing.T) {
	ctx := context.Background()
	r, dir := newLCRepo(t)
	v := randomVolume(3<<20, 101)
	s := backupBytes(t, r, v, "a")
	bad := dataPackOf(t, r, s)
	// Flip a byte inside a blob, keeping the name: the pack no longer matches its hash.
	damage(t, r, backend.Handle{Type: backend.Pack, Name: bad.String()}, func(b []byte) []byte { b[packDataStart+10] ^= 0xff; return b })
	dmg, err := r.RepairPacks(ctx, false)
	if err != nil || len(dmg) != 1 || dmg[0].Pack != bad || dmg[0].Removed {
		t.Fatalf("report: %+v %v", dmg, err)
	}
	if _, err := r.be.Stat(ctx, backend.Handle{Type: backend.Pack, Name: bad.String()}); err != nil {
		t.Fatal("report-only run removed the pack")
	}
	dmg, err = r.RepairPacks(ctx, true)
	if err != nil || len(dmg) != 1 || !dmg[0].Removed {
		t.Fatalf("force: %+v %v", dmg, err)
	}
	r = openLC(t, dir)
	rep, err := r.Check(ctx, CheckOptions{ReadData: true})
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range rep.Problems {
		if p.Level == LevelError && !bytes.Contains([]byte(p.Object), []byte("snapshots/")) {
			t.Fatalf("after repair packs, only snapshots may be damaged: %v", p)
		}
	}
	if _, err := r.RepairSnapshots(ctx, true); err != nil {
		t.Fatal(err)
	}
	mustCheck(t, r, CheckOptions{ReadData: true})
}

func TestRepairPacksSalvagesIntactBlobs(t *testing.T) {
	ctx := context.Background()
	r, dir := newLCRepo(t)
	v := randomVolume(3<<20, 111)
	s := backupBytes(t, r, v, "a")
	bad := dataPackOf(t, r, s)
	// Rewrite the pack with one blob damaged but a matching name: parsePack passes, one
	// blob fails authentication.
	data, err := r.be.Load(ctx, backend.Handle{Type: backend.Pack, Name: bad.String()}, 0, 0)
	if err != nil {
		t.Fatal(err)
	}
	entries, err := r.parsePack(bad, data)
	if err != nil || len(entries) < 2 {
		t.Fatalf("%d entries, %v", len(entries), err)
	}
	data[entries[1].Offset+3] ^= 0xff
	newID := ID(hashOf(data))
	if err := r.be.Save(ctx, backend.Handle{Type: backend.Pack, Name: newID.String()}, data); err != nil {
		t.Fatal(err)
	}
	if err := r.be.Remove(ctx, backend.Handle{Type: backend.Pack, Name: bad.String()}); err != nil {
		t.Fatal(err)
	}
	if _, err := r.RepairIndex(ctx); err != nil {
		t.Fatal(err)
	}
	dmg, err := r.RepairPacks(ctx, true)
	if err != nil || len(dmg) != 1 || dmg[0].DamagedBlobs != 1 || dmg[0].Salvaged != len(entries)-1 {
		t.Fatalf("%+v %v", dmg, err)
	}
	r = openLC(t, dir)
	dmg2, err := r.RepairSnapshots(ctx, true)
	if err != nil || len(dmg2) != 1 || dmg2[0].MissingBlobs != 1 {
		t.Fatalf("exactly the damaged blob must be lost: %+v %v", dmg2, err)
	}
	mustCheck(t, r, CheckOptions{ReadData: true})
}
