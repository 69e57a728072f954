package main

import (
	"context"
	"fmt"

	"github.com/cairnbackup/cairn/internal/cli"
	"github.com/spf13/cobra"
)

func (a *app) unlockCmd() *cobra.Command {
	var all, list bool
	cmd := &cobra.Command{
		Use:   "unlock [--remove-all] [--list]",
		Short: "Remove stale locks left by crashed cairn processes",
		Long: `Remove locks not refreshed for 30 minutes (their process is gone) and
unreadable lock objects. --remove-all removes every lock, including those of running
backups and prunes: do that only when no cairn process uses the repository, since a
running prune would then lose its protection against a second one. --list shows
the locks and removes nothing.`,
		Example: `  cairn unlock --list
  cairn unlock
  cairn unlock --remove-all   # only when no cairn process is running`,
		Args: cli.ExactArgs(),
		RunE: func(cmd *cobra.Command, _ []string) error { return a.runUnlock(cmd.Context(), all, list) },
	}
	cmd.Flags().BoolVar(&all, "remove-all", false, "remove all locks, also live ones (dangerous)")
	cmd.Flags().BoolVar(&list, "list", false, "only list the locks")
	return cmd
}

func (a *app) runUnlock(ctx context.Context, all, list bool) error {
	r, err := a.OpenRepo(ctx)
	if err != nil {
		return err
	}
	defer r.Close()
	if list {
		locks, err := r.Locks(ctx)
		if err != nil {
			return err
		}
		if a.JSON {
			return cli.PrintJSON(a.Stdout, locks)
		}
		for _, l := range locks {
			stale := ""
			if l.Stale {
				stale = " [stale]"
			}
			fmt.Fprintf(a.Stdout, "%s%s\n", l, stale)
		}
		return nil
	}
	if all {
		fmt.Fprintln(a.Stderr, "warning: removing ALL locks; running backups will fail at the end, and a running prune is no longer exclusive")
	}
	removed, err := r.RemoveLocks(ctx, all)
	if a.JSON && err == nil {
		return cli.PrintJSON(a.Stdout, removed)
	}
	for _, l := range removed {
		a.lcInfo("removed %s", l)
	}
	if err == nil {
		a.lcInfo("%d lock(s) removed", len(removed))
	}
	return err
}

// lcInfo prints an informational line of the lifecycle commands to stderr, unless quiet
// or in JSON mode.
func (a *app) lcInfo(format string, args ...any) {
	if a.Quiet || a.JSON {
		return
	}
	fmt.Fprintf(a.Stderr, format+"\n", args...)
}
