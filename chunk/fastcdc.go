package chunk

import (
	"encoding/binary"
	"fmt"
	"io"

	"github.com/PlakarKorp/go-cdc-chunkers/chunkers/fastcdc"
	"github.com/zeebo/blake3"
)

// fastcdcStep is how many bytes the FastCDC chunker reads (and then scans)
// at a time once a chunk is past MinSize. The bytes read past a cut are
// carried over to the next chunk, costing two copies of at most this many
// bytes per chunk (about 3% of a default 1 MiB chunk); a smaller step costs
// more Read calls. The bytes are scanned while still in cache.
const fastcdcStep = 32 << 10

// fastCDC is the "fastcdc" Chunker: the FastCDC gear hash of
// go-cdc-chunkers' "fastcdc-v1.0.0" variant (normalization level 2, keyed
// gear table), as docs/FORMAT.md §6 specifies it, scanned by an unrolled
// loop. Boundaries are identical to the library's (TestFastCDCLibrary and
// the golden tests pin them); unlike the library it reads the stream
// straight into the caller's buffer instead of into a 2*MaxSize scan window
// that it then copies out of, which saves two copies of every byte.
type fastCDC struct {
	tab          *[256]uint64
	maskS, maskL uint64 // cut masks before and from the normal size on
	min, max     int
	normal       int

	r     io.Reader
	carry []byte // bytes read past the previous cut: the next chunk's start
	err   error  // sticky: io.EOF once r is drained, or r's error
	done  bool   // the last chunk has been returned (or Reset never called)
}

func newFastCDC(p Params) (*fastCDC, error) {
	tab, err := gearTable(p.Key)
	if err != nil {
		return nil, fmt.Errorf("%w: fastcdc: %v", ErrInvalidParams, err)
	}
	f := &fastCDC{
		tab:    tab,
		min:    int(p.MinSize),
		max:    int(p.MaxSize),
		normal: 1 << p.AverageBits,
		carry:  make([]byte, 0, min(fastcdcStep, int(p.MaxSize))),
		done:   true,
	}
	f.maskS, f.maskL = fastcdcMasks(f.min, f.max, int(p.AverageBits))
	return f, nil
}

// gearTable derives the keyed gear table: the first 2048 bytes of
// keyed-BLAKE3(key) over the library's public table as little-endian
// uint64s, read back as 256 little-endian uint64s.
func gearTable(key []byte) (*[256]uint64, error) {
	h, err := blake3.NewKeyed(key)
	if err != nil {
		return nil, err
	}
	var b [8 * 256]byte
	for i, g := range fastcdc.G {
		binary.LittleEndian.PutUint64(b[8*i:], g)
	}
	_, _ = h.Write(b[:])
	if _, err := h.Digest().Read(b[:]); err != nil {
		return nil, err
	}
	tab := new([256]uint64)
	for i := range tab {
		tab[i] = binary.LittleEndian.Uint64(b[8*i:])
	}
	return tab, nil
}

// fastcdcMasks returns the masks for chunk offsets below and from the normal
// size 2^bits on: bits+2 and bits-2 one bits at positions 63 - k*(64/ones).
// For MinSize 2 KiB, MaxSize 64 KiB and a normal size of 8 KiB the library
// uses the fixed masks of the original FastCDC paper instead; so does this.
func fastcdcMasks(minSize, maxSize, bits int) (maskS, maskL uint64) {
	if minSize == 2<<10 && maxSize == 64<<10 && bits == 13 {
		return 0x0003590703530000, 0x0000d90003530000
	}
	return spacedMask(bits + 2), spacedMask(bits - 2)
}

// spacedMask has ones one bits at positions 63 - k*(64/ones), k < ones.
func spacedMask(ones int) uint64 {
	switch {
	case ones >= 64:
		return ^uint64(0)
	case ones <= 0:
		return 0
	}
	var m uint64
	for k := range ones {
		m |= 1 << (63 - k*(64/ones))
	}
	return m
}

// Reset implements Chunker.
func (f *fastCDC) Reset(r io.Reader) {
	f.r, f.carry, f.err, f.done = r, f.carry[:0], nil, false
}

// Next implements Chunker.
func (f *fastCDC) Next(buf []byte) ([]byte, error) {
	if f.done {
		return nil, io.EOF
	}
	dst := append(buf[:0], f.carry...)
	f.carry = f.carry[:0]

	// The first MinSize bytes are not hashed: read them in one go.
	if len(dst) < f.min {
		dst = f.read(dst, f.min)
	}
	var fp uint64
	pos := min(f.min, len(dst)) // next offset to hash
	cut := -1
	for {
		if pos < len(dst) {
			cut, fp = f.scan(dst, pos, fp)
			if cut >= 0 {
				break
			}
			pos = len(dst)
		}
		if len(dst) >= f.max || f.err != nil {
			break
		}
		dst = f.read(dst, min(len(dst)+fastcdcStep, f.max))
	}
	if f.err != nil && f.err != io.EOF {
		f.done = true
		return nil, f.err
	}
	if cut < 0 {
		cut = min(len(dst), f.max)
	}
	f.carry = append(f.carry, dst[cut:]...)
	dst = dst[:cut]
	if len(dst) == 0 { // drained at a chunk boundary
		f.done = true
		return nil, io.EOF
	}
	if f.err == io.EOF && len(f.carry) == 0 {
		f.done = true // the next call would return io.EOF anyway; skip its read
	}
	return dst, nil
}

// read appends stream bytes to dst until it holds want bytes or the reader
// fails; the failure (io.EOF included) is recorded in f.err.
func (f *fastCDC) read(dst []byte, want int) []byte {
	if cap(dst) < want {
		// Grow by half (up to MaxSize) rather than to want, so a long chunk
		// regrows its buffer a few times, not once per step; start at twice
		// the normal size, which holds nearly every chunk.
		n := make([]byte, len(dst), min(max(want, cap(dst)+cap(dst)/2, 2*f.normal), f.max))
		copy(n, dst)
		dst = n
	}
	if len(dst) < want && f.err == nil {
		m, err := readFull(f.r, dst[len(dst):want])
		dst, f.err = dst[:len(dst)+m], err
	}
	return dst
}

// scan hashes data[pos:] (pos >= MinSize) continuing from fingerprint fp and
// returns the first cut offset, or -1 and the fingerprint after the last byte.
func (f *fastCDC) scan(data []byte, pos int, fp uint64) (int, uint64) {
	end := min(len(data), f.max)
	if pos < f.normal {
		cut, h := gearScan(f.tab, data[:min(end, f.normal)], pos, f.maskS, fp)
		if cut >= 0 || end <= f.normal {
			return cut, h
		}
		pos, fp = f.normal, h
	}
	return gearScan(f.tab, data[:end], pos, f.maskL, fp)
}

// gearScan runs fp = fp<<1 + tab[b] over data[i:] and returns the first
// offset whose fp has no bit of mask set, or -1 and the final fp.
//
// Two bytes per iteration: fp2 = fp<<2 + (tab[b0]<<1 + tab[b1]) puts one
// shift-add per two bytes on the loop-carried chain instead of two per byte,
// while fp1 = fp<<1 + tab[b0] is still checked, so the cuts are the same.
func gearScan(tab *[256]uint64, data []byte, i int, mask, fp uint64) (int, uint64) {
	if i < 0 { // never; tells the compiler i+1 cannot overflow, so no bounds checks below
		return -1, fp
	}
	for ; i < len(data)-1; i += 2 {
		g0, g1 := tab[data[i]], tab[data[i+1]]
		fp1 := fp<<1 + g0
		fp = fp<<2 + (g0<<1 + g1)
		if fp1&mask == 0 {
			return i, fp1
		}
		if fp&mask == 0 {
			return i + 1, fp
		}
	}
	if i < len(data) {
		fp = fp<<1 + tab[data[i]]
		if fp&mask == 0 {
			return i, fp
		}
	}
	return -1, fp
}
