//go:build !race

package repo

// raceEnabled reports whether the race detector is on.
const raceEnabled = false
