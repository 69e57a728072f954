package chunk

import (
	"bytes"
	"errors"
	"io"
	"os"
	"path/filepath"
	"testing"
)

const (
	kib = 1 << 10
	mib = 1 << 20
)

// region is a written range of a test file; everything else is a hole.
type region struct {
	off, n int64
	zeros  bool // written explicitly as zeros (not a hole)
}

type layout struct {
	name    string
	size    int64
	regions []region
}

var layouts = []layout{
	{name: "empty", size: 0},
	{name: "one byte", size: 1, regions: []region{{0, 1, false}}},
	{name: "one zero byte written", size: 1, regions: []region{{0, 1, true}}},
	{name: "one byte hole", size: 1},
	{name: "data only", size: mib + 12345, regions: []region{{0, mib + 12345, false}}},
	{name: "data shorter than a block", size: 1000, regions: []region{{0, 1000, false}}},
	{name: "data over MaxSize", size: 2*mib + 3, regions: []region{{0, 2*mib + 3, false}}},
	{name: "hole at start", size: 3*mib + 777, regions: []region{{2*mib + 100, mib + 677, false}}},
	{name: "hole at start aligned", size: 2 * mib, regions: []region{{mib, mib, false}}},
	{name: "hole in middle", size: 5*mib + 1, regions: []region{{0, 300*kib + 5, false}, {4*mib - 3, mib + 4, false}}},
	{name: "hole at end", size: 8*mib + 17, regions: []region{{0, mib + 333, false}}},
	{name: "hole at end aligned", size: 4 * mib, regions: []region{{0, mib, false}}},
	{name: "hole at end short", size: mib + 100, regions: []region{{0, mib + 50, false}}},
	{name: "whole-file hole", size: 10*mib + 5},
	{name: "whole-file hole aligned", size: 2 * mib},
	{name: "small unaligned holes", size: 2*mib + 999, regions: []region{
		{0, 100*kib + 7, false}, {110*kib + 7, 300 * kib, false}, {480*kib + 9, 500 * kib, false},
		{1110*kib + 1, 2*mib + 999 - 1110*kib - 1, false}}},
	{name: "alternating 64k", size: 40 * 128 * kib, regions: func() []region {
		var r []region
		for i := int64(0); i < 40; i++ {
			r = append(r, region{i * 128 * kib, 64 * kib, false})
		}
		return r
	}()},
	{name: "written zeros and holes", size: 6*mib + 4097, regions: []region{
		{0, 300 * kib, false}, {300 * kib, 200*kib + 3, true}, {500*kib + 3, 400 * kib, false},
		{1 * mib, 128 * kib, true}, {1*mib + 128*kib, 64 * kib, false}, {3 * mib, mib, true},
		{4 * mib, 100, false}, {5 * mib, mib + 4097, true}}},
	{name: "tiny segments between zero runs", size: 4*mib + 64*kib + 1, regions: []region{
		{mib + 10, 100, false}, {2*mib + 65535, 2, false}, {3 * mib, 64 * kib, false}, {4*mib + 64*kib, 1, false}}},
	{name: "odd sizes", size: 7*64*kib + 1, regions: []region{{3, 64*kib - 5, false}, {4*64*kib + 1, 2*64*kib + 2, false}}},
}

// build writes l into a sparse file in dir and returns the file and content.
func (l layout) build(t testing.TB, dir string, seed byte) (string, []byte) {
	t.Helper()
	content := make([]byte, l.size)
	path := filepath.Join(dir, "vol")
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	for i, r := range l.regions {
		b := make([]byte, r.n)
		if !r.zeros {
			b = randBytes(seed+byte(i), int(r.n))
		}
		copy(content[r.off:], b)
		if _, err := f.WriteAt(b, r.off); err != nil {
			t.Fatal(err)
		}
	}
	if err := f.Truncate(l.size); err != nil {
		t.Fatal(err)
	}
	return path, content
}

// holesWork reports whether dir's filesystem reports holes via SEEK_DATA.
func holesWork(t testing.TB, dir string) bool {
	t.Helper()
	if !holesSupported {
		return false
	}
	f, err := os.Create(filepath.Join(dir, "probe"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if _, err := f.WriteAt([]byte{1}, 4*mib); err != nil {
		t.Fatal(err)
	}
	d, err := f.Seek(0, seekData)
	return err == nil && d > 0
}

// TestSplitterSourcesAgree is the hole contract: a sparse file, the same
// bytes through a pipe, and an irregular reader give identical pieces, equal
// to the naive reference, for every algorithm.
func TestSplitterSourcesAgree(t *testing.T) {
	holey := holesWork(t, t.TempDir())
	for _, algo := range algorithms {
		p := smallParamsFor(algo)
		p.MaxSize = mib
		p.AverageBits = 17
		for i, l := range layouts {
			t.Run(algo+"/"+l.name, func(t *testing.T) {
				path, content := l.build(t, t.TempDir(), byte(i*16))
				want := reference(t, content, p)

				f, err := os.Open(path)
				if err != nil {
					t.Fatal(err)
				}
				defer f.Close()
				got, st := split(t, f, p, content)
				diffRecs(t, "sparse file", got, want)
				if holey && hasAlignedHole(l) && st.HoleBytes == 0 {
					t.Errorf("sparse file: no hole skipped, stats %+v", st)
				}

				pr, pw, err := os.Pipe()
				if err != nil {
					t.Fatal(err)
				}
				go func() {
					_, _ = pw.Write(content)
					pw.Close()
				}()
				got, st = split(t, pr, p, content)
				pr.Close()
				diffRecs(t, "pipe", got, want)
				if st.HoleBytes != 0 {
					t.Errorf("pipe: hole bytes %d", st.HoleBytes)
				}

				got, _ = split(t, newChunkyReader(content, uint64(i)), p, content)
				diffRecs(t, "chunky reader", got, want)
			})
		}
	}
}

// hasAlignedHole reports whether l leaves a whole aligned 64 KiB block (or a
// final partial block) unwritten, which a hole-reporting filesystem with
// block size <= 64 KiB must report as a hole.
func hasAlignedHole(l layout) bool {
	for b := int64(0); b < l.size; b += ZeroBlockSize {
		e := min(b+ZeroBlockSize, l.size)
		hole := true
		for _, r := range l.regions {
			if r.off < e && r.off+r.n > b {
				hole = false
			}
		}
		if hole {
			return true
		}
	}
	return false
}

// TestSplitterFileOffset: a file is split from its current offset, with zero
// blocks aligned to that offset.
func TestSplitterFileOffset(t *testing.T) {
	l := layout{size: 3*mib + 5, regions: []region{{0, 100 * kib, false}, {2 * mib, mib + 5, false}}}
	path, content := l.build(t, t.TempDir(), 7)
	for _, base := range []int64{0, 1, 64*kib + 3, 3 * mib, 3*mib + 5} {
		f, err := os.Open(path)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := f.Seek(base, io.SeekStart); err != nil {
			t.Fatal(err)
		}
		got, _ := split(t, f, smallParams, content[base:])
		f.Close()
		diffRecs(t, "file", got, reference(t, content[base:], smallParams))
	}
}

// TestSplitterZeroSemantics pins the zero-run rules on hand-made streams.
func TestSplitterZeroSemantics(t *testing.T) {
	const B = ZeroBlockSize
	data := func(n int) []byte { return randBytes(99, n) }
	zeros := func(n int) []byte { return make([]byte, n) }
	cat := func(parts ...[]byte) []byte { return bytes.Join(parts, nil) }
	type span struct {
		off, n int64
		zero   bool
	}
	tests := []struct {
		name string
		in   []byte
		want []span // zero runs and data segments (data segments may hold several chunks)
	}{
		{"aligned zero block merges", cat(data(B), zeros(3*B), data(10)), []span{{0, B, false}, {B, 3 * B, true}, {4 * B, 10, false}}},
		{"unaligned zeros stay in data", cat(data(10), zeros(B), data(B-10)), []span{{0, 2 * B, false}}},
		{"partial final zero block", cat(data(B), zeros(5)), []span{{0, B, false}, {B, 5, true}}},
		{"zeros then partial zero tail", cat(zeros(2*B + 7)), []span{{0, 2*B + 7, true}}},
		{"zeros straddling blocks", cat(data(B/2), zeros(2*B), data(B/2)), []span{{0, B, false}, {B, B, true}, {2 * B, B, false}}},
		{"trailing partial data after zeros", cat(zeros(B), zeros(B-1), data(1)), []span{{0, B, true}, {B, B, false}}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, _ := split(t, bytes.NewReader(tc.in), smallParams, tc.in)
			var spans []span
			for _, r := range got {
				if k := len(spans) - 1; k >= 0 && !r.Zero && !spans[k].zero {
					spans[k].n += r.Length
					continue
				}
				spans = append(spans, span{r.Offset, r.Length, r.Zero})
			}
			if len(spans) != len(tc.want) {
				t.Fatalf("spans %v, want %v", spans, tc.want)
			}
			for i := range spans {
				if spans[i] != tc.want[i] {
					t.Fatalf("spans %v, want %v", spans, tc.want)
				}
			}
		})
	}
}

// TestSplitterSegmentRestart: chunk boundaries after a zero run do not
// depend on the data before it.
func TestSplitterSegmentRestart(t *testing.T) {
	tail := randBytes(5, 2*mib)
	// Different data and zero runs of different lengths before the same
	// tail, which starts on a block boundary in both streams.
	a := bytes.Join([][]byte{randBytes(1, mib+17), make([]byte, 3*ZeroBlockSize-17), tail}, nil)
	b := bytes.Join([][]byte{randBytes(2, 3*mib+5), make([]byte, 2*ZeroBlockSize-5), tail}, nil)
	for _, algo := range algorithms {
		t.Run(algo, func(t *testing.T) {
			p := smallParamsFor(algo)
			tailSums := func(in []byte) [][32]byte {
				recs, _ := split(t, bytes.NewReader(in), p, in)
				var sums [][32]byte
				seen := false
				for _, r := range recs {
					if r.Zero {
						seen = true
					} else if seen {
						sums = append(sums, r.Sum)
					}
				}
				return sums
			}
			sa, sb := tailSums(a), tailSums(b)
			if len(sa) == 0 || len(sa) != len(sb) {
				t.Fatalf("tail chunks %d vs %d", len(sa), len(sb))
			}
			for i := range sa {
				if sa[i] != sb[i] {
					t.Fatalf("tail chunk %d differs", i)
				}
			}
		})
	}
}

func TestSplitterReadError(t *testing.T) {
	for _, algo := range algorithms {
		for _, n := range []int{0, 100, 5 * mib} {
			in := randBytes(3, n)
			s, err := NewSplitter(&errReader{data: in, err: errBoom}, smallParamsFor(algo))
			if err != nil {
				t.Fatal(err)
			}
			var err2 error
			for range 1000 {
				if _, err2 = s.Next(nil); err2 != nil {
					break
				}
			}
			if !errors.Is(err2, errBoom) {
				t.Fatalf("%s n=%d: got %v, want %v", algo, n, err2, errBoom)
			}
			if _, err := s.Next(nil); !errors.Is(err, errBoom) {
				t.Fatalf("%s n=%d: error not sticky: %v", algo, n, err)
			}
		}
	}
}

func TestSplitterNoProgress(t *testing.T) {
	s, err := NewSplitter(readerFunc(func([]byte) (int, error) { return 0, nil }), smallParams)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.Next(nil); !errors.Is(err, io.ErrNoProgress) {
		t.Fatalf("got %v, want io.ErrNoProgress", err)
	}
}

type readerFunc func([]byte) (int, error)

func (f readerFunc) Read(p []byte) (int, error) { return f(p) }

func TestNewSplitterErrors(t *testing.T) {
	if _, err := NewSplitter(nil, smallParams); !errors.Is(err, ErrNilSource) {
		t.Fatalf("nil source: %v", err)
	}
	bad := smallParams
	bad.MinSize = 1
	if _, err := NewSplitter(bytes.NewReader(nil), bad); !errors.Is(err, ErrInvalidParams) {
		t.Fatalf("bad params: %v", err)
	}
}

// TestSplitterReset: a reused Splitter gives the same pieces as a new one.
func TestSplitterReset(t *testing.T) {
	in := bytes.Join([][]byte{randBytes(8, mib), make([]byte, 4*ZeroBlockSize), randBytes(9, mib)}, nil)
	for _, algo := range algorithms {
		t.Run(algo, func(t *testing.T) {
			p := smallParamsFor(algo)
			want := reference(t, in, p)
			s, err := NewSplitter(bytes.NewReader(randBytes(1, 3*mib)), p)
			if err != nil {
				t.Fatal(err)
			}
			if _, err := s.Next(nil); err != nil { // leave a stream half done
				t.Fatal(err)
			}
			s.Reset(bytes.NewReader(in))
			var got []rec
			for {
				pc, err := s.Next(nil)
				if err == io.EOF {
					break
				}
				if err != nil {
					t.Fatal(err)
				}
				got = append(got, toRec(pc))
			}
			diffRecs(t, "reset", got, want)
		})
	}
}

// TestSplitterAllocs: Next allocates nothing once buffers have grown.
func TestSplitterAllocs(t *testing.T) {
	if testing.Short() || raceEnabled() {
		t.Skip("allocation counts are not meaningful under -race")
	}
	in := bytes.Join([][]byte{randBytes(4, 2*mib), make([]byte, 8*ZeroBlockSize), randBytes(4, 2*mib)}, nil)
	for _, algo := range algorithms {
		t.Run(algo, func(t *testing.T) {
			p := smallParamsFor(algo)
			s, err := NewSplitter(bytes.NewReader(in), p)
			if err != nil {
				t.Fatal(err)
			}
			buf := make([]byte, 0, p.MaxSize)
			rd := bytes.NewReader(in)
			allocs := testing.AllocsPerRun(5, func() {
				rd.Reset(in)
				s.Reset(rd)
				for {
					pc, err := s.Next(buf)
					if err != nil {
						break
					}
					if !pc.Zero {
						buf = pc.Data
					}
				}
			})
			if allocs > 1 {
				t.Fatalf("%.1f allocations per stream", allocs)
			}
		})
	}
}
