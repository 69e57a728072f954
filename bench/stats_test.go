package main

import (
	"math"
	"testing"
)

func TestMedian(t *testing.T) {
	tests := []struct {
		in   []float64
		want float64
	}{
		{nil, 0}, {[]float64{3}, 3}, {[]float64{3, 1, 2}, 2}, {[]float64{4, 1, 3, 2}, 2.5}, {[]float64{5, 5, 1, 9, 7}, 5},
	}
	for _, tt := range tests {
		in := append([]float64(nil), tt.in...)
		if got := median(tt.in); got != tt.want {
			t.Errorf("median(%v) = %g, want %g", tt.in, got, tt.want)
		}
		for i := range in {
			if in[i] != tt.in[i] {
				t.Fatalf("median modified its input")
			}
		}
	}
}

func res(tool string, ph Phase, round int, wall float64, status string) Result {
	return Result{Input: "in", Tool: tool, Phase: ph, Round: round, Status: status, WallSec: wall,
		SyncSec: wall / 10, UserSec: wall / 2, SysSec: wall / 4, MaxRSS: int64(wall * 1000), RepoBytes: int64(wall * 100), Objects: 3,
		SourceBytes: 100e6}
}

func TestSummarize(t *testing.T) {
	rs := []Result{
		res("cairn", PhaseFull, 0, 1, StatusOK),
		res("cairn", PhaseFull, 1, 3, StatusOK),
		res("cairn", PhaseFull, 2, 2, StatusOK),
		res("cairn", PhaseFull, 3, 99, StatusFailed), // failed rounds do not count
		res("cairn", PhaseCheck, 0, 0, StatusSkipped),
		res("cairn", PhaseInit, 0, 0.5, StatusOK), // appears after full: sorted back into phase order
	}
	sums := summarize(rs)
	if len(sums) != 3 {
		t.Fatalf("got %d summaries, want 3: %+v", len(sums), sums)
	}
	if sums[0].Phase != PhaseInit || sums[1].Phase != PhaseFull || sums[2].Phase != PhaseCheck {
		t.Fatalf("phase order %s %s %s", sums[0].Phase, sums[1].Phase, sums[2].Phase)
	}
	f := sums[1]
	if f.N != 3 || f.WallSec != 2 || f.SyncSec != 0.2 || f.CPUSec != 1.5 || f.MaxRSS != 2000 || f.RepoBytes != 200 || f.Objects != 3 {
		t.Errorf("full summary %+v", f)
	}
	if math.Abs(f.MBps-50) > 1e-9 {
		t.Errorf("MB/s = %g, want 50", f.MBps)
	}
	if c := sums[2]; !c.Skipped || c.N != 0 {
		t.Errorf("check summary %+v, want skipped", c)
	}
}

func TestRatios(t *testing.T) {
	sums := []Summary{
		{Input: "in", Tool: "cairn", Phase: PhaseFull, N: 1, WallSec: 1, CPUSec: 2, MaxRSS: 100, RepoBytes: 50},
		{Input: "in", Tool: "kopia", Phase: PhaseFull, N: 1, WallSec: 2, CPUSec: 1, MaxRSS: 400, RepoBytes: 100},
		{Input: "in", Tool: "restic", Phase: PhaseFull, N: 1, WallSec: 4, CPUSec: 8, MaxRSS: 200, RepoBytes: 0},
		{Input: "in", Tool: "cairn", Phase: PhaseCheck, Skipped: true},
		{Input: "in", Tool: "kopia", Phase: PhaseCheck, N: 1, WallSec: 1},
		{Input: "in", Tool: "cairn", Phase: PhaseRestore, N: 1, WallSec: 3},
		{Input: "in", Tool: "restic", Phase: PhaseRestore, N: 1, WallSec: 2},
	}
	rs := ratios(sums, nil)
	get := func(ph Phase, m Metric) *Ratio {
		for i := range rs {
			if rs[i].Phase == ph && rs[i].Metric == m {
				return &rs[i]
			}
		}
		return nil
	}
	tests := []struct {
		ph                  Phase
		m                   Metric
		kopia, restic, best float64 // -1: absent
		bestPeer            string
	}{
		{PhaseFull, MetricWall, 0.5, 0.25, 0.5, "kopia"},
		{PhaseFull, MetricCPU, 2, 0.25, 2, "kopia"},
		{PhaseFull, MetricRSS, 0.25, 0.5, 0.5, "restic"},
		{PhaseFull, MetricRepo, 0.5, -1, 0.5, "kopia"}, // zero denominator is skipped
		{PhaseRestore, MetricWall, -1, 1.5, 1.5, "restic"},
	}
	for _, tt := range tests {
		r := get(tt.ph, tt.m)
		if r == nil {
			t.Errorf("%s %s: no ratio", tt.ph, tt.m)
			continue
		}
		check := func(name string, got *float64, want float64) {
			switch {
			case want < 0 && got != nil:
				t.Errorf("%s %s %s = %g, want absent", tt.ph, tt.m, name, *got)
			case want >= 0 && (got == nil || math.Abs(*got-want) > 1e-9):
				t.Errorf("%s %s %s = %v, want %g", tt.ph, tt.m, name, got, want)
			}
		}
		check("kopia", r.VsKopia, tt.kopia)
		check("restic", r.VsRestic, tt.restic)
		check("best", r.VsBest, tt.best)
		if r.BestPeer != tt.bestPeer {
			t.Errorf("%s %s best peer %q, want %q", tt.ph, tt.m, r.BestPeer, tt.bestPeer)
		}
	}
	if get(PhaseCheck, MetricWall) != nil {
		t.Error("ratio for a phase cairn skipped")
	}
}

func TestRoundRange(t *testing.T) {
	// cairn/kopia per round: 0.5, 0.25, 1 (round 3 failed for kopia, round 4 for cairn).
	results := []Result{
		res("cairn", PhaseFull, 0, 1, StatusOK), res("kopia", PhaseFull, 0, 2, StatusOK),
		res("kopia", PhaseFull, 1, 4, StatusOK), res("cairn", PhaseFull, 1, 1, StatusOK),
		res("cairn", PhaseFull, 2, 3, StatusOK), res("kopia", PhaseFull, 2, 3, StatusOK),
		res("cairn", PhaseFull, 3, 9, StatusOK), res("kopia", PhaseFull, 3, 0.1, StatusFailed),
		res("cairn", PhaseFull, 4, 0.1, StatusFailed), res("kopia", PhaseFull, 4, 9, StatusOK),
		res("restic", PhaseFull, 0, 0.01, StatusOK), res("restic", PhaseFull, 1, 0.01, StatusOK),
		res("cairn", PhaseIncr, 0, 1, StatusOK), res("kopia", PhaseIncr, 0, 2, StatusOK),
	}
	tests := []struct {
		name   string
		ph     Phase
		m      Metric
		peer   string
		lo, hi float64 // -1: absent
	}{
		{"wall, failed rounds left out", PhaseFull, MetricWall, "kopia", 0.25, 1},
		{"rss", PhaseFull, MetricRSS, "kopia", 0.25, 1},
		{"another peer", PhaseFull, MetricWall, "restic", 100, 100},
		{"one paired round", PhaseIncr, MetricWall, "kopia", -1, -1},
		{"no peer rounds", PhaseIncr, MetricWall, "restic", -1, -1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			lo, hi := roundRange(results, "in", tt.ph, tt.m, tt.peer)
			if tt.lo < 0 {
				if lo != nil || hi != nil {
					t.Fatalf("got %v-%v, want none", lo, hi)
				}
				return
			}
			if lo == nil || hi == nil || math.Abs(*lo-tt.lo) > 1e-9 || math.Abs(*hi-tt.hi) > 1e-9 {
				t.Fatalf("got %v-%v, want %g-%g", lo, hi, tt.lo, tt.hi)
			}
		})
	}
	rs := ratios(summarize(results), results)
	for _, r := range rs {
		if r.Phase == PhaseFull && r.Metric == MetricWall {
			if r.BestPeer != "restic" || r.RoundsMin == nil || *r.RoundsMin != 100 {
				t.Errorf("ratios: best peer %s, round range from %v; want restic's rounds", r.BestPeer, r.RoundsMin)
			}
			return
		}
	}
	t.Error("ratios: no full-backup wall ratio")
}
