package erasure

import (
	"context"
	"fmt"
)

type wholeShard struct {
	info    *ShardInfo
	payload []byte
}

// fetchWhole returns a function that reads and verifies whole shard objects of packID.
func (c *Coder) fetchWhole(src ShardSource, packID []byte) func(context.Context, int) (wholeShard, error) {
	return func(ctx context.Context, i int) (wholeShard, error) {
		obj, err := src.ReadShard(ctx, i, 0, -1)
		if err != nil {
			return wholeShard{}, fmt.Errorf("read shard %d: %w", i, err)
		}
		info, payload, err := ParseShard(obj)
		if err != nil {
			return wholeShard{}, fmt.Errorf("shard %d: %w", i, err)
		}
		switch {
		case info.Index != i:
			return wholeShard{}, corruptf("shard %d holds shard %d", i, info.Index)
		case string(info.PackID[:]) != string(packID):
			return wholeShard{}, corruptf("shard %d belongs to pack %x, want %x", i, info.PackID[:4], packID[:min(4, len(packID))])
		case info.Layout != c.layout:
			return wholeShard{}, corruptf("shard %d has layout %v, want %v", i, info.Layout, c.layout)
		}
		return wholeShard{info, payload}, nil
	}
}

// sameGeometry returns an accept function rejecting shards whose pack length or shard size
// disagree with the first accepted one.
func sameGeometry() func(int, wholeShard) error {
	var first *ShardInfo
	return func(i int, w wholeShard) error {
		if first == nil {
			first = w.info
			return nil
		}
		if w.info.PackLen != first.PackLen || w.info.ShardSize != first.ShardSize {
			return corruptf("shard %d says pack length %d, shard size %d; shard %d says %d, %d",
				i, w.info.PackLen, w.info.ShardSize, first.Index, first.PackLen, first.ShardSize)
		}
		return nil
	}
}

// Heal rebuilds the shards listed in missing (absent or known corrupt) of the pack named
// packID: it fetches whole shard objects of the other indices in parallel, keeps the first
// Data that verify (cancelling the rest), reconstructs, and returns each rebuilt shard as a
// complete object (payload || footer, written with the coder's block size) ready to
// upload. Fewer than Data good shards returns a *TooFewShardsError naming every failure.
func (c *Coder) Heal(ctx context.Context, src ShardSource, packID []byte, missing []int) (map[int][]byte, error) {
	if len(packID) != PackIDSize {
		return nil, fmt.Errorf("erasure: heal: pack ID is %d bytes, want %d", len(packID), PackIDSize)
	}
	l := c.layout
	isMissing := make([]bool, l.Total())
	for _, i := range missing {
		if i < 0 || i >= l.Total() {
			return nil, fmt.Errorf("erasure: heal: shard index %d outside layout %v", i, l)
		}
		isMissing[i] = true
	}
	rebuilt := map[int][]byte{}
	if len(missing) == 0 {
		return rebuilt, nil
	}
	var candidates []int
	for i, m := range isMissing {
		if !m {
			candidates = append(candidates, i)
		}
	}
	good, failed, err := gather(ctx, c.parallel, 0, candidates, l.Data, c.fetchWhole(src, packID), sameGeometry())
	if err != nil {
		return nil, fmt.Errorf("erasure: heal pack %x: %w", packID[:4], err)
	}
	if len(good) < l.Data {
		for i, m := range isMissing {
			if m {
				failed[i] = errMissing
			}
		}
		return nil, fmt.Errorf("erasure: heal pack %x: %w", packID[:4], &TooFewShardsError{Need: l.Data, Have: len(good), Failed: failed})
	}
	shards := make([][]byte, l.Total())
	var tmpl ShardInfo
	for i, w := range good {
		shards[i] = w.payload
		tmpl = *w.info
	}
	if err := c.reconstruct(shards, isMissing); err != nil {
		return nil, fmt.Errorf("erasure: heal pack %x: %w", packID[:4], err)
	}
	tmpl.BlockSize = c.blockSize
	idx := make([]int, 0, len(missing))
	for i, m := range isMissing {
		if m {
			idx = append(idx, i)
		}
	}
	objs := make([][]byte, len(idx))
	forEach(len(idx), func(n int) {
		i := idx[n]
		footer := footerFor(&tmpl, i, shards[i])
		obj := make([]byte, 0, len(shards[i])+len(footer))
		objs[n] = append(append(obj, shards[i]...), footer...)
	})
	for n, i := range idx {
		rebuilt[i] = objs[n]
	}
	return rebuilt, nil
}

// Check fetches and verifies every shard of the pack named packID and returns the reason
// each unusable shard failed (an empty map when all are healthy). When every shard verifies
// it also checks that the parity matches the data; a mismatch, which no single checksum can
// attribute to a shard, is returned as an error wrapping ErrCorrupt. The returned error is
// otherwise only for ctx ending or bad arguments. Pass the failed indices to Heal.
func (c *Coder) Check(ctx context.Context, src ShardSource, packID []byte) (map[int]error, error) {
	if len(packID) != PackIDSize {
		return nil, fmt.Errorf("erasure: check: pack ID is %d bytes, want %d", len(packID), PackIDSize)
	}
	l := c.layout
	all := make([]int, l.Total())
	for i := range all {
		all[i] = i
	}
	good, failed, err := gather(ctx, c.parallel, 0, all, len(all), c.fetchWhole(src, packID), sameGeometry())
	if err != nil {
		return nil, fmt.Errorf("erasure: check pack %x: %w", packID[:4], err)
	}
	if len(failed) > 0 || l.Parity == 0 {
		return failed, nil
	}
	shards := make([][]byte, l.Total())
	for i, w := range good {
		shards[i] = w.payload
	}
	if len(shards[0]) == 0 {
		return failed, nil
	}
	ok, err := c.enc.Verify(shards)
	if err != nil {
		return nil, fmt.Errorf("erasure: check pack %x: verify parity: %w", packID[:4], err)
	}
	if !ok {
		return failed, corruptf("pack %x: parity does not match data", packID[:4])
	}
	return failed, nil
}
