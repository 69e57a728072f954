package gcpct

import (
	"math"
	"runtime/debug"
	"runtime/metrics"

	"github.com/cairnbackup/cairn/internal/holds"
)

// Off asks Hold to turn the collector off (GOGC=off) while held.
const Off = -1

var state struct {
	holds.Set[int]     // active holds and their percents
	base           int // GOGC before the first active hold
}

// Hold applies percent (Off, or ≥ 0) as long as it is the strongest active request, until
// the returned release runs; release is idempotent.
func Hold(percent int) (release func()) {
	return state.Add(percent, func() {
		state.base = debug.SetGCPercent(100)
		debug.SetGCPercent(state.base)
	}, apply)
}

// apply sets GOGC from the active holds; state is locked.
func apply() {
	if state.Len() == 0 {
		debug.SetGCPercent(state.base)
		return
	}
	eff, any := state.base, false
	for p := range state.All() {
		switch {
		case p < 0:
			debug.SetGCPercent(Off)
			return
		case !any || p < eff:
			eff, any = p, true
		}
	}
	if state.base >= 0 && state.base < eff {
		eff = state.base // never raise GOGC above what the process had
	}
	debug.SetGCPercent(eff)
}

var memState struct {
	holds.Set[int64]       // active holds and their allowances
	prev             int64 // memory limit before the first active hold
	base             int64 // Go memory in use when the first hold arrived
}

// HoldMemory sets a soft memory limit (debug.SetMemoryLimit) of the Go memory in use now
// (heap objects, stacks, runtime metadata; not free heap pages) plus extra bytes, plus the
// allowances of other active holders, until the returned release runs; release is
// idempotent. The collector then returns free pages to the OS and collects sooner instead of
// letting a long run's heap fragmentation raise the process's footprint. A limit the process
// already had is never raised. Call it after a collection, when the in-use figure is small.
func HoldMemory(extra int64) (release func()) {
	return memState.Add(extra, func() {
		memState.prev = debug.SetMemoryLimit(-1)
		memState.base = inUse()
	}, applyMemory)
}

// applyMemory sets the memory limit from the active holds; memState is locked.
func applyMemory() {
	if memState.Len() == 0 {
		debug.SetMemoryLimit(memState.prev)
		return
	}
	limit := memState.base
	for e := range memState.All() {
		if e > math.MaxInt64-limit {
			limit = math.MaxInt64
			break
		}
		limit += e
	}
	debug.SetMemoryLimit(min(limit, memState.prev))
}

// inUse is the Go runtime's memory in use: everything it has mapped minus free and released
// heap pages.
func inUse() int64 {
	s := []metrics.Sample{
		{Name: "/memory/classes/total:bytes"},
		{Name: "/memory/classes/heap/free:bytes"},
		{Name: "/memory/classes/heap/released:bytes"},
	}
	metrics.Read(s)
	for _, x := range s {
		if x.Value.Kind() != metrics.KindUint64 {
			return 0
		}
	}
	return int64(s[0].Value.Uint64() - s[1].Value.Uint64() - s[2].Value.Uint64())
}
