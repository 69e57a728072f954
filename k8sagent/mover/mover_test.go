package mover

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/cairnbackup/cairn/crypto"
	"github.com/cairnbackup/cairn/repo"
)

func TestBackupRestore(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	loc := filepath.Join(dir, "repo")
	kdf := crypto.TestKDFParams()
	r, err := repo.Init(ctx, loc, repo.InitOptions{Password: []byte("pw"), KDF: &kdf, CacheDir: "off"})
	if err != nil {
		t.Fatal(err)
	}
	r.Close()
	env := map[string]string{"CAIRN_REPO": loc, "CAIRN_PASSWORD": "pw", "CAIRN_CACHE_DIR": "off"}
	getenv := func(k string) string { return env[k] }

	data := make([]byte, 3<<20)
	rand.Read(data[:1<<20]) // then zeros
	src := filepath.Join(dir, "src.img")
	if err := os.WriteFile(src, data, 0o600); err != nil {
		t.Fatal(err)
	}
	metrics := NewMetrics("backup")
	var out bytes.Buffer
	err = Run(ctx, []string{"backup", "--device", src, "--name", "vol", "--tag", "a=b"}, Env{Stdout: &out, Stderr: &out, Getenv: getenv, Metrics: metrics})
	if err != nil {
		t.Fatalf("backup: %v\n%s", err, out.String())
	}
	sum := lastSummary(t, out.String())
	if sum.Op != "backup" || sum.Size != int64(len(data)) || len(sum.Snapshot) != 64 {
		t.Fatalf("summary %+v", sum)
	}
	if got := metric(t, metrics, "cairn_mover_success"); got != 1 {
		t.Errorf("success metric %v", got)
	}
	if got := metric(t, metrics, "cairn_mover_bytes_processed"); got != float64(len(data)) {
		t.Errorf("bytes_processed %v, want %d", got, len(data))
	}

	dst := filepath.Join(dir, "dst.img")
	if err := os.WriteFile(dst, bytes.Repeat([]byte{0xff}, len(data)+512), 0o600); err != nil {
		t.Fatal(err)
	}
	out.Reset()
	if err := Run(ctx, []string{"restore", "--device", dst, "--snapshot", sum.Snapshot[:10]}, Env{Stdout: &out, Stderr: &out, Getenv: getenv}); err != nil {
		t.Fatalf("restore: %v\n%s", err, out.String())
	}
	got, _ := os.ReadFile(dst)
	if !bytes.Equal(got[:len(data)], data) {
		t.Error("restored data differs")
	}

	small := filepath.Join(dir, "small.img")
	os.WriteFile(small, make([]byte, 1024), 0o600)
	out.Reset()
	err = Run(ctx, []string{"restore", "--device", small, "--snapshot", sum.Snapshot}, Env{Stdout: &out, Stderr: &out, Getenv: getenv})
	if err == nil || !strings.Contains(out.String(), `"type":"error"`) {
		t.Errorf("restore onto a small device: %v\n%s", err, out.String())
	}
}

func lastSummary(t *testing.T, out string) Summary {
	t.Helper()
	lines := strings.Split(strings.TrimSpace(out), "\n")
	var s Summary
	if err := json.Unmarshal([]byte(lines[len(lines)-1]), &s); err != nil || s.Type != "summary" {
		t.Fatalf("last line is not a summary: %q (%v)", lines[len(lines)-1], err)
	}
	return s
}

func metric(t *testing.T, m *Metrics, name string) float64 {
	t.Helper()
	v, ok := m.Value(name)
	if !ok {
		t.Fatalf("metric %s not defined", name)
	}
	return v
}

func TestParseArgs(t *testing.T) {
	env := func(k string) string { return map[string]string{"CAIRN_REPO": "/r"}[k] }
	tests := []struct {
		args []string
		ok   bool
	}{
		{[]string{"backup", "--device", "/d"}, true},
		{[]string{"restore", "--device", "/d", "--snapshot", "abc"}, true},
		{[]string{}, false},
		{[]string{"copy", "--device", "/d"}, false},
		{[]string{"backup"}, false},
		{[]string{"restore", "--device", "/d"}, false},
		{[]string{"backup", "--device", "/d", "--snapshot", "x"}, false},
		{[]string{"backup", "--device", "/d", "extra"}, false},
		{[]string{"backup", "--device", "/d", "--bogus"}, false},
	}
	for _, tt := range tests {
		_, err := ParseArgs(tt.args, env)
		if (err == nil) != tt.ok || (err != nil && !errors.Is(err, ErrUsage)) {
			t.Errorf("ParseArgs(%q) = %v, want ok=%v", tt.args, err, tt.ok)
		}
	}
	if _, err := ParseArgs([]string{"backup", "--device", "/d"}, func(string) string { return "" }); !errors.Is(err, ErrUsage) {
		t.Errorf("no repository: %v", err)
	}
}
