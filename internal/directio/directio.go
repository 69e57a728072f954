package directio

import (
	"errors"
	"syscall"
	"unsafe"
)

// Align is the alignment of direct transfers: file offset, length and buffer address. 4096
// covers the logical block size of every common disk and filesystem (512 or 4096); a device
// needing more refuses the transfer with EINVAL (see Unsupported).
const Align = 4096

// Aligned reports whether b starts on an Align boundary (an empty b does not).
func Aligned(b []byte) bool {
	return len(b) > 0 && uintptr(unsafe.Pointer(&b[0]))%Align == 0
}

// Buffer returns a zeroed buffer of n bytes that starts on an Align boundary. Go's allocator
// already page-aligns large buffers, so this only costs extra when it does not.
func Buffer(n int) []byte {
	b := make([]byte, n)
	if n == 0 || Aligned(b) {
		return b
	}
	b = make([]byte, n+Align)
	skip := (Align - int(uintptr(unsafe.Pointer(&b[0]))%Align)) % Align
	return b[skip : skip+n : skip+n]
}

// ErrNotSupported is what Reopen returns where the platform has no direct I/O.
var ErrNotSupported = errors.New("direct I/O is not supported on this platform")

// Unsupported reports whether err is how a filesystem, device or platform refuses direct
// I/O (EINVAL from the open or from a transfer, or ErrNotSupported), after which the caller
// should use buffered I/O.
func Unsupported(err error) bool {
	return errors.Is(err, syscall.EINVAL) || errors.Is(err, ErrNotSupported)
}

// Down rounds n down to a multiple of Align.
func Down(n int64) int64 { return n &^ (Align - 1) }

// Up rounds n up to a multiple of Align.
func Up(n int64) int64 { return (n + Align - 1) &^ (Align - 1) }
