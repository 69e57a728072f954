package main

import (
	"context"
	"fmt"

	"github.com/spf13/cobra"

	"github.com/cairnbackup/cairn/chunk"
	"github.com/cairnbackup/cairn/internal/cli"
	"github.com/cairnbackup/cairn/repo"
)

// initSummary is the JSON summary of "cairn init".
type initSummary struct {
	Type         string `json:"type"` // "summary"
	Op           string `json:"op"`   // "init"
	Location     string `json:"location"`
	RepositoryID string `json:"repository_id"`
	KeyID        string `json:"key_id"`
	Compression  string `json:"compression"`
	PackSize     int    `json:"pack_size"`
}

func (a *app) initCmd() *cobra.Command {
	var compression, chunker string
	cmd := &cobra.Command{
		Use:   "init",
		Short: "Create a new repository",
		Long: `Create a new, empty repository at --repo (or CAIRN_REPO) protected by a password.

The password comes from --password-file, CAIRN_PASSWORD_FILE or CAIRN_PASSWORD;
otherwise cairn asks for it twice on the terminal. The password unlocks a key
slot that holds the repository's master key: without the password (or another
key slot added with 'cairn key add') the backups cannot be read by anyone,
including you. Keep it safe.

init refuses to touch a location that already holds a repository (exit code 4).`,
		Example: `  cairn init --repo /backups/repo
  CAIRN_REPO=/backups/repo CAIRN_PASSWORD_FILE=/etc/cairn/password cairn init
  cairn init --repo /backups/repo --compression better
  cairn init --repo /backups/repo --chunker rabin`,
		Args: cli.ExactArgs(),
		RunE: func(cmd *cobra.Command, _ []string) error { return a.runInit(cmd.Context(), compression, chunker) },
	}
	cmd.Flags().StringVar(&compression, "compression", "fastest", `zstd level for stored data: "fastest", "default", "better" or "off"`)
	cmd.Flags().StringVar(&chunker, "chunker", chunk.DefaultAlgorithm, `content-defined chunking: "fastcdc" (fast, keyed gear hash) or "rabin" (restic's Rabin fingerprint)`)
	return cmd
}

func (a *app) runInit(ctx context.Context, compression, chunker string) error {
	loc, err := a.Location()
	if err != nil {
		return err
	}
	switch compression {
	case "fastest", "default", "better", "off":
	default:
		return cli.Usagef(`--compression must be "fastest", "default", "better" or "off", not %q`, compression)
	}
	params, err := chunk.DefaultParamsFor(chunker)
	if err != nil {
		return cli.Usagef(`--chunker must be "fastcdc" or "rabin", not %q`, chunker)
	}
	kdf, err := a.KDFParams()
	if err != nil {
		return err
	}
	pw, err := a.Password(ctx, cli.PasswordPrompt{Prompt: "Password for the new repository: ", Confirm: true})
	if err != nil {
		return err
	}
	defer clear(pw)
	r, err := repo.Init(ctx, loc, repo.InitOptions{Password: pw, Compression: compression, KDF: kdf, Chunker: &params,
		CacheDir: a.CacheDir, Logger: a.Log})
	if err != nil {
		return err
	}
	defer r.Close()
	sum := initSummary{Type: "summary", Op: "init", Location: r.Location(), RepositoryID: r.Config().ID,
		Compression: r.Config().Compression, PackSize: r.Config().PackSize}
	if keys, err := r.Keys(ctx); err == nil {
		for _, k := range keys {
			if k.Current {
				sum.KeyID = k.ID
			}
		}
	}
	return a.printInit(sum)
}

func (a *app) printInit(s initSummary) error {
	switch {
	case a.Quiet:
		return nil
	case a.JSON:
		return cli.PrintJSON(a.Stdout, s)
	}
	_, err := fmt.Fprintf(a.Stdout, "created repository %s at %s\n"+
		"keep the password safe: without it nobody can read the backups\n", short(s.RepositoryID), s.Location)
	return err
}

// short returns the first 8 characters of a hex ID.
func short(id string) string {
	if len(id) > 8 {
		return id[:8]
	}
	return id
}
