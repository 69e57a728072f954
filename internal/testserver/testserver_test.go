package testserver

import (
	"net"
	"os"
	"path/filepath"
	"strconv"
	"testing"
)

func TestTailBuffer(t *testing.T) {
	tests := []struct {
		name   string
		max    int
		writes []string
		want   string
	}{
		{"under", 10, []string{"abc", "de"}, "abcde"},
		{"exact", 5, []string{"abc", "de"}, "abcde"},
		{"over", 4, []string{"abc", "def"}, "cdef"},
		{"one big write", 3, []string{"abcdefg"}, "efg"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			b := &TailBuffer{Max: tc.max}
			for _, w := range tc.writes {
				if n, err := b.Write([]byte(w)); n != len(w) || err != nil {
					t.Fatalf("Write = %d, %v", n, err)
				}
			}
			if got := b.String(); got != tc.want {
				t.Fatalf("got %q, want %q", got, tc.want)
			}
		})
	}
}

func TestExecutable(t *testing.T) {
	dir := t.TempDir()
	exe := filepath.Join(dir, "exe")
	plain := filepath.Join(dir, "plain")
	if err := os.WriteFile(exe, []byte("#!/bin/sh\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(plain, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		path string
		ok   bool
	}{{exe, true}, {plain, false}, {dir, false}, {filepath.Join(dir, "missing"), false}, {"", false}}
	for _, tc := range tests {
		if err := Executable(tc.path); (err == nil) != tc.ok {
			t.Errorf("Executable(%q) = %v, want ok=%v", tc.path, err, tc.ok)
		}
	}
}

func TestFindScript(t *testing.T) {
	p, err := FindScript("minio.sh")
	if err != nil {
		t.Fatal(err)
	}
	if filepath.Base(p) != "minio.sh" {
		t.Fatalf("FindScript = %s", p)
	}
	if _, err := FindScript("no-such-script.sh"); err == nil {
		t.Fatal("FindScript found a missing script")
	}
}

func TestFreePort(t *testing.T) {
	port, err := FreePort()
	if err != nil {
		t.Fatal(err)
	}
	l, err := net.Listen("tcp", net.JoinHostPort("127.0.0.1", strconv.Itoa(port)))
	if err != nil {
		t.Fatalf("port %d not usable: %v", port, err)
	}
	l.Close()
}

func TestRunScriptMissing(t *testing.T) {
	if _, err := RunScript(t.Context(), "no-such-script.sh"); err == nil {
		t.Fatal("RunScript of a missing script succeeded")
	}
}
