package repo

import (
	"slices"
	"sync"
	"testing"
)

// TestWriteBehindHandsOnWholePages: finished writes are handed to writeback once a batch is
// full, as whole pages only (a page a write covers in part is left to the final fsync),
// sorted and with touching ranges joined, whatever order the writes finished in.
func TestWriteBehindHandsOnWholePages(t *testing.T) {
	const page, mib = 4096, 1 << 20
	var mu sync.Mutex
	var got [][2]int64
	w := startWriteBehind(page, func(off, n int64) {
		mu.Lock()
		got = append(got, [2]int64{off, n})
		mu.Unlock()
	})
	w.wrote(9*mib, 10*mib)      // C: aligned, touches B's last page
	w.wrote(3*mib+10, 3*mib+20) // inside one page: nothing to hand on
	w.wrote(5*mib+100, 9*mib)   // B: starts inside a page B shares with A
	w.wrote(100, 5*mib+100)     // A: the batch is now full
	w.stop()
	want := [][2]int64{{page, 5*mib - page}, {5*mib + page, 10*mib - 5*mib - page}}
	if !slices.Equal(got, want) {
		t.Fatalf("handed on %v, want %v", got, want)
	}
	got = nil
	w = startWriteBehind(page, func(off, n int64) { got = append(got, [2]int64{off, n}) })
	w.wrote(0, mib) // less than a batch: left to the final fsync
	w.stop()
	if len(got) != 0 {
		t.Fatalf("a part batch was handed on: %v", got)
	}
	var nilW *writeBehind // targets without a descriptor
	nilW.wrote(0, mib)
	nilW.stop()
}
