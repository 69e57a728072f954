package main

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/spf13/cobra"

	"github.com/cairnbackup/cairn/repo"
)

func TestExitCode(t *testing.T) {
	cancelled, cancel := context.WithCancel(context.Background())
	cancel()
	bg := context.Background()
	tests := []struct {
		name string
		ctx  context.Context
		err  error
		want int
	}{
		{"ok", bg, nil, exitOK},
		{"plain", bg, errors.New("boom"), exitError},
		{"usage", bg, usagef("bad flag"), exitUsage},
		{"usage with hint", bg, withHint(usagef("x"), "y"), exitUsage},
		{"wrong password", bg, fmt.Errorf("open: %w", repo.ErrWrongPassword), exitPassword},
		{"no repository", bg, fmt.Errorf("open: %w", repo.ErrNoRepository), exitRepository},
		{"repository exists", bg, fmt.Errorf("init: %w", repo.ErrRepositoryExists), exitRepository},
		{"snapshot not found", bg, fmt.Errorf("x: %w", repo.ErrSnapshotNotFound), exitNotFound},
		{"corrupt", bg, fmt.Errorf("x: %w", repo.ErrCorrupt), exitCorrupt},
		{"locked", bg, fmt.Errorf("x: %w", repo.ErrLocked), exitLocked},
		{"ambiguous is a plain error", bg, repo.ErrAmbiguousID, exitError},
		{"canceled without interrupt is an error", bg, context.Canceled, exitError},
		{"interrupted", cancelled, fmt.Errorf("backup: %w", context.Canceled), exitInterrupted},
		{"interrupted, other error", cancelled, errors.New("write: broken pipe"), exitInterrupted},
		{"interrupted beats sentinel", cancelled, fmt.Errorf("%w: %w", repo.ErrCorrupt, context.Canceled), exitInterrupted},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := exitCode(tt.ctx, tt.err); got != tt.want {
				t.Errorf("exitCode(%v) = %d, want %d", tt.err, got, tt.want)
			}
		})
	}
}

func TestHints(t *testing.T) {
	tests := []struct {
		err  error
		want string // substring; "" means no hint
	}{
		{fmt.Errorf("open: %w", repo.ErrWrongPassword), "CAIRN_PASSWORD"},
		{fmt.Errorf("open: %w", repo.ErrNoRepository), "cairn init"},
		{repo.ErrLastKey, "key add"},
		{withHint(errors.New("x"), "do this"), "do this"},
		{errors.New("x"), ""},
	}
	for _, tt := range tests {
		got := hintFor(tt.err)
		if tt.want == "" && got != "" || !strings.Contains(got, tt.want) {
			t.Errorf("hintFor(%v) = %q, want it to contain %q", tt.err, got, tt.want)
		}
	}
}

func TestPanicIsOneLine(t *testing.T) {
	for _, verbose := range []bool{false, true} {
		c := newCLI(t, nil)
		var out, errb strings.Builder
		a := c.app(&out, &errb)
		a.extraCmds = []*cobra.Command{{Use: "explode", RunE: func(*cobra.Command, []string) error { panic("kaboom") }}}
		args := []string{"explode"}
		if verbose {
			args = append(args, "-v")
		}
		code := a.run(context.Background(), args)
		if code != exitError {
			t.Errorf("verbose=%v: exit %d, want %d", verbose, code, exitError)
		}
		lines := strings.Split(strings.TrimSpace(errb.String()), "\n")
		if lines[0] != "cairn: internal error: kaboom" {
			t.Errorf("verbose=%v: first line %q", verbose, lines[0])
		}
		if !verbose && len(lines) != 1 {
			t.Errorf("without -v want one line, got %q", errb.String())
		}
		if verbose && !strings.Contains(errb.String(), "goroutine") {
			t.Errorf("with -v want a stack trace, got %q", errb.String())
		}
	}
}
