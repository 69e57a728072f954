package main

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/spf13/cobra"

	"github.com/cairnbackup/cairn/internal/cli"
	"github.com/cairnbackup/cairn/repo"
)

func (a *app) forgetCmd() *cobra.Command {
	var p repo.ForgetPolicy
	var dryRun, prune bool
	cmd := &cobra.Command{
		Use:   "forget [ID...] [--keep-* N] [--dry-run] [--prune]",
		Short: "Remove snapshots by ID or by a retention policy (data stays until prune)",
		Long: `Remove snapshot objects, either the IDs given, or every snapshot a retention
policy does not keep. Snapshots are grouped by name and tags (--group-by name to
ignore tags); within a group, newest first, a snapshot is kept if any rule keeps
it (restic's semantics): --keep-last N the N newest, --keep-hourly/daily/weekly/
monthly/yearly N the newest of each of the N most recent hours/days/weeks/months/
years that have one, --keep-tag T every snapshot tagged T. -1 means unlimited.

Forget never deletes data: run 'cairn prune' (or pass --prune) to reclaim space.`,
		Example: `  cairn forget --keep-daily 7 --keep-weekly 5 --keep-monthly 12 --dry-run
  cairn forget --name pvc-data --keep-last 3 --prune
  cairn forget 4f2a9c1e`,
		RunE: func(cmd *cobra.Command, args []string) error {
			return a.runForget(cmd.Context(), args, p, dryRun, prune)
		},
	}
	f := cmd.Flags()
	f.IntVar(&p.Last, "keep-last", 0, "keep the N newest snapshots")
	f.IntVar(&p.Hourly, "keep-hourly", 0, "keep the newest snapshot of each of the last N hours")
	f.IntVar(&p.Daily, "keep-daily", 0, "keep the newest snapshot of each of the last N days")
	f.IntVar(&p.Weekly, "keep-weekly", 0, "keep the newest snapshot of each of the last N weeks")
	f.IntVar(&p.Monthly, "keep-monthly", 0, "keep the newest snapshot of each of the last N months")
	f.IntVar(&p.Yearly, "keep-yearly", 0, "keep the newest snapshot of each of the last N years")
	f.StringSliceVar(&p.Tags, "keep-tag", nil, "keep snapshots with this tag (repeatable)")
	f.StringVar(&p.GroupBy, "group-by", "name,tags", `group snapshots by "name,tags" or "name"`)
	f.StringVar(&p.Name, "name", "", "only consider snapshots of this name")
	f.BoolVarP(&dryRun, "dry-run", "n", false, "show what would be removed, remove nothing")
	f.BoolVar(&prune, "prune", false, "run prune afterwards (default grace)")
	return cmd
}

func (a *app) runForget(ctx context.Context, args []string, p repo.ForgetPolicy, dryRun, prune bool) error {
	policy := p.Last != 0 || p.Hourly != 0 || p.Daily != 0 || p.Weekly != 0 || p.Monthly != 0 || p.Yearly != 0 || len(p.Tags) > 0
	if len(args) > 0 && policy {
		return cli.Usagef("give snapshot IDs or a --keep-* policy, not both")
	}
	r, err := a.OpenRepo(ctx)
	if err != nil {
		return err
	}
	defer r.Close()
	if len(args) > 0 {
		var list []repo.ID
		for _, ref := range args {
			s, err := r.FindSnapshot(ctx, ref, "")
			if err != nil {
				return err
			}
			list = append(list, s.ID)
		}
		if !dryRun {
			if err := r.RemoveSnapshots(ctx, list); err != nil {
				return err
			}
		}
		for _, id := range list {
			a.lcInfo("removed snapshot %s", id.Short())
		}
	} else {
		res, err := r.Forget(ctx, p, dryRun)
		if err != nil {
			return usageOrErr(err)
		}
		if a.JSON {
			if err := cli.PrintJSON(a.Stdout, res); err != nil {
				return err
			}
		} else {
			for _, g := range res.Groups {
				fmt.Fprintf(a.Stdout, "group name=%q tags=%s: keep %d, remove %d\n", g.Name, strings.Join(g.Tags, ","), len(g.Keep), len(g.Remove))
				tw := cli.NewTable(a.Stdout)
				for _, d := range g.Keep {
					fmt.Fprintf(tw, "  keep\t%s\t%s\t%s\n", d.Snapshot.ID.Short(), d.Snapshot.Time.Local().Format("2006-01-02 15:04:05"), strings.Join(d.Reasons, ","))
				}
				for _, d := range g.Remove {
					fmt.Fprintf(tw, "  remove\t%s\t%s\t\n", d.Snapshot.ID.Short(), d.Snapshot.Time.Local().Format("2006-01-02 15:04:05"))
				}
				if err := tw.Flush(); err != nil {
					return err
				}
			}
			verb := "removed"
			if dryRun {
				verb = "would remove"
			}
			a.lcInfo("%s %d snapshot(s), kept %d", verb, res.Removed, res.Kept)
		}
	}
	if prune && !dryRun {
		res, err := r.Prune(ctx, repo.PruneOptions{})
		if err != nil {
			return err
		}
		return a.printPrune(res, false)
	}
	return nil
}

// usageOrErr turns policy mistakes into usage errors.
func usageOrErr(err error) error {
	if errors.Is(err, repo.ErrEmptyPolicy) || strings.Contains(err.Error(), "grouping") {
		return cli.Usage(err)
	}
	return err
}
