package main

import (
	"encoding/json"
	"fmt"
	"io"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/cairnbackup/cairn/repo"
)

// printJSON writes v as one line of JSON.
func printJSON(w io.Writer, v any) error {
	b, err := json.Marshal(v)
	if err != nil {
		return fmt.Errorf("encode JSON: %w", err)
	}
	_, err = w.Write(append(b, '\n'))
	return err
}

// printJSONRaw writes v as JSON without a line break.
func printJSONRaw(w io.Writer, v any) error {
	b, err := json.Marshal(v)
	if err != nil {
		return fmt.Errorf("encode JSON: %w", err)
	}
	_, err = w.Write(b)
	return err
}

// newTable returns a tabwriter for human tables.
func newTable(w io.Writer) *tabwriter.Writer { return tabwriter.NewWriter(w, 0, 0, 2, ' ', 0) }

// snapshotJSON is the JSON shape of a snapshot in listings and summaries.
type snapshotJSON struct {
	ID       string           `json:"id"`
	ShortID  string           `json:"short_id"`
	Time     time.Time        `json:"time"`
	Hostname string           `json:"hostname"`
	Name     string           `json:"name"`
	Tags     []string         `json:"tags"`
	Size     int64            `json:"size"`
	Stats    repo.BackupStats `json:"stats"`
}

func toSnapshotJSON(s *repo.Snapshot) snapshotJSON {
	tags := s.Tags
	if tags == nil {
		tags = []string{}
	}
	return snapshotJSON{ID: s.ID.String(), ShortID: s.ID.Short(), Time: s.Time, Hostname: s.Hostname,
		Name: s.Name, Tags: tags, Size: s.Size, Stats: s.Stats}
}

// formatBytes renders n with binary units: "0 B", "512 B", "1.5 KiB", "64.0 MiB".
func formatBytes(n int64) string {
	const unit = 1024
	if n < unit && n > -unit {
		return fmt.Sprintf("%d B", n)
	}
	f := float64(n)
	for _, u := range []string{"KiB", "MiB", "GiB", "TiB", "PiB"} {
		f /= unit
		if f < unit && f > -unit || u == "PiB" {
			return fmt.Sprintf("%.1f %s", f, u)
		}
	}
	return strconv.FormatInt(n, 10) + " B"
}

// formatRate renders a bytes-per-second figure.
func formatRate(bps float64) string { return formatBytes(int64(bps)) + "/s" }

// formatDuration rounds d for humans.
func formatDuration(d time.Duration) string {
	switch {
	case d < time.Second:
		return d.Round(time.Millisecond).String()
	case d < time.Minute:
		return d.Round(10 * time.Millisecond).String()
	}
	return d.Round(time.Second).String()
}

// percent renders a ratio in [0, 1] as "12.3%".
func percent(r float64) string { return fmt.Sprintf("%.1f%%", 100*r) }

// parseSize parses "64MiB", "1GiB", "512K", "100MB", "4096": binary units (K, KiB, M, MiB,
// G, GiB, T, TiB), decimal units (kB, KB, MB, GB, TB), or plain bytes.
func parseSize(s string) (int64, error) {
	t := strings.TrimSpace(s)
	i := strings.IndexFunc(t, func(r rune) bool { return (r < '0' || r > '9') && r != '.' })
	num, unit := t, ""
	if i >= 0 {
		num, unit = t[:i], strings.TrimSpace(t[i:])
	}
	f, err := strconv.ParseFloat(num, 64)
	if err != nil || f < 0 {
		return 0, fmt.Errorf("invalid size %q (examples: 64MiB, 1GiB, 4096)", s)
	}
	mult := map[string]float64{
		"": 1, "b": 1,
		"k": 1 << 10, "kib": 1 << 10, "m": 1 << 20, "mib": 1 << 20, "g": 1 << 30, "gib": 1 << 30, "t": 1 << 40, "tib": 1 << 40,
		"kb": 1e3, "mb": 1e6, "gb": 1e9, "tb": 1e12,
	}[strings.ToLower(unit)]
	if mult == 0 {
		return 0, fmt.Errorf("invalid size %q: unknown unit %q (use B, KiB, MiB, GiB, TiB, kB, MB, GB, TB)", s, unit)
	}
	v := f * mult
	if v > 1<<62 {
		return 0, fmt.Errorf("invalid size %q: too large", s)
	}
	return int64(v), nil
}
