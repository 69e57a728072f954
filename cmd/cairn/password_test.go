package main

import (
	"context"
	"errors"
	"io"
	"os"
	"path/filepath"
	"testing"
)

func TestPasswordResolution(t *testing.T) {
	dir := t.TempDir()
	write := func(name, content string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	flagFile := write("flag", "from-flag\n")
	envFile := write("env", "from-env-file\r\n")
	spaces := write("spaces", " two  words \n")
	empty := write("empty", "\n")
	newFile := write("new", "new-from-file")

	prompt := func(answers ...string) func(string) ([]byte, error) {
		return func(string) ([]byte, error) {
			if len(answers) == 0 {
				return nil, io.EOF
			}
			a := answers[0]
			answers = answers[1:]
			return []byte(a), nil
		}
	}
	tests := []struct {
		name     string
		flagFile string // --password-file after setup (flag or CAIRN_PASSWORD_FILE)
		env      map[string]string
		prompt   func(string) ([]byte, error)
		p        passwordPrompt
		want     string
		wantCode int // exit code of the error, when one is expected
	}{
		{name: "flag file wins", flagFile: flagFile, env: map[string]string{envPassword: "env"}, prompt: prompt("typed"), want: "from-flag"},
		{name: "env value", env: map[string]string{envPassword: "env"}, prompt: prompt("typed"), want: "env"},
		{name: "file keeps inner spaces", flagFile: spaces, want: " two  words "},
		{name: "crlf stripped", flagFile: envFile, want: "from-env-file"},
		{name: "empty file", flagFile: empty, wantCode: exitUsage},
		{name: "missing file", flagFile: filepath.Join(dir, "nope"), wantCode: exitError},
		{name: "prompt", prompt: prompt("typed"), want: "typed"},
		{name: "prompt confirmed", prompt: prompt("typed", "typed"), p: passwordPrompt{confirm: true}, want: "typed"},
		{name: "prompt mismatch", prompt: prompt("typed", "tpyed"), p: passwordPrompt{confirm: true}, wantCode: exitUsage},
		{name: "prompt empty", prompt: prompt(""), wantCode: exitUsage},
		{name: "no source", wantCode: exitUsage},
		{name: "new: flag", flagFile: flagFile, p: passwordPrompt{newPassword: true, fileFlag: newFile}, want: "new-from-file"},
		{name: "new: env file", env: map[string]string{envNewPasswordFile: newFile, envNewPassword: "x"}, p: passwordPrompt{newPassword: true}, want: "new-from-file"},
		{name: "new: env value ignores old", flagFile: flagFile, env: map[string]string{envPassword: "old", envNewPassword: "n"}, p: passwordPrompt{newPassword: true}, want: "n"},
		{name: "new: none", flagFile: flagFile, env: map[string]string{envPassword: "old"}, p: passwordPrompt{newPassword: true}, wantCode: exitUsage},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a := newCLI(t, tt.env).app(io.Discard, io.Discard)
			a.passwordFile = tt.flagFile
			a.readPassword = tt.prompt
			got, err := a.password(context.Background(), tt.p)
			if tt.wantCode != 0 {
				if err == nil {
					t.Fatalf("got password %q, want an error", got)
				}
				if c := exitCode(context.Background(), err); c != tt.wantCode {
					t.Errorf("error %v: exit code %d, want %d", err, c, tt.wantCode)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if string(got) != tt.want {
				t.Errorf("got %q, want %q", got, tt.want)
			}
		})
	}
}

// TestPasswordFileFlagOrder checks --password-file beats CAIRN_PASSWORD_FILE through the CLI.
func TestPasswordFileFlagOrder(t *testing.T) {
	dir := t.TempDir()
	good := filepath.Join(dir, "good")
	bad := filepath.Join(dir, "bad")
	os.WriteFile(good, []byte("pw\n"), 0o600)
	os.WriteFile(bad, []byte("wrong\n"), 0o600)
	c := newCLI(t, map[string]string{envRepo: filepath.Join(dir, "repo"), envKDF: "test", envCacheDir: "off"})
	c.with(envPasswordFile, good).ok("init")
	c.with(envPasswordFile, bad).want(exitPassword, "snapshots")
	c.with(envPasswordFile, bad, envPassword, "pw").want(exitPassword, "snapshots")
	c.with(envPasswordFile, bad).ok("snapshots", "--password-file", good)
	c.with(envPassword, "pw").ok("snapshots")
}

func TestNoPromptWhenStdinIsData(t *testing.T) {
	a := newCLI(t, nil).app(io.Discard, io.Discard)
	a.isTerminal = func(any) bool { return true }
	a.stdin = os.Stdin
	if a.promptFunc() == nil {
		t.Fatal("a terminal stdin should allow a prompt")
	}
	a.stdinIsData = true
	if a.promptFunc() != nil {
		t.Fatal("stdin carrying backup data must never be used for a prompt")
	}
	_, err := a.password(context.Background(), passwordPrompt{})
	if !errors.Is(err, errNoPassword) {
		t.Fatalf("got %v, want errNoPassword", err)
	}
}
