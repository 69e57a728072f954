package chunk

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"
)

func TestDefaultParams(t *testing.T) {
	p, err := DefaultParams()
	if err != nil {
		t.Fatal(err)
	}
	if err := p.Validate(); err != nil {
		t.Fatal(err)
	}
	if p.Algorithm != AlgorithmRabin || p.MinSize != 512<<10 || p.MaxSize != 8<<20 || p.AverageBits != 20 {
		t.Fatalf("defaults %+v", p)
	}
	q, err := DefaultParams()
	if err != nil {
		t.Fatal(err)
	}
	if p.Polynomial == q.Polynomial {
		t.Fatal("two DefaultParams share a polynomial")
	}
}

func TestParamsValidate(t *testing.T) {
	ok := Params{Algorithm: AlgorithmRabin, Polynomial: testPol, MinSize: 512 << 10, MaxSize: 8 << 20, AverageBits: 20}
	tests := []struct {
		name string
		edit func(*Params)
		want string // substring of the error; "" means valid
	}{
		{"valid", func(*Params) {}, ""},
		{"min equals max", func(p *Params) { p.MinSize = p.MaxSize }, ""},
		{"smallest", func(p *Params) { p.MinSize, p.MaxSize, p.AverageBits = 64, 64, MinAverageBits }, ""},
		{"largest", func(p *Params) { p.MaxSize, p.AverageBits = MaxChunkSize, MaxAverageBits }, ""},
		{"unknown algorithm", func(p *Params) { p.Algorithm = "md5" }, "unknown algorithm"},
		{"empty algorithm", func(p *Params) { p.Algorithm = "" }, "unknown algorithm"},
		{"fastcdc reserved", func(p *Params) { p.Algorithm = AlgorithmFastCDC }, "not implemented"},
		{"min above max", func(p *Params) { p.MinSize = p.MaxSize + 1 }, "greater than max_size"},
		{"min below window", func(p *Params) { p.MinSize = 63 }, "min_size"},
		{"min zero", func(p *Params) { p.MinSize = 0 }, "min_size"},
		{"max too large", func(p *Params) { p.MaxSize = MaxChunkSize + 1 }, "max_size"},
		{"bits low", func(p *Params) { p.AverageBits = MinAverageBits - 1 }, "average_bits"},
		{"bits high", func(p *Params) { p.AverageBits = MaxAverageBits + 1 }, "average_bits"},
		{"polynomial zero", func(p *Params) { p.Polynomial = 0 }, "zero"},
		{"polynomial degree", func(p *Params) { p.Polynomial = 0x3DA3358B4DC173 >> 1 }, "degree"},
		{"polynomial degree high", func(p *Params) { p.Polynomial |= 1 << 60 }, "degree"},
		// x^53 + 1 = (x + 1)(x^52 + ... + 1)
		{"polynomial reducible", func(p *Params) { p.Polynomial = 1<<53 | 1 }, "reducible"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			p := ok
			tc.edit(&p)
			err := p.Validate()
			if tc.want == "" {
				if err != nil {
					t.Fatalf("unexpected error %v", err)
				}
				if _, err := New(p); err != nil {
					t.Fatalf("New: %v", err)
				}
				return
			}
			if !errors.Is(err, ErrInvalidParams) || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("error %v, want ErrInvalidParams mentioning %q", err, tc.want)
			}
			if _, err := New(p); !errors.Is(err, ErrInvalidParams) {
				t.Fatalf("New accepted invalid params: %v", err)
			}
		})
	}
}

func TestParamsJSON(t *testing.T) {
	p := Params{Algorithm: AlgorithmRabin, Polynomial: testPol, MinSize: 1, MaxSize: 2, AverageBits: 3}
	b, err := json.Marshal(p)
	if err != nil {
		t.Fatal(err)
	}
	const want = `{"algorithm":"rabin","polynomial":17349423945073011,"min_size":1,"max_size":2,"average_bits":3}`
	if string(b) != want {
		t.Fatalf("json %s, want %s", b, want)
	}
	var q Params
	if err := json.Unmarshal(b, &q); err != nil || q != p {
		t.Fatalf("round trip %+v, %v", q, err)
	}
}
