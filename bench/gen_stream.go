package main

import (
	"encoding/binary"
	"math/rand/v2"
)

// seedFor derives a 32-byte ChaCha8 seed from a run seed and a purpose label, so that
// independent streams (random data, text, layout, mutation) never share state.
func seedFor(seed uint64, label string) [32]byte {
	var s [32]byte
	h := seed ^ 0x9e3779b97f4a7c15
	for i := range 4 {
		for _, c := range []byte(label) {
			h = (h ^ uint64(c)) * 0x100000001b3
		}
		h ^= uint64(i+1) * 0xbf58476d1ce4e5b9
		h = (h ^ h>>31) * 0x94d049bb133111eb
		binary.LittleEndian.PutUint64(s[i*8:], h^h>>29)
	}
	return s
}

// newRand returns a deterministic PRNG for (seed, label).
func newRand(seed uint64, label string) *rand.Rand {
	return rand.New(rand.NewChaCha8(seedFor(seed, label)))
}

// randomStream is an incompressible deterministic byte stream.
type randomStream struct{ c *rand.ChaCha8 }

func newRandomStream(seed uint64, label string) *randomStream {
	return &randomStream{c: rand.NewChaCha8(seedFor(seed, label))}
}

// fill fills p with the next bytes of the stream. Consecutive calls yield the same bytes
// as one call over the concatenated buffer.
func (r *randomStream) fill(p []byte) { _, _ = r.c.Read(p) }

// textStream is a deterministic, text-like, compressible byte stream: lines of words
// drawn with a skewed (Zipf-like) distribution from a seeded vocabulary, with a few
// numbers and punctuation mixed in, compressing roughly 3-4x with zstd fastest.
type textStream struct {
	r       *rand.Rand
	vocab   [][]byte
	pending []byte
}

const vocabSize = 4096

func newTextStream(seed uint64, label string) *textStream {
	r := newRand(seed, label)
	vocab := make([][]byte, vocabSize)
	for i := range vocab {
		n := 2 + r.IntN(9)
		w := make([]byte, n)
		for j := range w {
			w[j] = byte('a' + r.IntN(26))
		}
		vocab[i] = w
	}
	return &textStream{r: r, vocab: vocab, pending: make([]byte, 0, 256)}
}

// fill fills p with the next bytes of the stream; like randomStream.fill it is
// independent of how the stream is cut into calls.
func (t *textStream) fill(p []byte) {
	for len(p) > 0 {
		if len(t.pending) == 0 {
			t.line()
		}
		n := copy(p, t.pending)
		p = p[n:]
		t.pending = t.pending[n:]
	}
}

// line appends one line to the (empty) pending buffer.
func (t *textStream) line() {
	b := t.pending[:0]
	words := 4 + t.r.IntN(12)
	for i := range words {
		if i > 0 {
			b = append(b, ' ')
		}
		x := t.r.Uint64()
		// min of two uniform indices: skewed towards low ranks, like word frequencies.
		a, c := int(x&(vocabSize-1)), int(x>>12&(vocabSize-1))
		switch {
		case x>>60 == 0: // 1 in 16 words is a number
			b = appendUint(b, x>>24&0xfffff)
		default:
			b = append(b, t.vocab[min(a, c)]...)
		}
	}
	if t.r.IntN(4) == 0 {
		b = append(b, '.')
	}
	t.pending = append(b, '\n')
}

func appendUint(b []byte, v uint64) []byte {
	var tmp [20]byte
	i := len(tmp)
	for {
		i--
		tmp[i] = byte('0' + v%10)
		v /= 10
		if v == 0 {
			break
		}
	}
	return append(b, tmp[i:]...)
}
