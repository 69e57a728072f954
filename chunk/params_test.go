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
	if p.Algorithm != AlgorithmFastCDC || p.MinSize != 256<<10 || p.MaxSize != 4<<20 || p.AverageBits != 19 || len(p.Key) != KeySize || p.Polynomial != 0 {
		t.Fatalf("defaults %+v", p)
	}
	q, err := DefaultParams()
	if err != nil {
		t.Fatal(err)
	}
	if string(p.Key) == string(q.Key) {
		t.Fatal("two DefaultParams share a key")
	}
}

func TestDefaultParamsFor(t *testing.T) {
	for _, algo := range algorithms {
		t.Run(algo, func(t *testing.T) {
			p, err := DefaultParamsFor(algo)
			if err != nil {
				t.Fatal(err)
			}
			if err := p.Validate(); err != nil {
				t.Fatal(err)
			}
			if p.Algorithm != algo || p.MinSize != DefaultMinSize || p.MaxSize != DefaultMaxSize || p.AverageBits != DefaultAverageBits {
				t.Fatalf("defaults %+v", p)
			}
			q, err := DefaultParamsFor(algo)
			if err != nil {
				t.Fatal(err)
			}
			if p.Equal(q) {
				t.Fatal("two DefaultParamsFor share their secret")
			}
			switch algo {
			case AlgorithmRabin:
				if p.Key != nil || p.Polynomial == 0 {
					t.Fatalf("rabin defaults %+v", p)
				}
			case AlgorithmFastCDC:
				if len(p.Key) != KeySize || p.Polynomial != 0 {
					t.Fatalf("fastcdc defaults %+v", p)
				}
			}
		})
	}
	if _, err := DefaultParamsFor("md5"); !errors.Is(err, ErrInvalidParams) {
		t.Fatalf("unknown algorithm: %v", err)
	}
}

func TestParamsEqual(t *testing.T) {
	p := smallParamsFor(AlgorithmFastCDC)
	q := p
	q.Key = append([]byte(nil), p.Key...)
	if !p.Equal(q) {
		t.Fatal("copies differ")
	}
	q.Key[0] ^= 1
	if p.Equal(q) {
		t.Fatal("different keys are equal")
	}
	r := smallParams
	r.AverageBits++
	if smallParams.Equal(r) {
		t.Fatal("different average bits are equal")
	}
}

func TestParamsValidate(t *testing.T) {
	rabin := Params{Algorithm: AlgorithmRabin, Polynomial: testPol, MinSize: 512 << 10, MaxSize: 8 << 20, AverageBits: 20}
	fast := Params{Algorithm: AlgorithmFastCDC, Key: testKey, MinSize: 512 << 10, MaxSize: 8 << 20, AverageBits: 20}
	tests := []struct {
		name string
		base Params
		edit func(*Params)
		want string // substring of the error; "" means valid
	}{
		{"valid", rabin, func(*Params) {}, ""},
		{"min equals max", rabin, func(p *Params) { p.MinSize = p.MaxSize }, ""},
		{"smallest", rabin, func(p *Params) { p.MinSize, p.MaxSize, p.AverageBits = 64, 64, MinAverageBits }, ""},
		{"largest", rabin, func(p *Params) { p.MaxSize, p.AverageBits = MaxChunkSize, MaxAverageBits }, ""},
		{"unknown algorithm", rabin, func(p *Params) { p.Algorithm = "md5" }, "unknown algorithm"},
		{"empty algorithm", rabin, func(p *Params) { p.Algorithm = "" }, "unknown algorithm"},
		{"min above max", rabin, func(p *Params) { p.MinSize = p.MaxSize + 1 }, "greater than max_size"},
		{"min below window", rabin, func(p *Params) { p.MinSize = 63 }, "min_size"},
		{"min zero", rabin, func(p *Params) { p.MinSize = 0 }, "min_size"},
		{"max too large", rabin, func(p *Params) { p.MaxSize = MaxChunkSize + 1 }, "max_size"},
		{"bits low", rabin, func(p *Params) { p.AverageBits = MinAverageBits - 1 }, "average_bits"},
		{"bits high", rabin, func(p *Params) { p.AverageBits = MaxAverageBits + 1 }, "average_bits"},
		{"polynomial zero", rabin, func(p *Params) { p.Polynomial = 0 }, "zero"},
		{"polynomial degree", rabin, func(p *Params) { p.Polynomial = 0x3DA3358B4DC173 >> 1 }, "degree"},
		{"polynomial degree high", rabin, func(p *Params) { p.Polynomial |= 1 << 60 }, "degree"},
		// x^53 + 1 = (x + 1)(x^52 + ... + 1)
		{"polynomial reducible", rabin, func(p *Params) { p.Polynomial = 1<<53 | 1 }, "reducible"},
		{"rabin with key", rabin, func(p *Params) { p.Key = testKey }, "key is not used"},

		{"fastcdc valid", fast, func(*Params) {}, ""},
		{"fastcdc smallest", fast, func(p *Params) { p.MinSize, p.MaxSize, p.AverageBits = 64, 129, 7 }, ""},
		{"fastcdc largest", fast, func(p *Params) { p.MinSize, p.MaxSize, p.AverageBits = 1<<24, MaxChunkSize, 25 }, ""},
		{"fastcdc with polynomial", fast, func(p *Params) { p.Polynomial = testPol }, "must be 0"},
		{"fastcdc no key", fast, func(p *Params) { p.Key = nil }, "key has 0 bytes"},
		{"fastcdc short key", fast, func(p *Params) { p.Key = testKey[:31] }, "key has 31 bytes"},
		{"fastcdc long key", fast, func(p *Params) { p.Key = append(testKey[:32:32], 0) }, "key has 33 bytes"},
		{"fastcdc normal equals min", fast, func(p *Params) { p.MinSize = 1 << 20 }, "normal size"},
		{"fastcdc normal below min", fast, func(p *Params) { p.AverageBits = 19 }, "normal size"},
		{"fastcdc normal equals max", fast, func(p *Params) { p.MaxSize = 1 << 20 }, "normal size"},
		{"fastcdc normal above max", fast, func(p *Params) { p.AverageBits = 24 }, "normal size"},
		{"fastcdc normal huge", fast, func(p *Params) { p.AverageBits = MaxAverageBits }, "normal size"},
		{"fastcdc min below window", fast, func(p *Params) { p.MinSize = 63 }, "min_size"},
		{"fastcdc max too large", fast, func(p *Params) { p.MaxSize = MaxChunkSize + 1 }, "max_size"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			p := tc.base
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

// TestParamsJSON pins the config encoding: rabin's is unchanged by the
// fastcdc fields, fastcdc's has no polynomial and a base64 key.
func TestParamsJSON(t *testing.T) {
	tests := []struct {
		p    Params
		want string
	}{
		{Params{Algorithm: AlgorithmRabin, Polynomial: testPol, MinSize: 1, MaxSize: 2, AverageBits: 3},
			`{"algorithm":"rabin","polynomial":17349423945073011,"min_size":1,"max_size":2,"average_bits":3}`},
		{Params{Algorithm: AlgorithmFastCDC, MinSize: 1, MaxSize: 2, AverageBits: 3, Key: testKey},
			`{"algorithm":"fastcdc","min_size":1,"max_size":2,"average_bits":3,"key":"Y2Fpcm4gZmFzdGNkYyB0ZXN0IGtleSAzMiBieXRlcyE="}`},
	}
	for _, tc := range tests {
		b, err := json.Marshal(tc.p)
		if err != nil {
			t.Fatal(err)
		}
		if string(b) != tc.want {
			t.Fatalf("json %s, want %s", b, tc.want)
		}
		var q Params
		if err := json.Unmarshal(b, &q); err != nil || !q.Equal(tc.p) {
			t.Fatalf("round trip %+v, %v", q, err)
		}
	}
}
