package main

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"strings"
)

// ErrUnsupported is returned by a tool for a phase its binary does not offer (yet);
// the phase is then reported as skipped.
var ErrUnsupported = errors.New("phase not supported by this tool")

// Workspace is the scratch area of one tool run: a fresh repository and everything the
// tool writes besides it. Only Repo counts towards the repository size.
type Workspace struct {
	Dir      string
	Repo     string     // the repository location given to the tool (set by the store)
	RepoEnv  []string   // credentials of the repository's backend, added to the tool's environment
	S3       []S3Target // the buckets holding the repository on object storage; nil for local
	Cache    string     // the tool's local cache
	Config   string     // the tool's config directory
	Logs     string
	SrcDir   string // holds Source
	Source   string // SrcDir/vol.img, a hard link to the generation being backed up
	Restore  string // where the restore phase writes the image
	Password string
	// ProfileDir is where the tool writes Go profiles of the current phase's commands (cairn
	// only, with --cairn-profile); empty: no profiling.
	ProfileDir string
}

// newWorkspace lays out a workspace under dir (nothing is created on disk).
func newWorkspace(dir string) *Workspace {
	return &Workspace{
		Dir: dir, Repo: filepath.Join(dir, "repo"), Cache: filepath.Join(dir, "cache"),
		Config: filepath.Join(dir, "config"), Logs: filepath.Join(dir, "logs"),
		SrcDir: filepath.Join(dir, "src"), Source: filepath.Join(dir, "src", "vol.img"),
		Restore: filepath.Join(dir, "restore", "vol.img"), Password: "bench-password",
	}
}

// Tool drives one backup program through its command line. Every method runs its
// measured commands through r.Run.
type Tool interface {
	Name() string
	// Env is the environment the tool's commands get on top of the scrubbed base.
	Env(ws *Workspace) []string
	// Version reports the binary's version string (unmeasured).
	Version(ctx context.Context, r Runner, ws *Workspace) string
	// Init creates the repository at ws.Repo (or in ws.S3) with the benchmark settings.
	Init(ctx context.Context, r Runner, ws *Workspace) error
	// Backup backs up ws.Source as a new snapshot.
	Backup(ctx context.Context, r Runner, ws *Workspace) error
	// Snapshots lists snapshots: the fixed cost of opening the repository.
	Snapshots(ctx context.Context, r Runner, ws *Workspace) error
	// Restore writes the latest snapshot's image to ws.Restore (its directory exists).
	Restore(ctx context.Context, r Runner, ws *Workspace) error
	// Check verifies the repository's structure (not all data; see docs/BENCHMARKS.md).
	Check(ctx context.Context, r Runner, ws *Workspace) error
	// Prune forgets every snapshot but the latest and reclaims the space.
	Prune(ctx context.Context, r Runner, ws *Workspace) error
}

// newTool returns the Tool named name, running binary bin.
func newTool(name, bin string, cfg toolConfig) (Tool, error) {
	switch name {
	case "cairn":
		return &cairnTool{bin: bin, kdf: cfg.cairnKDF}, nil
	case "kopia":
		return &kopiaTool{bin: bin}, nil
	case "restic":
		return &resticTool{bin: bin}, nil
	}
	return nil, fmt.Errorf("unknown tool %q (want cairn, kopia or restic)", name)
}

// toolConfig carries the flags that change a tool's settings.
type toolConfig struct {
	cairnKDF string // CAIRN_KDF value; empty leaves the real KDF
}

// firstLine returns the first non-empty line of b, trimmed.
func firstLine(b []byte) string {
	for l := range strings.SplitSeq(string(b), "\n") {
		if l = strings.TrimSpace(l); l != "" {
			return l
		}
	}
	return ""
}
