package main

import (
	"context"
	"encoding/json"
	"fmt"
	"path/filepath"
	"sort"
	"time"
)

// kopiaTool drives kopia with a filesystem or S3 repository. Settings (docs/BENCHMARKS.md):
// object splitter DYNAMIC-512K-BUZHASH (256 KiB-1 MiB chunks, nearest to cairn's
// 256 KiB-4 MiB around 512 KiB; kopia's default is DYNAMIC-4M-BUZHASH), global policy
// compression zstd-fastest, default hash BLAKE2B-256-128 and encryption AES256-GCM-HMAC-SHA256; config, cache and logs kept in
// the workspace; update checks off.
type kopiaTool struct{ bin string }

// kopiaSplitter is the splitter given to "repository create".
const kopiaSplitter = "DYNAMIC-512K-BUZHASH"

func (t *kopiaTool) Name() string { return "kopia" }

func (t *kopiaTool) Env(ws *Workspace) []string {
	return append([]string{"KOPIA_PASSWORD=" + ws.Password, "KOPIA_CHECK_FOR_UPDATES=false"}, ws.RepoEnv...)
}

// cmd appends the flags every kopia command needs to find its config and write logs.
func (t *kopiaTool) cmd(ws *Workspace, args ...string) Cmd {
	a := append([]string{t.bin}, args...)
	a = append(a, "--config-file="+filepath.Join(ws.Config, "kopia.config"), "--log-dir="+ws.Logs)
	return Cmd{Args: a, Env: t.Env(ws)}
}

func (t *kopiaTool) Version(ctx context.Context, r Runner, ws *Workspace) string {
	out, err := r.Helper(ctx, Cmd{Args: []string{t.bin, "--version"}, Env: t.Env(ws)})
	if err != nil {
		return "unknown"
	}
	return firstLine(out)
}

// Init creates and connects the repository and sets the global compression policy;
// both commands are part of the measured init phase.
func (t *kopiaTool) Init(ctx context.Context, r Runner, ws *Workspace) error {
	if _, err := r.Run(ctx, t.cmd(ws, kopiaCreateArgs(ws)...)); err != nil {
		return err
	}
	_, err := r.Run(ctx, t.cmd(ws, "policy", "set", "--global", "--compression=zstd-fastest"))
	return err
}

func (t *kopiaTool) Backup(ctx context.Context, r Runner, ws *Workspace) error {
	_, err := r.Run(ctx, t.cmd(ws, "snapshot", "create", ws.Source))
	return err
}

func (t *kopiaTool) Snapshots(ctx context.Context, r Runner, ws *Workspace) error {
	_, err := r.Run(ctx, t.cmd(ws, "snapshot", "list", "--json", ws.Source))
	return err
}

// Restore restores the newest snapshot of the source path (parallel restore, default
// settings: no sparse writing).
func (t *kopiaTool) Restore(ctx context.Context, r Runner, ws *Workspace) error {
	_, err := r.Run(ctx, t.cmd(ws, "restore", ws.Source, ws.Restore, "--snapshot-time=latest"))
	return err
}

// Check runs "snapshot verify": every snapshot's directory and object index resolves
// to existing contents (no file data read, --verify-files-percent=0), restic check's
// class.
func (t *kopiaTool) Check(ctx context.Context, r Runner, ws *Workspace) error {
	_, err := r.Run(ctx, t.cmd(ws, "snapshot", "verify"))
	return err
}

// Prune deletes every snapshot but the newest (IDs looked up unmeasured), then runs full
// maintenance with --safety=none so the space is reclaimed now rather than after
// kopia's usual safety delays.
func (t *kopiaTool) Prune(ctx context.Context, r Runner, ws *Workspace) error {
	out, err := r.Helper(ctx, t.cmd(ws, "snapshot", "list", "--json", ws.Source))
	if err != nil {
		return err
	}
	ids, err := kopiaOldSnapshots(out)
	if err != nil {
		return err
	}
	for _, id := range ids {
		if _, err := r.Run(ctx, t.cmd(ws, "snapshot", "delete", id, "--delete")); err != nil {
			return err
		}
	}
	_, err = r.Run(ctx, t.cmd(ws, "maintenance", "run", "--full", "--safety=none"))
	return err
}

// kopiaOldSnapshots parses "kopia snapshot list --json" and returns the IDs of every
// snapshot except the newest.
func kopiaOldSnapshots(listJSON []byte) ([]string, error) {
	var snaps []struct {
		ID        string    `json:"id"`
		StartTime time.Time `json:"startTime"`
	}
	if err := json.Unmarshal(listJSON, &snaps); err != nil {
		return nil, fmt.Errorf("kopia snapshot list: %w", err)
	}
	sort.Slice(snaps, func(i, j int) bool { return snaps[i].StartTime.Before(snaps[j].StartTime) })
	var ids []string
	for i := 0; i+1 < len(snaps); i++ {
		ids = append(ids, snaps[i].ID)
	}
	return ids, nil
}

// kopiaCreateArgs returns the "repository create" arguments: a filesystem repository at
// ws.Repo, or an S3 repository in the first of ws.S3 (plain HTTP, static credentials).
func kopiaCreateArgs(ws *Workspace) []string {
	common := []string{"--cache-directory=" + ws.Cache, "--object-splitter=" + kopiaSplitter}
	if len(ws.S3) == 0 {
		return append([]string{"repository", "create", "filesystem", "--path=" + ws.Repo}, common...)
	}
	t := ws.S3[0]
	return append([]string{"repository", "create", "s3", "--endpoint=" + t.Endpoint, "--bucket=" + t.Bucket,
		"--prefix=" + t.Prefix + "/", "--access-key=" + t.AccessKey, "--secret-access-key=" + t.SecretKey,
		"--disable-tls"}, common...)
}
