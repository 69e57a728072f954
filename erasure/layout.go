package erasure

import (
	"errors"
	"fmt"
)

// MaxShards is the largest k+m a Layout may have (the GF(2^8) Reed-Solomon limit).
const MaxShards = 256

// ErrInvalidLayout is returned for a Layout outside 1 <= Data, 0 <= Parity, Data+Parity <= MaxShards.
var ErrInvalidLayout = errors.New("erasure: invalid layout")

// Layout is an erasure layout: every pack is split into Data shards plus Parity shards,
// and any Data of the Data+Parity shards recover it.
type Layout struct {
	Data   int `json:"data"`
	Parity int `json:"parity"`
}

// Validate reports whether l is usable: 1 <= Data, 0 <= Parity and Data+Parity <= MaxShards.
func (l Layout) Validate() error {
	if l.Data < 1 || l.Parity < 0 || l.Data > MaxShards || l.Parity > MaxShards || l.Data+l.Parity > MaxShards {
		return fmt.Errorf("%w: %d+%d (want 1 <= data, 0 <= parity, data+parity <= %d)", ErrInvalidLayout, l.Data, l.Parity, MaxShards)
	}
	return nil
}

// Total returns Data+Parity, the number of shards per pack.
func (l Layout) Total() int { return l.Data + l.Parity }

// String formats the layout as "k+m".
func (l Layout) String() string { return fmt.Sprintf("%d+%d", l.Data, l.Parity) }
