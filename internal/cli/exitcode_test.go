package cli

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
		{"ok", bg, nil, ExitOK},
		{"plain", bg, errors.New("boom"), ExitError},
		{"usage", bg, Usagef("bad flag"), ExitUsage},
		{"usage with hint", bg, WithHint(Usagef("x"), "y"), ExitUsage},
		{"wrong password", bg, fmt.Errorf("open: %w", repo.ErrWrongPassword), ExitPassword},
		{"no repository", bg, fmt.Errorf("open: %w", repo.ErrNoRepository), ExitRepository},
		{"repository exists", bg, fmt.Errorf("init: %w", repo.ErrRepositoryExists), ExitRepository},
		{"snapshot not found", bg, fmt.Errorf("x: %w", repo.ErrSnapshotNotFound), ExitNotFound},
		{"corrupt", bg, fmt.Errorf("x: %w", repo.ErrCorrupt), ExitCorrupt},
		{"locked", bg, fmt.Errorf("x: %w", repo.ErrLocked), ExitLocked},
		{"ambiguous is a plain error", bg, repo.ErrAmbiguousID, ExitError},
		{"canceled without interrupt is an error", bg, context.Canceled, ExitError},
		{"interrupted", cancelled, fmt.Errorf("backup: %w", context.Canceled), ExitInterrupted},
		{"interrupted, other error", cancelled, errors.New("write: broken pipe"), ExitInterrupted},
		{"interrupted beats sentinel", cancelled, fmt.Errorf("%w: %w", repo.ErrCorrupt, context.Canceled), ExitInterrupted},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := ExitCode(tt.ctx, tt.err); got != tt.want {
				t.Errorf("ExitCode(%v) = %d, want %d", tt.err, got, tt.want)
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
		{WithHint(errors.New("x"), "do this"), "do this"},
		{errors.New("x"), ""},
	}
	for _, tt := range tests {
		got := HintFor(tt.err)
		if tt.want == "" && got != "" || !strings.Contains(got, tt.want) {
			t.Errorf("HintFor(%v) = %q, want it to contain %q", tt.err, got, tt.want)
		}
	}
}

func TestPanicIsOneLine(t *testing.T) {
	for _, verbose := range []bool{false, true} {
		var out, errb strings.Builder
		a := New(strings.NewReader(""), &out, &errb, func(string) string { return "" })
		build := func() *cobra.Command {
			root := &cobra.Command{Use: "cairn"}
			a.SetupRoot(root)
			root.AddCommand(&cobra.Command{Use: "explode", RunE: func(*cobra.Command, []string) error { panic("kaboom") }})
			return root
		}
		args := []string{"explode"}
		if verbose {
			args = append(args, "-v")
		}
		code := a.Run(context.Background(), build, args)
		if code != ExitError {
			t.Errorf("verbose=%v: exit %d, want %d", verbose, code, ExitError)
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
