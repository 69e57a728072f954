package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"strings"

	"github.com/spf13/cobra"
	"golang.org/x/term"

	"github.com/cairnbackup/cairn/crypto"
	"github.com/cairnbackup/cairn/repo"
)

// Environment variables cairn reads.
const (
	envRepo            = "CAIRN_REPO"
	envPassword        = "CAIRN_PASSWORD"
	envPasswordFile    = "CAIRN_PASSWORD_FILE"
	envNewPassword     = "CAIRN_NEW_PASSWORD"
	envNewPasswordFile = "CAIRN_NEW_PASSWORD_FILE"
	envCacheDir        = "CAIRN_CACHE_DIR"
	envKDF             = "CAIRN_KDF"
)

// app is one invocation of cairn: its standard streams, environment, and global options.
type app struct {
	stdin          io.Reader
	stdout, stderr io.Writer
	getenv         func(string) string

	// isTerminal reports whether a stream is an interactive terminal.
	isTerminal func(any) bool
	// readPassword reads a password without echo; nil means "prompt on stdin when it is a
	// terminal".
	readPassword func(prompt string) ([]byte, error)
	// stdinIsData is set when stdin carries backup data, so it is never used for a prompt.
	stdinIsData bool

	// Global flags, resolved against the environment in setup.
	repoLocation string
	passwordFile string
	cacheDir     string
	kdf          string
	jsonOut      bool
	quiet        bool
	verbose      int

	log *slog.Logger

	// extraCmds are added to the command tree (tests use it to exercise panic recovery).
	extraCmds []*cobra.Command
}

func newApp(stdin io.Reader, stdout, stderr io.Writer, getenv func(string) string) *app {
	return &app{stdin: stdin, stdout: stdout, stderr: stderr, getenv: getenv, isTerminal: isTerminal,
		log: slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))}
}

// isTerminal reports whether v is an *os.File connected to a terminal.
func isTerminal(v any) bool {
	f, ok := v.(*os.File)
	return ok && f != nil && term.IsTerminal(int(f.Fd()))
}

const rootLong = `cairn stores backups of block volumes (disks, volume images, streams) in an
encrypted, deduplicated repository. Data is split into content-defined chunks;
a chunk already stored (by an earlier backup, or another volume) is never stored
twice, so repeated backups of a mostly unchanged volume are fast and small.
Zero runs and file holes cost nothing.

A repository is a local directory (S3 and multi-zone erasure sets come later).
Name it with --repo or CAIRN_REPO. Every command except init and quickstart
opens an existing repository and needs its password.

Password sources, first match wins:
  --password-file FILE, CAIRN_PASSWORD_FILE, CAIRN_PASSWORD, then a prompt when
  stdin is a terminal.

Environment:
  CAIRN_REPO           repository location (same as --repo)
  CAIRN_PASSWORD       the repository password
  CAIRN_PASSWORD_FILE  file holding the password (same as --password-file)
  CAIRN_CACHE_DIR      local index cache directory (same as --cache-dir; "off" disables)
  CAIRN_KDF            "test": cheap key derivation for new key slots (tests only!)

Output: tables on stdout; --json prints JSON instead (progress as JSON lines on
stderr, final summaries on stdout). Errors go to stderr as "cairn: <message>".

` + exitCodesHelp

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
		Use:               "cairn",
		Short:             "Fast, deduplicating, encrypted backups of block volumes",
		Long:              rootLong,
		Example:           rootExample,
		SilenceErrors:     true,
		SilenceUsage:      true,
		Args:              cobra.ArbitraryArgs,
		PersistentPreRunE: func(cmd *cobra.Command, _ []string) error { return a.setup(cmd) },
		RunE:              groupRunE,
	}
	root.SetFlagErrorFunc(func(_ *cobra.Command, err error) error { return usageError{err} })
	root.SetIn(a.stdin)
	root.SetOut(a.stdout)
	root.SetErr(a.stderr)

	pf := root.PersistentFlags()
	pf.StringVarP(&a.repoLocation, "repo", "r", "", "repository location: a directory, s3://host:port/bucket/prefix, or a zones .yaml file (env "+envRepo+")")
	pf.StringVar(&a.passwordFile, "password-file", "", "read the repository password from this file (env "+envPasswordFile+")")
	pf.StringVar(&a.cacheDir, "cache-dir", "", `local cache directory, "off" to disable (env `+envCacheDir+`)`)
	pf.BoolVar(&a.jsonOut, "json", false, "print JSON instead of text (progress as JSON lines on stderr)")
	pf.BoolVarP(&a.quiet, "quiet", "q", false, "print nothing but errors (and requested listings)")
	pf.CountVarP(&a.verbose, "verbose", "v", "log more to stderr (-v info, -vv debug)")
	pf.StringVar(&a.kdf, "kdf", "", `key derivation for new key slots: "test" is cheap, FOR TESTS ONLY (env `+envKDF+`)`)
	_ = pf.MarkHidden("kdf")

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

// groupRunE runs a command that only groups subcommands: help without arguments, a usage
// error (with suggestions) for an unknown subcommand.
func groupRunE(cmd *cobra.Command, args []string) error {
	if len(args) == 0 {
		return cmd.Help()
	}
	msg := fmt.Sprintf("unknown command %q for %q", args[0], cmd.CommandPath())
	if cmd.SuggestionsMinimumDistance <= 0 {
		cmd.SuggestionsMinimumDistance = 2
	}
	if s := cmd.SuggestionsFor(args[0]); len(s) > 0 {
		msg += "; did you mean " + strings.Join(s, " or ") + "?"
	}
	return usageError{fmt.Errorf("%s", msg)}
}

// setup resolves global flags against the environment and configures logging.
func (a *app) setup(cmd *cobra.Command) error {
	fromEnv := func(v *string, flag, env string) {
		if !cmd.Flags().Changed(flag) {
			*v = a.getenv(env)
		}
	}
	fromEnv(&a.repoLocation, "repo", envRepo)
	fromEnv(&a.passwordFile, "password-file", envPasswordFile)
	fromEnv(&a.cacheDir, "cache-dir", envCacheDir)
	fromEnv(&a.kdf, "kdf", envKDF)
	if _, err := a.kdfParams(); err != nil {
		return err
	}
	if a.quiet && a.verbose > 0 {
		return usagef("--quiet and --verbose contradict each other")
	}
	level := slog.LevelWarn
	switch {
	case a.quiet:
		level = slog.LevelError
	case a.verbose == 1:
		level = slog.LevelInfo
	case a.verbose > 1:
		level = slog.LevelDebug
	}
	opts := &slog.HandlerOptions{Level: level}
	if a.jsonOut {
		a.log = slog.New(slog.NewJSONHandler(a.stderr, opts))
	} else {
		a.log = slog.New(slog.NewTextHandler(a.stderr, opts))
	}
	return nil
}

// kdfParams returns the key derivation parameters for new key slots (nil: the default).
func (a *app) kdfParams() (*crypto.KDFParams, error) {
	switch a.kdf {
	case "", "default":
		return nil, nil
	case "test":
		p := crypto.TestKDFParams()
		return &p, nil
	}
	return nil, usagef(`unknown key derivation setting %q (%s / --kdf accept "default" or "test")`, a.kdf, envKDF)
}

// location returns the repository location or a usage error naming how to give one.
func (a *app) location() (string, error) {
	if a.repoLocation == "" {
		return "", withHint(usagef("no repository given"), "pass --repo LOCATION or set "+envRepo)
	}
	return a.repoLocation, nil
}

// openRepo opens the repository named by --repo with the resolved password.
func (a *app) openRepo(ctx context.Context) (*repo.Repository, error) {
	loc, err := a.location()
	if err != nil {
		return nil, err
	}
	pw, err := a.password(ctx, passwordPrompt{prompt: "Repository password: "})
	if err != nil {
		return nil, err
	}
	defer clear(pw)
	a.log.Debug("opening repository", "location", loc)
	r, err := repo.Open(ctx, loc, repo.OpenOptions{Password: pw, CacheDir: a.cacheDir, Logger: a.log})
	if err != nil {
		return nil, err
	}
	return r, nil
}

// exactArgs is cobra.ExactArgs with usage errors and the argument names in the message.
func exactArgs(names ...string) cobra.PositionalArgs {
	return func(cmd *cobra.Command, args []string) error {
		if len(args) != len(names) {
			return usagef("%s takes %d argument(s): %s (got %d)", cmd.CommandPath(), len(names),
				strings.Join(names, " "), len(args))
		}
		return nil
	}
}
