package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"

	"golang.org/x/term"
)

// passwordPrompt says where one password comes from. The zero value of the source fields means
// the repository password: --password-file, CAIRN_PASSWORD_FILE, CAIRN_PASSWORD, then a prompt.
type passwordPrompt struct {
	prompt  string // shown on the terminal
	confirm bool   // ask twice on a terminal (new passwords)

	// For new passwords (key add/passwd): the flag value and environment variable names.
	newPassword bool
	fileFlag    string
}

// errNoPassword says no password source is available.
var errNoPassword = errors.New("no password given and stdin is not a terminal, so cairn cannot prompt")

// password resolves a password. Sources in order: the password file flag, the file
// environment variable, the password environment variable, a terminal prompt.
func (a *app) password(_ context.Context, p passwordPrompt) ([]byte, error) {
	fileFlag, envFile, envValue, flagName := a.passwordFile, envPasswordFile, envPassword, "--password-file"
	if p.newPassword {
		fileFlag, envFile, envValue, flagName = p.fileFlag, envNewPasswordFile, envNewPassword, "--new-password-file"
		if fileFlag == "" {
			fileFlag = a.getenv(envFile)
		}
	}
	// For the repository password, a.passwordFile already holds the flag or CAIRN_PASSWORD_FILE.
	if fileFlag != "" {
		return readPasswordFile(fileFlag)
	}
	if v := a.getenv(envValue); v != "" {
		return []byte(v), nil
	}
	read := a.promptFunc()
	if read == nil {
		return nil, withHint(usageError{errNoPassword},
			fmt.Sprintf("pass %s FILE, or set %s or %s", flagName, envFile, envValue))
	}
	pw, err := read(p.prompt)
	if err != nil {
		return nil, fmt.Errorf("read password: %w", err)
	}
	if len(pw) == 0 {
		return nil, usagef("an empty password is not allowed")
	}
	if p.confirm {
		again, err := read("Enter it again: ")
		if err != nil {
			return nil, fmt.Errorf("read password: %w", err)
		}
		defer clear(again)
		if !bytes.Equal(pw, again) {
			clear(pw)
			return nil, usagef("the passwords do not match")
		}
	}
	return pw, nil
}

// promptFunc returns the terminal password reader, or nil when no prompt is possible.
func (a *app) promptFunc() func(string) ([]byte, error) {
	if a.readPassword != nil {
		return a.readPassword
	}
	f, ok := a.stdin.(*os.File)
	if a.stdinIsData || !ok || !a.isTerminal(f) {
		return nil
	}
	return func(prompt string) ([]byte, error) {
		fmt.Fprint(a.stderr, prompt)
		defer fmt.Fprintln(a.stderr)
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
		return nil, usagef("password file %s is empty", name)
	}
	return b, nil
}
