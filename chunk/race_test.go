//go:build race

package chunk

func raceEnabled() bool { return true }
