package chunk

import (
	"bytes"
	"io"
	"math/rand/v2"
	"os"
	"path/filepath"
	"testing"
)

const benchSize = 64 << 20

// BenchmarkChunker: each chunker alone over 64 MiB of random data;
// "fastcdc-lib" is the go-cdc-chunkers library that fastcdc replaced.
func BenchmarkChunker(b *testing.B) {
	in := randBytes(21, benchSize)
	for _, algo := range append(algorithms, "fastcdc-lib") {
		b.Run(algo, func(b *testing.B) {
			var c Chunker
			if algo == "fastcdc-lib" {
				c = newLibFastCDC(b, testParamsFor(b, AlgorithmFastCDC))
			} else {
				var err error
				if c, err = New(testParamsFor(b, algo)); err != nil {
					b.Fatal(err)
				}
			}
			buf := make([]byte, 0, DefaultMaxSize)
			rd := bytes.NewReader(in)
			b.SetBytes(benchSize)
			b.ResetTimer()
			for b.Loop() {
				rd.Reset(in)
				c.Reset(rd)
				for {
					d, err := c.Next(buf)
					if err == io.EOF {
						break
					}
					if err != nil {
						b.Fatal(err)
					}
					buf = d
				}
			}
		})
	}
}

// BenchmarkGearScan: the FastCDC hash loop alone over 8 MiB, with a mask
// that never cuts.
func BenchmarkGearScan(b *testing.B) {
	tab, err := gearTable(testKey)
	if err != nil {
		b.Fatal(err)
	}
	in := randBytes(24, DefaultMaxSize)
	b.SetBytes(int64(len(in)))
	for b.Loop() {
		if cut, _ := gearScan(tab, in, 0, ^uint64(0), 0); cut >= 0 {
			b.Fatalf("cut at %d", cut)
		}
	}
}

// zeroHeavy returns n bytes where a pseudo-random 70% of the 64 KiB blocks
// are zero and the rest random.
func zeroHeavy(n int) []byte {
	in := randBytes(22, n)
	rng := rand.New(rand.NewPCG(7, 7))
	for off := 0; off < n; off += ZeroBlockSize {
		if rng.IntN(10) < 7 {
			clear(in[off:min(off+ZeroBlockSize, n)])
		}
	}
	return in
}

func benchSplit(b *testing.B, s *Splitter, reset func()) {
	buf := make([]byte, 0, DefaultMaxSize)
	b.SetBytes(benchSize)
	b.ResetTimer()
	for b.Loop() {
		reset()
		for {
			pc, err := s.Next(buf)
			if err == io.EOF {
				break
			}
			if err != nil {
				b.Fatal(err)
			}
			if !pc.Zero {
				buf = pc.Data
			}
		}
	}
}

// BenchmarkSplitterRandom: 64 MiB of random data (no zero blocks) through
// the Splitter, per algorithm, to compare with BenchmarkChunker.
func BenchmarkSplitterRandom(b *testing.B) {
	in := randBytes(23, benchSize)
	for _, algo := range algorithms {
		b.Run(algo, func(b *testing.B) {
			s, err := NewSplitter(bytes.NewReader(nil), testParamsFor(b, algo))
			if err != nil {
				b.Fatal(err)
			}
			rd := bytes.NewReader(in)
			benchSplit(b, s, func() { rd.Reset(in); s.Reset(rd) })
		})
	}
}

// BenchmarkSplitterZeroHeavy: 64 MiB, 70% zero blocks, through a plain reader.
func BenchmarkSplitterZeroHeavy(b *testing.B) {
	in := zeroHeavy(benchSize)
	s, err := NewSplitter(bytes.NewReader(nil), testParams(b))
	if err != nil {
		b.Fatal(err)
	}
	rd := bytes.NewReader(in)
	benchSplit(b, s, func() { rd.Reset(in); s.Reset(rd) })
}

// BenchmarkSplitterSparseFile: a 64 MiB sparse file with 10% data in 1 MiB
// extents; holes are skipped with SEEK_HOLE (where the filesystem has them).
func BenchmarkSplitterSparseFile(b *testing.B) {
	path := filepath.Join(b.TempDir(), "sparse")
	f, err := os.Create(path)
	if err != nil {
		b.Fatal(err)
	}
	defer f.Close()
	for off := int64(0); off < benchSize; off += 10 << 20 {
		if _, err := f.WriteAt(randBytes(byte(off>>20), 1<<20), off+12345); err != nil {
			b.Fatal(err)
		}
	}
	if err := f.Truncate(benchSize); err != nil {
		b.Fatal(err)
	}
	s, err := NewSplitter(f, testParams(b))
	if err != nil {
		b.Fatal(err)
	}
	benchSplit(b, s, func() {
		if _, err := f.Seek(0, io.SeekStart); err != nil {
			b.Fatal(err)
		}
		s.Reset(f)
	})
	if st := s.Stats(); holesWork(b, b.TempDir()) && st.HoleBytes == 0 {
		b.Fatalf("no holes skipped: %+v", st)
	}
}

// BenchmarkSplitterFile: a 64 MiB regular file of random data through the
// Splitter (read-ahead with concurrent positioned reads, page cache warm),
// against the same bytes through a synchronous reader.
func BenchmarkSplitterFile(b *testing.B) {
	in := randBytes(23, benchSize)
	path := filepath.Join(b.TempDir(), "vol")
	if err := os.WriteFile(path, in, 0o600); err != nil {
		b.Fatal(err)
	}
	p := testParamsFor(b, AlgorithmFastCDC)
	b.Run("readahead", func(b *testing.B) {
		f, err := os.Open(path)
		if err != nil {
			b.Fatal(err)
		}
		defer f.Close()
		s, err := NewSplitter(f, p)
		if err != nil {
			b.Fatal(err)
		}
		benchSplit(b, s, func() {
			if _, err := f.Seek(0, io.SeekStart); err != nil {
				b.Fatal(err)
			}
			s.Reset(f)
		})
	})
	b.Run("sync", func(b *testing.B) {
		f, err := os.Open(path)
		if err != nil {
			b.Fatal(err)
		}
		defer f.Close()
		sr := io.NewSectionReader(f, 0, benchSize) // not an *os.File: read in the caller
		s, err := NewSplitter(sr, p)
		if err != nil {
			b.Fatal(err)
		}
		benchSplit(b, s, func() {
			if _, err := sr.Seek(0, io.SeekStart); err != nil {
				b.Fatal(err)
			}
			s.Reset(sr)
		})
	})
}
