package main

import (
	"slices"
)

// Phase names a measured step of a tool run, in execution order.
type Phase string

// The phases of one tool run.
const (
	PhaseInit      Phase = "init"
	PhaseFull      Phase = "backup-full"
	PhaseIncr      Phase = "backup-incr"
	PhaseSnapshots Phase = "snapshots"
	PhaseRestore   Phase = "restore"
	// PhaseRestoreDegraded is a second restore with zones killed (--zones-down, cairn on
	// object storage only).
	PhaseRestoreDegraded Phase = "restore-degraded"
	PhaseCheck           Phase = "check"
	PhasePrune           Phase = "prune"
)

// Phases lists every phase in execution order.
var Phases = []Phase{PhaseInit, PhaseFull, PhaseIncr, PhaseSnapshots, PhaseRestore, PhaseRestoreDegraded, PhaseCheck, PhasePrune}

// Result statuses.
const (
	StatusOK      = "ok"
	StatusSkipped = "skipped" // the tool does not offer the phase
	StatusFailed  = "failed"
)

// Result is the raw measurement of one phase of one tool run.
type Result struct {
	Input    string  `json:"input"`
	Tool     string  `json:"tool"`
	Round    int     `json:"round"`
	Position int     `json:"position"` // 0-based place of the tool in the round's order
	Phase    Phase   `json:"phase"`
	Status   string  `json:"status"`
	Error    string  `json:"error,omitempty"`
	WallSec  float64 `json:"wall_seconds"` // the tool's commands plus SyncSec
	// SyncSec is the time of the harness's sync(2) after the tool exited: writeback the
	// tool left behind (0 for a tool that fsyncs what it writes). Cold-cache runs only.
	SyncSec       float64 `json:"sync_seconds"`
	UserSec       float64 `json:"user_seconds"`
	SysSec        float64 `json:"sys_seconds"`
	MaxRSS        int64   `json:"max_rss_bytes"`
	Commands      int     `json:"commands"`
	RepoBytes     int64   `json:"repo_bytes"`      // apparent size of the repository after the phase
	RepoDiskBytes int64   `json:"repo_disk_bytes"` // allocated size of the repository after the phase
	Objects       int     `json:"objects_written"` // repository files created or changed by the phase
	RepoFiles     int     `json:"repo_files"`      // repository files after the phase
	SourceBytes   int64   `json:"source_bytes"`    // image bytes the phase processed (0 if none)
	// ServerCPUSec is the CPU time the object-store servers spent during the phase.
	ServerCPUSec float64 `json:"server_cpu_seconds,omitempty"`
}

// CPUSec is user plus system time.
func (r Result) CPUSec() float64 { return r.UserSec + r.SysSec }

// Summary is the median over rounds of one (input, tool, phase).
type Summary struct {
	Input     string  `json:"input"`
	Tool      string  `json:"tool"`
	Phase     Phase   `json:"phase"`
	N         int     `json:"n"` // successful rounds
	Skipped   bool    `json:"skipped,omitempty"`
	WallSec   float64 `json:"wall_seconds"`
	SyncSec   float64 `json:"sync_seconds"` // median of Result.SyncSec (part of WallSec)
	CPUSec    float64 `json:"cpu_seconds"`
	MaxRSS    float64 `json:"max_rss_bytes"`
	RepoBytes float64 `json:"repo_bytes"`
	Objects   float64 `json:"objects_written"`
	MBps      float64 `json:"mb_per_second,omitempty"` // source MB (10^6) per wall second
	ServerCPU float64 `json:"server_cpu_seconds,omitempty"`
}

// Metric names a summarized quantity for which lower is better.
type Metric string

// The metrics ratios are computed for.
const (
	MetricWall Metric = "wall"
	MetricCPU  Metric = "cpu"
	MetricRSS  Metric = "rss"
	MetricRepo Metric = "repo"
)

// Metrics lists the ratio metrics in display order.
var Metrics = []Metric{MetricWall, MetricCPU, MetricRSS, MetricRepo}

// value is r's measurement of m.
func (r Result) value(m Metric) float64 {
	switch m {
	case MetricWall:
		return r.WallSec
	case MetricCPU:
		return r.CPUSec()
	case MetricRSS:
		return float64(r.MaxRSS)
	case MetricRepo:
		return float64(r.RepoBytes)
	}
	return 0
}

func (s Summary) value(m Metric) float64 {
	switch m {
	case MetricWall:
		return s.WallSec
	case MetricCPU:
		return s.CPUSec
	case MetricRSS:
		return s.MaxRSS
	case MetricRepo:
		return s.RepoBytes
	}
	return 0
}

// Ratio compares cairn with the peers on one metric of one phase: cairn's median
// divided by the peer's, so below 1 means cairn is better. A nil field means a side is
// missing (tool not run, phase failed or skipped, or a zero denominator).
type Ratio struct {
	Input    string   `json:"input"`
	Phase    Phase    `json:"phase"`
	Metric   Metric   `json:"metric"`
	VsKopia  *float64 `json:"cairn_over_kopia,omitempty"`
	VsRestic *float64 `json:"cairn_over_restic,omitempty"`
	VsBest   *float64 `json:"cairn_over_best_peer,omitempty"`
	BestPeer string   `json:"best_peer,omitempty"`
	// RoundsMin and RoundsMax bound the per-round ratios cairn/best peer: each round's
	// cairn value over the same round's best-peer value, for the rounds both completed.
	// Set when at least two rounds pair up; a wide range says the machine drifted.
	RoundsMin *float64 `json:"cairn_over_best_peer_round_min,omitempty"`
	RoundsMax *float64 `json:"cairn_over_best_peer_round_max,omitempty"`
}

// median returns the median of xs (the mean of the middle two for an even count), or 0
// for none. xs is not modified.
func median(xs []float64) float64 {
	if len(xs) == 0 {
		return 0
	}
	s := slices.Clone(xs)
	slices.Sort(s)
	n := len(s)
	if n%2 == 1 {
		return s[n/2]
	}
	return (s[n/2-1] + s[n/2]) / 2
}

// summarize computes the per-(input, tool, phase) medians over successful rounds,
// ordered by input and tool (first appearance) and then phase.
func summarize(results []Result) []Summary {
	type key struct {
		input, tool string
		phase       Phase
	}
	var order []key
	groups := map[key][]Result{}
	inputRank, toolRank := map[string]int{}, map[string]int{}
	for _, r := range results {
		if _, ok := inputRank[r.Input]; !ok {
			inputRank[r.Input] = len(inputRank)
		}
		if _, ok := toolRank[r.Tool]; !ok {
			toolRank[r.Tool] = len(toolRank)
		}
		k := key{r.Input, r.Tool, r.Phase}
		if _, ok := groups[k]; !ok {
			order = append(order, k)
		}
		groups[k] = append(groups[k], r)
	}
	slices.SortFunc(order, func(a, b key) int {
		if d := inputRank[a.input] - inputRank[b.input]; d != 0 {
			return d
		}
		if d := toolRank[a.tool] - toolRank[b.tool]; d != 0 {
			return d
		}
		return slices.Index(Phases, a.phase) - slices.Index(Phases, b.phase)
	})
	out := make([]Summary, 0, len(order))
	for _, k := range order {
		s := Summary{Input: k.input, Tool: k.tool, Phase: k.phase}
		var wall, syncs, cpu, rss, repo, objs, srv []float64
		var src int64
		skipped := 0
		for _, r := range groups[k] {
			switch r.Status {
			case StatusSkipped:
				skipped++
				continue
			case StatusOK:
			default:
				continue
			}
			wall = append(wall, r.WallSec)
			syncs = append(syncs, r.SyncSec)
			cpu = append(cpu, r.CPUSec())
			rss = append(rss, float64(r.MaxRSS))
			repo = append(repo, float64(r.RepoBytes))
			objs = append(objs, float64(r.Objects))
			srv = append(srv, r.ServerCPUSec)
			src = r.SourceBytes
		}
		s.N = len(wall)
		s.Skipped = skipped > 0 && s.N == 0
		s.WallSec, s.SyncSec, s.CPUSec, s.MaxRSS = median(wall), median(syncs), median(cpu), median(rss)
		s.RepoBytes, s.Objects, s.ServerCPU = median(repo), median(objs), median(srv)
		if src > 0 && s.WallSec > 0 {
			s.MBps = float64(src) / 1e6 / s.WallSec
		}
		out = append(out, s)
	}
	return out
}

// peers are the tools cairn is compared with.
var peers = []string{"kopia", "restic"}

// ratios computes cairn/kopia, cairn/restic and cairn/best-peer for every metric of
// every phase that cairn and at least one peer completed, from the medians in sums, and
// the range of the per-round cairn/best-peer ratios from results.
func ratios(sums []Summary, results []Result) []Ratio {
	type key struct {
		input, tool string
		phase       Phase
	}
	idx := map[key]Summary{}
	var inputs []string
	for _, s := range sums {
		idx[key{s.Input, s.Tool, s.Phase}] = s
		if !slices.Contains(inputs, s.Input) {
			inputs = append(inputs, s.Input)
		}
	}
	var out []Ratio
	for _, in := range inputs {
		for _, ph := range Phases {
			c, ok := idx[key{in, "cairn", ph}]
			if !ok || c.N == 0 {
				continue
			}
			for _, m := range Metrics {
				r := Ratio{Input: in, Phase: ph, Metric: m}
				best, bestName := 0.0, ""
				for _, p := range peers {
					ps, ok := idx[key{in, p, ph}]
					if !ok || ps.N == 0 || ps.value(m) <= 0 {
						continue
					}
					v := c.value(m) / ps.value(m)
					if p == "kopia" {
						r.VsKopia = &v
					} else {
						r.VsRestic = &v
					}
					if bestName == "" || ps.value(m) < best {
						best, bestName = ps.value(m), p
					}
				}
				if bestName == "" {
					continue
				}
				v := c.value(m) / best
				r.VsBest, r.BestPeer = &v, bestName
				r.RoundsMin, r.RoundsMax = roundRange(results, in, ph, m, bestName)
				out = append(out, r)
			}
		}
	}
	return out
}

// roundRange returns the smallest and largest ratio cairn/peer of metric m over the rounds
// in which both completed phase ph of input in, or nils for fewer than two such rounds.
// Rounds alternate the tools' order, so a round's tools ran under about the same machine
// state: the range shows how far that state moved the ratio.
func roundRange(results []Result, in string, ph Phase, m Metric, peer string) (lo, hi *float64) {
	cairn, other := map[int]float64{}, map[int]float64{}
	for _, r := range results {
		if r.Input != in || r.Phase != ph || r.Status != StatusOK {
			continue
		}
		switch r.Tool {
		case "cairn":
			cairn[r.Round] = r.value(m)
		case peer:
			other[r.Round] = r.value(m)
		}
	}
	var rs []float64
	for round, c := range cairn {
		if p, ok := other[round]; ok && p > 0 {
			rs = append(rs, c/p)
		}
	}
	if len(rs) < 2 {
		return nil, nil
	}
	l, h := slices.Min(rs), slices.Max(rs)
	return &l, &h
}
