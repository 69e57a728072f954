package main

import (
	"context"
	"fmt"
	"strings"

	"github.com/cairnbackup/cairn/internal/cli"
	"github.com/spf13/cobra"
)

func (a *app) snapshotsCmd() *cobra.Command {
	var name string
	cmd := &cobra.Command{
		Use:   "snapshots [--name N]",
		Short: "List snapshots, oldest first",
		Long: `List the repository's snapshots, oldest first: short ID, time, host, name,
tags, volume size and the new data each backup added.

Use the ID (or a unique prefix of it) with 'cairn restore' and 'cairn ls'. With
--json the output is a JSON array of snapshot objects with full IDs and
backup statistics.`,
		Example: `  cairn snapshots
  cairn snapshots --name pvc-data
  cairn snapshots --json | jq -r '.[-1].id'`,
		Args: cli.ExactArgs(),
		RunE: func(cmd *cobra.Command, _ []string) error { return a.runSnapshots(cmd.Context(), name) },
	}
	cmd.Flags().StringVar(&name, "name", "", "only snapshots of this name")
	return cmd
}

func (a *app) runSnapshots(ctx context.Context, name string) error {
	r, err := a.OpenRepo(ctx)
	if err != nil {
		return err
	}
	defer r.Close()
	all, err := r.Snapshots(ctx)
	if err != nil {
		return err
	}
	out := []cli.SnapshotJSON{}
	for _, s := range all {
		if name == "" || s.Name == name {
			out = append(out, cli.ToSnapshotJSON(s))
		}
	}
	if a.JSON {
		return cli.PrintJSON(a.Stdout, out)
	}
	tw := cli.NewTable(a.Stdout)
	fmt.Fprintln(tw, "ID\tTIME\tHOST\tNAME\tTAGS\tSIZE\tNEW")
	for _, s := range out {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\n", s.ShortID, s.Time.Local().Format("2006-01-02 15:04:05"),
			s.Hostname, s.Name, strings.Join(s.Tags, ","), formatBytes(s.Size), formatBytes(s.Stats.NewBytes))
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	if !a.Quiet {
		_, err = fmt.Fprintf(a.Stdout, "%d snapshot(s)\n", len(out))
	}
	return err
}
