package erasure

import (
	"errors"
	"fmt"
	"math/bits"
	"runtime"
	"sync"
	"time"

	"github.com/klauspost/reedsolomon"
	"github.com/zeebo/blake3"
)

// Coder encodes packs into shard objects and decodes them again for one Layout.
// It is safe for concurrent use.
type Coder struct {
	layout     Layout
	enc        reedsolomon.Encoder
	blockSize  int64
	parallel   int
	hedgeAfter time.Duration
	tailRead   int64
	cacheBytes int64
	cache      *blockCache // shared by the Coder's PackReaders; nil if disabled
}

// Option configures a Coder.
type Option func(*Coder) error

// WithBlockSize sets the payload span of one block checksum written by Encode (a power of
// two from 64 bytes to 1 GiB; default DefaultBlockSize). Readers always use the block size
// recorded in each footer, so changing it never breaks existing shards.
func WithBlockSize(n int) Option {
	return func(c *Coder) error {
		if n < minBlockSize || n > maxBlockSize || bits.OnesCount(uint(n)) != 1 {
			return fmt.Errorf("erasure: block size %d: want a power of two in [%d, %d]", n, minBlockSize, maxBlockSize)
		}
		c.blockSize = int64(n)
		return nil
	}
}

// WithParallel bounds the number of concurrent shard fetches of one degraded read, heal or
// check (default Data+Parity, i.e. fetch every candidate at once and keep the first Data
// that verify). Data trades bandwidth for latency: no hedging beyond the shards needed.
func WithParallel(n int) Option {
	return func(c *Coder) error {
		if n < 1 {
			return fmt.Errorf("erasure: parallel %d: want >= 1", n)
		}
		c.parallel = n
		return nil
	}
}

// WithHedgeAfter makes a healthy read that has not finished after d also start a degraded
// read of the same range, returning whichever verifies first. Zero (the default) disables
// time-based hedging: a data shard that hangs then delays the read until ctx ends.
func WithHedgeAfter(d time.Duration) Option {
	return func(c *Coder) error {
		if d < 0 {
			return fmt.Errorf("erasure: hedge delay %v: want >= 0", d)
		}
		c.hedgeAfter = d
		return nil
	}
}

// WithBlockCache sets the byte budget of the cache of verified data-shard blocks that the
// Coder's PackReaders share (default DefaultBlockCache; 0 disables it). With it, a pack
// read in order as ranges that do not end on block boundaries (a restore) fetches and
// hashes each data block once instead of once per range touching it. The cache holds at
// most n bytes of such blocks (blocks larger than n are never cached), and at most
// depositFactor × n bytes of the blocks degraded reads fetched from the other shards,
// which the reads of those shards take from it instead of fetching them again; beyond
// that, only the blocks of reads in flight.
func WithBlockCache(n int64) Option {
	return func(c *Coder) error {
		if n < 0 {
			return fmt.Errorf("erasure: block cache %d bytes: want >= 0", n)
		}
		c.cacheBytes = n
		return nil
	}
}

// NewCoder returns a Coder for layout l.
func NewCoder(l Layout, opts ...Option) (*Coder, error) {
	if err := l.Validate(); err != nil {
		return nil, err
	}
	enc, err := reedsolomon.New(l.Data, l.Parity)
	if err != nil {
		return nil, fmt.Errorf("erasure: new %v coder: %w", l, err)
	}
	c := &Coder{layout: l, enc: enc, blockSize: DefaultBlockSize, parallel: l.Total(), tailRead: 4096, cacheBytes: DefaultBlockCache}
	for _, o := range opts {
		if err := o(c); err != nil {
			return nil, err
		}
	}
	if c.cacheBytes > 0 {
		c.cache = newBlockCache(c.cacheBytes)
	}
	return c, nil
}

// Layout returns the coder's layout.
func (c *Coder) Layout() Layout { return c.layout }

// ShardSize returns S, the payload length of each shard of a packLen-byte pack.
func (c *Coder) ShardSize(packLen int64) int64 { return shardSizeFor(packLen, c.layout.Data) }

// Encode splits pack into Data+Parity complete shard objects (payload || footer), index
// order: data shards first, then parity. packID (PackIDSize bytes) is recorded in every
// footer so a reader can tell shards of different packs apart.
func (c *Coder) Encode(packID, pack []byte) ([][]byte, error) {
	info, err := c.info(packID, len(pack))
	if err != nil {
		return nil, err
	}
	s, f := info.ShardSize, info.FooterLen()
	objs := make([][]byte, c.layout.Total())
	payloads := make([][]byte, len(objs))
	for i := range objs {
		objs[i] = make([]byte, s+int64(f))
		payloads[i] = objs[i][:s:s]
		if i < c.layout.Data {
			if lo := int64(i) * s; lo < int64(len(pack)) {
				copy(payloads[i], pack[lo:])
			}
		}
	}
	footers, err := c.encodePayloads(info, payloads)
	if err != nil {
		return nil, err
	}
	for i := range objs {
		copy(objs[i][s:], footers[i])
	}
	return objs, nil
}

// EncodeSplit is Encode without assembling objects: it returns every shard's payload and
// footer separately, so a caller can upload payload and footer as one object without a
// copy (e.g. io.MultiReader). Data payloads that lie wholly inside pack alias it: pack must
// not change while they are in use.
func (c *Coder) EncodeSplit(packID, pack []byte) (payloads, footers [][]byte, err error) {
	return c.EncodeSplitBuf(packID, pack, func(n int64) []byte { return make([]byte, n) })
}

// EncodeSplitBuf is EncodeSplit with the payloads it cannot alias (parity, and data
// payloads that reach past the end of pack) taken from buf, so a caller can reuse them
// across packs. buf(n) must return a slice of length n that nothing else uses until the
// caller is done with the payloads; its contents may be anything (EncodeSplitBuf writes
// every byte). buf is called once per such payload, in index order, and not at all once
// EncodeSplitBuf has returned.
func (c *Coder) EncodeSplitBuf(packID, pack []byte, buf func(n int64) []byte) (payloads, footers [][]byte, err error) {
	info, err := c.info(packID, len(pack))
	if err != nil {
		return nil, nil, err
	}
	s := info.ShardSize
	payloads = make([][]byte, c.layout.Total())
	for i := range payloads {
		lo, hi := int64(i)*s, int64(i+1)*s
		switch {
		case i < c.layout.Data && hi <= int64(len(pack)):
			payloads[i] = pack[lo:hi:hi]
		default:
			p := buf(s)
			if int64(len(p)) != s {
				return nil, nil, fmt.Errorf("erasure: encode: buffer of %d bytes, want %d", len(p), s)
			}
			n := 0
			if i < c.layout.Data && lo < int64(len(pack)) {
				n = copy(p, pack[lo:])
			}
			if i < c.layout.Data {
				clear(p[n:]) // zero padding; parity is overwritten whole by the encoder
			}
			payloads[i] = p
		}
	}
	footers, err = c.encodePayloads(info, payloads)
	if err != nil {
		return nil, nil, err
	}
	return payloads, footers, nil
}

// maxPartsTail bounds the zero-padded tail EncodeParts encodes from scratch copies; a pack
// whose data shards need more padding than this (only packs of a few blocks) is encoded
// with EncodeSplitBuf.
const maxPartsTail = 64 << 10

// EncodeParts is Encode returning each shard object as parts to upload in order (their
// concatenation is the object Encode returns) without copying the pack: data shards alias
// pack, the zero padding of the last data shard is a separate small part, and parity
// payloads come from buf as in EncodeSplitBuf. So a 4+2 encode of a 16 MiB pack takes two
// shard-sized buffers from buf and allocates a few KiB. pack must not change while the
// parts are in use.
func (c *Coder) EncodeParts(packID, pack []byte, buf func(n int64) []byte) ([][][]byte, error) {
	info, err := c.info(packID, len(pack))
	if err != nil {
		return nil, err
	}
	k, total := c.layout.Data, c.layout.Total()
	s, n := info.ShardSize, int64(len(pack))
	// Positions [0, head) of every data payload lie inside pack; [head, s) is the tail,
	// which needs padding in at least the last data payload.
	head := min(s, max(0, n-int64(k-1)*s))
	tail := s - head
	if tail > maxPartsTail {
		payloads, footers, err := c.EncodeSplitBuf(packID, pack, buf)
		if err != nil {
			return nil, err
		}
		objs := make([][][]byte, total)
		for i := range objs {
			objs[i] = [][]byte{payloads[i], footers[i]}
		}
		return objs, nil
	}
	parts := make([][][]byte, total) // payload parts of each shard
	heads := make([][]byte, total)
	tails := make([][]byte, total)
	var scratch []byte
	if tail > 0 {
		scratch = make([]byte, int64(k)*tail)
	}
	for i := range total {
		if i >= k {
			p := buf(s)
			if int64(len(p)) != s {
				return nil, fmt.Errorf("erasure: encode: buffer of %d bytes, want %d", len(p), s)
			}
			heads[i], tails[i] = p[:head], p[head:]
			parts[i] = [][]byte{p}
			continue
		}
		lo := int64(i) * s
		if lo+s <= n {
			heads[i], tails[i] = pack[lo:lo+head], pack[lo+head:lo+s]
			parts[i] = [][]byte{pack[lo : lo+s : lo+s]}
			continue
		}
		t := scratch[int64(i)*tail : int64(i+1)*tail]
		if lo+head < n {
			copy(t, pack[lo+head:])
		}
		heads[i], tails[i] = []byte{}, t
		if head > 0 { // then lo+head <= n
			heads[i] = pack[lo : lo+head : lo+head]
		}
		parts[i] = [][]byte{heads[i], t}
	}
	if c.layout.Parity > 0 {
		// Reed-Solomon works position by position: coding head and tail separately gives
		// the parity of the whole payloads.
		for _, shards := range [][][]byte{heads, tails} {
			if len(shards[0]) == 0 {
				continue
			}
			if err := c.enc.Encode(shards); err != nil {
				return nil, fmt.Errorf("erasure: encode %v: %w", c.layout, err)
			}
		}
	}
	objs := make([][][]byte, total)
	forEach(total, func(i int) {
		info := *info
		info.Index = i
		info.BlockSums = sumBlockParts(parts[i], s, info.BlockSize)
		objs[i] = append(parts[i], info.appendFooter(make([]byte, 0, info.FooterLen())))
	})
	return objs, nil
}

// sumBlockParts is sumBlocks of the concatenation of parts (size bytes in all).
func sumBlockParts(parts [][]byte, size, bs int64) [][BlockSumSize]byte {
	if len(parts) == 1 {
		return sumBlocks(parts[0], bs)
	}
	sums := make([][BlockSumSize]byte, numBlocks(size, bs))
	var h *blake3.Hasher
	pi, off := 0, int64(0) // current part and offset in it
	for b := range sums {
		want := min(bs, size-int64(b)*bs)
		if pi < len(parts) && int64(len(parts[pi]))-off >= want {
			sums[b] = blockSum(parts[pi][off : off+want])
		} else {
			if h == nil {
				h = blake3.New()
			}
			h.Reset()
			for want > 0 && pi < len(parts) {
				m := min(want, int64(len(parts[pi]))-off)
				h.Write(parts[pi][off : off+m])
				off += m
				want -= m
				if off == int64(len(parts[pi])) {
					pi, off = pi+1, 0
				}
			}
			var sum [32]byte
			copy(sums[b][:], h.Sum(sum[:0]))
			continue
		}
		off += want
		if off == int64(len(parts[pi])) {
			pi, off = pi+1, 0
		}
	}
	return sums
}

// info returns the footer template (no index, no sums) for a pack.
func (c *Coder) info(packID []byte, n int) (*ShardInfo, error) {
	if len(packID) != PackIDSize {
		return nil, fmt.Errorf("erasure: pack ID is %d bytes, want %d", len(packID), PackIDSize)
	}
	if int64(n) > maxPackLen {
		return nil, fmt.Errorf("erasure: pack of %d bytes too large", n)
	}
	info := &ShardInfo{Layout: c.layout, PackLen: int64(n), ShardSize: c.ShardSize(int64(n)), BlockSize: c.blockSize}
	copy(info.PackID[:], packID)
	return info, nil
}

// encodePayloads computes parity in place (data payloads filled, parity payloads of size S)
// and returns every shard's footer.
func (c *Coder) encodePayloads(tmpl *ShardInfo, payloads [][]byte) ([][]byte, error) {
	if c.layout.Parity > 0 && tmpl.ShardSize > 0 {
		if err := c.enc.Encode(payloads); err != nil {
			return nil, fmt.Errorf("erasure: encode %v: %w", c.layout, err)
		}
	}
	footers := make([][]byte, len(payloads))
	forEach(len(payloads), func(i int) {
		info := *tmpl
		info.Index = i
		info.BlockSums = sumBlocks(payloads[i], info.BlockSize)
		footers[i] = info.appendFooter(make([]byte, 0, info.FooterLen()))
	})
	return footers, nil
}

// footerFor builds the footer of a reconstructed payload for shard index i.
func footerFor(tmpl *ShardInfo, i int, payload []byte) []byte {
	info := *tmpl
	info.Index = i
	info.BlockSums = sumBlocks(payload, info.BlockSize)
	return info.appendFooter(make([]byte, 0, info.FooterLen()))
}

func sumBlocks(p []byte, bs int64) [][BlockSumSize]byte {
	sums := make([][BlockSumSize]byte, numBlocks(int64(len(p)), bs))
	for b := range sums {
		lo := int64(b) * bs
		sums[b] = blockSum(p[lo:min(lo+bs, int64(len(p)))])
	}
	return sums
}

// forEach runs fn(0..n-1) on up to GOMAXPROCS goroutines (CPU-bound work).
func forEach(n int, fn func(i int)) {
	workers := min(n, runtime.GOMAXPROCS(0))
	if workers <= 1 {
		for i := range n {
			fn(i)
		}
		return
	}
	var wg sync.WaitGroup
	next := make(chan int)
	for range workers {
		wg.Go(func() {
			for i := range next {
				fn(i)
			}
		})
	}
	for i := range n {
		next <- i
	}
	close(next)
	wg.Wait()
}

// Reconstruct fills in the missing payloads (nil or empty entries) of shards, which must
// hold Data+Parity entries of equal length S where present. Payloads are NOT verified
// here: pass only payloads that came out of ParseShard or VerifyRange. Fewer than Data
// present returns a *TooFewShardsError.
func (c *Coder) Reconstruct(shards [][]byte) error {
	return c.reconstruct(shards, nil)
}

// reconstruct is Reconstruct of the required data shards only (nil: all). A missing entry
// may also be an empty slice with room for a payload (len 0, cap > 0): the payload is then
// reconstructed into it.
func (c *Coder) reconstruct(shards [][]byte, required []bool) error {
	if len(shards) != c.layout.Total() {
		return fmt.Errorf("erasure: reconstruct: %d shards, want %d", len(shards), c.layout.Total())
	}
	size, have := -1, 0
	failed := map[int]error{}
	for i, s := range shards {
		if s == nil || len(s) == 0 && cap(s) > 0 {
			failed[i] = errMissing
			continue
		}
		if size >= 0 && len(s) != size {
			return fmt.Errorf("erasure: reconstruct: shard %d is %d bytes, others %d", i, len(s), size)
		}
		size = len(s)
		have++
	}
	if have < c.layout.Data {
		return &TooFewShardsError{Need: c.layout.Data, Have: have, Failed: failed}
	}
	if size == 0 { // empty pack: every shard is empty
		for i := range shards {
			if shards[i] == nil {
				shards[i] = []byte{}
			}
		}
		return nil
	}
	var err error
	if required != nil {
		err = c.enc.ReconstructSome(shards, required)
	} else {
		err = c.enc.Reconstruct(shards)
	}
	if errors.Is(err, reedsolomon.ErrTooFewShards) {
		return &TooFewShardsError{Need: c.layout.Data, Have: have, Failed: failed}
	}
	if err != nil {
		return fmt.Errorf("erasure: reconstruct %v: %w", c.layout, err)
	}
	return nil
}

var errMissing = errors.New("missing")

// Join concatenates the Data data payloads and returns the first packLen bytes: the
// original pack.
func (c *Coder) Join(shards [][]byte, packLen int64) ([]byte, error) {
	if len(shards) < c.layout.Data {
		return nil, fmt.Errorf("erasure: join: %d shards, want at least %d", len(shards), c.layout.Data)
	}
	if packLen < 0 || packLen > maxPackLen {
		return nil, fmt.Errorf("erasure: join: bad pack length %d", packLen)
	}
	s := c.ShardSize(packLen)
	out := make([]byte, 0, packLen)
	for i := range c.layout.Data {
		if int64(len(shards[i])) != s {
			return nil, fmt.Errorf("erasure: join: data shard %d is %d bytes, want %d", i, len(shards[i]), s)
		}
		out = append(out, shards[i][:min(s, packLen-int64(len(out)))]...)
	}
	return out, nil
}
