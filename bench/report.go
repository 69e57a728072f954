package main

import (
	"cmp"
	"encoding/json"
	"fmt"
	"io"
	"slices"
	"strings"
	"text/tabwriter"
	"time"
)

// Report is everything one harness run produced; --json prints it.
type Report struct {
	Meta    Meta      `json:"meta"`
	Inputs  []*Input  `json:"inputs"`
	Results []Result  `json:"results"`
	Summary []Summary `json:"summary"`
	Ratios  []Ratio   `json:"ratios"`
	// Degraded compares cairn's restore with zones down to its healthy restore.
	Degraded []Degraded `json:"restore_degraded,omitempty"`
}

// Meta describes the run's conditions.
type Meta struct {
	Started   time.Time           `json:"started"`
	GoVersion string              `json:"go_version"`
	Platform  string              `json:"platform"`
	CPUs      int                 `json:"cpus"`
	Rounds    int                 `json:"rounds"`
	Backend   string              `json:"backend"`
	ZonesDown int                 `json:"zones_down,omitempty"`
	ColdCache bool                `json:"cold_cache"`
	Tools     map[string]ToolInfo `json:"tools"`
	// CairnProfile is the --cairn-profile directory: cairn ran profiled, its times include
	// the profiling overhead.
	CairnProfile string `json:"cairn_profile,omitempty"`
}

// ToolInfo records what ran as a tool.
type ToolInfo struct {
	Binary   string `json:"binary"`
	Version  string `json:"version"`
	Settings string `json:"settings"`
}

// writeJSON writes the report as indented JSON.
func writeJSON(w io.Writer, r *Report) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	if err := enc.Encode(r); err != nil {
		return fmt.Errorf("write json: %w", err)
	}
	return nil
}

// writeTable renders, per input, the medians of every tool and phase and the headline
// ratios (cairn over peer: below 1 is better for cairn).
func writeTable(w io.Writer, r *Report) error {
	for _, in := range r.Inputs {
		fmt.Fprintf(w, "\n== %s: %s image, %s allocated; gen2 = %s; %d round(s), %s cache\n",
			in.Name, formatBytes(in.Size), formatBytes(in.AllocGen1), gen2Desc(in), r.Meta.Rounds, cacheDesc(r.Meta.ColdCache))
		srv := r.Meta.Backend == BackendMinio
		tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
		if srv {
			fmt.Fprintln(tw, "phase\ttool\tn\twall\tsync\tMB/s\tcpu\tsrv cpu\tpeak rss\trepo\tobjects\t")
		} else {
			fmt.Fprintln(tw, "phase\ttool\tn\twall\tsync\tMB/s\tcpu\tpeak rss\trepo\tobjects\t")
		}
		for _, s := range r.Summary {
			if s.Input != in.Name {
				continue
			}
			if s.Skipped || s.N == 0 {
				what := "failed"
				if s.Skipped {
					what = "skipped"
				}
				fmt.Fprintf(tw, "%s\t%s\t0\t%s\t\t\t\t\t\t\t\n", s.Phase, s.Tool, what)
				continue
			}
			mbps := ""
			if s.MBps > 0 {
				mbps = fmt.Sprintf("%.1f", s.MBps)
			}
			cpu := fmtSec(s.CPUSec)
			if srv {
				cpu += "\t" + fmtSec(s.ServerCPU)
			}
			fmt.Fprintf(tw, "%s\t%s\t%d\t%s\t%s\t%s\t%s\t%s\t%s\t%.0f\t\n", s.Phase, s.Tool, s.N,
				fmtSec(s.WallSec), fmtSec(s.SyncSec), mbps, cpu, formatBytes(int64(s.MaxRSS)),
				formatBytes(int64(s.RepoBytes)), s.Objects)
		}
		if err := tw.Flush(); err != nil {
			return fmt.Errorf("write table: %w", err)
		}
		writeRatios(w, r.Ratios, in.Name)
		for _, d := range r.Degraded {
			if d.Input == in.Name {
				fmt.Fprintf(w, "\ncairn restore-degraded/restore (%d of %d zones killed): wall %.2f, cpu %.2f (target <= %.1f)\n",
					d.ZonesDown, minioZones, d.Wall, d.CPU, degradedTarget)
			}
		}
	}
	writeRSSBySize(w, r)
	failed := 0
	for _, res := range r.Results {
		if res.Status == StatusFailed {
			failed++
		}
	}
	if failed > 0 {
		fmt.Fprintf(w, "\n%d phase(s) FAILED:\n", failed)
		for _, res := range r.Results {
			if res.Status == StatusFailed {
				fmt.Fprintf(w, "  %s round %d %s %s: %s\n", res.Input, res.Round, res.Tool, res.Phase, oneLine(res.Error, 300))
			}
		}
	}
	return nil
}

// writeRatios prints the ratio table of one input.
func writeRatios(w io.Writer, all []Ratio, input string) {
	var rs []Ratio
	for _, r := range all {
		if r.Input == input {
			rs = append(rs, r)
		}
	}
	if len(rs) == 0 {
		fmt.Fprintln(w, "(no ratios: cairn or both peers missing)")
		return
	}
	fmt.Fprintln(w, "\nratios cairn/peer (of the medians; < 1 means cairn is faster / smaller;")
	fmt.Fprintln(w, "rounds: the range of each round's cairn/best-peer ratio)")
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "phase\tmetric\t/kopia\t/restic\t/best-peer\tbest peer\trounds\t")
	for _, r := range rs {
		if r.Metric == MetricRepo && !repoPhase(r.Phase) {
			continue
		}
		spread := "-"
		if r.RoundsMin != nil && r.RoundsMax != nil {
			spread = fmtRatio(r.RoundsMin) + "–" + fmtRatio(r.RoundsMax)
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\t\n", r.Phase, r.Metric, fmtRatio(r.VsKopia),
			fmtRatio(r.VsRestic), fmtRatio(r.VsBest), r.BestPeer, spread)
	}
	_ = tw.Flush()
}

// writeRSSBySize prints, for every generator run at several sizes (--size 256MiB,1GiB,...),
// the median peak RSS of each tool's data phases per size and its growth from the smallest
// size to the largest: a flat memory profile shows a growth near 1.
func writeRSSBySize(w io.Writer, r *Report) {
	byKind := map[string][]*Input{}
	var kinds []string
	for _, in := range r.Inputs {
		if in.Kind == "image" {
			continue
		}
		if byKind[in.Kind] == nil {
			kinds = append(kinds, in.Kind)
		}
		byKind[in.Kind] = append(byKind[in.Kind], in)
	}
	for _, k := range kinds {
		ins := byKind[k]
		if len(ins) < 2 {
			continue
		}
		slices.SortFunc(ins, func(a, b *Input) int { return cmp.Compare(a.Size, b.Size) })
		fmt.Fprintf(w, "\n== peak RSS by size: %s\n", k)
		tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
		fmt.Fprint(tw, "phase\ttool\t")
		for _, in := range ins {
			fmt.Fprintf(tw, "%s\t", formatBytes(in.Size))
		}
		fmt.Fprintln(tw, "growth\t")
		for _, ph := range []Phase{PhaseFull, PhaseIncr, PhaseRestore} {
			for _, tool := range r.toolNames() {
				rss := make([]float64, len(ins))
				for i, in := range ins {
					for _, s := range r.Summary {
						if s.Input == in.Name && s.Tool == tool && s.Phase == ph && s.N > 0 {
							rss[i] = s.MaxRSS
						}
					}
				}
				fmt.Fprintf(tw, "%s\t%s\t", ph, tool)
				for _, v := range rss {
					if v > 0 {
						fmt.Fprintf(tw, "%s\t", formatBytes(int64(v)))
					} else {
						fmt.Fprint(tw, "-\t")
					}
				}
				if first, last := rss[0], rss[len(rss)-1]; first > 0 && last > 0 {
					fmt.Fprintf(tw, "%.2f\t\n", last/first)
				} else {
					fmt.Fprint(tw, "-\t\n")
				}
			}
		}
		_ = tw.Flush()
	}
}

// toolNames lists the tools of the summary in order of first appearance.
func (r *Report) toolNames() []string {
	var names []string
	for _, s := range r.Summary {
		if !slices.Contains(names, s.Tool) {
			names = append(names, s.Tool)
		}
	}
	return names
}

// repoPhase reports whether the repository size after ph is worth comparing.
func repoPhase(ph Phase) bool {
	return ph == PhaseFull || ph == PhaseIncr || ph == PhasePrune
}

func gen2Desc(in *Input) string {
	if in.Kind == string(KindExt4) {
		return fmt.Sprintf("%.3g%% of files changed, mkfs afresh", in.MutatePct)
	}
	return fmt.Sprintf("%.3g%% of 4 KiB blocks rewritten in place (%s)", in.MutatePct, formatBytes(in.Changed))
}

func cacheDesc(cold bool) string {
	if cold {
		return "cold"
	}
	return "warm"
}

func fmtSec(s float64) string {
	switch {
	case s >= 100:
		return fmt.Sprintf("%.0fs", s)
	case s >= 10:
		return fmt.Sprintf("%.1fs", s)
	default:
		return fmt.Sprintf("%.2fs", s)
	}
}

func fmtRatio(v *float64) string {
	if v == nil {
		return "-"
	}
	return fmt.Sprintf("%.2f", *v)
}

func oneLine(s string, n int) string {
	s = strings.Join(strings.Fields(s), " ")
	if len(s) > n {
		s = s[:n] + "..."
	}
	return s
}

// degradedTarget is issue 5's bound on restore with two zones down over a healthy restore.
const degradedTarget = 1.5

// Degraded is cairn's restore with zones down over its healthy restore (medians).
type Degraded struct {
	Input     string  `json:"input"`
	ZonesDown int     `json:"zones_down"`
	Wall      float64 `json:"wall_ratio"`
	CPU       float64 `json:"cpu_ratio"`
}

// degradedRatios computes, per input, cairn's restore-degraded over restore.
func degradedRatios(sums []Summary, zonesDown int) []Degraded {
	healthy := map[string]Summary{}
	for _, s := range sums {
		if s.Tool == "cairn" && s.Phase == PhaseRestore && s.N > 0 {
			healthy[s.Input] = s
		}
	}
	var out []Degraded
	for _, s := range sums {
		h, ok := healthy[s.Input]
		if s.Tool != "cairn" || s.Phase != PhaseRestoreDegraded || s.N == 0 || !ok || h.WallSec <= 0 || h.CPUSec <= 0 {
			continue
		}
		out = append(out, Degraded{Input: s.Input, ZonesDown: zonesDown, Wall: s.WallSec / h.WallSec, CPU: s.CPUSec / h.CPUSec})
	}
	return out
}
