package cli

import (
	"context"
	"io"
	"log/slog"
	"os"

	"github.com/spf13/cobra"
	"golang.org/x/term"

	"github.com/cairnbackup/cairn/crypto"
	"github.com/cairnbackup/cairn/repo"
)

// Environment variables cairn reads.
const (
	EnvRepo            = "CAIRN_REPO"
	EnvPassword        = "CAIRN_PASSWORD"
	EnvPasswordFile    = "CAIRN_PASSWORD_FILE"
	EnvNewPassword     = "CAIRN_NEW_PASSWORD"
	EnvNewPasswordFile = "CAIRN_NEW_PASSWORD_FILE"
	EnvCacheDir        = "CAIRN_CACHE_DIR"
	EnvKDF             = "CAIRN_KDF"
)

// App is one invocation of a cairn binary: its standard streams, environment, and global
// options.
type App struct {
	Stdin          io.Reader
	Stdout, Stderr io.Writer
	Getenv         func(string) string

	// IsTerminal reports whether a stream is an interactive terminal.
	IsTerminal func(any) bool
	// ReadPassword reads a password without echo; nil means "prompt on stdin when it is a
	// terminal".
	ReadPassword func(prompt string) ([]byte, error)
	// StdinIsData is set when stdin carries backup data, so it is never used for a prompt.
	StdinIsData bool

	// Global flags, resolved against the environment when a command starts.
	RepoLocation string
	PasswordFile string
	CacheDir     string
	KDF          string
	JSON         bool
	Quiet        bool
	Verbose      int
	ProfileDir   string

	// profiles is the running --profile-dir profiling, stopped by Run.
	profiles *profiles

	// Log is the logger configured by -q/-v/--json.
	Log *slog.Logger
}

// New returns an App on the given streams and environment lookup.
func New(stdin io.Reader, stdout, stderr io.Writer, getenv func(string) string) *App {
	return &App{Stdin: stdin, Stdout: stdout, Stderr: stderr, Getenv: getenv, IsTerminal: isTerminal,
		Log: slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))}
}

// isTerminal reports whether v is an *os.File connected to a terminal.
func isTerminal(v any) bool {
	f, ok := v.(*os.File)
	return ok && f != nil && term.IsTerminal(int(f.Fd()))
}

// SetupRoot makes root the root of a command tree run by a: errors and usage are printed by
// Run, the streams are a's, and the global flags are root's persistent flags.
func (a *App) SetupRoot(root *cobra.Command) {
	root.SilenceErrors = true
	root.SilenceUsage = true
	root.PersistentPreRunE = func(cmd *cobra.Command, _ []string) error { return a.setup(cmd) }
	root.SetFlagErrorFunc(func(_ *cobra.Command, err error) error { return Usage(err) })
	root.SetIn(a.Stdin)
	root.SetOut(a.Stdout)
	root.SetErr(a.Stderr)

	pf := root.PersistentFlags()
	pf.StringVarP(&a.RepoLocation, "repo", "r", "", "repository location: a directory, s3://host:port/bucket/prefix, or a zones .yaml file (env "+EnvRepo+")")
	pf.StringVar(&a.PasswordFile, "password-file", "", "read the repository password from this file (env "+EnvPasswordFile+")")
	pf.StringVar(&a.CacheDir, "cache-dir", "", `local cache directory (index cache; spool/ stages packs bound for S3 or zones), "off" to disable (env `+EnvCacheDir+`)`)
	pf.BoolVar(&a.JSON, "json", false, "print JSON instead of text (progress as JSON lines on stderr)")
	pf.BoolVarP(&a.Quiet, "quiet", "q", false, "print nothing but errors (and requested listings)")
	pf.CountVarP(&a.Verbose, "verbose", "v", "log more to stderr (-v info, -vv debug)")
	pf.StringVar(&a.KDF, "kdf", "", `key derivation for new key slots (init, key add|passwd): "default" = Argon2id 32 MiB,
"strong" = Argon2id 64 MiB (RFC 9106) for passwords a person chose (env `+EnvKDF+`)`)
	pf.StringVar(&a.ProfileDir, "profile-dir", "", "write Go CPU and allocation profiles and an execution trace of the command to this\ndirectory, for performance reports; read them with 'go tool pprof' and 'go tool trace'\n(env "+EnvProfileDir+")")
}

// setup resolves global flags against the environment and configures logging.
func (a *App) setup(cmd *cobra.Command) error {
	fromEnv := func(v *string, flag, env string) {
		if !cmd.Flags().Changed(flag) {
			*v = a.Getenv(env)
		}
	}
	fromEnv(&a.RepoLocation, "repo", EnvRepo)
	fromEnv(&a.PasswordFile, "password-file", EnvPasswordFile)
	fromEnv(&a.CacheDir, "cache-dir", EnvCacheDir)
	fromEnv(&a.KDF, "kdf", EnvKDF)
	fromEnv(&a.ProfileDir, "profile-dir", EnvProfileDir)
	if _, err := a.KDFParams(); err != nil {
		return err
	}
	if a.Quiet && a.Verbose > 0 {
		return Usagef("--quiet and --verbose contradict each other")
	}
	level := slog.LevelWarn
	switch {
	case a.Quiet:
		level = slog.LevelError
	case a.Verbose == 1:
		level = slog.LevelInfo
	case a.Verbose > 1:
		level = slog.LevelDebug
	}
	opts := &slog.HandlerOptions{Level: level}
	if a.JSON {
		a.Log = slog.New(slog.NewJSONHandler(a.Stderr, opts))
	} else {
		a.Log = slog.New(slog.NewTextHandler(a.Stderr, opts))
	}
	if a.ProfileDir != "" && a.profiles == nil {
		p, err := startProfiles(a.ProfileDir, cmd)
		if err != nil {
			return WithHint(err, "--profile-dir (or "+EnvProfileDir+") must name a directory cairn can create or write to")
		}
		a.profiles = p
	}
	return nil
}

// KDFParams returns the key derivation parameters for new key slots (nil: the default).
func (a *App) KDFParams() (*crypto.KDFParams, error) {
	switch a.KDF {
	case "", "default":
		return nil, nil
	case "strong":
		p := crypto.StrongKDFParams()
		return &p, nil
	case "test": // not advertised: cheap key slots for tests, never for real repositories
		p := crypto.TestKDFParams()
		return &p, nil
	}
	return nil, Usagef(`unknown key derivation setting %q (%s / --kdf accept "default" or "strong")`, a.KDF, EnvKDF)
}

// Location returns the repository location or a usage error naming how to give one.
func (a *App) Location() (string, error) {
	if a.RepoLocation == "" {
		return "", WithHint(Usagef("no repository given"), "pass --repo LOCATION or set "+EnvRepo)
	}
	return a.RepoLocation, nil
}

// OpenRepo opens the repository named by --repo with the resolved password.
func (a *App) OpenRepo(ctx context.Context) (*repo.Repository, error) {
	loc, err := a.Location()
	if err != nil {
		return nil, err
	}
	pw, err := a.Password(ctx, PasswordPrompt{Prompt: "Repository password: "})
	if err != nil {
		return nil, err
	}
	defer clear(pw)
	a.Log.Debug("opening repository", "location", loc)
	// repo's errors already name the location; they are returned as they are.
	return repo.Open(ctx, loc, repo.OpenOptions{Password: pw, CacheDir: a.CacheDir, Logger: a.Log})
}
