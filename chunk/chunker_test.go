package chunk

import (
	"bytes"
	"crypto/sha256"
	"io"
	"math"
	"testing"
)

func chunkSums(t *testing.T, c Chunker, in []byte) (sums [][32]byte, lens []int) {
	t.Helper()
	c.Reset(bytes.NewReader(in))
	var buf []byte
	total := 0
	for {
		d, err := c.Next(buf)
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		sums = append(sums, sha256.Sum256(d))
		lens = append(lens, len(d))
		total += len(d)
		buf = d
	}
	if total != len(in) {
		t.Fatalf("chunks cover %d bytes, want %d", total, len(in))
	}
	if _, err := c.Next(buf); err != io.EOF {
		t.Fatalf("Next after EOF: %v", err)
	}
	return sums, lens
}

func newChunker(t *testing.T, p Params) Chunker {
	t.Helper()
	c, err := New(p)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// TestChunkerDedup: inserting a few bytes in the middle of a stream changes
// only the chunks around the insertion.
func TestChunkerDedup(t *testing.T) {
	for _, algo := range algorithms {
		t.Run(algo, func(t *testing.T) {
			p := smallParamsFor(algo)
			p.MinSize, p.AverageBits = 4<<10, 14 // hundreds of chunks
			c := newChunker(t, p)
			a := randBytes(11, 8<<20)
			mid := len(a)/2 + 12345
			b := bytes.Join([][]byte{a[:mid], []byte("inserted!"), a[mid:]}, nil)
			sa, _ := chunkSums(t, c, a)
			sb, _ := chunkSums(t, c, b)
			known := make(map[[32]byte]bool, len(sa))
			for _, s := range sa {
				known[s] = true
			}
			changed := 0
			for _, s := range sb {
				if !known[s] {
					changed++
				}
			}
			if len(sa) < 100 {
				t.Fatalf("only %d chunks; test needs many", len(sa))
			}
			if changed == 0 || changed > 3 {
				t.Fatalf("%d of %d chunks changed after a 9-byte insertion, want 1..3", changed, len(sb))
			}
		})
	}
}

// TestChunkerParams: boundaries are stable across Reset, a smaller
// AverageBits gives more chunks, and different secret material (polynomial
// or key) moves boundaries.
func TestChunkerParams(t *testing.T) {
	in := randBytes(12, 4<<20)
	for _, algo := range algorithms {
		t.Run(algo, func(t *testing.T) {
			p := smallParamsFor(algo)
			p.MinSize = 2 << 10
			c := newChunker(t, p)
			_, first := chunkSums(t, c, in)
			_, again := chunkSums(t, c, in)
			if !equalInts(first, again) {
				t.Fatal("chunks differ after Reset")
			}
			q := p
			q.AverageBits = 12
			if _, l := chunkSums(t, newChunker(t, q), in); len(l) <= len(first) {
				t.Fatalf("AverageBits 12 gave %d chunks, 16 gave %d", len(l), len(first))
			}
			r, err := DefaultParamsFor(algo)
			if err != nil {
				t.Fatal(err)
			}
			p.Polynomial, p.Key = r.Polynomial, r.Key
			if _, l := chunkSums(t, newChunker(t, p), in); equalInts(l, first) {
				t.Fatal("fresh secret material gave the same boundaries as the test secret")
			}
		})
	}
}

// TestChunkerSizes: no chunk is above MaxSize, none but the last below
// MinSize, and the mean size is within 30% of expectedMean; for fastcdc also
// within 30% of 2^AverageBits, its normal size.
func TestChunkerSizes(t *testing.T) {
	in := randBytes(14, 24<<20)
	tests := []struct {
		name          string
		min, max      uint32
		bits          uint8
		wantMinChunks int
	}{
		{"small", 16 << 10, 256 << 10, 16, 200},
		{"tiny min", 1 << 10, 1 << 20, 15, 500},
		{"tight max", 8 << 10, 40 << 10, 15, 500},
		{"default", DefaultMinSize, DefaultMaxSize, DefaultAverageBits, 12},
	}
	for _, algo := range algorithms {
		for _, tc := range tests {
			t.Run(algo+"/"+tc.name, func(t *testing.T) {
				p := smallParamsFor(algo)
				p.MinSize, p.MaxSize, p.AverageBits = tc.min, tc.max, tc.bits
				_, lens := chunkSums(t, newChunker(t, p), in)
				for i, n := range lens {
					if n > int(p.MaxSize) || (n < int(p.MinSize) && i != len(lens)-1) {
						t.Fatalf("chunk %d has %d bytes, outside [%d, %d]", i, n, p.MinSize, p.MaxSize)
					}
				}
				if len(lens) < tc.wantMinChunks {
					t.Fatalf("%d chunks, want at least %d", len(lens), tc.wantMinChunks)
				}
				mean := float64(len(in)) / float64(len(lens))
				expect := []float64{expectedMean(p)}
				if algo == AlgorithmFastCDC {
					expect = append(expect, float64(uint64(1)<<p.AverageBits))
				}
				t.Logf("%d chunks, mean %.0f, model %.0f", len(lens), mean, expect[0])
				for _, e := range expect {
					if mean < 0.7*e || mean > 1.3*e {
						t.Fatalf("mean chunk %.0f bytes, want %.0f ±30%% (model %.0f)", mean, e, expect[0])
					}
				}
			})
		}
	}
}

// expectedMean models the mean chunk size on random data, as the first cut
// after MinSize of a per-byte cut probability, capped at MaxSize. Rabin cuts
// with probability 2^-AverageBits; fastcdc (normalization level 2) with
// 2^-(AverageBits+2) below the normal size N = 2^AverageBits and
// 2^-(AverageBits-2) above it.
func expectedMean(p Params) float64 {
	lo, hi, n := float64(p.MinSize), float64(p.MaxSize), float64(uint64(1)<<p.AverageBits)
	// run returns E[min(X, length)] for X ~ Exp(rate): the expected bytes
	// scanned in a region of that length.
	run := func(length, rate float64) float64 { return (1 - math.Exp(-length*rate)) / rate }
	if p.Algorithm == AlgorithmRabin {
		return lo + run(hi-lo, 1/n)
	}
	small, large := 1/(4*n), 4/n
	return lo + run(n-lo, small) + math.Exp(-(n-lo)*small)*run(hi-n, large)
}

func TestChunkerNextBeforeReset(t *testing.T) {
	for _, algo := range algorithms {
		t.Run(algo, func(t *testing.T) {
			if _, err := newChunker(t, smallParamsFor(algo)).Next(nil); err != io.EOF {
				t.Fatalf("got %v, want io.EOF", err)
			}
		})
	}
}

func TestChunkerShortSegment(t *testing.T) {
	for _, algo := range algorithms {
		t.Run(algo, func(t *testing.T) {
			p := smallParamsFor(algo)
			c := newChunker(t, p)
			for _, n := range []int{1, int(p.MinSize) - 1, int(p.MinSize), int(p.MinSize) + 1} {
				if _, l := chunkSums(t, c, randBytes(13, n)); len(l) != 1 {
					t.Fatalf("%d chunks for %d bytes (MinSize %d), want 1", len(l), n, p.MinSize)
				}
			}
			if _, l := chunkSums(t, c, nil); len(l) != 0 {
				t.Fatalf("%d chunks for empty input", len(l))
			}
		})
	}
}

// TestChunkerReadError: a reader error surfaces from Next.
func TestChunkerReadError(t *testing.T) {
	for _, algo := range algorithms {
		for _, n := range []int{0, 100, 3 << 20} {
			c := newChunker(t, smallParamsFor(algo))
			c.Reset(&errReader{data: randBytes(3, n), err: errBoom})
			var err error
			for range 1000 {
				if _, err = c.Next(nil); err != nil {
					break
				}
			}
			if err != errBoom {
				t.Fatalf("%s n=%d: got %v, want %v", algo, n, err, errBoom)
			}
		}
	}
}

func equalInts(a, b []int) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}
