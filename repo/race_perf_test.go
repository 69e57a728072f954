//go:build race

package repo

// raceEnabled reports whether the race detector is on (memory tests skip: it changes
// allocation and takes minutes on hundreds of MiB).
const raceEnabled = true
