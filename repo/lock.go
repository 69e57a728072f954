package repo

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"sort"
	"sync"
	"time"

	"golang.org/x/sync/errgroup"

	"github.com/cairnbackup/cairn/internal/ids"
	"github.com/cairnbackup/cairn/repo/backend"
)

// Lock timing defaults (docs/LIFECYCLE.md §2).
const (
	// DefaultStaleAfter: a lock not refreshed for this long belongs to a dead process.
	DefaultStaleAfter = 30 * time.Minute
	// DefaultLockRefresh is how often a running operation refreshes its lock.
	DefaultLockRefresh = 5 * time.Minute
)

// Lock kinds.
const (
	LockBackup  = "backup"  // shared; never waits for or blocks another lock
	LockPrune   = "prune"   // exclusive
	LockCheck   = "check"   // shared with backups and other checks; conflicts with exclusive locks
	LockRepair  = "repair"  // exclusive
	LockRestore = "restore" // shared like check: blocks prune and repair, which would remove packs it reads
)

var (
	// ErrLocked: another operation holds a conflicting lock (the message names it).
	ErrLocked = errors.New("repository is locked")
	// ErrLockLost: this operation's lock was removed by someone else (declared stale), so
	// its result must not be recorded.
	ErrLockLost = errors.New("lock was removed by another process (declared stale)")
)

// lifecycle holds tunables of the lock and prune machinery; the zero value means defaults.
// Tests in this package set the fields directly.
type lifecycle struct {
	staleAfter   time.Duration // 0: DefaultStaleAfter
	refreshEvery time.Duration // 0: DefaultLockRefresh
	indexFlush   int           // 0: indexFlushEntries
}

func (r *Repository) staleAfter() time.Duration {
	if r.life.staleAfter > 0 {
		return r.life.staleAfter
	}
	return DefaultStaleAfter
}

func (r *Repository) refreshEvery() time.Duration {
	if r.life.refreshEvery > 0 {
		return r.life.refreshEvery
	}
	return DefaultLockRefresh
}

func (r *Repository) indexFlush() int {
	if r.life.indexFlush > 0 {
		return r.life.indexFlush
	}
	return indexFlushEntries
}

// lockJSON is the plaintext of a lock object (type L).
type lockJSON struct {
	Time      time.Time `json:"time"`
	Refreshed time.Time `json:"refreshed"`
	Hostname  string    `json:"hostname"`
	PID       int       `json:"pid"`
	Kind      string    `json:"kind"`
	Exclusive bool      `json:"exclusive"`
}

// LockInfo describes one lock object.
type LockInfo struct {
	Name      string    `json:"name"`
	Time      time.Time `json:"time"`      // when the operation started
	Refreshed time.Time `json:"refreshed"` // last refresh
	Hostname  string    `json:"hostname"`
	PID       int       `json:"pid"`
	Kind      string    `json:"kind"`
	Exclusive bool      `json:"exclusive"`
	Stale     bool      `json:"stale"`
	// Unreadable is set when the object did not decode; such a lock counts as stale for
	// unlock, and as live (blocking) for prune's deletions.
	Unreadable bool `json:"unreadable,omitempty"`
}

func (l LockInfo) String() string {
	if l.Unreadable {
		return fmt.Sprintf("unreadable lock %s", shortName(l.Name))
	}
	return fmt.Sprintf("%s lock %s held by pid %d on %s since %s (refreshed %s ago)", l.Kind, shortName(l.Name),
		l.PID, l.Hostname, l.Time.Format(time.RFC3339), time.Since(l.Refreshed).Round(time.Second))
}

func shortName(n string) string {
	if len(n) > 8 {
		return n[:8]
	}
	return n
}

// conflicts reports whether two locks may not be held at once: backups conflict with
// nothing; exclusive locks conflict with every other non-backup lock.
func conflicts(a, b lockJSON) bool {
	if a.Kind == LockBackup || b.Kind == LockBackup {
		return false
	}
	return a.Exclusive || b.Exclusive
}

func randomName() (string, error) {
	var b [32]byte
	if _, err := rand.Read(b[:]); err != nil {
		return "", err
	}
	return hex.EncodeToString(b[:]), nil
}

// lockEntry is one object under locks/: a lock or a pending-deletion record.
type lockEntry struct {
	name string
	typ  byte // typeLock or typePending; 0 when unreadable
	lock lockJSON
	pend pendingJSON
	err  error
}

// lockLoads bounds how many lock objects listLockObjects loads at once: many concurrent
// backups (one per volume of an application) each hold one.
const lockLoads = 8

// listLockObjects loads every object under locks/ except the one named own (the caller's
// own lock, whose content it knows; "" loads all), several at a time, in name order.
// Objects removed while listing are skipped.
func (r *Repository) listLockObjects(ctx context.Context, own string) ([]lockEntry, error) {
	var names []string
	if err := r.be.List(ctx, backend.Lock, func(name string, _ int64) error {
		if name != own {
			names = append(names, name)
		}
		return nil
	}); err != nil {
		return nil, fmt.Errorf("list locks: %w", err)
	}
	sort.Strings(names)
	loaded := make([]*lockEntry, len(names))
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(lockLoads)
	for i, name := range names {
		g.Go(func() error {
			h := backend.Handle{Type: backend.Lock, Name: name}
			b, err := r.be.Load(gctx, h, 0, 0)
			if isNotFound(err) {
				return nil
			}
			if err != nil {
				return fmt.Errorf("load %s: %w", h, err)
			}
			e := r.decodeLockObject(name, b)
			loaded[i] = &e
			return nil
		})
	}
	if err := g.Wait(); err != nil {
		return nil, err
	}
	out := make([]lockEntry, 0, len(names))
	for _, e := range loaded {
		if e != nil {
			out = append(out, *e)
		}
	}
	return out, nil
}

// decodeLockObject authenticates and decodes one object stored under locks/.
func (r *Repository) decodeLockObject(name string, b []byte) lockEntry {
	what := backend.Handle{Type: backend.Lock, Name: name}.String()
	e := lockEntry{name: name}
	if len(b) < 8 || (b[5] != typeLock && b[5] != typePending) {
		e.err = fmt.Errorf("%w: %s: not a lock or pending-deletion record", ErrCorrupt, what)
		return e
	}
	pt, err := r.openObject(b[5], b, what)
	if err == nil && b[5] == typeLock {
		err = json.Unmarshal(pt, &e.lock)
	} else if err == nil {
		err = json.Unmarshal(pt, &e.pend)
		if err == nil && e.pend.Version != 1 {
			err = fmt.Errorf("%w: %s: pending-deletion record version %d", ErrUnsupportedVersion, what, e.pend.Version)
		}
	}
	if err != nil {
		e.err = fmt.Errorf("%w: %s: %v", ErrCorrupt, what, err)
		e.lock, e.pend = lockJSON{}, pendingJSON{}
		return e
	}
	e.typ = b[5]
	return e
}

func (r *Repository) lockInfo(e lockEntry, now time.Time) LockInfo {
	if e.err != nil {
		return LockInfo{Name: e.name, Unreadable: true, Stale: true}
	}
	l := e.lock
	return LockInfo{Name: e.name, Time: l.Time, Refreshed: l.Refreshed, Hostname: l.Hostname, PID: l.PID,
		Kind: l.Kind, Exclusive: l.Exclusive, Stale: now.Sub(l.Refreshed) >= r.staleAfter()}
}

// Locks lists the repository's locks (not pending-deletion records), oldest first.
func (r *Repository) Locks(ctx context.Context) ([]LockInfo, error) { return r.locks(ctx, "") }

// locks is Locks without the lock named own (the caller's; "": none left out).
func (r *Repository) locks(ctx context.Context, own string) ([]LockInfo, error) {
	all, err := r.listLockObjects(ctx, own)
	if err != nil {
		return nil, err
	}
	now := time.Now()
	var out []LockInfo
	for _, e := range all {
		if e.typ != typePending {
			out = append(out, r.lockInfo(e, now))
		}
	}
	sort.SliceStable(out, func(i, j int) bool { return out[i].Time.Before(out[j].Time) })
	return out, nil
}

// RemoveLocks removes stale (and unreadable) locks, or every lock when all is set, and
// returns what it removed. Removing a live lock lets a conflicting operation start while
// the holder still runs: use all only when no cairn process is running.
func (r *Repository) RemoveLocks(ctx context.Context, all bool) ([]LockInfo, error) {
	return r.removeLocks(ctx, all, "")
}

// removeLocks is RemoveLocks that never removes the lock object named except.
func (r *Repository) removeLocks(ctx context.Context, all bool, except string) ([]LockInfo, error) {
	locks, err := r.locks(ctx, except)
	if err != nil {
		return nil, err
	}
	var removed []LockInfo
	for _, l := range locks {
		if (!all && !l.Stale) || l.Name == except {
			continue
		}
		err := r.be.Remove(ctx, backend.Handle{Type: backend.Lock, Name: l.Name})
		if err != nil && !isNotFound(err) {
			return removed, fmt.Errorf("remove lock %s: %w", shortName(l.Name), err)
		}
		r.log.Info("removed lock", "lock", l.String())
		removed = append(removed, l)
	}
	return removed, nil
}

// heldLock is a lock this process holds, refreshed in the background until released.
type heldLock struct {
	r    *Repository
	kind string

	mu   sync.Mutex
	name string
	info lockJSON
	lost error // set when a refresh found the previous lock object gone

	stop chan struct{}
	done chan struct{}
}

// acquireLock writes a new lock object and, unless it is a backup lock, fails with
// ErrLocked when another live conflicting lock exists. The lock is refreshed every
// refreshEvery until release.
// lockFor takes a lock of kind for operation op (the prefix of its errors) and returns it
// with a function for defer that releases it, logging a failure to release.
func (r *Repository) lockFor(ctx context.Context, op, kind string, exclusive bool) (*heldLock, func(), error) {
	lk, err := r.acquireLock(ctx, kind, exclusive)
	if err != nil {
		return nil, nil, fmt.Errorf("%s: %w", op, err)
	}
	return lk, func() {
		if err := lk.release(ctx); err != nil {
			r.log.Warn(op+": release lock", "err", err)
		}
	}, nil
}

func (r *Repository) acquireLock(ctx context.Context, kind string, exclusive bool) (*heldLock, error) {
	host, _ := os.Hostname()
	now := time.Now()
	l := &heldLock{r: r, kind: kind,
		info: lockJSON{Time: now, Refreshed: now, Hostname: host, PID: os.Getpid(), Kind: kind, Exclusive: exclusive}}
	name, err := r.saveLock(ctx, l.info)
	if err != nil {
		return nil, fmt.Errorf("%s lock: %w", kind, err)
	}
	l.name = name
	if kind != LockBackup {
		if err := l.checkConflicts(ctx); err != nil {
			_ = r.be.Remove(context.WithoutCancel(ctx), backend.Handle{Type: backend.Lock, Name: name})
			return nil, err
		}
	}
	l.stop, l.done = make(chan struct{}), make(chan struct{})
	go l.refreshLoop(context.WithoutCancel(ctx))
	return l, nil
}

func (r *Repository) saveLock(ctx context.Context, info lockJSON) (string, error) {
	return r.saveLockObject(ctx, typeLock, &info, "lock")
}

// saveLockObject seals v as JSON in an object of type t under a new random name in locks/,
// with a create-only save.
func (r *Repository) saveLockObject(ctx context.Context, t byte, v any, what string) (string, error) {
	payload, err := json.Marshal(v)
	if err != nil {
		return "", err
	}
	sealed, err := r.sealObject(t, payload)
	if err != nil {
		return "", err
	}
	name, err := randomName()
	if err != nil {
		return "", err
	}
	if err := r.be.SaveNew(ctx, backend.Handle{Type: backend.Lock, Name: name}, sealed); err != nil {
		return "", fmt.Errorf("save %s: %w", what, err)
	}
	return name, nil
}

func (l *heldLock) checkConflicts(ctx context.Context) error {
	all, err := l.r.listLockObjects(ctx, l.lockName())
	if err != nil {
		return fmt.Errorf("%s lock: %w", l.kind, err)
	}
	now := time.Now()
	for _, e := range all {
		if e.name == l.name || e.typ != typeLock {
			continue
		}
		if info := l.r.lockInfo(e, now); !info.Stale && conflicts(l.info, e.lock) {
			return fmt.Errorf("%w by %s", ErrLocked, info)
		}
	}
	return nil
}

func (l *heldLock) refreshLoop(ctx context.Context) {
	defer close(l.done)
	t := time.NewTicker(l.r.refreshEvery())
	defer t.Stop()
	for {
		select {
		case <-l.stop:
			return
		case <-t.C:
			if err := l.refresh(ctx); err != nil {
				l.r.log.Warn("lock refresh failed", "kind", l.kind, "err", err)
			}
		}
	}
}

// refresh replaces the lock object by one with a new refresh time. If the old object is
// gone, someone declared the lock stale: the lock is lost for good.
func (l *heldLock) refresh(ctx context.Context) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.lost != nil {
		return l.lost
	}
	info := l.info
	info.Refreshed = time.Now()
	name, err := l.r.saveLock(ctx, info)
	if err != nil {
		return err
	}
	err = l.r.be.Remove(ctx, backend.Handle{Type: backend.Lock, Name: l.name})
	old := l.name
	l.name, l.info = name, info
	if isNotFound(err) {
		l.lost = fmt.Errorf("%s lock %s: %w", l.kind, shortName(old), ErrLockLost)
		return l.lost
	}
	return err
}

// verify returns ErrLockLost unless the lock object still exists and was never lost.
func (l *heldLock) verify(ctx context.Context) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.lost != nil {
		return l.lost
	}
	if _, err := l.r.be.Stat(ctx, backend.Handle{Type: backend.Lock, Name: l.name}); err != nil {
		if isNotFound(err) {
			l.lost = fmt.Errorf("%s lock %s: %w", l.kind, shortName(l.name), ErrLockLost)
			return l.lost
		}
		return fmt.Errorf("%s lock: %w", l.kind, err)
	}
	return nil
}

// release stops refreshing and removes the lock object (also when ctx is cancelled).
func (l *heldLock) release(ctx context.Context) error {
	if l == nil {
		return nil
	}
	close(l.stop)
	<-l.done
	l.mu.Lock()
	defer l.mu.Unlock()
	err := l.r.be.Remove(context.WithoutCancel(ctx), backend.Handle{Type: backend.Lock, Name: l.name})
	if err != nil && !isNotFound(err) {
		return fmt.Errorf("remove %s lock: %w", l.kind, err)
	}
	return nil
}

// lockName returns the current lock object name.
func (l *heldLock) lockName() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.name
}

// typePending is the sealed-object type of a pending-deletion record (docs/FORMAT.md §4).
const typePending byte = 'D'

// pendingJSON is the plaintext of a pending-deletion record (type D, stored under locks/).
type pendingJSON struct {
	Version int `json:"version"`
	// Time is the mark time T1: taken after the record was first stored, so every backup
	// that started later (by more than the clock-skew allowance) saw the record.
	Time  time.Time `json:"time"`
	Final bool      `json:"final"` // false: first write, Time not yet trustworthy
	Packs []ID      `json:"packs"`
}

// pendingRecord is a decoded record with its object name.
type pendingRecord struct {
	name string
	pendingJSON
}

// pendingPacks returns the packs named in any pending-deletion record (final or not):
// backups must not deduplicate against them. own is the caller's lock, not loaded.
func (r *Repository) pendingPacks(ctx context.Context, own string) (map[ids.ID]struct{}, error) {
	all, err := r.listLockObjects(ctx, own)
	if err != nil {
		return nil, err
	}
	out := map[ids.ID]struct{}{}
	for _, e := range all {
		if e.typ == typePending {
			for _, p := range e.pend.Packs {
				out[p] = struct{}{}
			}
		}
	}
	return out, nil
}

func (r *Repository) savePending(ctx context.Context, p pendingJSON) (string, error) {
	p.Version = 1
	return r.saveLockObject(ctx, typePending, &p, "pending-deletion record")
}
