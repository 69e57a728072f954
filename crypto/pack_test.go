package crypto

import (
	"bytes"
	"errors"
	"fmt"
	"sync"
	"testing"
)

// testPack seals blobs 0..n-1 (blob i is "blob i" repeated) and a table, returning the
// sealer's salt, the sealed blobs, their aads and plaintexts, and the sealed table.
type testPack struct {
	salt   [SaltSize]byte
	pts    [][]byte
	aads   [][]byte
	blobs  [][]byte
	table  []byte
	tblAAD []byte
}

func sealTestPack(t *testing.T, k *Key, n int) testPack {
	t.Helper()
	ps, err := k.NewPackSealer()
	if err != nil {
		t.Fatal(err)
	}
	p := testPack{salt: ps.Salt(), tblAAD: []byte("cairnP\x00\x01")}
	for i := range n {
		pt := bytes.Repeat(fmt.Appendf(nil, "blob %d ", i), i+1)
		id := k.NewChunkHasher().Sum(pt)
		aad := append([]byte{0}, id[:]...)
		p.pts = append(p.pts, pt)
		p.aads = append(p.aads, aad)
		p.blobs = append(p.blobs, ps.SealBlob(nil, uint64(i), aad, pt))
	}
	p.table = ps.SealTable(nil, p.tblAAD, []byte("table"))
	return p
}

func TestPackRoundTrip(t *testing.T) {
	k := testKey(t)
	p := sealTestPack(t, k, 5)
	o, err := k.NewPackOpener(p.salt[:])
	if err != nil {
		t.Fatal(err)
	}
	for i, ct := range p.blobs {
		if len(ct) != len(p.pts[i])+Overhead {
			t.Fatalf("blob %d: sealed %d bytes, want %d", i, len(ct), len(p.pts[i])+Overhead)
		}
		pt, err := o.OpenBlob([]byte("prefix"), uint64(i), p.aads[i], ct)
		if err != nil {
			t.Fatalf("blob %d: %v", i, err)
		}
		if want := append([]byte("prefix"), p.pts[i]...); !bytes.Equal(pt, want) {
			t.Fatalf("blob %d: got %q, want %q", i, pt, want)
		}
	}
	tbl, err := o.OpenTable(nil, p.tblAAD, p.table)
	if err != nil || string(tbl) != "table" {
		t.Fatalf("table = %q, %v", tbl, err)
	}
}

func TestSealBlobAppendsAndInPlace(t *testing.T) {
	k := testKey(t)
	salt := testSalt()
	ps, err := k.newPackSealer(&salt)
	if err != nil {
		t.Fatal(err)
	}
	pt := patterned(1000)
	want := ps.SealBlob(nil, 3, nil, pt)
	got := ps.SealBlob([]byte("head"), 3, nil, pt)
	if !bytes.Equal(got[:4], []byte("head")) || !bytes.Equal(got[4:], want) {
		t.Fatal("SealBlob did not append to dst")
	}
	buf := make([]byte, len(pt), len(pt)+Overhead)
	copy(buf, pt)
	if inPlace := ps.SealBlob(buf[:0], 3, nil, buf); !bytes.Equal(inPlace, want) {
		t.Fatal("in-place SealBlob differs")
	}
	// The highest index is allowed: its nonce (8×0xff || 4×0) differs from the table nonce.
	o, _ := k.NewPackOpener(salt[:])
	last := ps.SealBlob(nil, ^uint64(0), nil, pt)
	if _, err := o.OpenTable(nil, nil, last); !errors.Is(err, ErrAuth) {
		t.Fatal("blob 2^64-1 opens as the table")
	}
	if got, err := o.OpenBlob(nil, ^uint64(0), nil, last); err != nil || !bytes.Equal(got, pt) {
		t.Fatalf("blob 2^64-1: %v", err)
	}
}

func TestPackTamper(t *testing.T) {
	k := testKey(t)
	p := sealTestPack(t, k, 3)
	o, err := k.NewPackOpener(p.salt[:])
	if err != nil {
		t.Fatal(err)
	}
	auth := func(t *testing.T, name string, err error) {
		t.Helper()
		if !errors.Is(err, ErrAuth) {
			t.Fatalf("%s: err = %v, want ErrAuth", name, err)
		}
	}
	ct := p.blobs[1]
	for i := range ct {
		bad := bytes.Clone(ct)
		bad[i] ^= 0x40
		_, err := o.OpenBlob(nil, 1, p.aads[1], bad)
		auth(t, fmt.Sprintf("flip byte %d", i), err)
	}
	for n := range len(ct) {
		_, err := o.OpenBlob(nil, 1, p.aads[1], ct[:n])
		auth(t, fmt.Sprintf("truncate to %d", n), err)
	}
	for _, i := range []uint64{0, 2, 1 << 32, 1 << 63} {
		_, err := o.OpenBlob(nil, i, p.aads[1], ct)
		auth(t, fmt.Sprintf("wrong index %d", i), err)
	}
	_, err = o.OpenBlob(nil, 1, p.aads[0], ct)
	auth(t, "aad of another blob", err)
	_, err = o.OpenBlob(nil, 1, nil, ct)
	auth(t, "no aad", err)
	_, err = o.OpenBlob(nil, 1, p.aads[1][:len(p.aads[1])-1], ct)
	auth(t, "short aad", err)
	_, err = o.OpenBlob(nil, 0, p.aads[0], p.blobs[1])
	auth(t, "swapped blob", err)

	// Table vs blob nonce confusion, in both directions.
	_, err = o.OpenBlob(nil, 0, p.tblAAD, p.table)
	auth(t, "table as blob 0", err)
	_, err = o.OpenBlob(nil, ^uint64(0), p.tblAAD, p.table)
	auth(t, "table as blob 2^64-1", err)
	_, err = o.OpenTable(nil, p.aads[0], p.blobs[0])
	auth(t, "blob as table", err)
	_, err = o.OpenTable(nil, nil, p.table)
	auth(t, "table with wrong aad", err)
	for n := range len(p.table) {
		_, err = o.OpenTable(nil, p.tblAAD, p.table[:n])
		auth(t, fmt.Sprintf("table truncated to %d", n), err)
	}

	// Another pack's key (salt) or another master key.
	other := sealTestPack(t, k, 1)
	o2, err := k.NewPackOpener(other.salt[:])
	if err != nil {
		t.Fatal(err)
	}
	_, err = o2.OpenBlob(nil, 0, p.aads[0], p.blobs[0])
	auth(t, "other pack salt", err)
	k2, err := NewRandomKey()
	if err != nil {
		t.Fatal(err)
	}
	o3, err := k2.NewPackOpener(p.salt[:])
	if err != nil {
		t.Fatal(err)
	}
	_, err = o3.OpenBlob(nil, 0, p.aads[0], p.blobs[0])
	auth(t, "other master key", err)

	if _, err := o.OpenBlob(nil, 1, p.aads[1], ct); err != nil {
		t.Fatalf("original no longer opens: %v", err)
	}
}

func TestNewPackOpenerSaltLength(t *testing.T) {
	k := testKey(t)
	for _, n := range []int{0, 31, 33} {
		if _, err := k.NewPackOpener(make([]byte, n)); !errors.Is(err, ErrMalformed) {
			t.Errorf("salt of %d bytes: err = %v, want ErrMalformed", n, err)
		}
	}
}

func TestNewPackSealerDistinctSalts(t *testing.T) {
	k := testKey(t)
	a, err := k.NewPackSealer()
	if err != nil {
		t.Fatal(err)
	}
	b, err := k.NewPackSealer()
	if err != nil {
		t.Fatal(err)
	}
	if a.Salt() == b.Salt() {
		t.Fatal("two pack sealers share a salt")
	}
	if bytes.Equal(a.SealBlob(nil, 0, nil, []byte("x")), b.SealBlob(nil, 0, nil, []byte("x"))) {
		t.Fatal("two packs seal blob 0 identically")
	}
}

// TestPackConcurrent seals and opens blobs of one pack from several goroutines; run with -race.
func TestPackConcurrent(t *testing.T) {
	k := testKey(t)
	ps, err := k.NewPackSealer()
	if err != nil {
		t.Fatal(err)
	}
	salt := ps.Salt()
	o, err := k.NewPackOpener(salt[:])
	if err != nil {
		t.Fatal(err)
	}
	const workers, perWorker = 8, 64
	errs := make(chan error, workers)
	var wg sync.WaitGroup
	for w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for j := range perWorker {
				i := uint64(w*perWorker + j)
				pt := fmt.Appendf(nil, "blob %d payload", i)
				aad := []byte{byte(w)}
				ct := ps.SealBlob(nil, i, aad, pt)
				got, err := o.OpenBlob(nil, i, aad, ct)
				if err != nil || !bytes.Equal(got, pt) {
					errs <- fmt.Errorf("blob %d: %q, %v", i, got, err)
					return
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
}
