package holds

import (
	"slices"
	"testing"
)

// TestSet: first runs once per busy period, apply sees exactly the active values after every
// change, and releases are idempotent.
func TestSet(t *testing.T) {
	var s Set[int]
	firsts := 0
	var seen [][]int
	first := func() { firsts++ }
	apply := func() {
		v := slices.Sorted(s.All())
		if len(v) != s.Len() {
			t.Fatalf("All yielded %d values, Len %d", len(v), s.Len())
		}
		seen = append(seen, v)
	}
	r1 := s.Add(1, first, apply)
	r2 := s.Add(2, first, apply)
	r1()
	r1()
	r2()
	r3 := s.Add(3, first, apply)
	r3()
	want := [][]int{{1}, {1, 2}, {2}, {}, {3}, {}}
	if firsts != 2 || len(seen) != len(want) {
		t.Fatalf("first ran %d times, apply %d times (%v); want 2 and %d", firsts, len(seen), seen, len(want))
	}
	for i := range want {
		if !slices.Equal(seen[i], want[i]) {
			t.Fatalf("apply %d saw %v, want %v", i, seen[i], want[i])
		}
	}
}
