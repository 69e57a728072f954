package chunk

import "math"

// noHole marks "no further hole extent" in holeFinder.
const noHole = math.MaxInt64

// holeFinder locates, with SEEK_HOLE/SEEK_DATA, the runs of whole zero
// blocks of a regular file that can be skipped without reading. Offsets are
// stream offsets; base is the file offset of stream offset 0.
type holeFinder struct {
	seek func(off int64, whence int) (int64, error)
	base int64 // file offset of stream offset 0
	size int64 // stream length when the splitter started

	// The next skippable extent, [start, end); start == end == noHole when
	// none is left or hole detection failed.
	start, end int64
}

// next returns the first skippable extent that ends after off. The extent
// covers only whole ZeroBlockSize blocks (aligned to the stream offset)
// lying inside a hole, plus the final partial block when the hole reaches
// the end of the file: exactly the blocks a scan would find zero, and never
// anything a scan could find non-zero. Any seek failure (filesystem without
// SEEK_HOLE, EINVAL, ...) disables skipping for the rest of the stream;
// reading is always a correct fallback.
func (h *holeFinder) next(off int64) (start, end int64) {
	if off < h.end {
		return max(h.start, off), h.end
	}
	h.start, h.end = noHole, noHole
	for pos := off; pos < h.size; {
		hs, err := h.seek(h.base+pos, seekHole)
		if err != nil {
			return h.start, h.end // ENXIO (past EOF) or unsupported: stream the rest
		}
		hs -= h.base
		if hs < pos || hs >= h.size {
			break // only the virtual hole at EOF is left
		}
		ds, err := h.seek(h.base+hs, seekData)
		switch {
		case err == nil:
			ds = min(ds-h.base, h.size)
		case isNoData(err):
			ds = h.size // the hole runs to EOF
		default:
			return h.start, h.end
		}
		if ds <= hs {
			break // inconsistent answer (file changing?): stop skipping
		}
		a, b := alignUp(hs), alignDown(ds)
		if ds >= h.size {
			b = h.size // the final partial block is zero too
		}
		if a < b {
			h.start, h.end = a, b
			break
		}
		pos = ds
	}
	return h.start, h.end
}

func alignUp(x int64) int64   { return (x + ZeroBlockSize - 1) &^ (ZeroBlockSize - 1) }
func alignDown(x int64) int64 { return x &^ (ZeroBlockSize - 1) }
