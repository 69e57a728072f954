package main

import (
	"context"
	"fmt"

	"github.com/spf13/cobra"

	"github.com/cairnbackup/cairn/internal/cli"
	"github.com/cairnbackup/cairn/repo"
)

func (a *app) checkCmd() *cobra.Command {
	var o repo.CheckOptions
	cmd := &cobra.Command{
		Use:   "check [--read-data] [--read-data-subset n/m|N%]",
		Short: "Verify the repository's structure and, optionally, its data",
		Long: `Verify that the key slots, index objects and snapshots decode, that every
blob every snapshot needs is indexed in a stored pack, and that every indexed pack
exists. With --read-data, download packs and verify every blob: authentication,
decompression and the keyed hash against its ID. --read-data-subset n/m reads the
n-th of m fixed slices of the packs (run 1/m..m/m on successive nights to cover
everything), N% a random sample.

Packs no index names (left by interrupted backups) are reported as info, not
errors. Exits with code 6 when any error-level problem is found.`,
		Example: `  cairn check
  cairn check --read-data-subset 1/7
  cairn check --read-data --json`,
		Args: cli.ExactArgs(),
		RunE: func(cmd *cobra.Command, _ []string) error {
			if o.Subset != "" {
				o.ReadData = true
			}
			return a.runCheck(cmd.Context(), o)
		},
	}
	cmd.Flags().BoolVar(&o.ReadData, "read-data", false, "download and verify every blob")
	cmd.Flags().StringVar(&o.Subset, "read-data-subset", "", `verify only part of the packs: "n/m" or "N%"`)
	return cmd
}

func (a *app) runCheck(ctx context.Context, o repo.CheckOptions) error {
	r, err := a.OpenRepo(ctx)
	if err != nil {
		return err
	}
	defer r.Close()
	rep, err := r.Check(ctx, o)
	if err != nil {
		return err
	}
	if a.JSON {
		if err := cli.PrintJSON(a.Stdout, rep); err != nil {
			return err
		}
	} else {
		for _, p := range rep.Problems {
			if p.Level != repo.LevelInfo || a.Verbose > 0 {
				fmt.Fprintln(a.Stdout, p)
			}
		}
		if rep.ProblemsOmitted > 0 {
			fmt.Fprintf(a.Stdout, "(%d more problems not listed)\n", rep.ProblemsOmitted)
		}
		if !a.Quiet {
			fmt.Fprintf(a.Stdout, "%d snapshots, %d index objects, %d blobs in %d packs (%d unindexed, %d pending deletion), %d blob references checked",
				rep.Snapshots, rep.Indexes, rep.IndexedBlobs, rep.StoredPacks, rep.UnindexedPacks, rep.PendingPacks, rep.BlobRefs)
			if o.ReadData {
				fmt.Fprintf(a.Stdout, ", %d packs / %d blobs / %s read", rep.PacksRead, rep.BlobsRead, formatBytes(rep.BytesRead))
			}
			fmt.Fprintf(a.Stdout, "\n%d errors, %d warnings, %d infos\n", rep.Errors, rep.Warnings, rep.Infos)
		}
	}
	if !rep.OK() {
		return fmt.Errorf("check found %d errors: %w", rep.Errors, repo.ErrCorrupt)
	}
	return nil
}
