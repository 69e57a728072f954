package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/spf13/cobra"

	"github.com/cairnbackup/cairn/chunk"
	"github.com/cairnbackup/cairn/internal/cli"
	"github.com/cairnbackup/cairn/repo"
)

// backupSummary is the JSON summary of "cairn backup".
type backupSummary struct {
	Type           string           `json:"type"` // "summary"
	Op             string           `json:"op"`   // "backup"
	Source         string           `json:"source"`
	Snapshot       cli.SnapshotJSON `json:"snapshot"`
	DedupRatio     float64          `json:"dedup_ratio"`
	BytesPerSecond float64          `json:"bytes_per_second"`
}

func (a *app) backupCmd() *cobra.Command {
	var opts repo.BackupOptions
	cmd := &cobra.Command{
		Use:   "backup [--name N] [--tag K=V]... [--host H] SOURCE",
		Short: "Back up a block device, image file or stdin into a new snapshot",
		Long: `Read SOURCE to the end and store it as a new snapshot.

SOURCE is a block device (/dev/...), a volume image or any regular file, or "-"
for stdin. Regular files are read with their holes skipped (SEEK_DATA/SEEK_HOLE),
so sparse images back up at the speed of their data. Chunks the repository
already holds are not stored again: the summary's "new" figure is what this
backup added, and the dedup ratio is the share of the source that did not need
storing.

Give snapshots a --name (e.g. the volume or PVC name) so 'cairn restore latest
--name N' finds the newest backup of that volume. Tags are free-form, usually
key=value. Nothing is recorded unless the whole source was read and stored: an
interrupted or failed backup leaves no snapshot (its uploaded data is reused by
the next run).`,
		Example: `  cairn backup --name pvc-data /dev/vg0/pvc-data
  cairn backup --name db --tag app=postgres --tag tier=gold /var/lib/images/db.img
  pg_dump mydb | cairn backup --name mydb-dump -
  cairn backup --json --name vm1 vm1.raw | jq .snapshot.id`,
		Args: cli.ExactArgs("SOURCE"),
		RunE: func(cmd *cobra.Command, args []string) error { return a.runBackup(cmd.Context(), args[0], opts) },
	}
	f := cmd.Flags()
	f.StringVar(&opts.Name, "name", "", "snapshot name, e.g. the volume or PVC name")
	f.StringArrayVar(&opts.Tags, "tag", nil, "tag the snapshot, usually key=value (repeatable)")
	f.StringVar(&opts.Hostname, "host", "", "host name to record (default: this machine's)")
	return cmd
}

func (a *app) runBackup(ctx context.Context, path string, opts repo.BackupOptions) error {
	for _, t := range opts.Tags {
		if strings.TrimSpace(t) == "" {
			return cli.Usagef("--tag must not be empty")
		}
	}
	src, err := openSource(path, a.Stdin)
	if err != nil {
		return err
	}
	defer src.close()
	if src.stdin {
		a.StdinIsData = true
	}
	r, err := a.OpenRepo(ctx)
	if err != nil {
		return err
	}
	defer r.Close()
	snap, err := a.backup(ctx, r, src, opts)
	if err != nil {
		return err
	}
	return a.printBackup(path, snap)
}

// source is an opened backup source.
type source struct {
	r     io.Reader
	size  int64  // 0 when unknown
	kind  string // "stdin", "file", "block device", "stream"
	stdin bool
	close func() error
}

// openSource opens a backup source: "-" is stdin; a regular file is passed to the engine as
// an *os.File (it skips holes itself); a block device's size is found by seeking to its end.
func openSource(path string, stdin io.Reader) (*source, error) {
	if path == "-" {
		return &source{r: stdin, kind: "stdin", stdin: true, close: func() error { return nil }}, nil
	}
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("backup source: %w", err)
	}
	fi, err := f.Stat()
	if err != nil {
		f.Close()
		return nil, fmt.Errorf("backup source: %w", err)
	}
	s := &source{r: f, close: f.Close}
	m := fi.Mode()
	switch {
	case m.IsRegular():
		s.kind, s.size = "file", fi.Size()
	case m.IsDir():
		f.Close()
		return nil, cli.Usagef("backup source %s is a directory; cairn backs up block devices, image files and streams", path)
	case m&os.ModeDevice != 0 && m&os.ModeCharDevice == 0:
		s.kind = "block device"
		end, err := chunk.SeekSize(f)
		if err != nil {
			f.Close()
			return nil, fmt.Errorf("backup source %s: find device size: %w", path, err)
		}
		s.size = end
	case m&(os.ModeCharDevice|os.ModeNamedPipe) != 0:
		s.kind = "stream"
	default:
		f.Close()
		return nil, cli.Usagef("backup source %s is not a file, block device or stream (mode %s)", path, m)
	}
	return s, nil
}

// backup runs one backup of src with a progress display.
func (a *app) backup(ctx context.Context, r *repo.Repository, src *source, opts repo.BackupOptions) (*repo.Snapshot, error) {
	sink := a.newProgress("backup", src.size)
	opts.SizeHint = src.size
	if _, nop := sink.(nopProgress); !nop {
		opts.Progress, opts.ProgressInterval = sink.update, sink.interval()
	}
	a.Log.Info("backup started", "source", src.kind, "size", src.size, "name", opts.Name)
	snap, err := r.Backup(ctx, src.r, opts)
	sink.finish(err == nil)
	if err != nil {
		if errors.Is(err, context.Canceled) && ctx.Err() != nil {
			return nil, cli.WithHint(err, "the backup was interrupted and recorded nothing; run it again (its uploaded data is reused)")
		}
		return nil, err
	}
	return snap, nil
}

func newBackupSummary(path string, snap *repo.Snapshot) backupSummary {
	st := snap.Stats
	read := st.DataBytes + st.ZeroBytes
	return backupSummary{Type: "summary", Op: "backup", Source: path, Snapshot: cli.ToSnapshotJSON(snap),
		DedupRatio: dedupRatio(read, st.NewBytes), BytesPerSecond: rate(read, st.Duration)}
}

func (a *app) printBackup(path string, snap *repo.Snapshot) error {
	s := newBackupSummary(path, snap)
	switch {
	case a.Quiet:
		return nil
	case a.JSON:
		return cli.PrintJSON(a.Stdout, s)
	}
	st := snap.Stats
	_, err := fmt.Fprintf(a.Stdout, "snapshot %s saved: %s (%s zeros), %s new, %s stored, dedup %s, %s, %s\n",
		snap.ID.Short(), formatBytes(snap.Size), formatBytes(st.ZeroBytes), formatBytes(st.NewBytes),
		formatBytes(st.StoredBytes), percent(s.DedupRatio), formatDuration(st.Duration), formatRate(s.BytesPerSecond))
	return err
}
