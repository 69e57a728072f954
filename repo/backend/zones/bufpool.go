package zones

import "sync"

// bufGrain rounds the capacity of new shard buffers, so packs of slightly different sizes
// reuse the same buffers.
const bufGrain = 64 << 10

// bufPool is a free list of shard buffers (parity payloads, the padded last data payload,
// joined shard objects) reused across pack saves. Unlike sync.Pool it survives garbage
// collections, so a steady backup allocates no shard memory at all; it keeps at most keep
// buffers, so what it retains is the high-water mark of concurrent saves, bounded.
type bufPool struct {
	mu      sync.Mutex
	free    [][]byte
	keep    int
	maxSize int // largest length asked for so far: new buffers get at least this capacity
}

func newBufPool(keep int) *bufPool { return &bufPool{keep: keep} }

// get returns a buffer of length n; its contents are undefined.
func (p *bufPool) get(n int64) []byte {
	p.mu.Lock()
	p.maxSize = max(p.maxSize, int(n))
	for i := len(p.free) - 1; i >= 0; i-- {
		if b := p.free[i]; int64(cap(b)) >= n {
			last := len(p.free) - 1
			p.free[i] = p.free[last]
			p.free[last] = nil
			p.free = p.free[:last]
			p.mu.Unlock()
			return b[:n]
		}
	}
	c := (p.maxSize + bufGrain - 1) / bufGrain * bufGrain
	p.mu.Unlock()
	return make([]byte, n, c)
}

// put returns buffers from get. Beyond keep buffers the smallest are dropped.
func (p *bufPool) put(bufs ...[]byte) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.keep <= 0 {
		return
	}
	for _, b := range bufs {
		if cap(b) == 0 {
			continue
		}
		if len(p.free) < p.keep {
			p.free = append(p.free, b[:0])
			continue
		}
		small := 0
		for i, f := range p.free {
			if cap(f) < cap(p.free[small]) {
				small = i
			}
		}
		if cap(b) > cap(p.free[small]) {
			p.free[small] = b[:0]
		}
	}
}

// reset drops every free buffer.
func (p *bufPool) reset() {
	p.mu.Lock()
	p.free = nil
	p.maxSize = 0
	p.mu.Unlock()
}
