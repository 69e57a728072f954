package crypto

import "testing"

const benchSize = 1 << 20

func BenchmarkChunkHasher(b *testing.B) {
	h := testKey(b).NewChunkHasher()
	data := patterned(benchSize)
	b.SetBytes(benchSize)
	for b.Loop() {
		h.Sum(data)
	}
}

func BenchmarkSealBlob(b *testing.B) {
	ps, err := testKey(b).NewPackSealer()
	if err != nil {
		b.Fatal(err)
	}
	data := patterned(benchSize)
	dst := make([]byte, 0, benchSize+Overhead)
	aad := make([]byte, 33)
	b.SetBytes(benchSize)
	var i uint64
	for b.Loop() {
		dst = ps.SealBlob(dst[:0], i, aad, data)
		i++
	}
}

func BenchmarkOpenBlob(b *testing.B) {
	k := testKey(b)
	ps, err := k.NewPackSealer()
	if err != nil {
		b.Fatal(err)
	}
	salt := ps.Salt()
	o, err := k.NewPackOpener(salt[:])
	if err != nil {
		b.Fatal(err)
	}
	aad := make([]byte, 33)
	ct := ps.SealBlob(nil, 5, aad, patterned(benchSize))
	dst := make([]byte, 0, benchSize)
	b.SetBytes(benchSize)
	for b.Loop() {
		if dst, err = o.OpenBlob(dst[:0], 5, aad, ct); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkSealObject(b *testing.B) {
	k := testKey(b)
	data := patterned(64 << 10)
	h := MakeHeader('I', 1)
	b.SetBytes(int64(len(data)))
	for b.Loop() {
		if _, err := k.SealObject(h, data); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkArgon2 measures one unlock with the default (t=3, 32 MiB, p=4) and the strong
// (t=3, 64 MiB, p=4) parameters; run it with a small -benchtime such as 3x.
func BenchmarkArgon2(b *testing.B) {
	for _, bc := range []struct {
		name string
		p    KDFParams
	}{{"default", DefaultKDFParams()}, {"strong", StrongKDFParams()}} {
		b.Run(bc.name, func(b *testing.B) { benchmarkUnlock(b, bc.p) })
	}
}

func benchmarkUnlock(b *testing.B, p KDFParams) {
	k := testKey(b)
	s, err := NewKeySlot(k, []byte("pw"), p)
	if err != nil {
		b.Fatal(err)
	}
	for b.Loop() {
		if _, err := s.Unlock([]byte("pw")); err != nil {
			b.Fatal(err)
		}
	}
}
