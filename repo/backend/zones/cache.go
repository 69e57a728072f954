package zones

import (
	"container/list"
	"sync"
	"time"

	"github.com/cairnbackup/cairn/erasure"
)

// readerTTL bounds how long a cached PackReader (which remembers failed shards for its
// lifetime) is reused, so zones that come back are used again.
const readerTTL = time.Minute

// openPack is one cached reader of a pack.
type openPack struct {
	name    string
	reader  *erasure.PackReader
	created time.Time
}

// readerCache is an LRU of PackReaders by pack name: a restore reads many blobs of one
// pack, and the reader keeps the verified footers (the geometry) between reads.
type readerCache struct {
	mu    sync.Mutex
	max   int
	order *list.List // of *openPack, most recent first
	byKey map[string]*list.Element
}

func newReaderCache(n int) *readerCache {
	if n <= 0 {
		n = DefaultReaders
	}
	return &readerCache{max: n, order: list.New(), byKey: map[string]*list.Element{}}
}

// get returns the cached reader of pack name, opening one if needed.
func (c *readerCache) get(b *Backend, name string) (*openPack, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if e, ok := c.byKey[name]; ok {
		op := e.Value.(*openPack)
		if time.Since(op.created) < readerTTL {
			c.order.MoveToFront(e)
			return op, nil
		}
		c.order.Remove(e)
		delete(c.byKey, name)
	}
	src := b.source(name)
	r, err := b.coder.NewPackReader(src, src.id)
	if err != nil {
		return nil, err
	}
	op := &openPack{name: name, reader: r, created: time.Now()}
	c.byKey[name] = c.order.PushFront(op)
	for c.order.Len() > c.max {
		last := c.order.Back()
		c.order.Remove(last)
		delete(c.byKey, last.Value.(*openPack).name)
	}
	return op, nil
}

// drop forgets the reader of pack name (after a failure, a save or a removal).
func (c *readerCache) drop(name string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if e, ok := c.byKey[name]; ok {
		c.order.Remove(e)
		delete(c.byKey, name)
	}
}

// sizeCache remembers pack lengths this process learned (from saves, stats, footers),
// so List need not read footers again. Bounded: it starts over when full.
type sizeCache struct {
	mu sync.Mutex
	m  map[string]int64
}

const maxSizes = 1 << 20

func (c *sizeCache) get(name string) (int64, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	n, ok := c.m[name]
	return n, ok
}

func (c *sizeCache) put(name string, n int64) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.m == nil || len(c.m) >= maxSizes {
		c.m = map[string]int64{}
	}
	c.m[name] = n
}

func (c *sizeCache) drop(name string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	delete(c.m, name)
}
