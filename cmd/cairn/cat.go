package main

import (
	"context"
	"strings"

	"github.com/spf13/cobra"

	"github.com/cairnbackup/cairn/internal/cli"
	"github.com/cairnbackup/cairn/repo/backend"
)

// catTypes maps "cairn cat" kinds to backend types (singular and plural accepted).
var catTypes = map[string]backend.Type{
	"config":    backend.Config,
	"snapshot":  backend.Snapshot,
	"snapshots": backend.Snapshot,
	"index":     backend.Index,
	"key":       backend.Key,
	"keys":      backend.Key,
}

func (a *app) catCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "cat config | cat snapshot|index|key ID",
		Short: "Print a decoded repository object as JSON",
		Long: `Decrypt and decode one repository object and print it as indented JSON, for
debugging and for scripts:

  config          the repository configuration (format version, chunker, packs)
  snapshot ID     a snapshot ("latest", a full ID or a unique prefix)
  index ID        an index object: which blobs live in which pack, at what offset
  key ID          a password key slot (its KDF parameters; the sealed master key
                  stays sealed)

IDs may be unique prefixes; 'cairn ls index' and 'cairn ls keys' list them.
The output is JSON with or without --json.`,
		Example: `  cairn cat config
  cairn cat snapshot latest
  cairn cat index 3f2a | jq '.packs | length'
  cairn cat key $(cairn key list --json | jq -r '.[0].id')`,
		Args: func(cmd *cobra.Command, args []string) error {
			if len(args) == 0 {
				return cli.Usagef("cat needs an object kind: config, snapshot ID, index ID or key ID")
			}
			if _, ok := catTypes[args[0]]; !ok {
				return cli.Usagef("cat: unknown object kind %q (config, snapshot, index, key)", args[0])
			}
			want := 2
			if args[0] == "config" {
				want = 1
			}
			if len(args) != want {
				if want == 1 {
					return cli.Usagef("cat config takes no ID")
				}
				return cli.Usagef("cat %s needs exactly one ID", args[0])
			}
			return nil
		},
		RunE: func(cmd *cobra.Command, args []string) error {
			id := ""
			if len(args) > 1 {
				id = args[1]
			}
			return a.runCat(cmd.Context(), catTypes[args[0]], id)
		},
	}
}

func (a *app) runCat(ctx context.Context, t backend.Type, id string) error {
	r, err := a.OpenRepo(ctx)
	if err != nil {
		return err
	}
	defer r.Close()
	b, err := r.Cat(ctx, t, id)
	if err != nil {
		return err
	}
	out := strings.TrimRight(string(b), "\n") + "\n"
	_, err = a.Stdout.Write([]byte(out))
	return err
}
