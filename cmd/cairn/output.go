package main

import (
	"encoding/json"
	"fmt"
	"io"
	"time"

	"github.com/cairnbackup/cairn/internal/units"
)

// printJSONRaw writes v as JSON without a line break.
func printJSONRaw(w io.Writer, v any) error {
	b, err := json.Marshal(v)
	if err != nil {
		return fmt.Errorf("encode JSON: %w", err)
	}
	_, err = w.Write(b)
	return err
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
