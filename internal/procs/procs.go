package procs

import (
	"runtime"

	"github.com/cairnbackup/cairn/internal/holds"
)

var state struct {
	holds.Set[int]     // active holds and their extra processors
	base           int // GOMAXPROCS before the first active hold
}

// Extra raises GOMAXPROCS to n above what it was when the first active hold arrived (the
// largest n of all active holds) until the returned release runs; when the last hold is
// released, that value comes back. n ≤ 0 holds nothing extra. release is idempotent.
// A change of GOMAXPROCS by someone else while holds are active is overwritten.
func Extra(n int) (release func()) {
	return state.Add(max(n, 0), func() { state.base = runtime.GOMAXPROCS(0) }, apply)
}

// apply sets GOMAXPROCS for the active holds; state is locked.
func apply() {
	extra := 0
	for n := range state.All() {
		extra = max(extra, n)
	}
	if want := state.base + extra; runtime.GOMAXPROCS(0) != want {
		runtime.GOMAXPROCS(want)
	}
}
