package main

import "testing"

func TestParseSize(t *testing.T) {
	tests := []struct {
		in   string
		want int64
		bad  bool
	}{
		{in: "256MiB", want: 256 << 20},
		{in: "8GiB", want: 8 << 30},
		{in: "4096", want: 4096},
		{in: "64k", want: 64 << 10},
		{in: "1.5G", want: 3 << 29},
		{in: "10MB", want: 10e6},
		{in: " 2 mib ", want: 2 << 20},
		{in: "", bad: true},
		{in: "12XB", bad: true},
		{in: "MiB", bad: true},
		{in: "-1MiB", bad: true},
	}
	for _, tt := range tests {
		got, err := parseSize(tt.in)
		if tt.bad {
			if err == nil {
				t.Errorf("parseSize(%q) = %d, want error", tt.in, got)
			}
			continue
		}
		if err != nil || got != tt.want {
			t.Errorf("parseSize(%q) = %d, %v; want %d", tt.in, got, err, tt.want)
		}
	}
}

func TestFormatBytes(t *testing.T) {
	tests := []struct {
		n    int64
		want string
	}{
		{0, "0 B"}, {1023, "1023 B"}, {1024, "1.0 KiB"}, {256 << 20, "256.0 MiB"}, {3 << 29, "1.5 GiB"},
	}
	for _, tt := range tests {
		if got := formatBytes(tt.n); got != tt.want {
			t.Errorf("formatBytes(%d) = %q, want %q", tt.n, got, tt.want)
		}
	}
	if got := compactSize(256 << 20); got != "256MiB" {
		t.Errorf("compactSize = %q", got)
	}
	if got := compactSize(1536 << 10); got != "1536KiB" {
		t.Errorf("compactSize = %q", got)
	}
}
