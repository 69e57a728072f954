package procs

import (
	"runtime"
	"testing"
)

// TestExtra: overlapping holds apply the largest extra over the value before the first, and
// the last release restores it (releases are idempotent).
func TestExtra(t *testing.T) {
	base := runtime.GOMAXPROCS(0)
	check := func(step string, want int) {
		t.Helper()
		if got := runtime.GOMAXPROCS(0); got != want {
			t.Fatalf("%s: GOMAXPROCS %d, want %d", step, got, want)
		}
	}
	r1 := Extra(2)
	check("one hold of 2", base+2)
	r2 := Extra(3)
	check("holds of 2 and 3", base+3)
	r2()
	r2()
	check("3 released (twice)", base+2)
	r3 := Extra(0)
	check("holds of 2 and 0", base+2)
	r1()
	check("2 released", base)
	r3()
	check("all released", base)
	r4 := Extra(-1)
	check("negative extra", base)
	r4()
}
