package main

import (
	"context"
	"fmt"
	"time"

	"github.com/spf13/cobra"

	"github.com/cairnbackup/cairn/internal/cli"
	"github.com/cairnbackup/cairn/repo"
)

func (a *app) pruneCmd() *cobra.Command {
	var o repo.PruneOptions
	cmd := &cobra.Command{
		Use:   "prune [--grace D] [--repack-threshold F] [--dry-run]",
		Short: "Delete data no snapshot needs (safe beside running backups)",
		Long: `Reclaim space in two phases, so backups never wait and never lose data:

 1. mark: walk every snapshot, find packs with no used blob (and packs left by
    interrupted backups), copy the used blobs out of packs with at least
    --repack-threshold unused bytes, and record the packs as pending deletion.
    Backups that start later stop deduplicating against them.
 2. sweep: once --grace has passed and every backup that started before the mark
    has finished, a later prune re-checks the current snapshots, keeps any pack a
    new snapshot needs, rewrites the index and deletes the rest.

Only one prune runs at a time (others fail with "repository is locked"). A prune
killed at any point leaves a repository that 'cairn check' accepts; the next prune
finishes its work. See docs/LIFECYCLE.md.`,
		Example: `  cairn prune
  cairn prune --dry-run
  cairn prune --grace 0   # delete now when no older backup is running`,
		Args: cli.ExactArgs(),
		RunE: func(cmd *cobra.Command, _ []string) error {
			if !cmd.Flags().Changed("grace") {
				o.Grace = 0
			} else if o.Grace == 0 {
				o.Grace = -1
			}
			if cmd.Flags().Changed("clock-skew") && o.ClockSkew == 0 {
				o.ClockSkew = -1
			}
			return a.runPrune(cmd.Context(), o)
		},
	}
	f := cmd.Flags()
	f.DurationVar(&o.Grace, "grace", repo.DefaultGrace, "minimum time between marking and deleting a pack (0: none)")
	f.DurationVar(&o.ClockSkew, "clock-skew", repo.DefaultClockSkew, "tolerated clock difference between hosts")
	f.Float64Var(&o.RepackThreshold, "repack-threshold", repo.DefaultRepackThreshold, "repack packs with at least this fraction of unused bytes (1: never)")
	f.BoolVarP(&o.DryRun, "dry-run", "n", false, "report what would be done, change nothing")
	return cmd
}

func (a *app) runPrune(ctx context.Context, o repo.PruneOptions) error {
	r, err := a.OpenRepo(ctx)
	if err != nil {
		return err
	}
	defer r.Close()
	start := time.Now()
	res, err := r.Prune(ctx, o)
	if err != nil {
		return err
	}
	a.Log.Info("prune done", "elapsed", time.Since(start))
	return a.printPrune(res, o.DryRun)
}

func (a *app) printPrune(res *repo.PruneResult, dryRun bool) error {
	if a.JSON {
		return cli.PrintJSON(a.Stdout, res)
	}
	if a.Quiet {
		return nil
	}
	w := a.Stdout
	fmt.Fprintf(w, "repository: %d snapshots, %d used blobs, %d packs (%s)\n", res.Snapshots, res.UsedBlobs, res.Packs, formatBytes(res.Bytes))
	verb := "marked"
	if dryRun {
		verb = "would mark"
	}
	fmt.Fprintf(w, "%s %d packs (%s) for deletion: %d unused, %d unindexed, %d missing, %d repacked (%d blobs, %s written)\n",
		verb, res.MarkedPacks, formatBytes(res.MarkedBytes), res.UnusedPacks, res.UnindexedPacks, res.MissingPacks,
		res.RepackPacks, res.RepackedBlobs, formatBytes(res.RepackedBytes))
	if !dryRun {
		fmt.Fprintf(w, "deleted %d packs (%s); kept %d packs a newer snapshot needs; %d index objects rewritten\n",
			res.DeletedPacks, formatBytes(res.DeletedBytes), res.KeptPacks, res.IndexesDeleted)
	}
	for _, b := range res.Blocked {
		fmt.Fprintf(w, "waiting: %s\n", b)
	}
	for _, l := range res.StaleLocksRemoved {
		fmt.Fprintf(w, "removed stale lock: %s\n", l)
	}
	for _, p := range res.SkippedBadPacks {
		fmt.Fprintf(w, "warning: pack %s fails verification and was left alone (run cairn check --read-data)\n", p.Short())
	}
	return nil
}
