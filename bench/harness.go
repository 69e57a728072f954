package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
)

// harness runs every tool over every input for a number of rounds.
type harness struct {
	workdir string
	rounds  int
	cold    bool
	keep    bool
	tools   []Tool
	baseEnv []string
	// store holds the repositories; nil means localStore.
	store store
	// zonesDown > 0 adds the restore-degraded phase for cairn: that many of its zones are
	// killed before a second restore and restarted after it.
	zonesDown int
	// profileDir, when set, gets cairn's CPU and allocation profiles and execution trace of
	// every phase, under INPUT/roundN/PHASE (--cairn-profile).
	profileDir string
	// results receives each result as it is produced (progress output); may be nil.
	progress io.Writer
}

// roundOrder returns the tools in the order round r runs them: rotated by r, so over
// len(tools) rounds every tool runs in every position once.
func roundOrder[T any](tools []T, r int) []T {
	n := len(tools)
	out := make([]T, 0, n)
	for i := range n {
		out = append(out, tools[(i+r)%n])
	}
	return out
}

// run executes all rounds over all inputs and returns the raw results.
func (h *harness) run(ctx context.Context, inputs []*Input) ([]Result, error) {
	var all []Result
	for _, in := range inputs {
		if h.cold {
			if err := warmUp(in); err != nil {
				return all, err
			}
		}
		for round := range h.rounds {
			for pos, t := range roundOrder(h.tools, round) {
				if err := ctx.Err(); err != nil {
					return all, err
				}
				dir := filepath.Join(h.workdir, "runs", in.Name, fmt.Sprintf("r%d-%s", round, t.Name()))
				rs, err := h.runTool(ctx, t, in, round, pos, dir)
				all = append(all, rs...)
				if err != nil {
					return all, err
				}
			}
		}
	}
	return all, nil
}

// warmUp reads both generations of in once, unmeasured, then drops them from the page cache
// again. The first tool to read an input otherwise pays for more than a cold page cache: on
// the bench VMs the first full backup of a run (always cairn's, as round 0 starts with it)
// took 17.6 s for 1 GiB against 2.3–2.8 s in the other rounds, and 33.9 s for 8 GiB against
// 17.5–19.1 s, while the host's cache of the image or the disk's writeback of the previous
// run settled. Every phase still starts with the input evicted (dropCache).
func warmUp(in *Input) error {
	buf := make([]byte, 4<<20)
	for _, p := range []string{in.Gen1, in.Gen2} {
		f, err := os.Open(p)
		if err != nil {
			return fmt.Errorf("warm up input: %w", err)
		}
		for err == nil {
			_, err = f.Read(buf)
		}
		f.Close()
		if !errors.Is(err, io.EOF) {
			return fmt.Errorf("warm up input %s: %w", p, err)
		}
	}
	dropCache(in.Gen1, in.Gen2)
	return nil
}

func (h *harness) storage() store {
	if h.store == nil {
		return localStore{}
	}
	return h.store
}

// runTool runs the phases of one tool over one input in a fresh workspace. A failed
// phase ends the run (the rest is recorded as not run); an unsupported one is skipped.
// Only harness errors (cannot create the workspace or repository) are returned.
func (h *harness) runTool(ctx context.Context, t Tool, in *Input, round, pos int, dir string) (_ []Result, retErr error) {
	if err := os.RemoveAll(dir); err != nil {
		return nil, fmt.Errorf("workspace: %w", err)
	}
	st := h.storage()
	ws := newWorkspace(dir)
	for _, d := range []string{ws.Cache, ws.Config, ws.Logs, ws.SrcDir, filepath.Dir(ws.Restore)} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			return nil, fmt.Errorf("workspace: %w", err)
		}
	}
	logf, err := os.Create(filepath.Join(dir, "commands.log"))
	if err != nil {
		return nil, fmt.Errorf("workspace: %w", err)
	}
	defer logf.Close()
	if !h.keep {
		defer os.RemoveAll(dir)
	}
	if err := st.prepare(ctx, t.Name(), ws); err != nil {
		return nil, fmt.Errorf("repository for %s: %w", t.Name(), err)
	}
	if !h.keep {
		defer func() {
			// A cancelled run still removes its buckets while the servers are up.
			if err := st.release(context.WithoutCancel(ctx), ws); err != nil && retErr == nil {
				retErr = err
			}
		}()
	}

	var out []Result
	failed := false
	phase := func(ph Phase, src int64, prepare func() error, fn func(Runner) error, verify func() error) {
		res := Result{Input: in.Name, Tool: t.Name(), Round: round, Position: pos, Phase: ph, SourceBytes: src}
		if failed {
			return
		}
		fail := func(err error) {
			res.Status, res.Error, failed = StatusFailed, err.Error(), true
			out = append(out, res)
			h.report(res)
		}
		if prepare != nil {
			if err := prepare(); err != nil {
				fail(err)
				return
			}
		}
		before, err := st.stat(ctx, ws)
		if err != nil {
			fail(err)
			return
		}
		if h.cold {
			dropCache(append([]string{ws.Source}, st.cacheDirs(ws)...)...)
		}
		ws.ProfileDir = ""
		if h.profileDir != "" {
			ws.ProfileDir = filepath.Join(h.profileDir, in.Name, fmt.Sprintf("round%d", round), string(ph))
		}
		r := &execRunner{env: h.baseEnv, stderr: logf}
		fmt.Fprintf(logf, "# %s\n", ph)
		cpu0 := st.serverCPU()
		runErr := fn(r)
		if runErr == nil && h.cold {
			res.SyncSec = flushAll()
		}
		res.ServerCPUSec = cpuDelta(cpu0, st.serverCPU())
		after, err := st.stat(ctx, ws)
		if err != nil && runErr == nil {
			runErr = err
		}
		res.WallSec, res.UserSec, res.SysSec = r.m.Wall.Seconds()+res.SyncSec, r.m.User.Seconds(), r.m.Sys.Seconds()
		res.MaxRSS, res.Commands = r.m.MaxRSS, r.m.Cmds
		res.RepoBytes, res.RepoDiskBytes = after.Bytes, after.DiskBytes
		res.Objects, res.RepoFiles = written(before, after), len(after.Files)
		switch {
		case errors.Is(runErr, ErrUnsupported):
			res.Status, res.Error = StatusSkipped, runErr.Error()
		case runErr != nil:
			fail(runErr)
			return
		default:
			res.Status = StatusOK
			if verify != nil {
				if err := verify(); err != nil {
					fail(err)
					return
				}
			}
		}
		out = append(out, res)
		h.report(res)
	}

	link := func(gen string) func() error {
		return func() error { return linkSource(gen, ws.Source) }
	}
	phase(PhaseInit, 0, nil, func(r Runner) error { return t.Init(ctx, r, ws) }, nil)
	phase(PhaseFull, in.Size, link(in.Gen1), func(r Runner) error { return t.Backup(ctx, r, ws) }, nil)
	phase(PhaseIncr, in.Size, link(in.Gen2), func(r Runner) error { return t.Backup(ctx, r, ws) }, nil)
	phase(PhaseSnapshots, 0, nil, func(r Runner) error { return t.Snapshots(ctx, r, ws) }, nil)
	phase(PhaseRestore, in.Size,
		func() error { return removeIfExists(ws.Restore) },
		func(r Runner) error { return t.Restore(ctx, r, ws) },
		func() error { return verifyRestore(ws.Restore, in) })
	if h.zonesDown > 0 && t.Name() == "cairn" && !failed {
		phase(PhaseRestoreDegraded, in.Size,
			func() error {
				if err := removeIfExists(ws.Restore); err != nil {
					return err
				}
				return st.zonesDown(ctx, ws, h.zonesDown)
			},
			func(r Runner) error { return t.Restore(ctx, r, ws) },
			func() error { return verifyRestore(ws.Restore, in) })
		if err := st.zonesUp(ctx); err != nil {
			return out, fmt.Errorf("restart zones after %s: %w", PhaseRestoreDegraded, err)
		}
	}
	phase(PhaseCheck, 0, nil, func(r Runner) error { return t.Check(ctx, r, ws) }, nil)
	phase(PhasePrune, 0, nil, func(r Runner) error { return t.Prune(ctx, r, ws) }, nil)
	return out, nil
}

func (h *harness) report(r Result) {
	if h.progress == nil {
		return
	}
	switch r.Status {
	case StatusOK:
		fmt.Fprintf(h.progress, "%-14s round %d  %-7s %-16s %8s  cpu %8s  rss %10s  repo %10s\n", r.Input, r.Round, r.Tool, r.Phase,
			fmtSec(r.WallSec), fmtSec(r.CPUSec()), formatBytes(r.MaxRSS), formatBytes(r.RepoBytes))
	case StatusSkipped:
		fmt.Fprintf(h.progress, "%-14s round %d  %-7s %-16s skipped (not supported)\n", r.Input, r.Round, r.Tool, r.Phase)
	default:
		fmt.Fprintf(h.progress, "%-14s round %d  %-7s %-16s FAILED: %s\n", r.Input, r.Round, r.Tool, r.Phase, oneLine(r.Error, 400))
		slog.Error("phase failed", "tool", r.Tool, "phase", r.Phase, "round", r.Round, "err", r.Error)
	}
}

// linkSource makes dst a hard link to gen, replacing what was there: every generation is
// backed up from the same path, as a volume would be.
func linkSource(gen, dst string) error {
	if err := removeIfExists(dst); err != nil {
		return err
	}
	if err := os.Link(gen, dst); err != nil {
		return fmt.Errorf("link source (inputs and runs must share a filesystem): %w", err)
	}
	return nil
}

func removeIfExists(p string) error {
	if err := os.Remove(p); err != nil && !errors.Is(err, os.ErrNotExist) {
		return fmt.Errorf("remove %s: %w", p, err)
	}
	return nil
}

// ErrRestoreMismatch is reported when a restored image differs from its source.
var ErrRestoreMismatch = errors.New("restored image differs from the source")

// verifyRestore checks that the restored image has the second generation's size and
// SHA-256.
func verifyRestore(path string, in *Input) error {
	st, err := os.Stat(path)
	if err != nil {
		return fmt.Errorf("verify restore: %w", err)
	}
	if st.Size() != in.Size {
		return fmt.Errorf("%w: size %d, want %d", ErrRestoreMismatch, st.Size(), in.Size)
	}
	sum, err := sha256File(path)
	if err != nil {
		return fmt.Errorf("verify restore: %w", err)
	}
	if sum != in.SHA2 {
		return fmt.Errorf("%w: sha256 %s, want %s", ErrRestoreMismatch, sum, in.SHA2)
	}
	return nil
}
