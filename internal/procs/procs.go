package procs

import (
	"runtime"
	"sync"
)

var state struct {
	sync.Mutex
	holds map[*int]int // active holds and their extra processors
	base  int          // GOMAXPROCS before the first active hold
}

// Extra raises GOMAXPROCS to n above what it was when the first active hold arrived (the
// largest n of all active holds) until the returned release runs; when the last hold is
// released, that value comes back. n ≤ 0 holds nothing extra. release is idempotent.
// A change of GOMAXPROCS by someone else while holds are active is overwritten.
func Extra(n int) (release func()) {
	state.Lock()
	defer state.Unlock()
	if len(state.holds) == 0 {
		state.base = runtime.GOMAXPROCS(0)
		state.holds = map[*int]int{}
	}
	key := new(int)
	state.holds[key] = max(n, 0)
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

// apply sets GOMAXPROCS for the active holds; state is locked.
func apply() {
	extra := 0
	for _, n := range state.holds {
		extra = max(extra, n)
	}
	if want := state.base + extra; runtime.GOMAXPROCS(0) != want {
		runtime.GOMAXPROCS(want)
	}
}
