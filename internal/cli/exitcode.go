package cli

import (
	"context"
	"errors"
	"fmt"

	"github.com/cairnbackup/cairn/repo"
	"github.com/cairnbackup/cairn/repo/backend"
)

// Exit codes of the cairn command; docs/CLI.md and "cairn --help" list them.
const (
	ExitOK          = 0
	ExitError       = 1
	ExitUsage       = 2
	ExitPassword    = 3
	ExitRepository  = 4
	ExitNotFound    = 5
	ExitCorrupt     = 6
	ExitLocked      = 7
	ExitInterrupted = 130
)

// ExitCodesHelp is the table shown in "cairn --help".
const ExitCodesHelp = `Exit codes:
  0    success
  1    error
  2    usage error (bad flags or arguments, missing --repo or password source)
  3    wrong password
  4    no repository at --repo (or, for init, a repository already exists there)
  5    snapshot not found
  6    repository data is corrupt (failed authentication or did not decode), or check found problems
  7    repository is locked by another process (see 'cairn unlock --list')
  130  interrupted (SIGINT/SIGTERM); an interrupted backup records nothing`

// UsageError marks errors in how cairn was invoked; they exit with code 2. Callers test for
// it with errors.As.
type UsageError struct{ err error }

func (e UsageError) Error() string { return e.err.Error() }
func (e UsageError) Unwrap() error { return e.err }

// Usage marks err as a usage error (exit code 2).
func Usage(err error) error { return UsageError{err} }

// Usagef returns a usage error with a formatted message.
func Usagef(format string, a ...any) error { return UsageError{fmt.Errorf(format, a...)} }

// ExitCode maps an error from a command to the process exit code. ctx is the context the
// command ran under: a cancelled context means the user interrupted cairn.
func ExitCode(ctx context.Context, err error) int {
	var ue UsageError
	switch {
	case err == nil:
		return ExitOK
	case ctx.Err() != nil && (errors.Is(err, context.Canceled) || errors.Is(err, ctx.Err())):
		return ExitInterrupted
	case errors.As(err, &ue):
		return ExitUsage
	case errors.Is(err, repo.ErrWrongPassword):
		return ExitPassword
	case errors.Is(err, repo.ErrNoRepository), errors.Is(err, repo.ErrRepositoryExists):
		return ExitRepository
	case errors.Is(err, repo.ErrSnapshotNotFound):
		return ExitNotFound
	case errors.Is(err, repo.ErrCorrupt):
		return ExitCorrupt
	case errors.Is(err, repo.ErrLocked):
		return ExitLocked
	case ctx.Err() != nil:
		// Interrupted, and the error says so only indirectly (e.g. a closed pipe).
		return ExitInterrupted
	}
	return ExitError
}

// hints are second lines printed under an error that wraps a known sentinel.
var hints = []struct {
	err  error
	hint string
}{
	{repo.ErrWrongPassword, "check CAIRN_PASSWORD / CAIRN_PASSWORD_FILE / --password-file (or the password you typed)"},
	{repo.ErrNoRepository, "check --repo / CAIRN_REPO, or create a repository with 'cairn init'"},
	{repo.ErrRepositoryExists, "choose another --repo location; cairn never overwrites an existing repository"},
	{repo.ErrSnapshotNotFound, "list the snapshots with 'cairn snapshots'"},
	{repo.ErrAmbiguousID, "give more digits of the ID"},
	{repo.ErrCorrupt, "stored data failed verification; do not prune or delete anything, and report it"},
	{repo.ErrUnsupportedVersion, "this repository was written by a newer cairn; upgrade cairn"},
	{repo.ErrLastKey, "add another key first with 'cairn key add'"},
	{repo.ErrCurrentKey, "open the repository with another password to remove this key, or use 'cairn key passwd'"},
	{repo.ErrKeyNotFound, "list the keys with 'cairn key list'"},
	{repo.ErrLocked, "another cairn process holds a conflicting lock; 'cairn unlock --list' shows it, 'cairn unlock' removes stale ones"},
	{backend.ErrNoSpace, "the storage is full: free space (e.g. 'cairn forget' then 'cairn prune') and run the command again; a failed backup records nothing"},
	{backend.ErrNotFound, "list what is stored with 'cairn ls snapshots|index|packs|keys'"},
}

// HintFor returns the hint for err, or "".
func HintFor(err error) string {
	for _, h := range hints {
		if errors.Is(err, h.err) {
			return h.hint
		}
	}
	var he hintedError
	if errors.As(err, &he) {
		return he.hint
	}
	return ""
}

// hintedError carries its own hint line.
type hintedError struct {
	err  error
	hint string
}

func (e hintedError) Error() string { return e.err.Error() }
func (e hintedError) Unwrap() error { return e.err }

// WithHint attaches a hint line to err.
func WithHint(err error, hint string) error { return hintedError{err, hint} }
