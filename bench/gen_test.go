package main

import (
	"bytes"
	"compress/flate"
	"context"
	"errors"
	"os"
	"path/filepath"
	"testing"
)

func TestStreamsIndependentOfCallSizes(t *testing.T) {
	for _, name := range []string{"random", "text"} {
		t.Run(name, func(t *testing.T) {
			mk := func() func([]byte) {
				if name == "random" {
					return newRandomStream(7, "x").fill
				}
				return newTextStream(7, "x").fill
			}
			whole := make([]byte, 100_000)
			mk()(whole)
			pieces := make([]byte, 0, len(whole))
			fill := mk()
			for i, n := 0, 1; len(pieces) < len(whole); i, n = i+1, n*3%1013+1 {
				b := make([]byte, min(n, len(whole)-len(pieces)))
				fill(b)
				pieces = append(pieces, b...)
			}
			if !bytes.Equal(whole, pieces) {
				t.Fatal("stream depends on how it is cut into calls")
			}
			other := make([]byte, len(whole))
			if name == "random" {
				newRandomStream(8, "x").fill(other)
			} else {
				newTextStream(8, "x").fill(other)
			}
			if bytes.Equal(whole, other) {
				t.Fatal("different seeds gave the same stream")
			}
		})
	}
}

// zeroBlockFraction returns the share of 4 KiB blocks of the file that are all zero.
func zeroBlockFraction(t *testing.T, path string) float64 {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	zero := make([]byte, blockSize)
	n, z := 0, 0
	for off := 0; off+blockSize <= len(b); off += blockSize {
		n++
		if bytes.Equal(b[off:off+blockSize], zero) {
			z++
		}
	}
	return float64(z) / float64(n)
}

func deflateRatio(t *testing.T, path string) float64 {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	w, _ := flate.NewWriter(&buf, flate.BestSpeed)
	if _, err := w.Write(b); err != nil {
		t.Fatal(err)
	}
	w.Close()
	return float64(len(b)) / float64(buf.Len())
}

func TestWriteSynthetic(t *testing.T) {
	ctx := context.Background()
	const size = 8<<20 + 12345 // not block aligned
	tests := []struct {
		kind               Kind
		minZero, maxZero   float64
		minRatio, maxRatio float64 // deflate ratio
		maxAllocShare      float64 // allocated / size
		minAllocShare      float64
	}{
		{kind: KindRandom, maxZero: 0.001, minRatio: 0.9, maxRatio: 1.05, minAllocShare: 0.99, maxAllocShare: 1.01},
		{kind: KindCompressible, maxZero: 0.001, minRatio: 2, maxRatio: 10, minAllocShare: 0.99, maxAllocShare: 1.01},
		{kind: KindSparse, minZero: 0.65, maxZero: 0.75, minRatio: 2.5, maxRatio: 4, maxAllocShare: 0.4},
		{kind: KindSparseZeros, minZero: 0.65, maxZero: 0.75, minRatio: 2.5, maxRatio: 4, minAllocShare: 0.99, maxAllocShare: 1.01},
		{kind: KindMixed, minZero: 0.25, maxZero: 0.35, minRatio: 1.4, maxRatio: 3, minAllocShare: 0.99, maxAllocShare: 1.01},
	}
	dir := t.TempDir()
	for _, tt := range tests {
		t.Run(string(tt.kind), func(t *testing.T) {
			a, b, c := filepath.Join(dir, string(tt.kind)+"a"), filepath.Join(dir, string(tt.kind)+"b"), filepath.Join(dir, string(tt.kind)+"c")
			for _, p := range []struct {
				path string
				seed uint64
			}{{a, 1}, {b, 1}, {c, 2}} {
				if err := writeSynthetic(ctx, p.path, tt.kind, size, p.seed); err != nil {
					t.Fatal(err)
				}
			}
			ha, _ := sha256File(a)
			hb, _ := sha256File(b)
			hc, _ := sha256File(c)
			if ha != hb {
				t.Error("same seed, different image")
			}
			if ha == hc {
				t.Error("different seed, same image")
			}
			st, err := os.Stat(a)
			if err != nil {
				t.Fatal(err)
			}
			if st.Size() != size {
				t.Errorf("size %d, want %d", st.Size(), size)
			}
			share := float64(allocated(st)) / float64(size)
			if share < tt.minAllocShare || share > tt.maxAllocShare {
				t.Errorf("allocated share %.3f, want %.2f..%.2f", share, tt.minAllocShare, tt.maxAllocShare)
			}
			if z := zeroBlockFraction(t, a); z < tt.minZero || z > tt.maxZero {
				t.Errorf("zero block fraction %.3f, want %.2f..%.2f", z, tt.minZero, tt.maxZero)
			}
			if r := deflateRatio(t, a); r < tt.minRatio || r > tt.maxRatio {
				t.Errorf("deflate ratio %.2f, want %.2f..%.2f", r, tt.minRatio, tt.maxRatio)
			}
		})
	}
}

func TestWriteSyntheticRejectsExt4(t *testing.T) {
	err := writeSynthetic(context.Background(), filepath.Join(t.TempDir(), "x"), KindExt4, 1<<20, 1)
	if !errors.Is(err, ErrUnknownKind) {
		t.Fatalf("err = %v, want ErrUnknownKind", err)
	}
}

func TestMutateInPlace(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	const size = 16 << 20
	orig, a, b := filepath.Join(dir, "o"), filepath.Join(dir, "a"), filepath.Join(dir, "b")
	for _, p := range []string{orig, a, b} {
		if err := writeSynthetic(ctx, p, KindMixed, size, 3); err != nil {
			t.Fatal(err)
		}
	}
	wa, err := mutateInPlace(ctx, a, 5, 64, 9)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := mutateInPlace(ctx, b, 5, 64, 9); err != nil {
		t.Fatal(err)
	}
	if wa != size/blockSize*5/100*blockSize {
		t.Errorf("wrote %d bytes, want %d", wa, size/blockSize*5/100*blockSize)
	}
	ha, _ := sha256File(a)
	hb, _ := sha256File(b)
	if ha != hb {
		t.Error("mutation not deterministic")
	}
	ob, _ := os.ReadFile(orig)
	ab, _ := os.ReadFile(a)
	if len(ab) != size {
		t.Fatalf("mutated size %d", len(ab))
	}
	changed := 0
	for off := 0; off < size; off += blockSize {
		if !bytes.Equal(ob[off:off+blockSize], ab[off:off+blockSize]) {
			changed++
		}
	}
	share := float64(changed) / float64(size/blockSize) * 100
	if share < 3 || share > 5.01 { // overlapping runs make it a little less than 5%
		t.Errorf("changed %.2f%% of blocks, want about 5%%", share)
	}
	if n, err := mutateInPlace(ctx, a, 0, 64, 9); n != 0 || err != nil {
		t.Errorf("pct 0: %d, %v", n, err)
	}
	if _, err := mutateInPlace(ctx, a, 1, 0, 9); err == nil {
		t.Error("run length 0 accepted")
	}
}

func TestExt4Pair(t *testing.T) {
	if _, err := mkfsPath(); err != nil {
		t.Skip(err)
	}
	ctx := context.Background()
	const size = 24 << 20
	var sums [2][2]string
	for i := range 2 {
		dir := t.TempDir()
		g1, g2 := filepath.Join(dir, "g1"), filepath.Join(dir, "g2")
		if err := writeExt4Pair(ctx, dir, g1, g2, size, 5, 11); err != nil {
			t.Fatal(err)
		}
		for j, p := range []string{g1, g2} {
			st, err := os.Stat(p)
			if err != nil {
				t.Fatal(err)
			}
			if st.Size() != size {
				t.Errorf("%s size %d, want %d", p, st.Size(), size)
			}
			f, _ := os.Open(p)
			sb := make([]byte, 2)
			_, err = f.ReadAt(sb, 1024+0x38) // ext4 superblock magic
			f.Close()
			if err != nil || sb[0] != 0x53 || sb[1] != 0xef {
				t.Errorf("%s: no ext4 superblock magic (%x)", p, sb)
			}
			sums[i][j], _ = sha256File(p)
		}
		if _, err := os.Stat(filepath.Join(dir, "tree")); !errors.Is(err, os.ErrNotExist) {
			t.Error("tree not removed")
		}
	}
	if sums[0][0] == sums[0][1] {
		t.Error("gen2 equals gen1")
	}
	if sums[0] != sums[1] {
		t.Errorf("ext4 images differ between identical runs: %v", sums)
	}
}

func TestParseKind(t *testing.T) {
	for _, k := range Kinds {
		if got, err := parseKind(string(k)); err != nil || got != k {
			t.Errorf("parseKind(%q) = %q, %v", k, got, err)
		}
	}
	if _, err := parseKind("nope"); !errors.Is(err, ErrUnknownKind) {
		t.Errorf("parseKind(nope) err = %v", err)
	}
}
