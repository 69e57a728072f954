package crypto

import "errors"

var (
	// ErrAuth is returned when sealed data fails authentication: it was tampered with,
	// truncated, sealed under another key, or opened with the wrong index or associated data.
	ErrAuth = errors.New("crypto: message authentication failed")

	// ErrWrongPassword is returned by [KeySlot.Unlock] when the password does not open the slot.
	ErrWrongPassword = errors.New("crypto: wrong password")

	// ErrUnsupported is returned for a key slot of an unknown version or KDF.
	ErrUnsupported = errors.New("crypto: unsupported format")

	// ErrMalformed is returned for input that is structurally invalid (bad header magic,
	// wrong field lengths, out-of-range KDF parameters).
	ErrMalformed = errors.New("crypto: malformed input")
)
