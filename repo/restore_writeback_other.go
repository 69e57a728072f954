//go:build !linux

package repo

import "io"

// writeBehind is a no-op where sync_file_range is not available.
type writeBehind struct{}

func newWriteBehind(io.WriterAt) *writeBehind { return nil }

func (w *writeBehind) wrote(off, end int64) {}

func (w *writeBehind) stop() {}
