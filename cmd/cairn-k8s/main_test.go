package main

import (
	"bytes"
	"context"
	"strings"
	"testing"

	"github.com/spf13/cobra"

	"github.com/cairnbackup/cairn/internal/cli"
)

// runK8s runs cairn-k8s in-process with a private environment.
func runK8s(t *testing.T, env map[string]string, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	var out, errb bytes.Buffer
	a := &app{cli.New(strings.NewReader(""), &out, &errb, func(k string) string { return env[k] })}
	code = a.Run(context.Background(), a.rootCmd, k8sArgs(args))
	return code, out.String(), errb.String()
}

func TestUsage(t *testing.T) {
	repoEnv := map[string]string{cli.EnvRepo: t.TempDir(), cli.EnvPassword: "pw"}
	tests := []struct {
		name   string
		env    map[string]string
		args   []string
		code   int
		stdout string // substring
		stderr string // substring
	}{
		{"no args is the k8s help", nil, nil, cli.ExitOK, "Usage:\n  cairn k8s [flags]\n  cairn k8s [command]", ""},
		{"help subcommand", nil, []string{"help", "restore"}, cli.ExitOK, "cairn k8s restore SNAPSHOT", ""},
		{"backup needs a namespace", nil, []string{"backup"}, cli.ExitUsage, "", "--namespace is required"},
		{"bad selector", nil, []string{"backup", "-n", "shop", "-l", "a b c"}, cli.ExitUsage, "", "--selector"},
		{"bad storage class map", nil, []string{"restore", "x", "--map-sc", "gp2"}, cli.ExitUsage, "", "want old=new"},
		{"latest needs a namespace", repoEnv, []string{"restore", "latest"}, cli.ExitUsage, "", `"latest" needs --namespace`},
		{"agent needs namespaces", nil, []string{"agent"}, cli.ExitUsage, "", "needs --namespaces"},
		{"agent bad interval env", map[string]string{"CAIRN_INTERVAL": "soon"}, []string{"agent"}, cli.ExitUsage, "", "CAIRN_INTERVAL"},
		{"no repository", nil, []string{"snapshots"}, cli.ExitUsage, "", "--repo"},
		{"no repository there", repoEnv, []string{"snapshots"}, cli.ExitRepository, "", "cairn: "},
		{"unknown subcommand", nil, []string{"snapshotz"}, cli.ExitUsage, "", "did you mean snapshots?"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, out, errb := runK8s(t, tt.env, tt.args...)
			if code != tt.code || !strings.Contains(out, tt.stdout) || !strings.Contains(errb, tt.stderr) {
				t.Errorf("exit %d (want %d)\nstdout %q (want %q)\nstderr %q (want %q)", code, tt.code, out, tt.stdout, errb, tt.stderr)
			}
		})
	}
}

// TestHelpTeaches checks that every Kubernetes command has a Short, a Long and an Example.
func TestHelpTeaches(t *testing.T) {
	a := &app{cli.New(strings.NewReader(""), &bytes.Buffer{}, &bytes.Buffer{}, func(string) string { return "" })}
	var k8s *cobra.Command
	for _, c := range a.rootCmd().Commands() {
		if c.Name() == "k8s" {
			k8s = c
		}
	}
	if k8s == nil {
		t.Fatal("no k8s command")
	}
	n := 0
	var walk func(c *cobra.Command)
	walk = func(c *cobra.Command) {
		n++
		if c.Short == "" || c.Long == "" || c.Example == "" {
			t.Errorf("%q: Short, Long and Example are required", c.CommandPath())
		}
		for _, sub := range c.Commands() {
			walk(sub)
		}
	}
	walk(k8s)
	if n != 6 {
		t.Errorf("walked %d commands, want k8s and its 5 subcommands", n)
	}
}
