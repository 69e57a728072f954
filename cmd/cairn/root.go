package main

import (
	"io"

	"github.com/spf13/cobra"

	"github.com/cairnbackup/cairn/internal/cli"
)

// app is one invocation of cairn: the shared CLI state (streams, environment, global flags)
// plus the command tree of this binary.
type app struct {
	*cli.App

	// extraCmds are added to the command tree (tests use it to exercise panic recovery).
	extraCmds []*cobra.Command
}

func newApp(stdin io.Reader, stdout, stderr io.Writer, getenv func(string) string) *app {
	return &app{App: cli.New(stdin, stdout, stderr, getenv)}
}

const rootLong = `cairn stores backups of block volumes (disks, volume images, streams) in an
encrypted, deduplicated repository. Data is split into content-defined chunks;
a chunk already stored (by an earlier backup, or another volume) is never stored
twice, so repeated backups of a mostly unchanged volume are fast and small.
Zero runs and file holes cost nothing.

A repository is a local directory (the default), one S3/MinIO bucket
("s3://host:port/bucket/prefix"), or several zones with erasure-coded packs
(a zones file, "zones.yaml"; see docs/ZONES.md). Name it with --repo or CAIRN_REPO. Every command except init and quickstart
opens an existing repository and needs its password.

Password sources, first match wins:
  --password-file FILE, CAIRN_PASSWORD_FILE, CAIRN_PASSWORD, then a prompt when
  stdin is a terminal.

Environment:
  CAIRN_REPO           repository location (same as --repo)
  CAIRN_PASSWORD       the repository password
  CAIRN_PASSWORD_FILE  file holding the password (same as --password-file)
  CAIRN_CACHE_DIR      local index cache directory (same as --cache-dir; "off" disables)
  CAIRN_KDF            key derivation of new key slots: default or strong (like --kdf)
  CAIRN_PROFILE_DIR    write Go profiles and an execution trace there (like --profile-dir)

Output: tables on stdout; --json prints JSON instead (progress as JSON lines on
stderr, final summaries on stdout). Errors go to stderr as "cairn: <message>".

` + cli.ExitCodesHelp

const rootExample = `  # new to cairn? a self-contained demo on a temporary repository:
  cairn quickstart

  export CAIRN_REPO=/backups/repo
  cairn init
  cairn backup --name pvc-data /dev/vg0/pvc-data
  cairn snapshots
  cairn restore latest --name pvc-data /tmp/pvc-data.img`

// rootCmd builds the command tree for one invocation.
func (a *app) rootCmd() *cobra.Command {
	root := &cobra.Command{
		Use:     "cairn",
		Short:   "Fast, deduplicating, encrypted backups of block volumes",
		Long:    rootLong,
		Example: rootExample,
		Args:    cobra.ArbitraryArgs,
		RunE:    cli.GroupRunE,
	}
	a.SetupRoot(root)

	root.AddCommand(
		a.initCmd(), a.backupCmd(), a.restoreCmd(), a.snapshotsCmd(), a.lsCmd(), a.catCmd(),
		a.keyCmd(), a.quickstartCmd(), a.versionCmd(),
	)
	root.AddCommand(a.forgetCmd(), a.pruneCmd(), a.checkCmd(), a.repairCmd(), a.unlockCmd())
	root.AddCommand(a.k8sCmd())
	root.AddCommand(a.moverCmd())
	root.AddCommand(a.zonesCmd())
	root.AddCommand(a.extraCmds...)
	return root
}
