package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/cairnbackup/cairn/internal/cli"
	"github.com/spf13/cobra"
)

// TestUsageErrors checks flag and argument validation, all without a repository.
func TestUsageErrors(t *testing.T) {
	dir := t.TempDir()
	env := map[string]string{cli.EnvRepo: filepath.Join(dir, "repo"), cli.EnvPassword: "pw", cli.EnvKDF: "test"}
	tests := []struct {
		name   string
		env    map[string]string
		args   []string
		code   int
		stderr string // substring of stderr
	}{
		{"no args shows help", nil, nil, cli.ExitOK, ""},
		{"unknown command", nil, []string{"snapshotz"}, cli.ExitUsage, `did you mean snapshots`},
		{"unknown flag", nil, []string{"snapshots", "--bogus"}, cli.ExitUsage, "unknown flag: --bogus"},
		{"backup without source", env, []string{"backup"}, cli.ExitUsage, "SOURCE"},
		{"backup with two sources", env, []string{"backup", "a", "b"}, cli.ExitUsage, "1 argument"},
		{"backup of a directory", env, []string{"backup", dir}, cli.ExitUsage, "is a directory"},
		{"backup of a missing file", env, []string{"backup", filepath.Join(dir, "nope")}, cli.ExitError, "no such file"},
		{"backup empty tag", env, []string{"backup", "--tag", " ", "-"}, cli.ExitUsage, "--tag"},
		{"restore needs target", env, []string{"restore", "latest"}, cli.ExitUsage, "SNAPSHOT TARGET"},
		{"restore onto a directory", env, []string{"restore", "latest", dir}, cli.ExitUsage, "is a directory"},
		{"ls needs an argument", env, []string{"ls"}, cli.ExitUsage, "KIND|SNAPSHOT"},
		{"cat without kind", env, []string{"cat"}, cli.ExitUsage, "object kind"},
		{"cat unknown kind", env, []string{"cat", "packfile", "x"}, cli.ExitUsage, "unknown object kind"},
		{"cat config with ID", env, []string{"cat", "config", "x"}, cli.ExitUsage, "takes no ID"},
		{"cat snapshot without ID", env, []string{"cat", "snapshot"}, cli.ExitUsage, "exactly one ID"},
		{"key unknown subcommand", env, []string{"key", "rotate"}, cli.ExitUsage, `unknown command "rotate"`},
		{"key remove without ID", env, []string{"key", "remove"}, cli.ExitUsage, "ID"},
		{"init bad compression", env, []string{"init", "--compression", "zip"}, cli.ExitUsage, "--compression"},
		{"quickstart bad size", nil, []string{"quickstart", "--size", "lots"}, cli.ExitUsage, "invalid size"},
		{"quickstart tiny size", nil, []string{"quickstart", "--size", "4KiB"}, cli.ExitUsage, "at least 1MiB"},
		{"no repository given", nil, []string{"snapshots"}, cli.ExitUsage, "--repo"},
		{"no password source", map[string]string{cli.EnvRepo: dir}, []string{"snapshots"}, cli.ExitUsage, "CAIRN_PASSWORD"},
		{"bad kdf env", map[string]string{cli.EnvKDF: "fast"}, []string{"version"}, cli.ExitUsage, "CAIRN_KDF"},
		{"quiet and verbose", nil, []string{"-q", "-v", "version"}, cli.ExitUsage, "contradict"},
		{"version", nil, []string{"version"}, cli.ExitOK, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := newCLI(t, tt.env).want(tt.code, tt.args...)
			if !strings.Contains(r.stderr, tt.stderr) {
				t.Errorf("stderr %q does not contain %q", r.stderr, tt.stderr)
			}
			if tt.code != cli.ExitOK && !strings.HasPrefix(r.stderr, "cairn: ") {
				t.Errorf("stderr %q does not start with \"cairn: \"", r.stderr)
			}
			if tt.code == cli.ExitUsage && !strings.Contains(r.stderr, "hint: ") {
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
	if !strings.Contains(r.stdout, "--kdf") || !strings.Contains(r.stdout, `"strong"`) {
		t.Error("cairn --help must teach --kdf strong")
	}
	if strings.Contains(r.stdout, `"test"`) {
		t.Error("the test-only --kdf setting must not be advertised")
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
	c := newCLI(t, map[string]string{cli.EnvRepo: t.TempDir(), cli.EnvPassword: "pw"})
	a := c.app(&out, &errb)
	a.IsTerminal = func(v any) bool { return v == a.Stdout }
	if code := a.run(t.Context(), []string{"restore", "latest", "-"}); code != cli.ExitUsage {
		t.Fatalf("exit %d, want %d; stderr %q", code, cli.ExitUsage, errb.String())
	}
	if !strings.Contains(errb.String(), "terminal") || out.Len() != 0 {
		t.Errorf("stdout %q, stderr %q", out.String(), errb.String())
	}
}
