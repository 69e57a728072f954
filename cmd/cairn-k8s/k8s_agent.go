package main

import (
	"context"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/cairnbackup/cairn/internal/cli"
	"github.com/cairnbackup/cairn/k8sagent"
)

func (a *app) k8sAgentCmd(kf *k8sFlags) *cobra.Command {
	var (
		namespaces string
		interval   time.Duration
	)
	cmd := &cobra.Command{
		Use:   "agent [--namespaces a,b] [--interval D]",
		Short: "Run in-cluster: back up namespaces on an interval",
		Long: `The in-cluster agent (deploy/agent.yaml): back up each namespace of
--namespaces (env CAIRN_NAMESPACES) now and then every --interval (env
CAIRN_INTERVAL), until stopped. A failed backup is logged and retried at the
next interval.`,
		Example: `  cairn k8s agent --namespaces shop,crm --interval 6h
  CAIRN_NAMESPACES=shop CAIRN_INTERVAL=24h cairn k8s agent`,
		Args: cli.ExactArgs(),
		RunE: func(cmd *cobra.Command, _ []string) error {
			if !cmd.Flags().Changed("namespaces") {
				namespaces = a.Getenv("CAIRN_NAMESPACES")
			}
			if !cmd.Flags().Changed("interval") {
				if v := a.Getenv("CAIRN_INTERVAL"); v != "" {
					d, err := time.ParseDuration(v)
					if err != nil {
						return cli.Usagef("CAIRN_INTERVAL: %v", err)
					}
					interval = d
				}
			}
			var list []string
			for _, n := range strings.Split(namespaces, ",") {
				if n = strings.TrimSpace(n); n != "" {
					list = append(list, n)
				}
			}
			if len(list) == 0 || interval <= 0 {
				return cli.Usagef("the agent needs --namespaces and a positive --interval")
			}
			return a.runK8sAgent(cmd.Context(), kf, list, interval)
		},
	}
	cmd.Flags().StringVar(&namespaces, "namespaces", "", "comma-separated namespaces to back up (env CAIRN_NAMESPACES)")
	cmd.Flags().DurationVar(&interval, "interval", 24*time.Hour, "time between backups (env CAIRN_INTERVAL)")
	return cmd
}

func (a *app) runK8sAgent(ctx context.Context, kf *k8sFlags, namespaces []string, interval time.Duration) error {
	t := time.NewTicker(interval)
	defer t.Stop()
	for first := true; ; first = false {
		// The repository is opened afresh every cycle: a long-lived handle would keep a zone
		// that was down at start unused for the agent's whole life (and keep stale state).
		// A failure of the first cycle (wrong password, no repository, bad flags) ends the
		// agent with its exit code; later ones are logged and retried next interval.
		if err := a.k8sAgentCycle(ctx, kf, namespaces); err != nil {
			if first || ctx.Err() != nil {
				return err
			}
			a.Log.Error("backup cycle failed", "error", err)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-t.C:
		}
	}
}

// k8sAgentCycle opens the repository and backs up every namespace once.
func (a *app) k8sAgentCycle(ctx context.Context, kf *k8sFlags, namespaces []string) error {
	r, ag, err := a.openAgent(ctx, kf)
	if err != nil {
		return err
	}
	defer r.Close()
	for _, ns := range namespaces {
		_, snap, err := ag.Backup(ctx, k8sagent.BackupOptions{Namespace: ns, Parallel: kf.parallel})
		if ctx.Err() != nil {
			return ctx.Err()
		}
		if err != nil {
			a.Log.Error("backup failed", "namespace", ns, "error", err)
			continue
		}
		a.Log.Warn("backup stored", "namespace", ns, "snapshot", snap.ID.Short())
	}
	return nil
}
