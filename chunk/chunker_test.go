package chunk

import (
	"bytes"
	"crypto/sha256"
	"io"
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
	return sums, lens
}

// TestChunkerDedup: inserting a few bytes in the middle of a stream changes
// only the chunks around the insertion.
func TestChunkerDedup(t *testing.T) {
	p := smallParams
	p.AverageBits = 14 // ~16 KiB over MinSize: hundreds of chunks
	c, err := New(p)
	if err != nil {
		t.Fatal(err)
	}
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
}

// TestChunkerParams: sizes hold, AverageBits survives Reset, and a different
// polynomial or AverageBits moves boundaries.
func TestChunkerParams(t *testing.T) {
	in := randBytes(12, 4<<20)
	p := smallParams
	c, err := New(p)
	if err != nil {
		t.Fatal(err)
	}
	_, first := chunkSums(t, c, in)
	_, again := chunkSums(t, c, in)
	if !equalInts(first, again) {
		t.Fatal("chunks differ after Reset")
	}
	for i, n := range first {
		if n > int(p.MaxSize) || (n < int(p.MinSize) && i != len(first)-1) {
			t.Fatalf("chunk %d has %d bytes, outside [%d, %d]", i, n, p.MinSize, p.MaxSize)
		}
	}
	q := p
	q.AverageBits = 12
	cq, err := New(q)
	if err != nil {
		t.Fatal(err)
	}
	if _, l := chunkSums(t, cq, in); len(l) <= len(first) {
		t.Fatalf("AverageBits 12 gave %d chunks, 16 gave %d", len(l), len(first))
	}
	r, err := DefaultParams()
	if err != nil {
		t.Fatal(err)
	}
	p.Polynomial = r.Polynomial
	cr, err := New(p)
	if err != nil {
		t.Fatal(err)
	}
	if _, l := chunkSums(t, cr, in); equalInts(l, first) {
		t.Fatal("a random polynomial gave the same boundaries as the test polynomial")
	}
}

func TestChunkerNextBeforeReset(t *testing.T) {
	c, err := New(smallParams)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.Next(nil); err != io.EOF {
		t.Fatalf("got %v, want io.EOF", err)
	}
}

func TestChunkerShortSegment(t *testing.T) {
	c, err := New(smallParams)
	if err != nil {
		t.Fatal(err)
	}
	in := randBytes(13, int(smallParams.MinSize)-1)
	if _, l := chunkSums(t, c, in); len(l) != 1 {
		t.Fatalf("%d chunks for less than MinSize, want 1", len(l))
	}
	if _, l := chunkSums(t, c, nil); len(l) != 0 {
		t.Fatalf("%d chunks for empty input", len(l))
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
