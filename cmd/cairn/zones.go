package main

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/cairnbackup/cairn/internal/cli"
	"github.com/cairnbackup/cairn/repo"
)

// zonesCmd is "cairn zones": commands about a repository spread over zones.
func (a *app) zonesCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "zones status",
		Short: "Show the zones of a zones repository: which answer, latency, missing shards",
		Long: `A zones repository (--repo zones.yaml) keeps erasure-coded pack shards and
replicated metadata in several MinIO/S3 zones; see docs/ZONES.md.`,
		Example: `  cairn zones status --repo zones.yaml
  cairn repair --repo zones.yaml     # rebuild missing shards once zones are back`,
		Args: cobra.ArbitraryArgs,
		RunE: cli.GroupRunE,
	}
	status := &cobra.Command{
		Use: "status", Short: "Probe every zone and count missing shards and copies", Args: cli.ExactArgs(),
		Long: `Probe every zone (latency of one request), then list every zone to count the
shards and metadata copies each reachable zone lacks. No data is read; use
'cairn check --read-data' to verify every shard. 'cairn repair' rebuilds what is missing.`,
		Example: `  cairn zones status --repo zones.yaml
  cairn zones status --repo zones.yaml --json`,
		RunE: func(cmd *cobra.Command, _ []string) error { return a.runZonesStatus(cmd.Context()) },
	}
	cmd.AddCommand(status)
	return cmd
}

func (a *app) runZonesStatus(ctx context.Context) error {
	r, err := a.OpenRepo(ctx)
	if err != nil {
		return err
	}
	defer r.Close()
	rep, err := r.ZoneStatus(ctx)
	if err != nil {
		return err
	}
	if a.JSON {
		return cli.PrintJSON(a.Stdout, rep)
	}
	fmt.Fprintf(a.Stdout, "%-16s %-9s %10s %8s %8s  %s\n", "ZONE", "STATE", "LATENCY", "SHARDS-", "COPIES-", "LOCATION")
	for _, z := range rep.Zones {
		state := "up"
		if !z.Reachable {
			state = "DOWN"
		}
		fmt.Fprintf(a.Stdout, "%-16s %-9s %10s %8d %8d  %s\n", z.Name, state, z.Latency.Round(100*time.Microsecond),
			z.MissingShards, z.MissingCopies, z.Location)
		if z.Error != "" {
			fmt.Fprintf(a.Stdout, "  error: %s\n", z.Error)
		}
	}
	fmt.Fprintf(a.Stdout, "erasure %s: %d packs, %d metadata objects; %d shards and %d copies missing, %d packs unreadable, %d degraded records\n",
		rep.Layout, rep.Packs, rep.Objects, rep.MissingShards, rep.MissingCopies, rep.Unreadable, rep.Records)
	if !rep.Healthy() {
		a.lcInfo("not at full redundancy; when every zone is back run: cairn repair")
	}
	return nil
}

// isZonesLocation reports whether a --repo value names a zones file.
func isZonesLocation(loc string) bool {
	return strings.HasPrefix(loc, "zones://") || strings.HasSuffix(loc, ".yaml") || strings.HasSuffix(loc, ".yml")
}

func (a *app) runRepairShards(ctx context.Context, verify bool) error {
	r, err := a.OpenRepo(ctx)
	if err != nil {
		return err
	}
	defer r.Close()
	res, err := r.RepairShards(ctx, repo.RepairShardsOptions{Verify: verify})
	if err != nil {
		return err
	}
	if a.JSON {
		if err := cli.PrintJSON(a.Stdout, res); err != nil {
			return err
		}
	} else {
		for _, f := range res.Failed {
			fmt.Fprintf(a.Stdout, "not healed: %s\n", f)
		}
		a.lcInfo("rebuilt %d shards, restored %d metadata copies, removed %d leftovers, cleared %d degraded records",
			res.ShardsRebuilt, res.CopiesRestored, res.LeftoversRemove, res.RecordsCleared)
	}
	if !res.Healed() {
		return fmt.Errorf("repair: %d problem(s) could not be healed (unreachable zones or too few shards)", len(res.Failed))
	}
	return nil
}
