package holds

import (
	"iter"
	"sync"
)

// Set is the active holds of one setting, each a value under a key of its own. The zero Set
// is empty and ready to use.
type Set[T any] struct {
	mu    sync.Mutex
	holds map[*int]T
}

// Add registers v and applies the setting. When no hold was active, first runs before it
// (to record what to restore). first and apply run with s locked, so they may call Len and
// All. The returned release removes v and applies again; it is idempotent.
func (s *Set[T]) Add(v T, first, apply func()) (release func()) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(s.holds) == 0 {
		first()
		s.holds = map[*int]T{}
	}
	key := new(int)
	s.holds[key] = v
	apply()
	var once sync.Once
	return func() {
		once.Do(func() {
			s.mu.Lock()
			defer s.mu.Unlock()
			delete(s.holds, key)
			apply()
		})
	}
}

// Len returns the number of active holds; only from within first or apply.
func (s *Set[T]) Len() int { return len(s.holds) }

// All yields the active holds' values in no particular order; only from within first or
// apply.
func (s *Set[T]) All() iter.Seq[T] {
	return func(yield func(T) bool) {
		for _, v := range s.holds {
			if !yield(v) {
				return
			}
		}
	}
}
