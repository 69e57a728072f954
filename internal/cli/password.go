package cli

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"

	"golang.org/x/term"
)

// PasswordPrompt says where one password comes from. The zero value of the source fields means
// the repository password: --password-file, CAIRN_PASSWORD_FILE, CAIRN_PASSWORD, then a prompt.
type PasswordPrompt struct {
	Prompt  string // shown on the terminal
	Confirm bool   // ask twice on a terminal (new passwords)

	// For new passwords (key add/passwd): NewPassword selects --new-password-file (its
	// value in FileFlag), CAIRN_NEW_PASSWORD_FILE and CAIRN_NEW_PASSWORD.
	NewPassword bool
	FileFlag    string
}

// ErrNoPassword says no password source is available.
var ErrNoPassword = errors.New("no password given and stdin is not a terminal, so cairn cannot prompt")

// Password resolves a password. Sources in order: the password file flag, the file
// environment variable, the password environment variable, a terminal prompt.
func (a *App) Password(_ context.Context, p PasswordPrompt) ([]byte, error) {
	fileFlag, envFile, envValue, flagName := a.PasswordFile, EnvPasswordFile, EnvPassword, "--password-file"
	if p.NewPassword {
		fileFlag, envFile, envValue, flagName = p.FileFlag, EnvNewPasswordFile, EnvNewPassword, "--new-password-file"
		if fileFlag == "" {
			fileFlag = a.Getenv(envFile)
		}
	}
	// For the repository password, a.PasswordFile already holds the flag or CAIRN_PASSWORD_FILE.
	if fileFlag != "" {
		return readPasswordFile(fileFlag)
	}
	if v := a.Getenv(envValue); v != "" {
		return []byte(v), nil
	}
	read := a.promptFunc()
	if read == nil {
		return nil, WithHint(Usage(ErrNoPassword),
			fmt.Sprintf("pass %s FILE, or set %s or %s", flagName, envFile, envValue))
	}
	pw, err := read(p.Prompt)
	if err != nil {
		return nil, fmt.Errorf("read password: %w", err)
	}
	if len(pw) == 0 {
		return nil, Usagef("an empty password is not allowed")
	}
	if p.Confirm {
		again, err := read("Enter it again: ")
		if err != nil {
			return nil, fmt.Errorf("read password: %w", err)
		}
		defer clear(again)
		if !bytes.Equal(pw, again) {
			clear(pw)
			return nil, Usagef("the passwords do not match")
		}
	}
	return pw, nil
}

// promptFunc returns the terminal password reader, or nil when no prompt is possible.
func (a *App) promptFunc() func(string) ([]byte, error) {
	if a.ReadPassword != nil {
		return a.ReadPassword
	}
	f, ok := a.Stdin.(*os.File)
	if a.StdinIsData || !ok || !a.IsTerminal(f) {
		return nil
	}
	return func(prompt string) ([]byte, error) {
		fmt.Fprint(a.Stderr, prompt)
		defer fmt.Fprintln(a.Stderr)
		return term.ReadPassword(int(f.Fd()))
	}
}

// readPasswordFile returns the content of a password file without one trailing line ending.
func readPasswordFile(name string) ([]byte, error) {
	b, err := os.ReadFile(name)
	if err != nil {
		return nil, fmt.Errorf("password file: %w", err)
	}
	if c, ok := bytes.CutSuffix(b, []byte("\n")); ok {
		b = bytes.TrimSuffix(c, []byte("\r"))
	}
	if len(b) == 0 {
		return nil, Usagef("password file %s is empty", name)
	}
	return b, nil
}
