package gcpct

import (
	"math"
	"runtime/debug"
	"testing"
)

func current() int {
	p := debug.SetGCPercent(100)
	debug.SetGCPercent(p)
	return p
}

// TestHoldOverlaps: overlapping holds released in any order never leave the process with
// another holder's setting, and the original GOGC comes back.
func TestHoldOverlaps(t *testing.T) {
	defer debug.SetGCPercent(debug.SetGCPercent(100))
	type step struct {
		op   string // "hold" or "release"
		i    int    // which hold
		pct  int    // for hold
		want int    // GOGC after the step
	}
	for _, tc := range []struct {
		name  string
		base  int
		steps []step
	}{
		{"single", 100, []step{{"hold", 0, 25, 25}, {"release", 0, 0, 100}}},
		{"off wins, released first", 100, []step{{"hold", 0, 25, 25}, {"hold", 1, Off, Off}, {"release", 1, 0, 25}, {"release", 0, 0, 100}}},
		{"off wins, released last", 100, []step{{"hold", 0, Off, Off}, {"hold", 1, 25, Off}, {"release", 0, 0, 25}, {"release", 1, 0, 100}}},
		{"lowest wins", 100, []step{{"hold", 0, 50, 50}, {"hold", 1, 25, 25}, {"release", 1, 0, 50}, {"release", 0, 0, 100}}},
		{"never above the base", 20, []step{{"hold", 0, 25, 20}, {"release", 0, 0, 20}}},
		{"base off stays off", Off, []step{{"hold", 0, 25, 25}, {"release", 0, 0, Off}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			debug.SetGCPercent(tc.base)
			rel := map[int]func(){}
			for n, s := range tc.steps {
				if s.op == "hold" {
					rel[s.i] = Hold(s.pct)
				} else {
					rel[s.i]()
					rel[s.i]() // idempotent
				}
				if got := current(); got != s.want {
					t.Fatalf("step %d (%s %d): GOGC %d, want %d", n, s.op, s.i, got, s.want)
				}
			}
		})
	}
}

// TestHoldMemory: the limit is the in-use memory plus the holders' allowances, never above
// the process's own limit, and comes back when the last holder releases.
func TestHoldMemory(t *testing.T) {
	defer debug.SetMemoryLimit(debug.SetMemoryLimit(math.MaxInt64))
	limit := func() int64 { return debug.SetMemoryLimit(-1) }
	const mib = 1 << 20
	r1 := HoldMemory(32 * mib)
	l1 := limit()
	if base := memState.base; l1 != base+32*mib || base <= 0 {
		t.Fatalf("one hold: limit %d, base %d", l1, base)
	}
	r2 := HoldMemory(16 * mib)
	if l2 := limit(); l2 != l1+16*mib {
		t.Errorf("two holds: limit %d, want %d", l2, l1+16*mib)
	}
	r1()
	r1()
	if l := limit(); l != memState.base+16*mib {
		t.Errorf("after the first release: limit %d", l)
	}
	r2()
	if l := limit(); l != math.MaxInt64 {
		t.Errorf("after the last release: limit %d, want none", l)
	}
	debug.SetMemoryLimit(8 * mib) // the process's own, lower limit wins
	r3 := HoldMemory(1 << 40)
	if l := limit(); l != 8*mib {
		t.Errorf("under a process limit: %d, want %d", l, 8*mib)
	}
	r3()
	if l := limit(); l != 8*mib {
		t.Errorf("process limit not restored: %d", l)
	}
}
