package main

import (
	"github.com/cairnbackup/cairn/internal/units"
)

// parseSize and formatBytes are the project's one size syntax (internal/units), shared with
// the cairn CLI.
var (
	parseSize   = units.ParseSize
	formatBytes = units.FormatBytes
)
