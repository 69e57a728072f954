package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/spf13/cobra"
)

// TestUsageErrors checks flag and argument validation, all without a repository.
func TestUsageErrors(t *testing.T) {
	dir := t.TempDir()
	env := map[string]string{envRepo: filepath.Join(dir, "repo"), envPassword: "pw", envKDF: "test"}
	tests := []struct {
		name   string
		env    map[string]string
		args   []string
		code   int
		stderr string // substring of stderr
	}{
		{"no args shows help", nil, nil, exitOK, ""},
		{"unknown command", nil, []string{"snapshotz"}, exitUsage, `did you mean snapshots`},
		{"unknown flag", nil, []string{"snapshots", "--bogus"}, exitUsage, "unknown flag: --bogus"},
		{"backup without source", env, []string{"backup"}, exitUsage, "SOURCE"},
		{"backup with two sources", env, []string{"backup", "a", "b"}, exitUsage, "1 argument"},
		{"backup of a directory", env, []string{"backup", dir}, exitUsage, "is a directory"},
		{"backup of a missing file", env, []string{"backup", filepath.Join(dir, "nope")}, exitError, "no such file"},
		{"backup empty tag", env, []string{"backup", "--tag", " ", "-"}, exitUsage, "--tag"},
		{"restore needs target", env, []string{"restore", "latest"}, exitUsage, "SNAPSHOT TARGET"},
		{"restore onto a directory", env, []string{"restore", "latest", dir}, exitUsage, "is a directory"},
		{"ls needs an argument", env, []string{"ls"}, exitUsage, "KIND|SNAPSHOT"},
		{"cat without kind", env, []string{"cat"}, exitUsage, "object kind"},
		{"cat unknown kind", env, []string{"cat", "packfile", "x"}, exitUsage, "unknown object kind"},
		{"cat config with ID", env, []string{"cat", "config", "x"}, exitUsage, "takes no ID"},
		{"cat snapshot without ID", env, []string{"cat", "snapshot"}, exitUsage, "exactly one ID"},
		{"key unknown subcommand", env, []string{"key", "rotate"}, exitUsage, `unknown command "rotate"`},
		{"key remove without ID", env, []string{"key", "remove"}, exitUsage, "ID"},
		{"init bad compression", env, []string{"init", "--compression", "zip"}, exitUsage, "--compression"},
		{"quickstart bad size", nil, []string{"quickstart", "--size", "lots"}, exitUsage, "invalid size"},
		{"quickstart tiny size", nil, []string{"quickstart", "--size", "4KiB"}, exitUsage, "at least 1MiB"},
		{"no repository given", nil, []string{"snapshots"}, exitUsage, "--repo"},
		{"no password source", map[string]string{envRepo: dir}, []string{"snapshots"}, exitUsage, "CAIRN_PASSWORD"},
		{"bad kdf env", map[string]string{envKDF: "fast"}, []string{"version"}, exitUsage, "CAIRN_KDF"},
		{"quiet and verbose", nil, []string{"-q", "-v", "version"}, exitUsage, "contradict"},
		{"version", nil, []string{"version"}, exitOK, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := newCLI(t, tt.env).want(tt.code, tt.args...)
			if !strings.Contains(r.stderr, tt.stderr) {
				t.Errorf("stderr %q does not contain %q", r.stderr, tt.stderr)
			}
			if tt.code != exitOK && !strings.HasPrefix(r.stderr, "cairn: ") {
				t.Errorf("stderr %q does not start with \"cairn: \"", r.stderr)
			}
			if tt.code == exitUsage && !strings.Contains(r.stderr, "hint: ") {
				t.Errorf("usage error without a hint line: %q", r.stderr)
			}
		})
	}
}

// TestHelpTeaches checks that every command has a Short, a Long and an Example.
func TestHelpTeaches(t *testing.T) {
	a := newCLI(t, nil).app(os.Stdout, os.Stderr)
	var walk func(c *cobra.Command)
	n := 0
	walk = func(c *cobra.Command) {
		if c.Name() == "completion" || c.Name() == "help" || c.Hidden {
			return
		}
		n++
		if c.Short == "" || c.Long == "" || c.Example == "" {
			t.Errorf("%q: Short, Long and Example are required (got %d, %d, %d chars)",
				c.CommandPath(), len(c.Short), len(c.Long), len(c.Example))
		}
		for _, sub := range c.Commands() {
			walk(sub)
		}
	}
	walk(a.rootCmd())
	if n < 14 {
		t.Errorf("walked %d commands, expected at least 14", n)
	}
	r := newCLI(t, nil).ok("--help")
	for _, want := range []string{"Exit codes:", "130", "CAIRN_PASSWORD_FILE", "quickstart"} {
		if !strings.Contains(r.stdout, want) {
			t.Errorf("cairn --help lacks %q", want)
		}
	}
	if strings.Contains(r.stdout, "--kdf") {
		t.Error("the test-only --kdf flag must stay hidden")
	}
}

func TestVersionJSON(t *testing.T) {
	r := newCLI(t, nil).ok("version", "--json")
	var v map[string]any
	mustJSON(t, r.stdout, &v)
	for _, k := range []string{"version", "go_version", "platform", "format_version"} {
		if _, ok := v[k]; !ok {
			t.Errorf("version --json lacks %q: %s", k, r.stdout)
		}
	}
}

// TestRestoreRefusesTerminalStdout checks binary data is never written to a terminal.
func TestRestoreRefusesTerminalStdout(t *testing.T) {
	var out, errb strings.Builder
	c := newCLI(t, map[string]string{envRepo: t.TempDir(), envPassword: "pw"})
	a := c.app(&out, &errb)
	a.isTerminal = func(v any) bool { return v == a.stdout }
	if code := a.run(t.Context(), []string{"restore", "latest", "-"}); code != exitUsage {
		t.Fatalf("exit %d, want %d; stderr %q", code, exitUsage, errb.String())
	}
	if !strings.Contains(errb.String(), "terminal") || out.Len() != 0 {
		t.Errorf("stdout %q, stderr %q", out.String(), errb.String())
	}
}
