package main

import (
	"fmt"
	"strings"
	"testing"

	"github.com/cairnbackup/cairn/repo/backend/zones"
)

func TestZonesYAML(t *testing.T) {
	var targets []S3Target
	for i := range minioZones {
		targets = append(targets, S3Target{Endpoint: fmt.Sprintf("127.0.0.1:%d", 9000+i), Bucket: "bench-0001-cairn", Prefix: "repo"})
	}
	env := map[string]string{envZonesAccessKey: "ak", envZonesSecretKey: "sk"}
	cfg, err := zones.ParseConfig(zonesYAML(minioData, minioParity, targets), func(k string) string { return env[k] })
	if err != nil {
		t.Fatalf("cairn rejects the generated zones file: %v", err)
	}
	if cfg.Layout.Data != minioData || cfg.Layout.Parity != minioParity || len(cfg.Zones) != minioZones {
		t.Fatalf("layout %v with %d zones", cfg.Layout, len(cfg.Zones))
	}
	for i, z := range cfg.Zones {
		s := z.S3
		if s.Endpoint != targets[i].Endpoint || s.Bucket != targets[i].Bucket || s.Prefix != "repo" || s.TLS ||
			s.AccessKey != "ak" || s.SecretKey != "sk" || z.Name != fmt.Sprintf("zone%d", i) {
			t.Errorf("zone %d = %+v", i, z)
		}
	}
	// Without a prefix the key is left out (cairn's default: the bucket root).
	cfg, err = zones.ParseConfig(zonesYAML(1, 0, []S3Target{{Endpoint: "h:1", Bucket: "b1x"}}), func(k string) string { return env[k] })
	if err != nil || cfg.Zones[0].S3.Prefix != "" {
		t.Errorf("no prefix: %+v, %v", cfg, err)
	}
	if strings.Contains(string(zonesYAML(minioData, minioParity, targets)), "sk") {
		t.Error("zones file holds a secret")
	}
}

func TestBucketName(t *testing.T) {
	tests := []struct {
		seq  int
		tool string
		want string
	}{
		{1, "cairn", "bench-0001-cairn"},
		{12, "Restic", "bench-0012-restic"},
		{3, "my_tool.x", "bench-0003-my-tool-x"},
		{4, strings.Repeat("k", 80), "bench-0004-" + strings.Repeat("k", 52)},
	}
	for _, tt := range tests {
		got := bucketName(tt.seq, tt.tool)
		if got != tt.want || len(got) > 63 {
			t.Errorf("bucketName(%d, %q) = %q, want %q", tt.seq, tt.tool, got, tt.want)
		}
	}
}

func TestParseProcStatCPU(t *testing.T) {
	tests := []struct {
		name, stat string
		want       float64
		ok         bool
	}{
		{"minio", "4242 (minio) S 1 4242 4242 0 -1 4194560 100 0 0 0 250 50 0 0 20 0 12 0 100 0 0", 3.0, true},
		{"spaces and parens in comm", "7 (a) b (c) R 1 7 7 0 -1 0 0 0 0 0 1 2 0 0", 0.03, true},
		{"short", "7 (x) R 1 2", 0, false},
		{"no comm", "garbage", 0, false},
		{"not a number", "7 (x) R 1 7 7 0 -1 0 0 0 0 0 x 2", 0, false},
	}
	for _, tt := range tests {
		got, err := parseProcStatCPU([]byte(tt.stat))
		if (err == nil) != tt.ok || (tt.ok && got != tt.want) {
			t.Errorf("%s: got %v, %v; want %v (ok %v)", tt.name, got, err, tt.want, tt.ok)
		}
	}
}

func TestCPUDelta(t *testing.T) {
	// pid 2 was restarted (absent before), pid 3 exited (absent after).
	got := cpuDelta(map[int]float64{1: 1, 3: 5}, map[int]float64{1: 1.5, 2: 0.25})
	if got != 0.75 {
		t.Errorf("cpuDelta = %v, want 0.75", got)
	}
}

func TestDegradedRatios(t *testing.T) {
	sums := []Summary{
		{Input: "a", Tool: "cairn", Phase: PhaseRestore, N: 3, WallSec: 2, CPUSec: 1},
		{Input: "a", Tool: "cairn", Phase: PhaseRestoreDegraded, N: 3, WallSec: 2.5, CPUSec: 1.5},
		{Input: "a", Tool: "kopia", Phase: PhaseRestore, N: 3, WallSec: 1, CPUSec: 1},
		{Input: "b", Tool: "cairn", Phase: PhaseRestore, N: 3, WallSec: 2, CPUSec: 1},
		{Input: "b", Tool: "cairn", Phase: PhaseRestoreDegraded, N: 0}, // every round failed
	}
	got := degradedRatios(sums, 2)
	if len(got) != 1 || got[0] != (Degraded{Input: "a", ZonesDown: 2, Wall: 1.25, CPU: 1.5}) {
		t.Errorf("degradedRatios = %+v", got)
	}
}
