package cli

import (
	"context"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
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
		p        PasswordPrompt
		want     string
		wantCode int // exit code of the error, when one is expected
	}{
		{name: "flag file wins", flagFile: flagFile, env: map[string]string{EnvPassword: "env"}, prompt: prompt("typed"), want: "from-flag"},
		{name: "env value", env: map[string]string{EnvPassword: "env"}, prompt: prompt("typed"), want: "env"},
		{name: "file keeps inner spaces", flagFile: spaces, want: " two  words "},
		{name: "crlf stripped", flagFile: envFile, want: "from-env-file"},
		{name: "empty file", flagFile: empty, wantCode: ExitUsage},
		{name: "missing file", flagFile: filepath.Join(dir, "nope"), wantCode: ExitError},
		{name: "prompt", prompt: prompt("typed"), want: "typed"},
		{name: "prompt confirmed", prompt: prompt("typed", "typed"), p: PasswordPrompt{Confirm: true}, want: "typed"},
		{name: "prompt mismatch", prompt: prompt("typed", "tpyed"), p: PasswordPrompt{Confirm: true}, wantCode: ExitUsage},
		{name: "prompt empty", prompt: prompt(""), wantCode: ExitUsage},
		{name: "no source", wantCode: ExitUsage},
		{name: "new: flag", flagFile: flagFile, p: PasswordPrompt{NewPassword: true, FileFlag: newFile}, want: "new-from-file"},
		{name: "new: env file", env: map[string]string{EnvNewPasswordFile: newFile, EnvNewPassword: "x"}, p: PasswordPrompt{NewPassword: true}, want: "new-from-file"},
		{name: "new: env value ignores old", flagFile: flagFile, env: map[string]string{EnvPassword: "old", EnvNewPassword: "n"}, p: PasswordPrompt{NewPassword: true}, want: "n"},
		{name: "new: none", flagFile: flagFile, env: map[string]string{EnvPassword: "old"}, p: PasswordPrompt{NewPassword: true}, wantCode: ExitUsage},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a := New(strings.NewReader(""), io.Discard, io.Discard, func(k string) string { return tt.env[k] })
			a.PasswordFile = tt.flagFile
			a.ReadPassword = tt.prompt
			got, err := a.Password(context.Background(), tt.p)
			if tt.wantCode != 0 {
				if err == nil {
					t.Fatalf("got password %q, want an error", got)
				}
				if c := ExitCode(context.Background(), err); c != tt.wantCode {
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

func TestNoPromptWhenStdinIsData(t *testing.T) {
	a := New(strings.NewReader(""), io.Discard, io.Discard, func(string) string { return "" })
	a.IsTerminal = func(any) bool { return true }
	a.Stdin = os.Stdin
	if a.promptFunc() == nil {
		t.Fatal("a terminal stdin should allow a prompt")
	}
	a.StdinIsData = true
	if a.promptFunc() != nil {
		t.Fatal("stdin carrying backup data must never be used for a prompt")
	}
	_, err := a.Password(context.Background(), PasswordPrompt{})
	if !errors.Is(err, ErrNoPassword) {
		t.Fatalf("got %v, want ErrNoPassword", err)
	}
}
