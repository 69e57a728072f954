package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"syscall"
	"time"

	"github.com/spf13/cobra"

	"github.com/cairnbackup/cairn/chunk"
	"github.com/cairnbackup/cairn/internal/cli"
	"github.com/cairnbackup/cairn/repo"
)

// targetKind is how a restore target is written.
type targetKind int

const (
	targetStdout  targetKind = iota // "-": streamed to stdout
	targetNewFile                   // a file that does not exist yet: created, sparse
	targetFile                      // an existing regular file: truncated, sparse
	targetDevice                    // a block or character device: written in place, zeros explicit
	targetStream                    // a named pipe: streamed
)

func (k targetKind) String() string {
	return [...]string{"stdout", "new file", "file", "device", "stream"}[k]
}

// decideTarget chooses how to write a restore target from its name and Stat result. It
// refuses directories, and existing non-empty regular files unless overwrite is set.
func decideTarget(path string, fi fs.FileInfo, statErr error, overwrite bool) (targetKind, error) {
	if path == "-" {
		return targetStdout, nil
	}
	if statErr != nil {
		if errors.Is(statErr, fs.ErrNotExist) {
			return targetNewFile, nil
		}
		return 0, fmt.Errorf("restore target: %w", statErr)
	}
	m := fi.Mode()
	switch {
	case m.IsRegular():
		if fi.Size() > 0 && !overwrite {
			return 0, cli.WithHint(fmt.Errorf("restore target %s exists and holds %s of data", path, formatBytes(fi.Size())),
				"pass --overwrite to replace its contents, or choose a new file name")
		}
		return targetFile, nil
	case m.IsDir():
		return 0, cli.Usagef("restore target %s is a directory; give a file name, a device, or - for stdout", path)
	case m&os.ModeDevice != 0:
		return targetDevice, nil
	case m&os.ModeNamedPipe != 0:
		return targetStream, nil
	}
	return 0, cli.Usagef("restore target %s is not a file, device or pipe (mode %s)", path, m)
}

// restoreSummary is the JSON summary of "cairn restore".
type restoreSummary struct {
	Type           string           `json:"type"` // "summary"
	Op             string           `json:"op"`   // "restore"
	Snapshot       cli.SnapshotJSON `json:"snapshot"`
	Target         string           `json:"target"`
	TargetKind     string           `json:"target_kind"` // stdout, new file, file, device, stream
	Bytes          int64            `json:"bytes"`
	ZeroBytes      int64            `json:"zero_bytes"`
	Duration       time.Duration    `json:"duration_ns"`
	BytesPerSecond float64          `json:"bytes_per_second"`
}

func (a *app) restoreCmd() *cobra.Command {
	var name string
	var overwrite bool
	cmd := &cobra.Command{
		Use:   "restore SNAPSHOT TARGET",
		Short: "Restore a snapshot to a device, an image file or stdout",
		Long: `Write the volume stored in SNAPSHOT to TARGET.

SNAPSHOT is "latest" (the newest snapshot; with --name, the newest of that name),
a full snapshot ID, or a unique prefix of one (as shown by 'cairn snapshots').

TARGET is one of:
  a new file        created (mode 0600) and written sparsely: zero runs become holes
  an existing file  refused if it holds data, unless --overwrite; then truncated
                    and written sparsely
  a device          (/dev/...) written in place without truncation, zeros written
                    explicitly; it must be at least as large as the snapshot
  -                 stdout, written sequentially (for pipes; refused on a terminal)

The final size of a file target always equals the snapshot size. A failed
restore to a new file removes the partial file. With TARGET "-" the summary goes
to stderr so stdout carries only volume data.`,
		Example: `  cairn restore latest --name pvc-data /tmp/pvc-data.img
  cairn restore 1a2b3c4d /dev/vg0/pvc-data
  cairn restore latest --overwrite disk.img
  cairn restore latest - | ssh host 'dd of=/dev/sdb bs=4M'`,
		Args: cli.ExactArgs("SNAPSHOT", "TARGET"),
		RunE: func(cmd *cobra.Command, args []string) error {
			return a.runRestore(cmd.Context(), args[0], args[1], name, overwrite)
		},
	}
	cmd.Flags().StringVar(&name, "name", "", `with SNAPSHOT "latest": the newest snapshot of this name`)
	cmd.Flags().BoolVar(&overwrite, "overwrite", false, "replace the contents of an existing non-empty regular file")
	return cmd
}

func (a *app) runRestore(ctx context.Context, ref, target, name string, overwrite bool) error {
	fi, statErr := os.Stat(target)
	kind, err := decideTarget(target, fi, statErr, overwrite)
	if err != nil {
		return err
	}
	if kind == targetStdout && a.IsTerminal(a.Stdout) {
		return cli.Usagef("refusing to write volume data to a terminal; redirect stdout or give a TARGET file")
	}
	r, err := a.OpenRepo(ctx)
	if err != nil {
		return err
	}
	defer r.Close()
	snap, err := r.FindSnapshot(ctx, ref, name)
	if err != nil {
		return err
	}
	sum, err := a.restore(ctx, r, snap, target, kind)
	if err != nil {
		return err
	}
	out := a.Stdout
	if kind == targetStdout {
		out = a.Stderr
	}
	return a.printRestore(out, sum)
}

// restore writes snap to target, chosen by decideTarget, with a progress display.
func (a *app) restore(ctx context.Context, r *repo.Repository, snap *repo.Snapshot, target string, kind targetKind) (restoreSummary, error) {
	sink := a.newProgress("restore", snap.Size)
	var last repo.Progress
	opts := repo.RestoreOptions{ProgressInterval: sink.interval(), Progress: func(p repo.Progress) {
		last = p
		sink.update(p)
	}}
	start := time.Now()
	err := a.writeTarget(ctx, r, snap, target, kind, opts)
	sink.finish(err == nil)
	if err != nil {
		return restoreSummary{}, err
	}
	d := time.Since(start)
	return restoreSummary{Type: "summary", Op: "restore", Snapshot: cli.ToSnapshotJSON(snap), Target: target,
		TargetKind: kind.String(), Bytes: snap.Size, ZeroBytes: last.ZeroBytes, Duration: d,
		BytesPerSecond: rate(snap.Size, d)}, nil
}

func (a *app) writeTarget(ctx context.Context, r *repo.Repository, snap *repo.Snapshot, target string, kind targetKind, opts repo.RestoreOptions) error {
	switch kind {
	case targetStdout:
		return r.RestoreStream(ctx, snap.ID, a.Stdout, opts)
	case targetStream:
		f, err := os.OpenFile(target, os.O_WRONLY, 0)
		if err != nil {
			return fmt.Errorf("restore target: %w", err)
		}
		if err := r.RestoreStream(ctx, snap.ID, f, opts); err != nil {
			f.Close()
			return err
		}
		return closeTarget(f)
	case targetDevice:
		f, err := os.OpenFile(target, os.O_WRONLY, 0)
		if err != nil {
			return fmt.Errorf("restore target: %w", err)
		}
		if err := checkDeviceSize(f, target, snap.Size); err != nil {
			f.Close()
			return err
		}
		opts.Sparse = false
		if err := r.Restore(ctx, snap.ID, f, opts); err != nil {
			f.Close()
			return err
		}
		return syncClose(f)
	}
	flags := os.O_WRONLY | os.O_CREATE | os.O_TRUNC
	if kind == targetNewFile {
		flags |= os.O_EXCL
	}
	f, err := os.OpenFile(target, flags, 0o600)
	if err != nil {
		return fmt.Errorf("restore target: %w", err)
	}
	opts.Sparse = true
	err = r.Restore(ctx, snap.ID, f, opts)
	if err == nil {
		if err = f.Truncate(snap.Size); err != nil {
			err = fmt.Errorf("restore target: set size: %w", err)
		}
	}
	if err == nil {
		return syncClose(f)
	}
	f.Close()
	if kind == targetNewFile {
		_ = os.Remove(target)
	}
	return err
}

// checkDeviceSize refuses a device smaller than the volume to restore.
func checkDeviceSize(f *os.File, name string, need int64) error {
	size, err := chunk.SeekSize(f)
	if err != nil || size == 0 {
		return nil // character devices and the like: size unknown, let writes decide
	}
	if size < need {
		return fmt.Errorf("restore target %s holds %s, the snapshot needs %s", name, formatBytes(size), formatBytes(need))
	}
	return nil
}

func syncClose(f *os.File) error {
	// Character devices such as /dev/null cannot be synced; that is not a failure.
	if err := f.Sync(); err != nil && !errors.Is(err, syscall.EINVAL) && !errors.Is(err, syscall.ENOTSUP) {
		f.Close()
		return fmt.Errorf("restore target: sync: %w", err)
	}
	return closeTarget(f)
}

func closeTarget(f *os.File) error {
	if err := f.Close(); err != nil {
		return fmt.Errorf("restore target: %w", err)
	}
	return nil
}

func (a *app) printRestore(w io.Writer, s restoreSummary) error {
	switch {
	case a.Quiet:
		return nil
	case a.JSON:
		return cli.PrintJSON(w, s)
	}
	_, err := fmt.Fprintf(w, "restored snapshot %s (%s, %s zeros) to %s in %s, %s\n",
		s.Snapshot.ShortID, formatBytes(s.Bytes), formatBytes(s.ZeroBytes), s.Target,
		formatDuration(s.Duration), formatRate(s.BytesPerSecond))
	return err
}
