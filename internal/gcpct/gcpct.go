package gcpct

import (
	"runtime/debug"
	"sync"
)

// Off asks Hold to turn the collector off (GOGC=off) while held.
const Off = -1

var state struct {
	sync.Mutex
	base  int          // GOGC before the first active hold
	holds map[*int]int // active holds and their percents
}

// Hold applies percent (Off, or ≥ 0) as long as it is the strongest active request, until
// the returned release runs; release is idempotent.
func Hold(percent int) (release func()) {
	state.Lock()
	defer state.Unlock()
	if len(state.holds) == 0 {
		state.base = debug.SetGCPercent(100)
		debug.SetGCPercent(state.base)
		state.holds = map[*int]int{}
	}
	key := new(int)
	state.holds[key] = percent
	apply()
	var once sync.Once
	return func() {
		once.Do(func() {
			state.Lock()
			defer state.Unlock()
			delete(state.holds, key)
			apply()
		})
	}
}

// apply sets GOGC from the active holds; state is locked.
func apply() {
	if len(state.holds) == 0 {
		debug.SetGCPercent(state.base)
		return
	}
	eff, any := state.base, false
	for _, p := range state.holds {
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
