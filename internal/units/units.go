// Package units parses and prints byte sizes the same way everywhere cairn shows them to
// people: the CLI's flags and messages and the benchmark harness.
package units

import (
	"fmt"
	"strconv"
	"strings"
)

// ParseSize parses "64MiB", "1GiB", "512K", "100MB", "4096": binary units (K, KiB, M, MiB,
// G, GiB, T, TiB), decimal units (kB, KB, MB, GB, TB), or plain bytes; case-insensitive,
// spaces allowed around the unit. Negative and larger than 2^62 sizes are errors.
func ParseSize(s string) (int64, error) {
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

// FormatBytes renders n with binary units: "0 B", "512 B", "1.5 KiB", "64.0 MiB".
func FormatBytes(n int64) string {
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
