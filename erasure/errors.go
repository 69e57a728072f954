package erasure

import (
	"errors"
	"fmt"
	"sort"
	"strings"
)

var (
	// ErrCorrupt marks a shard whose footer or payload does not verify. Such a shard is an
	// erasure: callers treat it exactly like a missing one.
	ErrCorrupt = errors.New("erasure: corrupt shard")

	// ErrShortTail is returned by ParseFooter when the bytes given hold the trailer but not
	// the whole footer; FooterLen tells how many bytes to read instead.
	ErrShortTail = errors.New("erasure: tail shorter than footer")

	// ErrTooFewShards is matched (errors.Is) by every *TooFewShardsError: fewer than Data
	// good shards were available, so the pack cannot be read or healed.
	ErrTooFewShards = errors.New("erasure: too few shards")

	// ErrRange is returned for a read outside the pack.
	ErrRange = errors.New("erasure: range outside pack")
)

// TooFewShardsError reports which shards failed, and why, when fewer than Need verified.
// It matches ErrTooFewShards with errors.Is.
type TooFewShardsError struct {
	Need, Have int
	// Failed maps shard index to the reason it was not usable (nil map when unknown).
	Failed map[int]error
}

// Error lists the failures in index order.
func (e *TooFewShardsError) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "%v: have %d of %d needed", ErrTooFewShards, e.Have, e.Need)
	for n, i := range sortedKeys(e.Failed) {
		sep := "; "
		if n == 0 {
			sep = ": "
		}
		fmt.Fprintf(&b, "%sshard %d: %v", sep, i, e.Failed[i])
	}
	return b.String()
}

// Is makes errors.Is(err, ErrTooFewShards) true.
func (e *TooFewShardsError) Is(target error) bool { return target == ErrTooFewShards }

func corruptf(format string, args ...any) error {
	return fmt.Errorf("%w: %s", ErrCorrupt, fmt.Sprintf(format, args...))
}

func isCorrupt(err error) bool { return errors.Is(err, ErrCorrupt) }

// sortedKeys returns m's keys in increasing order.
func sortedKeys[V any](m map[int]V) []int {
	keys := make([]int, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Ints(keys)
	return keys
}
