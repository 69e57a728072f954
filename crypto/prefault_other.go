//go:build !linux

package crypto

// prefault does nothing where MADV_POPULATE_WRITE is not available.
func prefault(int) (release func()) { return func() {} }
