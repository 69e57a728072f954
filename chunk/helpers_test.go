package chunk

import (
	"bytes"
	"crypto/sha256"
	"errors"
	"io"
	"math/rand/v2"
	"testing"
)

// testPol is restic/chunker's test polynomial.
const testPol = 0x3DA3358B4DC173

// smallParams keep chunks small so tests cover many boundaries quickly.
var smallParams = Params{Algorithm: AlgorithmRabin, Polynomial: testPol, MinSize: 16 << 10, MaxSize: 256 << 10, AverageBits: 16}

// testKey is a fixed fastcdc key, so fastcdc boundaries in tests are fixed.
var testKey = []byte("cairn fastcdc test key 32 bytes!")

// algorithms lists every implemented Algorithm; tests of the Chunker and
// Splitter contracts run for each.
var algorithms = []string{AlgorithmRabin, AlgorithmFastCDC}

// smallParamsFor returns small chunk sizes for algo with fixed secrets.
func smallParamsFor(algo string) Params {
	p := smallParams
	if algo == AlgorithmFastCDC {
		p.Algorithm, p.Polynomial, p.Key = AlgorithmFastCDC, 0, testKey
	}
	return p
}

// testParams returns the default rabin sizes under testPol.
func testParams(t testing.TB) Params {
	t.Helper()
	return testParamsFor(t, AlgorithmRabin)
}

// testParamsFor returns the default sizes for algo with fixed secrets.
func testParamsFor(t testing.TB, algo string) Params {
	t.Helper()
	p, err := DefaultParamsFor(algo)
	if err != nil {
		t.Fatal(err)
	}
	switch algo {
	case AlgorithmRabin:
		p.Polynomial = testPol
	case AlgorithmFastCDC:
		p.Key = testKey
	}
	return p
}

// randBytes returns n deterministic pseudo-random bytes.
func randBytes(seed byte, n int) []byte {
	var s [32]byte
	copy(s[:], "cairn chunk test seed")
	s[31] = seed
	b := make([]byte, n)
	_, _ = rand.NewChaCha8(s).Read(b)
	return b
}

// rec is a Piece with the data replaced by its hash, for comparisons.
type rec struct {
	Offset, Length int64
	Zero           bool
	Sum            [32]byte
}

func toRec(p Piece) rec {
	r := rec{Offset: p.Offset, Length: p.Length, Zero: p.Zero}
	if !p.Zero {
		r.Sum = sha256.Sum256(p.Data)
	}
	return r
}

// split runs a Splitter over src and returns the pieces, checking the
// invariants that hold for any source: contiguous offsets, well-formed
// pieces, and that the pieces concatenate to want.
func split(t testing.TB, src io.Reader, p Params, want []byte) ([]rec, SplitStats) {
	t.Helper()
	s, err := NewSplitter(src, p)
	if err != nil {
		t.Fatal(err)
	}
	var recs []rec
	var buf []byte
	var off int64
	for {
		pc, err := s.Next(buf)
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatalf("Next: %v", err)
		}
		if pc.Offset != off {
			t.Fatalf("piece %d at offset %d, want %d", len(recs), pc.Offset, off)
		}
		if pc.Length <= 0 || pc.Offset+pc.Length > int64(len(want)) {
			t.Fatalf("piece %d: bad length %d at %d (stream %d)", len(recs), pc.Length, pc.Offset, len(want))
		}
		seg := want[pc.Offset : pc.Offset+pc.Length]
		if pc.Zero {
			if pc.Data != nil {
				t.Fatalf("zero piece %d has data", len(recs))
			}
			if !allZero(seg) {
				t.Fatalf("zero piece %d at %d covers non-zero input", len(recs), pc.Offset)
			}
		} else {
			if int64(len(pc.Data)) != pc.Length || len(pc.Data) > int(p.MaxSize) {
				t.Fatalf("data piece %d: len(Data)=%d Length=%d", len(recs), len(pc.Data), pc.Length)
			}
			if !bytes.Equal(pc.Data, seg) {
				t.Fatalf("data piece %d at %d differs from input", len(recs), pc.Offset)
			}
			buf = pc.Data
		}
		off += pc.Length
		recs = append(recs, toRec(pc))
	}
	if off != int64(len(want)) {
		t.Fatalf("pieces cover %d bytes, want %d", off, len(want))
	}
	if _, err := s.Next(buf); err != io.EOF {
		t.Fatalf("Next after EOF: %v", err)
	}
	st := s.Stats()
	if st.BytesRead+st.HoleBytes != int64(len(want)) || st.Pieces != int64(len(recs)) {
		t.Fatalf("stats %+v for %d bytes in %d pieces", st, len(want), len(recs))
	}
	return recs, st
}

// allZero is the tests' own zero check, independent of isZero.
func allZero(b []byte) bool { return bytes.Count(b, []byte{0}) == len(b) }

// reference computes the pieces the contract demands, the naive way: scan
// blocks byte by byte, then chunk each data segment with a fresh Chunker.
func reference(t testing.TB, data []byte, p Params) []rec {
	t.Helper()
	c, err := New(p)
	if err != nil {
		t.Fatal(err)
	}
	var recs []rec
	n := len(data)
	isZeroBlock := func(i int) bool { return allZero(data[i:min(i+ZeroBlockSize, n)]) }
	for i := 0; i < n; {
		j := i
		if isZeroBlock(i) {
			for j < n && isZeroBlock(j) {
				j += ZeroBlockSize
			}
			j = min(j, n)
			recs = append(recs, rec{Offset: int64(i), Length: int64(j - i), Zero: true})
			i = j
			continue
		}
		for j < n && !isZeroBlock(j) {
			j += ZeroBlockSize
		}
		j = min(j, n)
		c.Reset(bytes.NewReader(data[i:j]))
		off := i
		eachChunk(t, c, func(d []byte) {
			recs = append(recs, rec{Offset: int64(off), Length: int64(len(d)), Sum: sha256.Sum256(d)})
			off += len(d)
		})
		if off != j {
			t.Fatalf("reference: segment [%d,%d) chunked to %d", i, j, off)
		}
		i = j
	}
	return recs
}

func diffRecs(t testing.TB, name string, got, want []rec) {
	t.Helper()
	if len(got) != len(want) {
		t.Errorf("%s: %d pieces, want %d", name, len(got), len(want))
	}
	for i := range min(len(got), len(want)) {
		if got[i] != want[i] {
			t.Errorf("%s: piece %d = {off %d len %d zero %v}, want {off %d len %d zero %v}",
				name, i, got[i].Offset, got[i].Length, got[i].Zero, want[i].Offset, want[i].Length, want[i].Zero)
			return
		}
	}
}

// chunkyReader returns reads of pseudo-random sizes, including empty ones,
// like a pipe or network stream.
type chunkyReader struct {
	data []byte
	rng  *rand.Rand
}

func newChunkyReader(data []byte, seed uint64) *chunkyReader {
	return &chunkyReader{data: data, rng: rand.New(rand.NewPCG(seed, 1))}
}

func (r *chunkyReader) Read(p []byte) (int, error) {
	if len(r.data) == 0 {
		return 0, io.EOF
	}
	var n int
	switch r.rng.IntN(4) {
	case 0:
		n = 0
	case 1:
		n = 1 + r.rng.IntN(100)
	default:
		n = 1 + r.rng.IntN(300<<10)
	}
	n = copy(p[:min(n, len(p))], r.data)
	r.data = r.data[n:]
	return n, nil
}

// errReader yields data, then fails.
type errReader struct {
	data []byte
	err  error
}

var errBoom = errors.New("boom")

func (r *errReader) Read(p []byte) (int, error) {
	if len(r.data) == 0 {
		return 0, r.err
	}
	n := copy(p, r.data)
	r.data = r.data[n:]
	return n, nil
}

// eachChunk calls fn with every chunk c returns until io.EOF, failing t on any other error.
func eachChunk(t testing.TB, c Chunker, fn func(d []byte)) {
	t.Helper()
	for {
		d, err := c.Next(nil)
		if err == io.EOF {
			return
		}
		if err != nil {
			t.Fatal(err)
		}
		fn(d)
	}
}
