package index

import (
	"context"
	"math/rand/v2"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/cairnbackup/cairn/internal/ids"
)

// BenchmarkLookup measures lookups in a cache of one million blobs.
func BenchmarkLookup(b *testing.B) {
	const blobs, perObject = 1_000_000, 100_000
	r := rand.New(rand.NewPCG(40, 41))
	path := filepath.Join(b.TempDir(), "index.db")
	c, err := OpenCache(path, testRepo, CacheOptions{})
	if err != nil {
		b.Fatal(err)
	}
	defer c.Close()
	start := time.Now()
	known := make([]ids.ID, 0, blobs)
	for range blobs / perObject {
		o := randObject(r, perObject, 1000)
		for _, e := range o.Entries {
			known = append(known, e.ID)
		}
		if err := c.Add(randID(r), o); err != nil {
			b.Fatal(err)
		}
	}
	build := time.Since(start)
	fi, err := os.Stat(path)
	if err != nil {
		b.Fatal(err)
	}
	b.Logf("built %d blobs in %v (%.0f entries/s), file %.1f MiB", blobs, build,
		blobs/build.Seconds(), float64(fi.Size())/(1<<20))

	b.Run("hit", func(b *testing.B) {
		i := 0
		for b.Loop() {
			if _, ok, err := c.Lookup(known[i%len(known)]); !ok || err != nil {
				b.Fatal("miss", err)
			}
			i += 7919
		}
		b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "lookups/s")
	})
	b.Run("has", func(b *testing.B) {
		i := 0
		for b.Loop() {
			if ok, err := c.Has(known[i%len(known)]); !ok || err != nil {
				b.Fatal("miss", err)
			}
			i += 7919
		}
		b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "lookups/s")
	})
	b.Run("miss", func(b *testing.B) {
		misses := make([]ids.ID, 4096)
		for i := range misses {
			misses[i] = randID(r)
		}
		i := 0
		for b.Loop() {
			if _, ok, err := c.Lookup(misses[i%len(misses)]); ok || err != nil {
				b.Fatal("hit", err)
			}
			i++
		}
		b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "lookups/s")
	})
	b.Run("batch1024", func(b *testing.B) {
		list := make([]ids.ID, 1024)
		i, n := 0, 0
		for b.Loop() {
			for j := range list {
				list[j] = known[i%len(known)]
				i += 7919
			}
			if err := c.LookupBatch(list, func(_ int, _ Entry, ok bool) {
				if !ok {
					b.Fatal("miss")
				}
			}); err != nil {
				b.Fatal(err)
			}
			n += len(list)
		}
		b.ReportMetric(float64(n)/b.Elapsed().Seconds(), "lookups/s")
	})
	b.Run("reopen", func(b *testing.B) {
		// Open plus the first write: with NoFreelistSync that first write
		// rebuilds the freelist by walking the whole file.
		if err := c.Close(); err != nil {
			b.Fatal(err)
		}
		for b.Loop() {
			c2, err := OpenCache(path, testRepo, CacheOptions{})
			if err != nil {
				b.Fatal(err)
			}
			if err := c2.Add(randID(r), &Object{}); err != nil {
				b.Fatal(err)
			}
			if err := c2.Close(); err != nil {
				b.Fatal(err)
			}
		}
		c, err = OpenCache(path, testRepo, CacheOptions{})
		if err != nil {
			b.Fatal(err)
		}
	})
}

// BenchmarkSync measures loading 100k entries (ten index objects) into an
// empty cache.
func BenchmarkSync(b *testing.B) {
	const objects, perObject = 10, 10_000
	r := rand.New(rand.NewPCG(42, 43))
	s := newStore()
	var present []ids.ID
	size := 0
	for range objects {
		o := randObject(r, perObject, 1000)
		size += len(Encode(o))
		present = append(present, s.put(o))
	}
	dir := b.TempDir()
	b.SetBytes(int64(size))
	n := 0
	for b.Loop() {
		b.StopTimer()
		path := filepath.Join(dir, "index.db")
		_ = RemoveCache(path)
		c, err := OpenCache(path, testRepo, CacheOptions{})
		if err != nil {
			b.Fatal(err)
		}
		b.StartTimer()
		st, err := c.Sync(context.Background(), present, s.load)
		if err != nil || st.Added != objects*perObject {
			b.Fatal(st, err)
		}
		n += st.Entries
		b.StopTimer()
		if err := c.Close(); err != nil {
			b.Fatal(err)
		}
		b.StartTimer()
	}
	b.ReportMetric(float64(n)/b.Elapsed().Seconds(), "entries/s")
}

// BenchmarkDecode measures decoding an index object of 10k entries.
func BenchmarkDecode(b *testing.B) {
	enc := Encode(randObject(rand.New(rand.NewPCG(44, 45)), 10_000, 1000))
	b.SetBytes(int64(len(enc)))
	for b.Loop() {
		if _, err := Decode(enc); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(10_000*float64(b.N)/b.Elapsed().Seconds(), "entries/s")
}

// BenchmarkEncode measures encoding an index object of 10k entries.
func BenchmarkEncode(b *testing.B) {
	o := randObject(rand.New(rand.NewPCG(46, 47)), 10_000, 1000)
	b.SetBytes(int64(len(Encode(o))))
	for b.Loop() {
		Encode(o)
	}
}
