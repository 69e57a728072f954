package main

import (
	"bytes"
	"compress/gzip"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/cairnbackup/cairn/internal/cli"
)

// TestProfileDir: --profile-dir and CAIRN_PROFILE_DIR write a CPU and an allocation profile
// and an execution trace named after the command, also when the command fails; a directory
// that cannot be created fails the command before it does anything.
func TestProfileDir(t *testing.T) {
	notDir := filepath.Join(t.TempDir(), "file")
	if err := os.WriteFile(notDir, []byte("x"), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name     string
		before   []string // a command run first, unprofiled
		args     []string
		env      bool   // give the directory as CAIRN_PROFILE_DIR instead of the flag
		dir      string // "" means a fresh directory under the test's temporary directory
		code     int
		files    string // the command's part of the file names; "" means none are written
		noRepo   bool   // the repository must not exist afterwards
		inStderr string
	}{
		{name: "flag", args: []string{"init"}, files: "cairn-init"},
		{name: "env", args: []string{"init"}, env: true, files: "cairn-init"},
		{name: "subcommand", before: []string{"init"}, args: []string{"key", "list"}, files: "cairn-key-list"},
		{name: "failed command", args: []string{"snapshots"}, code: cli.ExitRepository, files: "cairn-snapshots", noRepo: true},
		{name: "not a directory", args: []string{"init"}, dir: filepath.Join(notDir, "sub"), code: cli.ExitError,
			noRepo: true, inStderr: "profile directory"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tmp := t.TempDir()
			repoDir := filepath.Join(tmp, "repo")
			dir := tc.dir
			if dir == "" {
				dir = filepath.Join(tmp, "profiles", "new")
			}
			c := newCLI(t, map[string]string{cli.EnvRepo: repoDir, cli.EnvPassword: "pw", cli.EnvKDF: "test", cli.EnvCacheDir: "off"})
			if tc.env {
				c = c.with(cli.EnvProfileDir, dir)
			}
			if tc.before != nil {
				c.ok(tc.before...)
			}
			args := tc.args
			if !tc.env {
				args = append([]string{"--profile-dir", dir}, args...)
			}
			r := c.want(tc.code, args...)
			if !strings.Contains(r.stderr, tc.inStderr) {
				t.Errorf("stderr %q does not mention %q", r.stderr, tc.inStderr)
			}
			if _, err := os.Stat(repoDir); tc.noRepo != os.IsNotExist(err) {
				t.Errorf("repository after the command: %v (want it to exist: %v)", err, !tc.noRepo)
			}
			if tc.files == "" {
				return
			}
			base := fmt.Sprintf("%s-%d", tc.files, os.Getpid())
			checkProfile(t, filepath.Join(dir, base+".cpu.pprof"), "cpu", "nanoseconds")
			checkProfile(t, filepath.Join(dir, base+".allocs.pprof"), "alloc_space", "inuse_space")
			checkTrace(t, filepath.Join(dir, base+".trace"))
			if ents, _ := os.ReadDir(dir); len(ents) != 3 {
				t.Errorf("%s holds %d files, want the two profiles and the trace", dir, len(ents))
			}
		})
	}
}

// checkProfile fails t unless path is a gzip-compressed pprof profile whose string table
// holds every one of words (its sample types and units).
func checkProfile(t *testing.T, path string, words ...string) {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("profile: %v", err)
	}
	zr, err := gzip.NewReader(bytes.NewReader(b))
	if err != nil {
		t.Fatalf("%s is not gzip-compressed: %v", path, err)
	}
	raw, err := io.ReadAll(zr)
	if err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	for _, w := range words {
		if !bytes.Contains(raw, []byte(w)) {
			t.Errorf("%s (%d bytes) does not name %q", path, len(raw), w)
		}
	}
}

// checkTrace fails t unless path is a Go execution trace with events after its header.
func checkTrace(t *testing.T, path string) {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("trace: %v", err)
	}
	const header = 16 // "go 1.NN trace" padded with zero bytes
	if !bytes.HasPrefix(b, []byte("go 1.")) || !bytes.Contains(b[:min(len(b), header)], []byte(" trace")) {
		t.Errorf("%s does not start as a Go execution trace: %q", path, b[:min(len(b), header)])
	}
	if len(b) <= header {
		t.Errorf("%s holds no events (%d bytes)", path, len(b))
	}
}
