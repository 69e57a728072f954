package main

import (
	"bytes"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// TestNoKubernetesDependencies guards docs/DECISIONS.md §12: cairn must not link client-go,
// apimachinery or any other k8s.io package (nor client_golang, see k8sagent/mover): they
// cost every cairn command ~17 MiB of resident memory. Kubernetes code belongs in cairn-k8s.
func TestNoKubernetesDependencies(t *testing.T) {
	gobin := goTool(t)
	out, err := exec.Command(gobin, "list", "-deps", ".").Output()
	if err != nil {
		t.Fatalf("go list -deps: %v", err)
	}
	deps := strings.Fields(string(out))
	if len(deps) < 20 {
		t.Fatalf("go list -deps listed only %d packages: %q", len(deps), out)
	}
	for _, d := range deps {
		if strings.HasPrefix(d, "k8s.io/") || strings.HasPrefix(d, "sigs.k8s.io/") ||
			strings.Contains(d, "client-go") || strings.HasPrefix(d, "github.com/prometheus/client_golang") ||
			d == "github.com/cairnbackup/cairn/k8sagent" {
			t.Errorf("cmd/cairn depends on %s; Kubernetes code belongs in cmd/cairn-k8s", d)
		}
	}
}

// TestK8sDispatch builds both binaries and checks "cairn k8s ..." runs cairn-k8s (help text,
// output and exit codes are the child's), and that without cairn-k8s cairn says what to
// install and exits 1.
func TestK8sDispatch(t *testing.T) {
	gobin := goTool(t)
	dir := t.TempDir()
	both, alone := filepath.Join(dir, "both"), filepath.Join(dir, "alone")
	for _, b := range []struct{ out, pkg string }{
		{filepath.Join(both, "cairn"), "."},
		{filepath.Join(both, "cairn-k8s"), "../cairn-k8s"},
	} {
		if out, err := exec.Command(gobin, "build", "-o", b.out, b.pkg).CombinedOutput(); err != nil {
			t.Fatalf("go build %s: %v\n%s", b.pkg, err, out)
		}
	}
	if err := os.MkdirAll(alone, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Link(filepath.Join(both, "cairn"), filepath.Join(alone, "cairn")); err != nil {
		t.Fatal(err)
	}
	// A symlink to cairn finds cairn-k8s beside the file it points to.
	if err := os.Symlink(filepath.Join(both, "cairn"), filepath.Join(alone, "cairn-link")); err != nil {
		t.Fatal(err)
	}
	emptyPath := t.TempDir()
	tests := []struct {
		name     string
		bin      string
		args     []string
		code     int
		stdout   string // substring
		stderr   string // substring
		oneLine  bool   // stderr is exactly one line
		noStdout bool
	}{
		{name: "help of a subcommand comes from cairn-k8s", bin: "both/cairn", args: []string{"k8s", "snapshots", "--help"},
			stdout: "List the application backups (records written by 'cairn k8s backup')"},
		{name: "through a symlink", bin: "alone/cairn-link", args: []string{"k8s", "show", "--help"},
			stdout: "cairn k8s show SNAPSHOT"},
		{name: "global flags before k8s pass through", bin: "both/cairn", args: []string{"--json", "k8s", "restore", "--help"},
			stdout: "--to-namespace"},
		{name: "usage errors keep their exit code", bin: "both/cairn", args: []string{"k8s", "show"}, code: 2,
			stderr: "cairn k8s show takes 1 argument(s)"},
		{name: "unknown subcommand", bin: "both/cairn", args: []string{"k8s", "snapshotz"}, code: 2,
			stderr: "did you mean snapshots?"},
		{name: "k8s help is static", bin: "alone/cairn", args: []string{"k8s", "--help"},
			stdout: "run from a second binary, cairn-k8s"},
		{name: "missing cairn-k8s", bin: "alone/cairn", args: []string{"k8s", "snapshots"}, code: 1,
			stderr: "go install github.com/cairnbackup/cairn/cmd/cairn-k8s@", oneLine: true, noStdout: true},
		{name: "cairn-k8s run directly", bin: "both/cairn-k8s", args: []string{"agent", "--help"},
			stdout: "CAIRN_NAMESPACES"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cmd := exec.Command(filepath.Join(dir, tt.bin), tt.args...)
			cmd.Env = []string{"PATH=" + emptyPath, "HOME=" + dir}
			var out, errb bytes.Buffer
			cmd.Stdout, cmd.Stderr = &out, &errb
			err := cmd.Run()
			code := 0
			var ee *exec.ExitError
			if errors.As(err, &ee) {
				code = ee.ExitCode()
			} else if err != nil {
				t.Fatal(err)
			}
			if code != tt.code {
				t.Errorf("exit %d, want %d\nstdout: %s\nstderr: %s", code, tt.code, out.String(), errb.String())
			}
			if !strings.Contains(out.String(), tt.stdout) || !strings.Contains(errb.String(), tt.stderr) {
				t.Errorf("stdout %q\nstderr %q\nwant %q / %q", out.String(), errb.String(), tt.stdout, tt.stderr)
			}
			if tt.oneLine && strings.Count(errb.String(), "\n") != 1 {
				t.Errorf("want one line on stderr, got %q", errb.String())
			}
			if tt.noStdout && out.Len() != 0 {
				t.Errorf("stdout %q, want nothing", out.String())
			}
		})
	}
}

func TestFindK8sBinary(t *testing.T) {
	dir := t.TempDir()
	bin, other, pathDir := filepath.Join(dir, "bin"), filepath.Join(dir, "other"), filepath.Join(dir, "path")
	for _, d := range []string{bin, other, pathDir} {
		if err := os.Mkdir(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	write := func(p string, mode os.FileMode) string {
		if err := os.WriteFile(p, []byte("#!/bin/sh\n"), mode); err != nil {
			t.Fatal(err)
		}
		return p
	}
	self := write(filepath.Join(bin, "cairn"), 0o755)
	sibling := write(filepath.Join(bin, "cairn-k8s"), 0o755)
	inPath := write(filepath.Join(pathDir, "cairn-k8s"), 0o755)
	write(filepath.Join(other, "cairn-k8s"), 0o644) // not executable
	link := filepath.Join(other, "cairn")
	if err := os.Symlink(self, link); err != nil {
		t.Fatal(err)
	}
	otherSelf := filepath.Join(other, "cairn2")
	exe := func(p string) func() (string, error) { return func() (string, error) { return p, nil } }
	found := func(string) (string, error) { return inPath, nil }
	notFound := func(string) (string, error) { return "", exec.ErrNotFound }
	tests := []struct {
		name       string
		executable func() (string, error)
		lookPath   func(string) (string, error)
		want       string // "" means errNoK8sBinary
	}{
		{"sibling first", exe(self), found, sibling},
		{"symlink resolved", exe(link), notFound, sibling},
		{"non-executable sibling skipped", exe(otherSelf), found, inPath},
		{"executable unknown", func() (string, error) { return "", errors.New("no /proc") }, found, inPath},
		{"nowhere", exe(otherSelf), notFound, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := findK8sBinary(tt.executable, tt.lookPath)
			if tt.want == "" {
				if !errors.Is(err, errNoK8sBinary) {
					t.Fatalf("got %q, %v; want errNoK8sBinary", got, err)
				}
				return
			}
			if err != nil || got != tt.want {
				t.Fatalf("got %q, %v; want %q", got, err, tt.want)
			}
		})
	}
}

// goTool returns the go command that runs this test.
func goTool(t *testing.T) string {
	t.Helper()
	p, err := exec.LookPath("go")
	if err != nil {
		p = filepath.Join(os.Getenv("GOROOT"), "bin", "go")
	}
	if _, err := os.Stat(p); err != nil {
		t.Fatalf("the go command is needed to build cairn and cairn-k8s: %v", err)
	}
	return p
}
