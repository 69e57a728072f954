package main

import (
	"errors"

	"github.com/spf13/cobra"

	"github.com/cairnbackup/cairn/internal/cli"
	"github.com/cairnbackup/cairn/k8sagent/mover"
)

func (a *app) moverCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "mover backup|restore --device PATH [flags]",
		Short: "Move one volume between a device and the repository (mover Job entrypoint)",
		Long: `The entrypoint of the agent's mover Jobs: back up a block device (or image
file) into the repository, or restore a snapshot onto one. It prints JSON lines
on stdout (progress, then a summary or an error), serves Prometheus metrics on
--metrics-addr, and its exit status says whether the whole volume moved.

  cairn mover backup  --device PATH [--name N] [--tag K=V]... [--host H]
  cairn mover restore --device PATH --snapshot ID
  common: [--repo LOC] [--password-file F] [--cache-dir D] [--metrics-addr :9090]
          [--metrics-linger 30s] [--progress-interval 5s]

The repository and password come from the flags or CAIRN_REPO, CAIRN_PASSWORD,
CAIRN_PASSWORD_FILE, CAIRN_CACHE_DIR; a mover never prompts.`,
		Example: `  cairn mover backup --device /dev/cairn-volume --name k8s/shop/pvc/data --metrics-addr :9090
  cairn mover restore --device /dev/cairn-volume --snapshot 3f2a9c`,
		DisableFlagParsing: true,
		RunE: func(cmd *cobra.Command, args []string) error {
			err := mover.Run(cmd.Context(), args, mover.Env{Stdout: a.Stdout, Stderr: a.Stderr, Getenv: a.Getenv})
			if errors.Is(err, mover.ErrUsage) {
				return cli.Usage(err)
			}
			return err
		},
	}
}
