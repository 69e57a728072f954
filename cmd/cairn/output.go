package main

import (
	"encoding/json"
	"fmt"
	"io"
	"text/tabwriter"
	"time"

	"github.com/cairnbackup/cairn/internal/units"

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

// parseSize and formatBytes are the project's one size syntax (internal/units).
var (
	parseSize   = units.ParseSize
	formatBytes = units.FormatBytes
)

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
