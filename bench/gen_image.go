package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"slices"
)

// Kind names an input generator.
type Kind string

// The input kinds accepted by --gen.
const (
	KindRandom       Kind = "random"       // incompressible bytes
	KindCompressible Kind = "compressible" // text-like, ~3-4x with zstd
	KindSparse       Kind = "sparse"       // 70% zero, zeros left as holes
	KindSparseZeros  Kind = "sparse-zeros" // 70% zero, zeros written explicitly
	KindMixed        Kind = "mixed"        // 40% random, 30% text, 30% explicit zeros
	KindExt4         Kind = "ext4"         // mkfs.ext4 -d over a generated file tree
)

// Kinds lists every generator kind in display order.
var Kinds = []Kind{KindMixed, KindExt4, KindRandom, KindSparse, KindSparseZeros, KindCompressible}

// ErrUnknownKind is returned for a --gen value that names no generator.
var ErrUnknownKind = errors.New("unknown input kind")

// parseKind validates a --gen value.
func parseKind(s string) (Kind, error) {
	k := Kind(s)
	if !slices.Contains(Kinds, k) {
		return "", fmt.Errorf("%w %q (want one of %v)", ErrUnknownKind, s, Kinds)
	}
	return k, nil
}

// extentKind is what one extent of a synthetic image holds.
type extentKind int

const (
	extRandom extentKind = iota
	extText
	extZero
	numExtentKinds
)

// mixFor returns the byte fractions of random, text and zero extents for a kind.
func mixFor(k Kind) ([numExtentKinds]float64, error) {
	switch k {
	case KindRandom:
		return [numExtentKinds]float64{1, 0, 0}, nil
	case KindCompressible:
		return [numExtentKinds]float64{0, 1, 0}, nil
	case KindSparse, KindSparseZeros:
		return [numExtentKinds]float64{0.3, 0, 0.7}, nil
	case KindMixed:
		return [numExtentKinds]float64{0.4, 0.3, 0.3}, nil
	}
	return [numExtentKinds]float64{}, fmt.Errorf("%w %q for a synthetic image", ErrUnknownKind, k)
}

const (
	blockSize    = 4096
	minExtent    = 16 * blockSize  // 64 KiB
	maxExtent    = 512 * blockSize // 2 MiB
	writeBufSize = 1 << 20
)

// writeSynthetic writes a deterministic image of the given kind and size to path,
// streaming through a fixed 1 MiB buffer. Extent lengths are random (64 KiB..2 MiB,
// 4 KiB aligned); each extent's kind is the one furthest below its target share, and the extent is cut
// short rather than overshoot that share, so the fractions hold closely at every size. For KindSparse zero extents are holes.
func writeSynthetic(ctx context.Context, path string, k Kind, size int64, seed uint64) error {
	mix, err := mixFor(k)
	if err != nil {
		return err
	}
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE|os.O_TRUNC, 0o644)
	if err != nil {
		return fmt.Errorf("create image: %w", err)
	}
	defer f.Close()
	holes := k == KindSparse
	layout := newRand(seed, "layout")
	rnd := newRandomStream(seed, "random")
	txt := newTextStream(seed, "text")
	buf := make([]byte, writeBufSize)
	var have [numExtentKinds]int64
	for pos := int64(0); pos < size; {
		if err := ctx.Err(); err != nil {
			return err
		}
		n := min(int64(minExtent+layout.IntN((maxExtent-minExtent)/blockSize+1)*blockSize), size-pos)
		ek, best := extRandom, -1.0
		for i := range numExtentKinds {
			if mix[i] == 0 {
				continue
			}
			if d := mix[i]*float64(pos+n) - float64(have[i]); d > best {
				ek, best = i, d
			}
		}
		// do not overshoot the chosen kind's share by more than one minimal extent
		if d := (int64(best) + blockSize - 1) / blockSize * blockSize; d < n {
			n = max(d, min(minExtent, size-pos))
		}
		have[ek] += n
		if ek == extZero && holes {
			pos += n
			continue
		}
		if _, err := f.Seek(pos, 0); err != nil {
			return fmt.Errorf("seek image: %w", err)
		}
		for left := n; left > 0; {
			b := buf[:min(left, int64(len(buf)))]
			switch ek {
			case extRandom:
				rnd.fill(b)
			case extText:
				txt.fill(b)
			case extZero:
				clear(b)
			}
			if _, err := f.Write(b); err != nil {
				return fmt.Errorf("write image: %w", err)
			}
			left -= int64(len(b))
		}
		pos += n
	}
	if err := f.Truncate(size); err != nil {
		return fmt.Errorf("size image: %w", err)
	}
	if err := f.Sync(); err != nil {
		return fmt.Errorf("sync image: %w", err)
	}
	return f.Close()
}

// mutateInPlace overwrites about pct percent of the 4 KiB blocks of the image at path
// with fresh bytes (half random, half text), in runs of 1..maxRun blocks at random
// block-aligned offsets, the way a filesystem rewrites files: clustered, not uniform.
// It returns the number of bytes written. Holes that a run lands in become data.
func mutateInPlace(ctx context.Context, path string, pct float64, maxRun int, seed uint64) (int64, error) {
	if pct <= 0 {
		return 0, nil
	}
	if maxRun < 1 {
		return 0, fmt.Errorf("mutate: run length %d < 1", maxRun)
	}
	f, err := os.OpenFile(path, os.O_RDWR, 0)
	if err != nil {
		return 0, fmt.Errorf("mutate: %w", err)
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return 0, fmt.Errorf("mutate: %w", err)
	}
	blocks := st.Size() / blockSize
	if blocks == 0 {
		return 0, nil
	}
	target := int64(float64(blocks) * pct / 100)
	r := newRand(seed, "mutate")
	rnd := newRandomStream(seed, "mutate-random")
	txt := newTextStream(seed, "mutate-text")
	buf := make([]byte, maxRun*blockSize)
	var written int64
	for done := int64(0); done < target; {
		if err := ctx.Err(); err != nil {
			return written, err
		}
		run := min(int64(1+r.IntN(maxRun)), target-done, blocks)
		start := r.Int64N(blocks - run + 1)
		b := buf[:run*blockSize]
		if r.IntN(2) == 0 {
			rnd.fill(b)
		} else {
			txt.fill(b)
		}
		if _, err := f.WriteAt(b, start*blockSize); err != nil {
			return written, fmt.Errorf("mutate: %w", err)
		}
		written += int64(len(b))
		done += run
	}
	if err := f.Sync(); err != nil {
		return written, fmt.Errorf("mutate: sync: %w", err)
	}
	return written, f.Close()
}
