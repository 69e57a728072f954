package repo

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/cairnbackup/cairn/internal/miniotest"
)

// Several backups (separate handles, as separate processes would be) run in a loop while
// one process repeatedly forgets old snapshots and prunes with no grace period. Every
// snapshot left at the end must restore exactly, and check must pass.
func TestConcurrentBackupsForgetPrune(t *testing.T) {
	r0, dir := newLCRepo(t)
	concurrentBackupsForgetPrune(t, r0, dir)
}

// TestConcurrentBackupsForgetPruneZones is the same over a 4+2 zones repository on six real
// MinIO servers, where locks and pending-deletion records are replicated objects and packs
// are erasure-coded shards.
func TestConcurrentBackupsForgetPruneZones(t *testing.T) {
	srvs := miniotest.Start(t, 6)
	r0, loc := newLCRepoAt(t, writeZonesFile(t, srvs, 4, 2))
	concurrentBackupsForgetPrune(t, r0, loc)
}

func concurrentBackupsForgetPrune(t *testing.T, r0 *Repository, dir string) {
	ctx := context.Background()
	const workers, rounds = 3, 4
	var (
		mu       sync.Mutex
		contents = map[ID][]byte{}
		running  atomic.Int32
		wg       sync.WaitGroup
		errs     = make(chan error, workers+1)
	)
	volume := func(w, i int) []byte {
		base := randomVolume(768<<10, uint64(1000+w))
		return append(editVolume(base, uint64(100*w+i), 2), randomVolume(128<<10, uint64(10000*w+i))...)
	}
	running.Store(workers)
	for w := range workers {
		r := openLC(t, dir)
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer running.Add(-1)
			for i := range rounds {
				data := volume(w, i)
				s, err := r.Backup(ctx, bytesReader(data), BackupOptions{Name: fmt.Sprint("w", w)})
				if err != nil {
					errs <- fmt.Errorf("worker %d round %d: %w", w, i, err)
					return
				}
				mu.Lock()
				contents[s.ID] = data
				mu.Unlock()
			}
		}()
	}
	pr := openLC(t, dir)
	var prunes, deleted, kept, blocked int
	wg.Add(1)
	go func() {
		defer wg.Done()
		for running.Load() > 0 {
			if _, err := pr.Forget(ctx, ForgetPolicy{Last: 2}, false); err != nil {
				errs <- err
				return
			}
			res, err := pr.Prune(ctx, PruneOptions{Grace: -1, ClockSkew: -1, RepackThreshold: 0.3})
			if err != nil {
				errs <- err
				return
			}
			prunes++
			deleted += res.DeletedPacks
			kept += res.KeptPacks
			blocked += len(res.Blocked)
		}
	}()
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	// Quiet now: a last forget+prune sweeps everything that was blocked.
	if _, err := pr.Forget(ctx, ForgetPolicy{Last: 2}, false); err != nil {
		t.Fatal(err)
	}
	res := mustPrune(t, pr, noGrace)
	if res.PendingRecords != 0 {
		t.Fatalf("records left after the final prune: %+v", res)
	}
	deleted += res.DeletedPacks
	t.Logf("%d prunes during backups: %d packs deleted, %d kept because a backup used them, %d sweeps deferred",
		prunes, deleted, kept, blocked)
	if deleted == 0 {
		t.Fatal("nothing was ever deleted")
	}
	mustCheck(t, r0, CheckOptions{ReadData: true})
	snaps, err := r0.Snapshots(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(snaps) != 2*workers {
		t.Fatalf("%d snapshots left, want %d", len(snaps), 2*workers)
	}
	for _, s := range snaps {
		checkRestore(t, r0, s.ID, contents[s.ID])
	}
}
