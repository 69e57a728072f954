package repo

import (
	"bytes"
	"context"
	"errors"
	"maps"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/cairnbackup/cairn/repo/backend"
	"github.com/cairnbackup/cairn/repo/backend/mem"
)

func TestLockConflicts(t *testing.T) {
	ctx := context.Background()
	r, dir := newLCRepo(t)
	other := openLC(t, dir)

	b1, err := r.acquireLock(ctx, LockBackup, false)
	if err != nil {
		t.Fatal(err)
	}
	defer b1.release(ctx)
	b2, err := other.acquireLock(ctx, LockBackup, false)
	if err != nil {
		t.Fatalf("backups must not conflict: %v", err)
	}
	defer b2.release(ctx)

	p1, err := r.acquireLock(ctx, LockPrune, true)
	if err != nil {
		t.Fatalf("prune beside backups: %v", err)
	}
	host, _ := os.Hostname()
	for _, kind := range []string{LockPrune, LockRepair, LockCheck} {
		_, err := other.acquireLock(ctx, kind, kind != LockCheck)
		if !errors.Is(err, ErrLocked) {
			t.Fatalf("%s while a prune runs: err = %v, want ErrLocked", kind, err)
		}
		if !strings.Contains(err.Error(), host) || !strings.Contains(err.Error(), "prune") {
			t.Fatalf("ErrLocked should name holder and host: %v", err)
		}
	}
	if n := countObjects(t, r, backend.Lock); n != 3 {
		t.Fatalf("%d lock objects, want 3 (failed attempts must remove theirs)", n)
	}
	if err := p1.release(ctx); err != nil {
		t.Fatal(err)
	}
	c1, err := r.acquireLock(ctx, LockCheck, false)
	if err != nil {
		t.Fatal(err)
	}
	c2, err := other.acquireLock(ctx, LockCheck, false)
	if err != nil {
		t.Fatalf("two checks must not conflict: %v", err)
	}
	c1.release(ctx)
	c2.release(ctx)
}

func TestStaleLocks(t *testing.T) {
	ctx := context.Background()
	r, dir := newLCRepo(t)
	other := openLC(t, dir)
	p, err := r.acquireLock(ctx, LockPrune, true)
	if err != nil {
		t.Fatal(err)
	}
	b, err := r.acquireLock(ctx, LockBackup, false)
	if err != nil {
		t.Fatal(err)
	}
	// From the other handle's point of view every lock is stale.
	other.life.staleAfter = time.Nanosecond
	p2, err := other.acquireLock(ctx, LockPrune, true)
	if err != nil {
		t.Fatalf("a stale lock must not block: %v", err)
	}
	p2.release(ctx)
	locks, err := other.Locks(ctx)
	if err != nil || len(locks) != 2 || !locks[0].Stale {
		t.Fatalf("Locks = %+v, %v", locks, err)
	}
	removed, err := other.RemoveLocks(ctx, false)
	if err != nil || len(removed) != 2 {
		t.Fatalf("RemoveLocks removed %d, %v", len(removed), err)
	}
	// The holders notice.
	if err := b.verify(ctx); !errors.Is(err, ErrLockLost) {
		t.Fatalf("verify after removal: %v", err)
	}
	if err := p.refresh(ctx); !errors.Is(err, ErrLockLost) {
		t.Fatalf("refresh after removal: %v", err)
	}
	p.release(ctx)
	b.release(ctx)
	if n := countObjects(t, r, backend.Lock); n != 0 {
		t.Fatalf("%d lock objects left", n)
	}
}

func TestLockRefreshAndRemoveAll(t *testing.T) {
	ctx := context.Background()
	r, _ := newLCRepo(t)
	l, err := r.acquireLock(ctx, LockBackup, false)
	if err != nil {
		t.Fatal(err)
	}
	before := l.lockName()
	if err := l.refresh(ctx); err != nil {
		t.Fatal(err)
	}
	if l.lockName() == before {
		t.Fatal("refresh kept the old object")
	}
	if err := l.verify(ctx); err != nil {
		t.Fatal(err)
	}
	locks, _ := r.Locks(ctx)
	if len(locks) != 1 || locks[0].Refreshed.Before(locks[0].Time) || locks[0].Stale {
		t.Fatalf("after refresh: %+v", locks)
	}
	removed, err := r.RemoveLocks(ctx, false)
	if err != nil || len(removed) != 0 {
		t.Fatalf("fresh lock removed as stale: %v %v", removed, err)
	}
	removed, err = r.RemoveLocks(ctx, true)
	if err != nil || len(removed) != 1 {
		t.Fatalf("remove all: %v %v", removed, err)
	}
	l.release(ctx)
}

// TestBackupFailsWhenLockDeclaredStale: another process removes the backup's lock while it
// runs. Packs are saved only once the lock is held (docs/LIFECYCLE.md §3), so removing every
// lock at the first pack save removes this backup's own.
func TestBackupFailsWhenLockDeclaredStale(t *testing.T) {
	ctx := context.Background()
	be := mem.New("stale")
	r := newRepoOn(t, be)
	other, err := OpenWith(ctx, be, OpenOptions{Password: testPassword, CacheDir: filepath.Join(t.TempDir(), "cache")})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { other.Close() })
	var once sync.Once
	removed := 0
	steal := &mem.Fault{
		Match: func(h backend.Handle) bool { return h.Type == backend.Pack },
		Do: func(ctx context.Context, _ backend.Handle) error {
			var err error
			once.Do(func() {
				var locks []LockInfo
				locks, err = other.RemoveLocks(ctx, true)
				removed = len(locks)
			})
			return err
		},
	}
	be.AddFault(mem.OpSave, steal)
	be.AddFault(mem.OpSaveNew, steal)
	_, err = r.Backup(ctx, bytes.NewReader(randomVolume(2<<20, 7)), BackupOptions{Name: "v"})
	if !errors.Is(err, ErrLockLost) {
		t.Fatalf("Backup = %v, want ErrLockLost (%d locks removed at the first pack)", err, removed)
	}
	if removed != 1 {
		t.Fatalf("%d locks removed at the first pack save, want the backup's own", removed)
	}
	if n := countObjects(t, r, backend.Snapshot); n != 0 {
		t.Fatalf("%d snapshots recorded", n)
	}
	mustCheck(t, r, CheckOptions{})
}

func TestBackupRemovesLock(t *testing.T) {
	r, _ := newLCRepo(t)
	backupBytes(t, r, randomVolume(100<<10, 1), "v")
	if _, err := r.Backup(context.Background(), errReader{}, BackupOptions{}); err == nil {
		t.Fatal("backup of a failing reader succeeded")
	}
	if n := countObjects(t, r, backend.Lock); n != 0 {
		t.Fatalf("%d lock objects left after backups", n)
	}
}

type errReader struct{}

func (errReader) Read([]byte) (int, error) { return 0, errors.New("boom") }

// TestLockLoadsOthersOnly: taking a lock (and, for a backup, reading the pending-deletion
// records) loads every other object under locks/ but never the caller's own lock: a round
// trip per command on an object store.
func TestLockLoadsOthersOnly(t *testing.T) {
	ctx := context.Background()
	be := mem.New("locks")
	r := newRepoOn(t, be)
	var held []*heldLock
	for range 3 { // other backups' locks
		l, err := r.acquireLock(ctx, LockBackup, false)
		if err != nil {
			t.Fatal(err)
		}
		held = append(held, l)
	}
	defer func() {
		for _, l := range held {
			l.release(ctx)
		}
	}()
	var mu sync.Mutex
	loads := map[string]int{}
	be.AddFault(mem.OpLoad, &mem.Fault{
		Match: func(h backend.Handle) bool { return h.Type == backend.Lock },
		Do: func(_ context.Context, h backend.Handle) error {
			mu.Lock()
			loads[h.Name]++
			mu.Unlock()
			return nil
		},
	})
	cases := []struct {
		name string
		run  func() (own string, err error)
	}{
		{"check lock", func() (string, error) {
			l, err := r.acquireLock(ctx, LockCheck, false)
			if err != nil {
				return "", err
			}
			defer l.release(ctx)
			return l.lockName(), nil
		}},
		{"backup pending records", func() (string, error) {
			l, err := r.acquireLock(ctx, LockBackup, false)
			if err != nil {
				return "", err
			}
			defer l.release(ctx)
			_, err = r.pendingPacks(ctx, l.lockName())
			return l.lockName(), err
		}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			mu.Lock()
			clear(loads)
			mu.Unlock()
			own, err := tc.run()
			if err != nil {
				t.Fatal(err)
			}
			mu.Lock()
			defer mu.Unlock()
			if loads[own] != 0 {
				t.Errorf("own lock loaded %d times", loads[own])
			}
			for _, l := range held {
				if loads[l.lockName()] != 1 {
					t.Errorf("lock %s loaded %d times, want 1", shortName(l.lockName()), loads[l.lockName()])
				}
			}
		})
	}
	// Whole commands, whose lock names the test does not see: only the others' locks load.
	commands := []struct {
		name string
		run  func() error
	}{
		{"check", func() error { _, err := r.Check(ctx, CheckOptions{}); return err }},
		{"prune", func() error { _, err := r.Prune(ctx, PruneOptions{Grace: -1}); return err }},
	}
	for _, tc := range commands {
		t.Run(tc.name, func(t *testing.T) {
			mu.Lock()
			clear(loads)
			mu.Unlock()
			if err := tc.run(); err != nil {
				t.Fatal(err)
			}
			mu.Lock()
			got := maps.Clone(loads)
			mu.Unlock()
			others := map[string]bool{}
			for _, l := range held {
				others[l.lockName()] = true
				if got[l.lockName()] == 0 {
					t.Errorf("lock %s not loaded", shortName(l.lockName()))
				}
			}
			for name, n := range got {
				if !others[name] {
					t.Errorf("own lock %s loaded %d times", shortName(name), n)
				}
			}
		})
	}
}

// TestBackupListsLocksAndIndexTogether: after taking its lock a backup lists the lock objects
// (pending deletions) and the index side by side. Each listing waits here until the other
// has started, so a backup that makes them one after the other fails.
func TestBackupListsLocksAndIndexTogether(t *testing.T) {
	ctx := context.Background()
	be := mem.New("lists")
	r := newRepoOn(t, be)
	locks, idx := make(chan struct{}), make(chan struct{})
	for _, l := range []struct {
		typ         backend.Type
		mine, other chan struct{}
	}{{backend.Lock, locks, idx}, {backend.Index, idx, locks}} {
		typ, mine, other := l.typ, l.mine, l.other
		be.AddFault(mem.OpList, &mem.Fault{
			Match: func(h backend.Handle) bool { return h.Type == typ },
			Times: 1,
			Do: func(ctx context.Context, _ backend.Handle) error {
				close(mine)
				return awaitFault(ctx, other, typ.String()+" listed alone: the other listing never started")
			},
		})
	}
	if _, err := r.Backup(ctx, bytes.NewReader(bytes.Repeat([]byte("cairn"), 100_000)), BackupOptions{}); err != nil {
		t.Fatal(err)
	}
}
