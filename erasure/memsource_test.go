package erasure

import (
	"context"
	"errors"
	"fmt"
	"sync"
)

// fault is what memSource does when shard i is read.
type fault int

const (
	faultNone    fault = iota
	faultMissing       // object not found
	faultError         // the zone answers with an error
	faultSlow          // blocks until ctx is cancelled
	faultCorruptPayload
	faultCorruptFooter
)

func (f fault) String() string {
	return [...]string{"none", "missing", "error", "slow", "corrupt-payload", "corrupt-footer"}[f]
}

var errNotFound = errors.New("memsource: not found")

// memSource is an in-memory ShardSource with fault injection.
type memSource struct {
	mu          sync.Mutex
	objs        [][]byte
	faults      map[int]fault
	reads       map[int]int           // ReadShard calls per index
	ranges      []readRec             // every payload range read (offset >= 0), in order
	slowStarted chan int              // receives the index of every slow read once it blocks
	slowDone    chan int              // receives the index of every slow read once its ctx was cancelled
	tailGate    map[int]chan struct{} // suffix reads (offset < 0) of a shard wait for its channel
	atGate      map[int]int           // suffix reads that reached a shard's gate
}

func newMemSource(objs [][]byte, faults map[int]fault) *memSource {
	s := &memSource{faults: map[int]fault{}, reads: map[int]int{}, slowStarted: make(chan int, 64), slowDone: make(chan int, 64)}
	for _, o := range objs {
		s.objs = append(s.objs, append([]byte(nil), o...))
	}
	for i, f := range faults {
		s.faults[i] = f
		switch f {
		case faultCorruptPayload:
			if info, err := ParseFooter(s.objs[i]); err == nil && info.ShardSize > 0 {
				// one flipped byte in every block, so every range read of the shard fails
				for off := int64(0); off < info.ShardSize; off += info.BlockSize {
					s.objs[i][off+min(info.BlockSize, info.ShardSize-off)/2] ^= 0x01
				}
			} else {
				s.objs[i][0] ^= 0x01 // empty payload: hit the footer instead
			}
		case faultCorruptFooter:
			s.objs[i][len(s.objs[i])-TrailerSize-footerSumSize-1] ^= 0x80
		}
	}
	return s
}

// readRec is one ReadShard call with offset >= 0.
type readRec struct {
	shard  int
	off, n int64 // as asked; n < 0: to the end
}

// blockReads returns, for shard i, how many recorded reads covered each block of size bs
// of a payload of size size.
func (s *memSource) blockReads(i int, bs, size int64) []int {
	s.mu.Lock()
	defer s.mu.Unlock()
	counts := make([]int, numBlocks(size, bs))
	for _, r := range s.ranges {
		if r.shard != i {
			continue
		}
		end := r.off + r.n
		if r.n < 0 {
			end = size
		}
		for b := r.off / bs; b*bs < min(end, size); b++ {
			counts[b]++
		}
	}
	return counts
}

func (s *memSource) readCount(i int) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.reads[i]
}

func (s *memSource) ReadShard(ctx context.Context, i int, off, n int64) ([]byte, error) {
	s.mu.Lock()
	s.reads[i]++
	if off >= 0 {
		s.ranges = append(s.ranges, readRec{i, off, n})
	}
	f := s.faults[i]
	gate := s.tailGate[i]
	if gate != nil && off < 0 {
		if s.atGate == nil {
			s.atGate = map[int]int{}
		}
		s.atGate[i]++
	}
	var obj []byte
	if i >= 0 && i < len(s.objs) {
		obj = s.objs[i]
	}
	s.mu.Unlock()
	if gate != nil && off < 0 {
		select {
		case <-gate:
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	}
	switch f {
	case faultMissing:
		return nil, fmt.Errorf("shard %d: %w", i, errNotFound)
	case faultError:
		return nil, fmt.Errorf("shard %d: injected zone error", i)
	case faultSlow:
		s.slowStarted <- i
		<-ctx.Done()
		s.slowDone <- i
		return nil, ctx.Err()
	}
	if obj == nil {
		return nil, fmt.Errorf("shard %d: %w", i, errNotFound)
	}
	size := int64(len(obj))
	switch {
	case off < 0:
		off = max(size+off, 0)
		n = size - off
	case n < 0:
		n = size - off
	}
	if off > size || n < 0 || off+n > size {
		return nil, fmt.Errorf("shard %d: range [%d, +%d) outside %d-byte object", i, off, n, size)
	}
	return append([]byte(nil), obj[off:off+n]...), nil
}

// ReadShardInto implements ShardReaderInto with ReadShard's faults and records. A slow
// read writes garbage into the parts after its ctx ended, as a late network read could: a
// caller that returned without waiting for it would race (-race) or see wrong bytes.
func (s *memSource) ReadShardInto(ctx context.Context, i int, off int64, parts [][]byte) error {
	n := partsLen(parts)
	if s.faultOf(i) == faultSlow {
		_, err := s.ReadShard(ctx, i, off, n) // blocks until ctx ends
		for _, p := range parts {
			for j := range p {
				p[j] = 0xee
			}
		}
		return err
	}
	b, err := s.ReadShard(ctx, i, off, n)
	if err != nil {
		return err
	}
	scatter(b, parts)
	return nil
}

func (s *memSource) faultOf(i int) fault {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.faults[i]
}

// plainSource serves a memSource without ReadShardInto: readers take the ReadShard-and-copy
// path.
type plainSource struct{ m *memSource }

func (p plainSource) ReadShard(ctx context.Context, i int, off, n int64) ([]byte, error) {
	return p.m.ReadShard(ctx, i, off, n)
}

// sourceKinds are the two ways a PackReader reads a memSource.
var sourceKinds = []struct {
	name string
	wrap func(*memSource) ShardSource
}{
	{"into", func(m *memSource) ShardSource { return m }},
	{"plain", func(m *memSource) ShardSource { return plainSource{m} }},
}

// gateArrivals returns how many suffix reads of shard i reached its gate.
func (s *memSource) gateArrivals(i int) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.atGate[i]
}
