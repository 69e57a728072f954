package index

import (
	"context"
	"errors"
	"math/rand/v2"
	"os"
	"path/filepath"
	"runtime"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/cairnbackup/cairn/internal/ids"
	bolt "go.etcd.io/bbolt"
)

const testRepo = "repo-1"

// store is an in-memory set of index objects with a counting loader.
type store struct {
	mu      sync.Mutex
	objects map[ids.ID]*Object
	loads   map[ids.ID]int
}

func newStore() *store {
	return &store{objects: map[ids.ID]*Object{}, loads: map[ids.ID]int{}}
}

// put stores o under the hash of its encoding and returns that ID.
func (s *store) put(o *Object) ids.ID {
	id := ids.Hash(Encode(o))
	s.mu.Lock()
	s.objects[id] = o
	s.mu.Unlock()
	return id
}

func (s *store) load(_ context.Context, id ids.ID) (*Object, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.loads[id]++
	o, ok := s.objects[id]
	if !ok {
		return nil, errors.New("no such index object")
	}
	return o, nil
}

func openTest(t *testing.T, path, repo string) *Cache {
	t.Helper()
	c, err := OpenCache(path, repo, CacheOptions{Timeout: 100 * time.Millisecond})
	if err != nil {
		t.Fatalf("OpenCache: %v", err)
	}
	t.Cleanup(func() { _ = c.Close() })
	return c
}

// mustFind checks that every entry of objs is found, in some pack that
// holds it.
func mustFind(t *testing.T, c *Cache, objs ...*Object) {
	t.Helper()
	locs := map[ids.ID]map[Entry]bool{}
	for _, o := range objs {
		for _, e := range o.Entries {
			if locs[e.ID] == nil {
				locs[e.ID] = map[Entry]bool{}
			}
			locs[e.ID][e] = true
		}
	}
	for id, want := range locs {
		got, ok, err := c.Lookup(id)
		if err != nil || !ok {
			t.Fatalf("Lookup(%s) = %v, %v", id.Short(), ok, err)
		}
		if !want[got] {
			t.Fatalf("Lookup(%s) = %+v, not one of its locations", id.Short(), got)
		}
	}
}

func mustMiss(t *testing.T, c *Cache, objs ...*Object) {
	t.Helper()
	for _, o := range objs {
		for _, e := range o.Entries {
			if _, ok, err := c.Lookup(e.ID); err != nil || ok {
				t.Fatalf("Lookup(%s) = %v, %v; want not found", e.ID.Short(), ok, err)
			}
		}
	}
}

func mustCount(t *testing.T, c *Cache, blobs, indexes int) {
	t.Helper()
	b, i, err := c.Count()
	if err != nil || b != blobs || i != indexes {
		t.Fatalf("Count = %d blobs, %d indexes, %v; want %d, %d", b, i, err, blobs, indexes)
	}
}

func TestCacheSync(t *testing.T) {
	ctx := context.Background()
	r := rand.New(rand.NewPCG(10, 11))
	s := newStore()
	oa, ob, oc := randObject(r, 50, 10), randObject(r, 30, 7), randObject(r, 20, 20)
	a, b, cc := s.put(oa), s.put(ob), s.put(oc)
	c := openTest(t, filepath.Join(t.TempDir(), "sub", "index.db"), testRepo)

	st, err := c.Sync(ctx, []ids.ID{a, b, a}, s.load)
	if err != nil {
		t.Fatalf("Sync: %v", err)
	}
	if st != (SyncStats{Present: 2, Loaded: 2, Entries: 80, Added: 80}) {
		t.Fatalf("first Sync stats %+v", st)
	}
	mustFind(t, c, oa, ob)
	mustMiss(t, c, oc)
	mustCount(t, c, 80, 2)

	st, err = c.Sync(ctx, []ids.ID{b, a}, s.load)
	if err != nil || st != (SyncStats{Present: 2}) {
		t.Fatalf("repeat Sync = %+v, %v; want nothing loaded", st, err)
	}
	st, err = c.Sync(ctx, []ids.ID{a, b, cc}, s.load)
	if err != nil || st.Loaded != 1 || st.Added != 20 || st.Rebuilt {
		t.Fatalf("Sync with a new object = %+v, %v", st, err)
	}
	mustFind(t, c, oa, ob, oc)
	mustCount(t, c, 100, 3)
	for _, id := range []ids.ID{a, b, cc} {
		if s.loads[id] != 1 {
			t.Fatalf("object %s loaded %d times", id.Short(), s.loads[id])
		}
	}
}

func TestCacheSyncRemovalRebuilds(t *testing.T) {
	ctx := context.Background()
	r := rand.New(rand.NewPCG(12, 13))
	s := newStore()
	oa, ob := randObject(r, 40, 8), randObject(r, 40, 8)
	// A compacted object holding b's entries plus one of a's.
	ocomp := &Object{Entries: append([]Entry{oa.Entries[0]}, ob.Entries...)}
	a, b := s.put(oa), s.put(ob)
	ocomp.Supersedes = []ids.ID{b}
	comp := s.put(ocomp)
	c := openTest(t, filepath.Join(t.TempDir(), "index.db"), testRepo)

	if _, err := c.Sync(ctx, []ids.ID{a, b}, s.load); err != nil {
		t.Fatal(err)
	}
	st, err := c.Sync(ctx, []ids.ID{comp}, s.load)
	if err != nil {
		t.Fatal(err)
	}
	if !st.Rebuilt || st.Removed != 2 || st.Loaded != 1 || st.Added != 41 {
		t.Fatalf("Sync after removal = %+v; want a rebuild loading 1 object", st)
	}
	mustFind(t, c, ocomp)
	mustMiss(t, c, &Object{Entries: oa.Entries[1:]})
	mustCount(t, c, 41, 1)
}

func TestCacheDuplicateBlobKeepsFirst(t *testing.T) {
	ctx := context.Background()
	r := rand.New(rand.NewPCG(14, 15))
	s := newStore()
	oa := randObject(r, 10, 10)
	dup := oa.Entries[3]
	dup.Pack, dup.Offset = randID(r), 99
	ob := &Object{Entries: []Entry{dup}}
	c := openTest(t, filepath.Join(t.TempDir(), "index.db"), testRepo)
	if err := c.Add(s.put(oa), oa); err != nil {
		t.Fatal(err)
	}
	st, err := c.Sync(ctx, []ids.ID{s.put(oa), s.put(ob)}, s.load)
	if err != nil || st.Loaded != 1 || st.Added != 0 {
		t.Fatalf("Sync = %+v, %v; want one object loaded, nothing added", st, err)
	}
	got, ok, err := c.Lookup(dup.ID)
	if err != nil || !ok || got != oa.Entries[3] {
		t.Fatalf("Lookup = %+v, %v, %v; want the first location", got, ok, err)
	}
	mustCount(t, c, 10, 2)
}

func TestCacheLargeObjectSpansTransactions(t *testing.T) {
	old := batchEntries
	batchEntries = 16
	t.Cleanup(func() { batchEntries = old })
	ctx := context.Background()
	r := rand.New(rand.NewPCG(16, 17))
	s := newStore()
	objs := []*Object{randObject(r, 100, 9), randObject(r, 5, 5), randObject(r, 37, 4), {}}
	var present []ids.ID
	for _, o := range objs {
		present = append(present, s.put(o))
	}
	c := openTest(t, filepath.Join(t.TempDir(), "index.db"), testRepo)
	st, err := c.Sync(ctx, present, s.load)
	if err != nil || st.Loaded != 4 || st.Entries != 142 || st.Added != 142 {
		t.Fatalf("Sync = %+v, %v", st, err)
	}
	mustFind(t, c, objs...)
	mustCount(t, c, 142, 4)
}

func TestCacheSyncLoadError(t *testing.T) {
	ctx := context.Background()
	r := rand.New(rand.NewPCG(18, 19))
	s := newStore()
	var present []ids.ID
	var objs []*Object
	for range 10 {
		o := randObject(r, 10, 5)
		objs = append(objs, o)
		present = append(present, s.put(o))
	}
	missing := randID(r)
	c := openTest(t, filepath.Join(t.TempDir(), "index.db"), testRepo)
	_, err := c.Sync(ctx, append(present, missing), s.load)
	if err == nil {
		t.Fatal("Sync with an unloadable object succeeded")
	}
	_, n, err := c.Count()
	if err != nil || n > 10 {
		t.Fatalf("Count after failed Sync: %d indexes, %v", n, err)
	}
	if _, err := c.Sync(ctx, present, s.load); err != nil {
		t.Fatalf("Sync after failure: %v", err)
	}
	mustFind(t, c, objs...)
	mustCount(t, c, 100, 10)
}

func TestCacheSyncCancelled(t *testing.T) {
	s := newStore()
	id := s.put(randObject(rand.New(rand.NewPCG(1, 1)), 3, 3))
	c := openTest(t, filepath.Join(t.TempDir(), "index.db"), testRepo)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	load := func(ctx context.Context, id ids.ID) (*Object, error) {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		return s.load(ctx, id)
	}
	if _, err := c.Sync(ctx, []ids.ID{id}, load); !errors.Is(err, context.Canceled) {
		t.Fatalf("Sync with cancelled context = %v, want context.Canceled", err)
	}
	mustCount(t, c, 0, 0)
}

func TestCacheSyncLoadsAtMostFour(t *testing.T) {
	r := rand.New(rand.NewPCG(20, 21))
	s := newStore()
	var present []ids.ID
	for range 16 {
		present = append(present, s.put(randObject(r, 2, 2)))
	}
	var inflight, peak atomic.Int32
	gate := make(chan struct{})
	var once sync.Once
	load := func(ctx context.Context, id ids.ID) (*Object, error) {
		n := inflight.Add(1)
		defer inflight.Add(-1)
		for p := peak.Load(); n > p && !peak.CompareAndSwap(p, n); p = peak.Load() {
		}
		if n >= syncLoaders {
			once.Do(func() { close(gate) })
		}
		select {
		case <-gate:
		case <-ctx.Done():
			return nil, ctx.Err()
		}
		return s.load(ctx, id)
	}
	c := openTest(t, filepath.Join(t.TempDir(), "index.db"), testRepo)
	if _, err := c.Sync(context.Background(), present, load); err != nil {
		t.Fatal(err)
	}
	if p := peak.Load(); p != syncLoaders {
		t.Fatalf("peak concurrent loads %d, want %d", p, syncLoaders)
	}
}

func TestCacheReopenKeepsContent(t *testing.T) {
	r := rand.New(rand.NewPCG(22, 23))
	path := filepath.Join(t.TempDir(), "index.db")
	o := randObject(r, 25, 5)
	c, err := OpenCache(path, testRepo, CacheOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if err := c.Add(ids.Hash(Encode(o)), o); err != nil {
		t.Fatal(err)
	}
	if err := c.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(markerPath(path)); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("dirty marker left after Close: %v", err)
	}
	fi, err := os.Stat(path)
	if err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("cache file mode %v, %v; want 0600", fi.Mode(), err)
	}
	c = openTest(t, path, testRepo)
	mustFind(t, c, o)
	mustCount(t, c, 25, 1)
}

func TestCacheRecreated(t *testing.T) {
	r := rand.New(rand.NewPCG(24, 25))
	o := randObject(r, 25, 5)
	// build writes a real cache for testRepo at path and closes it.
	build := func(t *testing.T, path string) {
		c, err := OpenCache(path, testRepo, CacheOptions{})
		if err != nil {
			t.Fatal(err)
		}
		if err := c.Add(ids.Hash(Encode(o)), o); err != nil {
			t.Fatal(err)
		}
		if err := c.Close(); err != nil {
			t.Fatal(err)
		}
	}
	tests := []struct {
		name  string
		setup func(t *testing.T, path string)
		repo  string
	}{
		{"other repository", build, "repo-2"},
		{"garbage file", func(t *testing.T, path string) {
			g := make([]byte, 20000)
			for i := range g {
				g[i] = byte(r.Uint32())
			}
			if err := os.WriteFile(path, g, 0o600); err != nil {
				t.Fatal(err)
			}
		}, testRepo},
		{"short garbage", func(t *testing.T, path string) {
			if err := os.WriteFile(path, []byte("not a database"), 0o600); err != nil {
				t.Fatal(err)
			}
		}, testRepo},
		{"truncated cache", func(t *testing.T, path string) {
			build(t, path)
			if err := os.Truncate(path, 4096); err != nil {
				t.Fatal(err)
			}
		}, testRepo},
		{"truncated mid-file", func(t *testing.T, path string) {
			build(t, path)
			if err := os.Truncate(path, 3*int64(os.Getpagesize())); err != nil {
				t.Fatal(err)
			}
		}, testRepo},
		{"damaged meta pages", func(t *testing.T, path string) {
			build(t, path)
			f, err := os.OpenFile(path, os.O_RDWR, 0)
			if err != nil {
				t.Fatal(err)
			}
			defer f.Close()
			for _, off := range []int64{int64(os.Getpagesize()) + 40, 40} {
				if _, err := f.WriteAt([]byte{0xde, 0xad}, off); err != nil {
					t.Fatal(err)
				}
			}
		}, testRepo},
		{"unknown cache version", func(t *testing.T, path string) {
			build(t, path)
			c := openTest(t, path, testRepo)
			c.wmu.Lock()
			err := c.update(func(tx *bolt.Tx) error { return tx.Bucket(bucketMeta).Put(keyVersion, []byte{99}) })
			c.wmu.Unlock()
			if err != nil {
				t.Fatal(err)
			}
			if err := c.Close(); err != nil {
				t.Fatal(err)
			}
		}, testRepo},
		{"stale dirty marker", func(t *testing.T, path string) {
			build(t, path)
			if err := os.WriteFile(markerPath(path), []byte("some-other-boot\n"), 0o600); err != nil {
				t.Fatal(err)
			}
		}, testRepo},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "index.db")
			tt.setup(t, path)
			c := openTest(t, path, tt.repo)
			mustCount(t, c, 0, 0)
			mustMiss(t, c, o)
			// The recreated cache works.
			if err := c.Add(ids.Hash(Encode(o)), o); err != nil {
				t.Fatal(err)
			}
			mustFind(t, c, o)
		})
	}
}

func TestCacheCurrentBootMarkerKept(t *testing.T) {
	if bootID() == nil {
		t.Skip("no boot ID on this system")
	}
	r := rand.New(rand.NewPCG(26, 27))
	o := randObject(r, 5, 5)
	path := filepath.Join(t.TempDir(), "index.db")
	c := openTest(t, path, testRepo)
	if err := c.Add(ids.Hash(Encode(o)), o); err != nil {
		t.Fatal(err)
	}
	// Simulate a killed process: copy the file and marker as they are now.
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	marker, err := os.ReadFile(markerPath(path))
	if err != nil {
		t.Fatalf("no dirty marker while writing: %v", err)
	}
	copyPath := filepath.Join(t.TempDir(), "index.db")
	if err := os.WriteFile(copyPath, data, 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(markerPath(copyPath), marker, 0o600); err != nil {
		t.Fatal(err)
	}
	c2 := openTest(t, copyPath, testRepo)
	mustFind(t, c2, o)
}

func TestCacheLocked(t *testing.T) {
	path := filepath.Join(t.TempDir(), "index.db")
	openTest(t, path, testRepo)
	_, err := OpenCache(path, testRepo, CacheOptions{Timeout: 50 * time.Millisecond})
	if !errors.Is(err, ErrLocked) {
		t.Fatalf("second OpenCache = %v, want ErrLocked", err)
	}
	// The fallback works while the first is open.
	parent := t.TempDir()
	tc, err := OpenTempCache(parent, testRepo, CacheOptions{})
	if err != nil {
		t.Fatal(err)
	}
	// Nothing is left on disk for a killed process to leave behind (POSIX), and the
	// cache still works: writes after the unlink, then reads.
	if left, _ := os.ReadDir(parent); runtime.GOOS != "windows" && len(left) != 0 {
		t.Errorf("temporary cache still has a name while open: %v", left)
	}
	r := rand.New(rand.NewPCG(40, 41))
	o := randObject(r, 50, 3)
	if err := tc.Add(ids.Hash(Encode(o)), o); err != nil {
		t.Fatal(err)
	}
	if e, ok, err := tc.Lookup(o.Entries[7].ID); err != nil || !ok || e != o.Entries[7] {
		t.Fatalf("lookup in temporary cache = %+v, %v, %v", e, ok, err)
	}
	if err := tc.Close(); err != nil {
		t.Fatal(err)
	}
	if left, _ := os.ReadDir(parent); len(left) != 0 {
		t.Fatalf("temporary cache left after Close: %v", left)
	}
}

func TestCacheLookupBatch(t *testing.T) {
	r := rand.New(rand.NewPCG(28, 29))
	o := randObject(r, 30, 6)
	c := openTest(t, filepath.Join(t.TempDir(), "index.db"), testRepo)
	if err := c.Add(ids.Hash(Encode(o)), o); err != nil {
		t.Fatal(err)
	}
	want := map[int]Entry{}
	var list []ids.ID
	for i := range 60 {
		if i%2 == 0 {
			e := o.Entries[i/2]
			want[len(list)] = e
			list = append(list, e.ID)
		} else {
			list = append(list, randID(r))
		}
	}
	calls := 0
	err := c.LookupBatch(list, func(i int, e Entry, ok bool) {
		if i != calls {
			t.Fatalf("call %d for position %d", calls, i)
		}
		calls++
		w, found := want[i]
		if ok != found || (ok && e != w) {
			t.Fatalf("position %d: got %+v, %v; want %+v, %v", i, e, ok, w, found)
		}
	})
	if err != nil || calls != len(list) {
		t.Fatalf("LookupBatch: %d calls, %v", calls, err)
	}
}

func TestCacheForEach(t *testing.T) {
	r := rand.New(rand.NewPCG(30, 31))
	// More than one ForEach chunk.
	o := randObject(r, 2*forEachChunk+17, 100)
	c := openTest(t, filepath.Join(t.TempDir(), "index.db"), testRepo)
	if err := c.Add(ids.Hash(Encode(o)), o); err != nil {
		t.Fatal(err)
	}
	want := map[ids.ID]Entry{}
	for _, e := range o.Entries {
		want[e.ID] = e
	}
	var prev ids.ID
	n := 0
	err := c.ForEach(func(e Entry) error {
		if n > 0 && string(e.ID[:]) <= string(prev[:]) {
			t.Fatalf("ForEach out of order at %d", n)
		}
		prev = e.ID
		if want[e.ID] != e {
			t.Fatalf("ForEach entry %+v, want %+v", e, want[e.ID])
		}
		n++
		// Writing from inside fn must not deadlock.
		if n == 1 {
			return c.Add(randID(r), &Object{})
		}
		return nil
	})
	if err != nil || n != len(o.Entries) {
		t.Fatalf("ForEach visited %d of %d, %v", n, len(o.Entries), err)
	}
	stop := errors.New("stop")
	n = 0
	if err := c.ForEach(func(Entry) error { n++; return stop }); !errors.Is(err, stop) || n != 1 {
		t.Fatalf("ForEach did not stop at the first error: %d calls, %v", n, err)
	}
}

func TestCachePackNumbersShared(t *testing.T) {
	r := rand.New(rand.NewPCG(32, 33))
	oa := randObject(r, 6, 3) // packs P1, P2
	ob := randObject(r, 6, 3) // packs P3, P4
	// ob's second pack is oa's first: its number must be reused.
	for i := 3; i < 6; i++ {
		ob.Entries[i].Pack = oa.Entries[0].Pack
	}
	c := openTest(t, filepath.Join(t.TempDir(), "index.db"), testRepo)
	for _, o := range []*Object{oa, ob} {
		if err := c.Add(ids.Hash(Encode(o)), o); err != nil {
			t.Fatal(err)
		}
	}
	mustFind(t, c, oa, ob)
	var packs, nums int
	err := c.db.View(func(tx *bolt.Tx) error {
		packs = tx.Bucket(bucketPacks).Stats().KeyN
		nums = tx.Bucket(bucketPackNums).Stats().KeyN
		return nil
	})
	if err != nil || packs != 3 || nums != 3 {
		t.Fatalf("pack table holds %d and %d numbers, %v; want 3", packs, nums, err)
	}
}

func TestCacheHas(t *testing.T) {
	r := rand.New(rand.NewPCG(34, 35))
	o := randObject(r, 10, 5)
	c := openTest(t, filepath.Join(t.TempDir(), "index.db"), testRepo)
	if err := c.Add(ids.Hash(Encode(o)), o); err != nil {
		t.Fatal(err)
	}
	for _, e := range o.Entries {
		if ok, err := c.Has(e.ID); !ok || err != nil {
			t.Fatalf("Has(known) = %v, %v", ok, err)
		}
	}
	if ok, err := c.Has(randID(r)); ok || err != nil {
		t.Fatalf("Has(unknown) = %v, %v", ok, err)
	}
}

func TestCacheClosed(t *testing.T) {
	c, err := OpenCache(filepath.Join(t.TempDir(), "index.db"), testRepo, CacheOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if err := c.Close(); err != nil {
		t.Fatal(err)
	}
	if err := c.Close(); err != nil {
		t.Fatalf("second Close: %v", err)
	}
	if _, _, err := c.Lookup(ids.ID{}); err == nil || errors.Is(err, ErrCacheCorrupt) {
		t.Fatalf("Lookup on closed cache = %v; want a not-open error", err)
	}
	if err := c.Add(ids.ID{1}, &Object{}); err == nil {
		t.Fatal("Add on closed cache succeeded")
	}
}
