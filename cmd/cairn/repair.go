package main

import (
	"context"
	"fmt"

	"github.com/cairnbackup/cairn/internal/cli"
	"github.com/spf13/cobra"
)

func (a *app) repairCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "repair [shards|index|snapshots|packs]",
		Short: "Heal zone shards, rebuild the index, or deal with damaged snapshots and packs",
		Long: `repair            on a zones repository: same as repair shards
repair shards     rebuild missing (with --verify also corrupt) erasure shards and
                  metadata copies in every reachable zone (zones repositories)
repair index      rebuild the index from the packs' own tables (safe, no data lost)
repair snapshots  report snapshots that need lost blobs; with --force rewrite them
                  with zeros in place of the lost chunks (tagged "repaired"), or
                  remove them when a chunk list itself is lost
repair packs      verify every pack; with --force copy the intact blobs of damaged
                  packs elsewhere, then remove the damaged packs

Nothing is deleted without --force. Typical order after 'cairn check' errors:
repair index, check, repair packs [--force], repair snapshots [--force], check.`,
		Example: `  cairn repair index
  cairn repair packs          # report only
  cairn repair snapshots --force`,
		Args: cobra.ArbitraryArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if loc, err := a.Location(); len(args) == 0 && err == nil && isZonesLocation(loc) {
				return a.runRepairShards(cmd.Context(), false)
			}
			return cli.GroupRunE(cmd, args)
		},
	}
	var forceSnaps, forcePacks, verifyShards bool
	shards := &cobra.Command{
		Use: "shards [--verify]", Short: "Rebuild missing or corrupt shards and copies (zones repositories)", Args: cli.ExactArgs(),
		Long: `List every zone and rebuild the shards and metadata copies that reachable zones
lack, from the other zones (Reed-Solomon reconstruction); with --verify read and check
every shard and copy first, so corrupt ones are rebuilt too. Degraded-write records are
cleared once their objects are whole. Fails (exit 1) if something could not be healed,
e.g. a zone is still down. Safe while backups and restores run.`,
		Example: `  cairn repair --repo zones.yaml
  cairn repair shards --verify --repo zones.yaml`,
		RunE: func(cmd *cobra.Command, _ []string) error { return a.runRepairShards(cmd.Context(), verifyShards) },
	}
	shards.Flags().BoolVar(&verifyShards, "verify", false, "read and verify every shard and copy, rebuilding corrupt ones too")
	idx := &cobra.Command{
		Use: "index", Short: "Rebuild the index from the packs", Args: cli.ExactArgs(),
		Long: `Read the table of every pack (verifying its hash and authentication), write a
new index from them, then remove the old index objects. Packs that fail verification
are left out and reported. Nothing is lost; safe while backups run.`,
		Example: `  cairn repair index`,
		RunE:    func(cmd *cobra.Command, _ []string) error { return a.runRepair(cmd.Context(), "index", false) },
	}
	snaps := &cobra.Command{
		Use: "snapshots [--force]", Short: "Report (or, with --force, fix) snapshots that need lost blobs", Args: cli.ExactArgs(),
		Long: `Find snapshots that need blobs which are not indexed in a stored pack. With
--force, rewrite each such snapshot with zeros in place of the lost chunks (same size,
tagged "repaired") and remove the damaged original; a snapshot whose chunk list itself
is lost is removed. Without --force nothing changes.`,
		Example: `  cairn repair snapshots
  cairn repair snapshots --force`,
		RunE: func(cmd *cobra.Command, _ []string) error { return a.runRepair(cmd.Context(), "snapshots", forceSnaps) },
	}
	snaps.Flags().BoolVar(&forceSnaps, "force", false, "rewrite or remove damaged snapshots")
	packs := &cobra.Command{
		Use: "packs [--force]", Short: "Verify packs; with --force salvage and remove damaged ones", Args: cli.ExactArgs(),
		Long: `Download every pack and verify every blob. With --force, copy the intact blobs of
damaged packs into new packs, rewrite the index without the damaged packs and remove
them; then run 'cairn repair snapshots' for what was lost. Without --force nothing
changes.`,
		Example: `  cairn repair packs
  cairn repair packs --force && cairn repair snapshots --force`,
		RunE: func(cmd *cobra.Command, _ []string) error { return a.runRepair(cmd.Context(), "packs", forcePacks) },
	}
	packs.Flags().BoolVar(&forcePacks, "force", false, "salvage intact blobs and remove damaged packs")
	cmd.AddCommand(shards, idx, snaps, packs)
	return cmd
}

func (a *app) runRepair(ctx context.Context, what string, force bool) error {
	r, err := a.OpenRepo(ctx)
	if err != nil {
		return err
	}
	defer r.Close()
	var out any
	switch what {
	case "index":
		res, err := r.RepairIndex(ctx)
		if err != nil {
			return err
		}
		out = res
		if !a.JSON {
			a.lcInfo("indexed %d blobs from %d packs; wrote %d index objects, removed %d; %d packs failed verification",
				res.Blobs, res.Packs, res.IndexesWritten, res.IndexesRemoved, len(res.BadPacks))
		}
	case "snapshots":
		dmg, err := r.RepairSnapshots(ctx, force)
		if err != nil {
			return err
		}
		out = dmg
		if !a.JSON {
			for _, d := range dmg {
				fmt.Fprintf(a.Stdout, "snapshot %s (%s): %d blobs (%s) lost, %d chunk lists lost: %s\n",
					d.Snapshot.Short(), d.Name, d.MissingBlobs, formatBytes(d.MissingBytes), d.BadLists, d.Action)
			}
			a.lcInfo("%d damaged snapshot(s)", len(dmg))
			if len(dmg) > 0 && !force {
				a.lcInfo("run again with --force to rewrite or remove them")
			}
		}
	case "packs":
		dmg, err := r.RepairPacks(ctx, force)
		if err != nil {
			return err
		}
		out = dmg
		if !a.JSON {
			for _, d := range dmg {
				fmt.Fprintf(a.Stdout, "pack %s: %s (%d of %d blobs damaged, %d salvaged, removed: %v)\n",
					d.Pack.Short(), d.Error, d.DamagedBlobs, d.Blobs, d.Salvaged, d.Removed)
			}
			a.lcInfo("%d damaged pack(s)", len(dmg))
			if len(dmg) > 0 && !force {
				a.lcInfo("run again with --force to salvage and remove them, then: cairn repair snapshots")
			}
		}
	}
	if a.JSON {
		return cli.PrintJSON(a.Stdout, out)
	}
	return nil
}
