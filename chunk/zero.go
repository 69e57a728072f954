package chunk

import "bytes"

// ZeroBlockSize is the granularity of zero detection: only whole blocks of
// this size, aligned to the stream offset, can become part of a zero piece
// (plus the stream's final, shorter block).
const ZeroBlockSize = 64 << 10

// zeroBlock is shared, read-only, and compared against; never written.
var zeroBlock [ZeroBlockSize]byte

// isZero reports whether b (at most ZeroBlockSize long) is all zero. It uses
// the runtime's vectorised memequal, which stops at the first difference.
func isZero(b []byte) bool {
	return bytes.Equal(b, zeroBlock[:len(b)])
}
