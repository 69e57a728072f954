package main

import (
	"github.com/cairnbackup/cairn/internal/cli"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
)

func TestDecideTarget(t *testing.T) {
	dir := t.TempDir()
	empty := filepath.Join(dir, "empty.img")
	full := filepath.Join(dir, "full.img")
	fifo := filepath.Join(dir, "fifo")
	os.WriteFile(empty, nil, 0o600)
	os.WriteFile(full, []byte("data"), 0o600)
	if err := syscall.Mkfifo(fifo, 0o600); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name      string
		path      string
		overwrite bool
		want      targetKind
		wantCode  int // non-zero: an error with this exit code
	}{
		{name: "stdout", path: "-", want: targetStdout},
		{name: "new file", path: filepath.Join(dir, "new.img"), want: targetNewFile},
		{name: "empty file", path: empty, want: targetFile},
		{name: "non-empty file refused", path: full, wantCode: cli.ExitError},
		{name: "non-empty file with --overwrite", path: full, overwrite: true, want: targetFile},
		{name: "directory", path: dir, wantCode: cli.ExitUsage},
		{name: "directory with --overwrite", path: dir, overwrite: true, wantCode: cli.ExitUsage},
		{name: "character device", path: "/dev/null", want: targetDevice},
		{name: "named pipe", path: fifo, want: targetStream},
		{name: "parent missing", path: filepath.Join(full, "x"), wantCode: cli.ExitError},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var fi fs.FileInfo
			var err error
			if tt.path != "-" {
				fi, err = os.Stat(tt.path)
			}
			got, derr := decideTarget(tt.path, fi, err, tt.overwrite)
			if tt.wantCode != 0 {
				if derr == nil {
					t.Fatalf("got %v, want an error", got)
				}
				if c := cli.ExitCode(t.Context(), derr); c != tt.wantCode {
					t.Errorf("error %v: exit code %d, want %d", derr, c, tt.wantCode)
				}
				return
			}
			if derr != nil {
				t.Fatal(derr)
			}
			if got != tt.want {
				t.Errorf("got %v, want %v", got, tt.want)
			}
		})
	}
}

func TestDecideTargetHintsOverwrite(t *testing.T) {
	p := filepath.Join(t.TempDir(), "f")
	os.WriteFile(p, []byte("x"), 0o600)
	fi, err := os.Stat(p)
	_, derr := decideTarget(p, fi, err, false)
	if h := cli.HintFor(derr); h == "" || !strings.Contains(h, "--overwrite") {
		t.Errorf("hint %q should mention --overwrite", h)
	}
}

func TestOpenSource(t *testing.T) {
	dir := t.TempDir()
	f := filepath.Join(dir, "vol.img")
	if err := os.WriteFile(f, make([]byte, 12345), 0o600); err != nil {
		t.Fatal(err)
	}
	s, err := openSource(f, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer s.close()
	if _, ok := s.r.(*os.File); !ok || s.size != 12345 || s.kind != "file" {
		t.Errorf("regular file: got %T size %d kind %q; want *os.File, 12345, file", s.r, s.size, s.kind)
	}
	st, err := openSource("-", os.Stdin)
	if err != nil || !st.stdin || st.size != 0 {
		t.Errorf("stdin: %+v, %v", st, err)
	}
	if _, err := openSource(dir, nil); cli.ExitCode(t.Context(), err) != cli.ExitUsage {
		t.Errorf("directory: got %v, want a usage error", err)
	}
	cd, err := openSource("/dev/null", nil)
	if err != nil || cd.kind != "stream" {
		t.Errorf("/dev/null: %+v, %v; want a stream", cd, err)
	} else {
		cd.close()
	}
}
