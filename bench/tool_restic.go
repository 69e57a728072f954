package main

import (
	"context"
	"path/filepath"
)

// resticTool drives restic. Settings (docs/BENCHMARKS.md): repository format v2,
// compression auto (zstd default level), the Rabin chunker (512 KiB..8 MiB, ~1 MiB
// average), default 16 MiB packs, AES-256-CTR + Poly1305; --no-scan because a single
// file needs no progress estimate; --host pinned so the incremental finds its parent.
// On object storage the repository is s3:http://HOST:PORT/BUCKET/restic with the
// credentials in AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY and the default 5 connections.
type resticTool struct{ bin string }

func (t *resticTool) Name() string { return "restic" }

func (t *resticTool) Env(ws *Workspace) []string {
	return append([]string{"RESTIC_REPOSITORY=" + ws.Repo, "RESTIC_PASSWORD=" + ws.Password,
		"RESTIC_CACHE_DIR=" + ws.Cache, "RESTIC_COMPRESSION=auto", "RESTIC_PROGRESS_FPS=1"}, ws.RepoEnv...)
}

func (t *resticTool) cmd(ws *Workspace, args ...string) Cmd {
	return Cmd{Args: append([]string{t.bin}, args...), Env: t.Env(ws)}
}

func (t *resticTool) Version(ctx context.Context, r Runner, ws *Workspace) string {
	out, err := r.Helper(ctx, t.cmd(ws, "version"))
	if err != nil {
		return "unknown"
	}
	return firstLine(out)
}

func (t *resticTool) Init(ctx context.Context, r Runner, ws *Workspace) error {
	_, err := r.Run(ctx, t.cmd(ws, "init", "--repository-version", "2"))
	return err
}

func (t *resticTool) Backup(ctx context.Context, r Runner, ws *Workspace) error {
	_, err := r.Run(ctx, t.cmd(ws, "backup", "--no-scan", "--host", "bench", ws.Source))
	return err
}

func (t *resticTool) Snapshots(ctx context.Context, r Runner, ws *Workspace) error {
	_, err := r.Run(ctx, t.cmd(ws, "snapshots", "--json"))
	return err
}

// Restore uses "restore latest:<dir>" (parallel, like the others), so the file lands
// directly in the restore directory as vol.img.
func (t *resticTool) Restore(ctx context.Context, r Runner, ws *Workspace) error {
	_, err := r.Run(ctx, t.cmd(ws, "restore", "latest:"+ws.SrcDir, "--target", filepath.Dir(ws.Restore)))
	return err
}

// Check runs "restic check" (structure and index, no pack data read).
func (t *resticTool) Check(ctx context.Context, r Runner, ws *Workspace) error {
	_, err := r.Run(ctx, t.cmd(ws, "check"))
	return err
}

func (t *resticTool) Prune(ctx context.Context, r Runner, ws *Workspace) error {
	_, err := r.Run(ctx, t.cmd(ws, "forget", "--keep-last", "1", "--prune"))
	return err
}
