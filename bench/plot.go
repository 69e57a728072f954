package main

import (
	"fmt"
	"html"
	"io"
	"math"
	"strings"
)

// plotBar is one bar of the ratio chart.
type plotBar struct {
	label string // peer name
	value float64
	color string
	// lo and hi, when set, bound the per-round ratios (drawn as a whisker).
	lo, hi *float64
}

// plotGroup is a cluster of bars: one input and phase.
type plotGroup struct {
	label string
	bars  []plotBar
}

// plotGroups picks the wall-time ratios of the data-moving phases (and check/prune)
// for the chart.
func plotGroups(rs []Ratio, multiInput bool) []plotGroup {
	var gs []plotGroup
	for _, r := range rs {
		if r.Metric != MetricWall || r.Phase == PhaseInit || r.Phase == PhaseSnapshots {
			continue
		}
		g := plotGroup{label: string(r.Phase)}
		if multiInput {
			g.label = r.Input + " " + g.label
		}
		for _, p := range []struct {
			name, color string
			v           *float64
		}{{"kopia", "#4e79a7", r.VsKopia}, {"restic", "#f28e2b", r.VsRestic}} {
			if p.v == nil {
				continue
			}
			bar := plotBar{label: p.name, value: *p.v, color: p.color}
			if p.name == r.BestPeer {
				bar.lo, bar.hi = r.RoundsMin, r.RoundsMax
			}
			g.bars = append(g.bars, bar)
		}
		if len(g.bars) > 0 {
			gs = append(gs, g)
		}
	}
	return gs
}

// degradedColor marks cairn's degraded/healthy restore bars.
const degradedColor = "#59a14f"

// degradedGroups makes one bar per input for cairn's restore with zones down over its
// healthy restore.
func degradedGroups(ds []Degraded, multiInput bool) []plotGroup {
	var gs []plotGroup
	for _, d := range ds {
		label := fmt.Sprintf("restore, %d zones down", d.ZonesDown)
		if multiInput {
			label = d.Input + " " + label
		}
		gs = append(gs, plotGroup{label: label, bars: []plotBar{{label: "/ healthy", value: d.Wall, color: degradedColor}}})
	}
	return gs
}

// writeSVG draws a grouped bar chart of cairn/peer wall-time ratios with a reference
// line at 1 (parity); bars below it are phases where cairn is faster. Degraded restores,
// if any, add bars of cairn's restore with zones down over its healthy restore.
func writeSVG(w io.Writer, title string, rs []Ratio, deg []Degraded, multiInput bool) error {
	gs := append(plotGroups(rs, multiInput), degradedGroups(deg, multiInput)...)
	const (
		barW, gap, groupGap = 28.0, 4.0, 36.0
		left, right, top    = 60.0, 20.0, 50.0
		plotH, bottom       = 300.0, 90.0
	)
	maxV := 1.25
	for _, g := range gs {
		for _, b := range g.bars {
			for _, v := range []*float64{&b.value, b.hi} {
				if v != nil && !math.IsInf(*v, 0) && !math.IsNaN(*v) {
					maxV = math.Max(maxV, *v*1.1)
				}
			}
		}
	}
	width := left + right
	for _, g := range gs {
		width += float64(len(g.bars))*(barW+gap) + groupGap
	}
	width = math.Max(width, 360)
	height := top + plotH + bottom
	y := func(v float64) float64 { return top + plotH - math.Min(v, maxV)/maxV*plotH }

	var b strings.Builder
	fmt.Fprintf(&b, `<svg xmlns="http://www.w3.org/2000/svg" width="%.0f" height="%.0f" font-family="sans-serif" font-size="11">`+"\n", width, height)
	fmt.Fprintf(&b, `<rect width="100%%" height="100%%" fill="white"/>`+"\n")
	fmt.Fprintf(&b, `<text x="%.0f" y="20" font-size="14" font-weight="bold">%s</text>`+"\n", left, html.EscapeString(title))
	fmt.Fprintf(&b, `<text x="%.0f" y="36" fill="#555">cairn wall time / peer wall time (median; whisker: per-round range vs the best peer); below 1 = cairn faster</text>`+"\n", left)
	// axis and grid
	step := niceStep(maxV)
	for v := 0.0; v <= maxV+1e-9; v += step {
		fmt.Fprintf(&b, `<line x1="%.0f" x2="%.0f" y1="%.1f" y2="%.1f" stroke="#ddd"/>`+"\n", left, width-right, y(v), y(v))
		fmt.Fprintf(&b, `<text x="%.0f" y="%.1f" text-anchor="end">%.2g</text>`+"\n", left-6, y(v)+4, v)
	}
	fmt.Fprintf(&b, `<line x1="%.0f" x2="%.0f" y1="%.1f" y2="%.1f" stroke="#c00" stroke-dasharray="5,3"/>`+"\n", left, width-right, y(1), y(1))
	x := left + groupGap/2
	for _, g := range gs {
		gx := x
		for _, bar := range g.bars {
			v := bar.value
			fmt.Fprintf(&b, `<rect x="%.1f" y="%.1f" width="%.0f" height="%.1f" fill="%s"><title>%s %s: %.3f</title></rect>`+"\n",
				x, y(v), barW, top+plotH-y(v), bar.color, html.EscapeString(g.label), bar.label, v)
			label := y(v) - 3
			if bar.lo != nil && bar.hi != nil {
				cx, l, h := x+barW/2, y(*bar.lo), y(*bar.hi)
				fmt.Fprintf(&b, `<path d="M%.1f %.1fV%.1fM%.1f %.1fh8M%.1f %.1fh8" stroke="#333" fill="none"><title>rounds %.3f–%.3f</title></path>`+"\n",
					cx, l, h, cx-4, l, cx-4, h, *bar.lo, *bar.hi)
				label = math.Min(label, h-3)
			}
			fmt.Fprintf(&b, `<text x="%.1f" y="%.1f" text-anchor="middle" font-size="10">%.2f</text>`+"\n", x+barW/2, label, v)
			x += barW + gap
		}
		cx := (gx + x - gap) / 2
		fmt.Fprintf(&b, `<text x="%.1f" y="%.1f" text-anchor="end" transform="rotate(-30 %.1f %.1f)">%s</text>`+"\n",
			cx, top+plotH+16, cx, top+plotH+16, html.EscapeString(g.label))
		x += groupGap
	}
	ly := height - 14
	fmt.Fprintf(&b, `<rect x="%.0f" y="%.0f" width="12" height="12" fill="#4e79a7"/><text x="%.0f" y="%.0f">vs kopia</text>`+"\n", left, ly-10, left+16, ly)
	fmt.Fprintf(&b, `<rect x="%.0f" y="%.0f" width="12" height="12" fill="#f28e2b"/><text x="%.0f" y="%.0f">vs restic</text>`+"\n", left+90, ly-10, left+106, ly)
	if len(deg) > 0 {
		fmt.Fprintf(&b, `<rect x="%.0f" y="%.0f" width="12" height="12" fill="%s"/><text x="%.0f" y="%.0f">cairn zones down / healthy</text>`+"\n",
			left+180, ly-10, degradedColor, left+196, ly)
	}
	if len(gs) == 0 {
		fmt.Fprintf(&b, `<text x="%.0f" y="%.0f" fill="#c00">no ratios: cairn or the peers have no results</text>`+"\n", left, top+plotH/2)
	}
	b.WriteString("</svg>\n")
	if _, err := io.WriteString(w, b.String()); err != nil {
		return fmt.Errorf("write svg: %w", err)
	}
	return nil
}

// niceStep picks a grid step of 1, 2 or 5 times a power of ten giving 4-10 lines.
func niceStep(maxV float64) float64 {
	raw := maxV / 5
	p := math.Pow(10, math.Floor(math.Log10(raw)))
	for _, m := range []float64{1, 2, 5, 10} {
		if m*p >= raw {
			return m * p
		}
	}
	return 10 * p
}
