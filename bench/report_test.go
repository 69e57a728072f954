package main

import (
	"bytes"
	"encoding/json"
	"encoding/xml"
	"errors"
	"io"
	"slices"
	"strings"
	"testing"
)

func sampleReport() *Report {
	rs := []Result{
		res("cairn", PhaseFull, 0, 1, StatusOK),
		res("kopia", PhaseFull, 0, 2, StatusOK),
		res("restic", PhaseFull, 0, 4, StatusOK),
		res("cairn", PhaseRestore, 0, 1, StatusOK),
		res("kopia", PhaseRestore, 0, 0.5, StatusOK),
		res("restic", PhaseRestore, 0, 2, StatusFailed),
		res("cairn", PhaseCheck, 0, 0, StatusSkipped),
		res("cairn", PhaseFull, 1, 1.2, StatusOK),
		res("kopia", PhaseFull, 1, 2, StatusOK),
	}
	rs[5].Error = "restored image differs from the source"
	r := &Report{Meta: Meta{Rounds: 1, ColdCache: true},
		Inputs:  []*Input{{Name: "in", Kind: "mixed", Size: 100e6, AllocGen1: 100e6, MutatePct: 3, Changed: 3e6}},
		Results: rs}
	r.Summary = summarize(rs)
	r.Ratios = ratios(r.Summary, rs)
	return r
}

func TestWriteTable(t *testing.T) {
	var b bytes.Buffer
	if err := writeTable(&b, sampleReport()); err != nil {
		t.Fatal(err)
	}
	out := b.String()
	for _, want := range []string{
		"== in:", "3% of 4 KiB blocks rewritten", "cold cache",
		"backup-full", "MB/s", "100.0", // cairn: 100 MB in 1 s
		"ratios cairn/peer", "skipped", "1 phase(s) FAILED", "restored image differs",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("table lacks %q:\n%s", want, out)
		}
	}
	// Wall ratios of the medians, cairn 1.1 s: kopia 2 s, restic 4 s; kopia's rounds 1/2
	// and 1.2/2.
	wantWall := []string{"backup-full", "wall", "0.55", "0.28", "0.55", "kopia", "0.50–0.60"}
	found := false
	for line := range strings.Lines(out) {
		if f := strings.Fields(line); len(f) > 1 && f[0] == "backup-full" && f[1] == "wall" {
			found = true
			if !slices.Equal(f, wantWall) {
				t.Errorf("full backup wall ratios %q, want %q", f, wantWall)
			}
		}
	}
	if !found {
		t.Errorf("no full backup wall ratio row:\n%s", out)
	}
}

func TestWriteJSONRoundTrip(t *testing.T) {
	var b bytes.Buffer
	in := sampleReport()
	if err := writeJSON(&b, in); err != nil {
		t.Fatal(err)
	}
	var out Report
	if err := json.Unmarshal(b.Bytes(), &out); err != nil {
		t.Fatal(err)
	}
	if len(out.Results) != len(in.Results) || out.Results[5].Status != StatusFailed || len(out.Ratios) != len(in.Ratios) {
		t.Errorf("round trip lost data: %d results, %d ratios", len(out.Results), len(out.Ratios))
	}
	if !strings.Contains(b.String(), `"cairn_over_best_peer"`) {
		t.Error("JSON lacks the best-peer ratio")
	}
}

func TestWriteSVG(t *testing.T) {
	for _, tc := range []struct {
		name  string
		rs    []Ratio
		rects int
		paths int // per-round whiskers
	}{
		{"sample", sampleReport().Ratios, 1 + 3 + 2, 1}, // background, full x2 + restore x1, legend x2; full vs kopia ran 2 rounds
		{"empty", nil, 1 + 2, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var b bytes.Buffer
			if err := writeSVG(&b, "t <&>", tc.rs, nil, false); err != nil {
				t.Fatal(err)
			}
			d := xml.NewDecoder(&b)
			rects, paths := 0, 0
			for {
				tok, err := d.Token()
				if errors.Is(err, io.EOF) {
					break
				}
				if err != nil {
					t.Fatalf("invalid SVG XML: %v", err)
				}
				if se, ok := tok.(xml.StartElement); ok {
					switch se.Name.Local {
					case "rect":
						rects++
					case "path":
						paths++
					}
				}
			}
			if rects != tc.rects || paths != tc.paths {
				t.Errorf("%d rects and %d paths, want %d and %d", rects, paths, tc.rects, tc.paths)
			}
		})
	}
}

func TestNiceStep(t *testing.T) {
	for _, tc := range []struct{ max, want float64 }{{1.25, 0.5}, {3, 1}, {12, 5}, {0.4, 0.1}} {
		if got := niceStep(tc.max); got != tc.want {
			t.Errorf("niceStep(%g) = %g, want %g", tc.max, got, tc.want)
		}
	}
}

func TestWriteRSSBySize(t *testing.T) {
	var rs []Result
	for _, size := range []struct {
		in  string
		rss int64
	}{{"mixed-1GiB", 110 << 20}, {"mixed-256MiB", 100 << 20}} {
		for _, tool := range []string{"cairn", "restic"} {
			r := res(tool, PhaseFull, 0, 1, StatusOK)
			r.Input, r.MaxRSS = size.in, size.rss
			if tool == "restic" {
				r.MaxRSS *= 2
			}
			rs = append(rs, r)
		}
	}
	r := &Report{Meta: Meta{Rounds: 1}, Results: rs, Inputs: []*Input{
		{Name: "mixed-1GiB", Kind: "mixed", Size: 1 << 30},
		{Name: "mixed-256MiB", Kind: "mixed", Size: 256 << 20},
		{Name: "img", Kind: "image", Size: 1 << 20},
	}}
	r.Summary = summarize(rs)
	var b bytes.Buffer
	if err := writeTable(&b, r); err != nil {
		t.Fatal(err)
	}
	out := b.String()
	_, sweep, ok := strings.Cut(out, "== peak RSS by size: mixed")
	if !ok {
		t.Fatalf("no RSS-by-size table:\n%s", out)
	}
	for _, want := range []string{"256.0 MiB", "1.0 GiB", "1.10", "100.0 MiB", "220.0 MiB"} {
		if !strings.Contains(sweep, want) {
			t.Errorf("RSS-by-size table lacks %q:\n%s", want, sweep)
		}
	}
	if strings.Index(sweep, "256.0 MiB") > strings.Index(sweep, "1.0 GiB") {
		t.Errorf("sizes not in increasing order:\n%s", sweep)
	}
	if strings.Contains(sweep, "image") {
		t.Errorf("--image inputs must not be swept:\n%s", sweep)
	}
}
