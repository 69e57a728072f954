package main

import (
	"context"
	"errors"
	"strings"
)

// cairnTool drives the cairn CLI. Repository, password and cache come from the
// environment (CAIRN_REPO, CAIRN_PASSWORD, CAIRN_CACHE_DIR); CAIRN_KDF only with
// --cairn-kdf, CAIRN_PROFILE_DIR only with --cairn-profile. On object storage CAIRN_REPO is a zones file (4+2 over six servers).
type cairnTool struct {
	bin string
	kdf string
}

func (t *cairnTool) Name() string { return "cairn" }

func (t *cairnTool) Env(ws *Workspace) []string {
	env := []string{"CAIRN_REPO=" + ws.Repo, "CAIRN_PASSWORD=" + ws.Password, "CAIRN_CACHE_DIR=" + ws.Cache}
	if t.kdf != "" {
		env = append(env, "CAIRN_KDF="+t.kdf)
	}
	if ws.ProfileDir != "" {
		env = append(env, "CAIRN_PROFILE_DIR="+ws.ProfileDir)
	}
	return append(env, ws.RepoEnv...)
}

func (t *cairnTool) cmd(ws *Workspace, args ...string) Cmd {
	return Cmd{Args: append([]string{t.bin}, args...), Env: t.Env(ws)}
}

func (t *cairnTool) Version(ctx context.Context, r Runner, ws *Workspace) string {
	out, err := r.Helper(ctx, t.cmd(ws, "version"))
	if err != nil {
		return "dev"
	}
	return firstLine(out)
}

func (t *cairnTool) Init(ctx context.Context, r Runner, ws *Workspace) error {
	_, err := r.Run(ctx, t.cmd(ws, "init"))
	return err
}

func (t *cairnTool) Backup(ctx context.Context, r Runner, ws *Workspace) error {
	_, err := r.Run(ctx, t.cmd(ws, "backup", "--name", "vol", ws.Source))
	return err
}

func (t *cairnTool) Snapshots(ctx context.Context, r Runner, ws *Workspace) error {
	_, err := r.Run(ctx, t.cmd(ws, "snapshots", "--json"))
	return unsupported(err)
}

func (t *cairnTool) Restore(ctx context.Context, r Runner, ws *Workspace) error {
	_, err := r.Run(ctx, t.cmd(ws, "restore", "latest", ws.Restore))
	return err
}

func (t *cairnTool) Check(ctx context.Context, r Runner, ws *Workspace) error {
	_, err := r.Run(ctx, t.cmd(ws, "check"))
	return unsupported(err)
}

// Prune forgets every snapshot but the newest, then prunes with no grace period, so the
// space is reclaimed in this phase as restic's "forget --prune" and kopia's full
// maintenance with --safety=none do (cairn's two phases, mark and sweep, run in one command
// when no other backup is running).
func (t *cairnTool) Prune(ctx context.Context, r Runner, ws *Workspace) error {
	if _, err := r.Run(ctx, t.cmd(ws, "forget", "--keep-last", "1")); err != nil {
		return unsupported(err)
	}
	_, err := r.Run(ctx, t.cmd(ws, "prune", "--grace", "0"))
	return unsupported(err)
}

// unsupported maps "this command or flag does not exist" (exit code 2, a usage error,
// or cobra's "unknown command"/"unknown flag") to ErrUnsupported.
func unsupported(err error) error {
	var ce *CmdError
	if !errors.As(err, &ce) {
		return err
	}
	low := strings.ToLower(ce.Stderr)
	if ce.Code == 2 || strings.Contains(low, "unknown command") || strings.Contains(low, "unknown flag") {
		return errors.Join(ErrUnsupported, err)
	}
	return err
}
