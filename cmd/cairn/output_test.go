package main

import (
	"bytes"
	"encoding/json"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/cairnbackup/cairn/repo"
)

func TestParseSize(t *testing.T) {
	tests := []struct {
		in   string
		want int64
		err  bool
	}{
		{"4096", 4096, false},
		{"64MiB", 64 << 20, false},
		{"64M", 64 << 20, false},
		{"1GiB", 1 << 30, false},
		{"1.5KiB", 1536, false},
		{"100MB", 100e6, false},
		{"2 kB", 2000, false},
		{"1TiB", 1 << 40, false},
		{"", 0, true},
		{"MiB", 0, true},
		{"12parsecs", 0, true},
		{"-1", 0, true},
		{"1e30", 0, true},
		{"99999999TiB", 0, true},
	}
	for _, tt := range tests {
		got, err := parseSize(tt.in)
		if (err != nil) != tt.err || got != tt.want {
			t.Errorf("parseSize(%q) = %d, %v; want %d, error %v", tt.in, got, err, tt.want, tt.err)
		}
	}
}

func TestFormatBytes(t *testing.T) {
	tests := map[int64]string{0: "0 B", 1023: "1023 B", 1024: "1.0 KiB", 64 << 20: "64.0 MiB", 3 << 40: "3.0 TiB"}
	for in, want := range tests {
		if got := formatBytes(in); got != want {
			t.Errorf("formatBytes(%d) = %q, want %q", in, got, want)
		}
	}
}

func TestDedupRatio(t *testing.T) {
	tests := []struct {
		done, newB int64
		want       float64
	}{
		{0, 0, 0}, {100, 100, 0}, {100, 0, 1}, {100, 25, 0.75}, {100, 200, 0},
	}
	for _, tt := range tests {
		if got := dedupRatio(tt.done, tt.newB); got != tt.want {
			t.Errorf("dedupRatio(%d, %d) = %v, want %v", tt.done, tt.newB, got, tt.want)
		}
	}
}

// TestProgressJSONLines checks the shape of --json progress lines.
func TestProgressJSONLines(t *testing.T) {
	var buf bytes.Buffer
	a := newCLI(t, nil).app(&buf, &buf)
	a.JSON = true
	sink := a.newProgress("backup", 1000)
	sink.update(repo.Progress{BytesDone: 400, BytesTotal: 1000, NewBytes: 100, Elapsed: 2 * time.Second})
	sink.update(repo.Progress{BytesDone: 1000, BytesTotal: 1000, NewBytes: 100, Elapsed: 4 * time.Second})
	sink.finish(true)
	lines := strings.Split(strings.TrimSpace(buf.String()), "\n")
	if len(lines) != 2 {
		t.Fatalf("want 2 JSON lines, got %q", buf.String())
	}
	var m map[string]any
	mustJSON(t, lines[0], &m)
	want := map[string]any{"type": "progress", "op": "backup", "bytes_done": 400.0, "bytes_total": 1000.0,
		"new_bytes": 100.0, "dedup_ratio": 0.75, "bytes_per_second": 200.0, "elapsed_ns": 2e9}
	for k, v := range want {
		if m[k] != v {
			t.Errorf("progress line %s = %v, want %v (line %s)", k, m[k], v, lines[0])
		}
	}
}

func TestProgressModes(t *testing.T) {
	tests := []struct {
		name        string
		quiet, json bool
		tty         bool
		want        string
	}{
		{name: "quiet", quiet: true, json: true, tty: true, want: "nop"},
		{name: "json", json: true, tty: true, want: "json"},
		{name: "tty", tty: true, want: "bar"},
		{name: "pipe", want: "nop"},
	}
	for _, tt := range tests {
		a := newCLI(t, nil).app(&bytes.Buffer{}, &bytes.Buffer{})
		a.Quiet, a.JSON = tt.quiet, tt.json
		a.IsTerminal = func(any) bool { return tt.tty }
		s := a.newProgress("restore", 10)
		got := "?"
		switch s.(type) {
		case nopProgress:
			got = "nop"
		case *jsonProgress:
			got = "json"
		case *barProgress:
			got = "bar"
		}
		s.update(repo.Progress{BytesDone: 5, BytesTotal: 10})
		s.finish(true)
		if got != tt.want {
			t.Errorf("%s: got %s, want %s", tt.name, got, tt.want)
		}
	}
}

func mustJSON(t *testing.T, s string, v any) {
	t.Helper()
	if err := json.Unmarshal([]byte(s), v); err != nil {
		t.Fatalf("not JSON: %v\n%s", err, s)
	}
}

// FuzzParseSize checks parseSize never panics, never returns a negative size, and accepts
// every size formatBytes-style integer it is given back.
func FuzzParseSize(f *testing.F) {
	for _, s := range []string{"64MiB", "1.5G", "100 MB", "4096", "", "-1", "1e400", "9TiB"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		n, err := parseSize(s)
		if err != nil {
			return
		}
		if n < 0 {
			t.Fatalf("parseSize(%q) = %d", s, n)
		}
		if m, err := parseSize(strconv.FormatInt(n, 10)); err != nil || m != n {
			t.Fatalf("parseSize(%d) = %d, %v", n, m, err)
		}
	})
}
