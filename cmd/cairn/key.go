package main

import (
	"context"
	"fmt"
	"strings"

	"github.com/spf13/cobra"

	"github.com/cairnbackup/cairn/internal/cli"
	"github.com/cairnbackup/cairn/repo"
)

// keySummary is the JSON summary of "cairn key add" and "cairn key passwd".
type keySummary struct {
	Type string       `json:"type"` // "summary"
	Op   string       `json:"op"`   // "key add", "key passwd", "key remove"
	Key  repo.KeyInfo `json:"key"`
}

func (a *app) keyCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "key list|add|remove ID|passwd",
		Short: "Manage the password key slots of a repository",
		Long: `A repository's master key is stored sealed in one or more key slots, each
opened by its own password (Argon2id). Any slot's password opens the repository.

  list        list the key slots; the one this session opened is marked *
  add         add a slot with a new password (e.g. for a second admin, or before
              retiring an old password)
  remove ID   remove a slot (full ID or unique prefix); the slot in use and the
              last slot cannot be removed
  passwd      change the password: add a slot for the new password, then remove
              the slot in use

New passwords come from --new-password-file, CAIRN_NEW_PASSWORD_FILE or
CAIRN_NEW_PASSWORD, else a prompt (asked twice) when stdin is a terminal.`,
		Example: `  cairn key list
  CAIRN_NEW_PASSWORD_FILE=/etc/cairn/new-password cairn key add
  cairn key remove 5e0c1f2a
  cairn key passwd --new-password-file new.txt`,
		Args: cobra.ArbitraryArgs,
		RunE: cli.GroupRunE,
	}
	cmd.AddCommand(a.keyListCmd(), a.keyAddCmd(), a.keyRemoveCmd(), a.keyPasswdCmd())
	return cmd
}

func (a *app) keyListCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "list",
		Short: "List the key slots",
		Long: `List the repository's key slots, oldest first: ID, whether it is the slot this
session opened (*), when it was created, and by which user on which host.`,
		Example: `  cairn key list
  cairn key list --json`,
		Args: cli.ExactArgs(),
		RunE: func(cmd *cobra.Command, _ []string) error { return a.runKeyList(cmd.Context()) },
	}
}

func (a *app) runKeyList(ctx context.Context) error {
	r, err := a.OpenRepo(ctx)
	if err != nil {
		return err
	}
	defer r.Close()
	keys, err := r.Keys(ctx)
	if err != nil {
		return err
	}
	if keys == nil {
		keys = []repo.KeyInfo{}
	}
	if a.JSON {
		return cli.PrintJSON(a.Stdout, keys)
	}
	tw := cli.NewTable(a.Stdout)
	fmt.Fprintln(tw, " \tID\tCREATED\tUSER\tHOST")
	for _, k := range keys {
		cur := " "
		if k.Current {
			cur = "*"
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", cur, short(k.ID), k.Created.Local().Format("2006-01-02 15:04:05"), k.Username, k.Hostname)
	}
	return tw.Flush()
}

func (a *app) keyAddCmd() *cobra.Command {
	var newFile string
	cmd := &cobra.Command{
		Use:   "add",
		Short: "Add a key slot with a new password",
		Long: `Add a key slot opened by a new password. The repository is opened with the
current password (--password-file, CAIRN_PASSWORD_FILE, CAIRN_PASSWORD or a
prompt); the new one comes from --new-password-file, CAIRN_NEW_PASSWORD_FILE,
CAIRN_NEW_PASSWORD or a prompt asked twice.`,
		Example: `  cairn key add
  cairn key add --new-password-file /etc/cairn/ops-password`,
		Args: cli.ExactArgs(),
		RunE: func(cmd *cobra.Command, _ []string) error { return a.runKeyAdd(cmd.Context(), newFile, false) },
	}
	cmd.Flags().StringVar(&newFile, "new-password-file", "", "read the new password from this file (env "+cli.EnvNewPasswordFile+")")
	return cmd
}

func (a *app) keyPasswdCmd() *cobra.Command {
	var newFile string
	cmd := &cobra.Command{
		Use:   "passwd",
		Short: "Change the password of the key slot in use",
		Long: `Change the repository password: add a key slot for the new password, then
remove the slot this session opened. Other slots are kept.`,
		Example: `  cairn key passwd
  CAIRN_PASSWORD_FILE=old.txt cairn key passwd --new-password-file new.txt`,
		Args: cli.ExactArgs(),
		RunE: func(cmd *cobra.Command, _ []string) error { return a.runKeyAdd(cmd.Context(), newFile, true) },
	}
	cmd.Flags().StringVar(&newFile, "new-password-file", "", "read the new password from this file (env "+cli.EnvNewPasswordFile+")")
	return cmd
}

// runKeyAdd adds a key slot, or with passwd replaces the one in use.
func (a *app) runKeyAdd(ctx context.Context, newFile string, passwd bool) error {
	kdf, err := a.KDFParams()
	if err != nil {
		return err
	}
	r, err := a.OpenRepo(ctx)
	if err != nil {
		return err
	}
	defer r.Close()
	pw, err := a.Password(ctx, cli.PasswordPrompt{Prompt: "New password: ", Confirm: true, NewPassword: true, FileFlag: newFile})
	if err != nil {
		return err
	}
	defer clear(pw)
	op := "key add"
	var ki repo.KeyInfo
	if passwd {
		op = "key passwd"
		ki, err = r.ChangePassword(ctx, pw, kdf)
	} else {
		ki, err = r.AddKey(ctx, pw, kdf)
	}
	if err != nil {
		return err
	}
	switch {
	case a.Quiet:
		return nil
	case a.JSON:
		return cli.PrintJSON(a.Stdout, keySummary{Type: "summary", Op: op, Key: ki})
	case passwd:
		_, err = fmt.Fprintf(a.Stdout, "password changed: new key %s, the old key was removed\n", short(ki.ID))
	default:
		_, err = fmt.Fprintf(a.Stdout, "added key %s\n", short(ki.ID))
	}
	return err
}

func (a *app) keyRemoveCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "remove ID",
		Short: "Remove a key slot",
		Long: `Remove the key slot ID (a full ID or a unique prefix, see 'cairn key list').
Its password no longer opens the repository. The slot this session opened, and
the last remaining slot, cannot be removed.`,
		Example: `  cairn key remove 5e0c1f2a`,
		Args:    cli.ExactArgs("ID"),
		RunE:    func(cmd *cobra.Command, args []string) error { return a.runKeyRemove(cmd.Context(), args[0]) },
	}
}

func (a *app) runKeyRemove(ctx context.Context, id string) error {
	r, err := a.OpenRepo(ctx)
	if err != nil {
		return err
	}
	defer r.Close()
	// Find the slot first so the summary can describe it; RemoveKey does the checks.
	removed := repo.KeyInfo{ID: id}
	if keys, err := r.Keys(ctx); err == nil {
		n := 0
		for _, k := range keys {
			if strings.HasPrefix(k.ID, strings.ToLower(id)) {
				removed, n = k, n+1
			}
		}
		if n != 1 {
			removed = repo.KeyInfo{ID: id}
		}
	}
	if err := r.RemoveKey(ctx, id); err != nil {
		return err
	}
	switch {
	case a.Quiet:
		return nil
	case a.JSON:
		return cli.PrintJSON(a.Stdout, keySummary{Type: "summary", Op: "key remove", Key: removed})
	}
	_, err = fmt.Fprintf(a.Stdout, "removed key %s\n", short(removed.ID))
	return err
}
