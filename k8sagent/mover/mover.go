package mover

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"strings"
	"sync"
	"time"

	"github.com/spf13/pflag"

	"github.com/cairnbackup/cairn/chunk"
	"github.com/cairnbackup/cairn/repo"
)

// ErrUsage marks errors in how the mover was invoked (bad or missing flags).
var ErrUsage = errors.New("usage error")

// Options are the parsed mover arguments.
type Options struct {
	Op           string // "backup" or "restore"
	Device       string
	Repo         string
	PasswordFile string
	CacheDir     string
	Name         string   // backup: snapshot name
	Tags         []string // backup: tags
	Host         string   // backup: host name to record
	Snapshot     string   // restore: snapshot ID or unique prefix
	MetricsAddr  string
	Linger       time.Duration
	Interval     time.Duration
}

// Env is the process environment the mover sees.
type Env struct {
	Stdout, Stderr io.Writer
	Getenv         func(string) string
	// Metrics receives the metrics; nil: fresh ones (see NewMetrics).
	Metrics *Metrics
	// Listening, if set, is told the metrics server's address once it listens.
	Listening func(addr string)
}

const usage = `usage: cairn mover backup  --device PATH [--name N] [--tag K=V]... [--host H]
       cairn mover restore --device PATH --snapshot ID
common: [--repo LOCATION] [--password-file FILE] [--cache-dir DIR] [--metrics-addr ADDR]
        [--metrics-linger DURATION] [--progress-interval DURATION]`

// ParseArgs parses the mover command line (without the leading "mover").
func ParseArgs(args []string, getenv func(string) string) (Options, error) {
	var o Options
	if len(args) == 0 || (args[0] != "backup" && args[0] != "restore") {
		return o, fmt.Errorf("%w: want backup or restore\n%s", ErrUsage, usage)
	}
	o.Op = args[0]
	fs := pflag.NewFlagSet("cairn mover "+o.Op, pflag.ContinueOnError)
	fs.SetOutput(io.Discard)
	fs.StringVar(&o.Device, "device", "", "block device or image file to read (backup) or write (restore)")
	fs.StringVar(&o.Repo, "repo", getenv("CAIRN_REPO"), "repository location (env CAIRN_REPO)")
	fs.StringVar(&o.PasswordFile, "password-file", getenv("CAIRN_PASSWORD_FILE"), "password file (env CAIRN_PASSWORD_FILE)")
	fs.StringVar(&o.CacheDir, "cache-dir", getenv("CAIRN_CACHE_DIR"), "index cache directory (env CAIRN_CACHE_DIR)")
	fs.StringVar(&o.Name, "name", "", "snapshot name (backup)")
	fs.StringArrayVar(&o.Tags, "tag", nil, "snapshot tag, key=value (backup, repeatable)")
	fs.StringVar(&o.Host, "host", "", "host name to record (backup)")
	fs.StringVar(&o.Snapshot, "snapshot", "", "snapshot ID to restore (restore)")
	fs.StringVar(&o.MetricsAddr, "metrics-addr", "", "serve Prometheus metrics on this address, e.g. :9090")
	fs.DurationVar(&o.Linger, "metrics-linger", 0, "keep serving metrics this long after the move")
	fs.DurationVar(&o.Interval, "progress-interval", 5*time.Second, "how often to print a progress line")
	if err := fs.Parse(args[1:]); err != nil {
		return o, fmt.Errorf("%w: %v\n%s", ErrUsage, err, usage)
	}
	switch {
	case fs.NArg() > 0:
		return o, fmt.Errorf("%w: unexpected arguments %q", ErrUsage, fs.Args())
	case o.Device == "":
		return o, fmt.Errorf("%w: --device is required", ErrUsage)
	case o.Repo == "":
		return o, fmt.Errorf("%w: no repository: pass --repo or set CAIRN_REPO", ErrUsage)
	case o.Op == "restore" && o.Snapshot == "":
		return o, fmt.Errorf("%w: restore needs --snapshot", ErrUsage)
	case o.Op == "backup" && o.Snapshot != "":
		return o, fmt.Errorf("%w: --snapshot is for restore", ErrUsage)
	case o.Interval <= 0:
		return o, fmt.Errorf("%w: --progress-interval must be positive", ErrUsage)
	}
	return o, nil
}

// Run parses args (the command line after "mover") and runs the move. The error is nil only
// when the whole volume was moved.
func Run(ctx context.Context, args []string, env Env) error {
	if env.Getenv == nil {
		env.Getenv = func(string) string { return "" }
	}
	if len(args) > 0 && (args[0] == "-h" || args[0] == "--help" || args[0] == "help") {
		_, err := fmt.Fprintln(env.Stdout, usage)
		return err
	}
	o, err := ParseArgs(args, env.Getenv)
	if err != nil {
		return err
	}
	out := &lineWriter{w: env.Stdout}
	err = execute(ctx, o, env, out)
	if err != nil {
		out.write(map[string]any{"type": "error", "op": o.Op, "error": err.Error()})
	}
	return err
}

// execute runs a parsed move, printing JSON lines to out.
func execute(ctx context.Context, o Options, env Env, out *lineWriter) error {
	pw, err := password(o.PasswordFile, env.Getenv)
	if err != nil {
		return err
	}
	m := env.Metrics
	if m == nil {
		m = NewMetrics(o.Op)
	}
	if o.MetricsAddr != "" {
		stop, err := serveMetrics(o.MetricsAddr, m, env.Listening)
		if err != nil {
			return err
		}
		defer func() {
			if o.Linger > 0 {
				select {
				case <-ctx.Done():
				case <-time.After(o.Linger):
				}
			}
			stop()
		}()
	}
	log := slog.New(slog.NewJSONHandler(env.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	r, err := repo.Open(ctx, o.Repo, repo.OpenOptions{Password: pw, CacheDir: o.CacheDir, Logger: log})
	clear(pw)
	if err != nil {
		m.finish(false)
		return err
	}
	defer r.Close()
	start := time.Now()
	progress := func(p repo.Progress) {
		m.update(p)
		out.write(progressLine{Type: "progress", Op: o.Op, Progress: p})
	}
	switch o.Op {
	case "backup":
		err = backup(ctx, r, o, progress, out, start)
	default:
		err = restore(ctx, r, o, progress, out, start)
	}
	m.finish(err == nil)
	return err
}

// progressLine is one JSON progress report.
type progressLine struct {
	Type string `json:"type"`
	Op   string `json:"op"`
	repo.Progress
}

// Summary is the last JSON line of a successful move.
type Summary struct {
	Type     string        `json:"type"` // "summary"
	Op       string        `json:"op"`
	Device   string        `json:"device"`
	Snapshot string        `json:"snapshot"`
	Name     string        `json:"name,omitempty"`
	Size     int64         `json:"size"`
	NewBytes int64         `json:"new_bytes,omitempty"`
	Duration time.Duration `json:"duration_ns"`
}

func backup(ctx context.Context, r *repo.Repository, o Options, progress func(repo.Progress), out *lineWriter, start time.Time) error {
	f, err := os.Open(o.Device)
	if err != nil {
		return fmt.Errorf("open device: %w", err)
	}
	defer f.Close()
	size, err := deviceSize(f)
	if err != nil {
		return err
	}
	snap, err := r.Backup(ctx, f, repo.BackupOptions{Name: o.Name, Tags: o.Tags, Hostname: o.Host, SizeHint: size,
		Progress: progress, ProgressInterval: o.Interval})
	if err != nil {
		return fmt.Errorf("back up %s: %w", o.Device, err)
	}
	out.write(Summary{Type: "summary", Op: "backup", Device: o.Device, Snapshot: snap.ID.String(), Name: snap.Name,
		Size: snap.Size, NewBytes: snap.Stats.NewBytes, Duration: time.Since(start)})
	return nil
}

func restore(ctx context.Context, r *repo.Repository, o Options, progress func(repo.Progress), out *lineWriter, start time.Time) error {
	snap, err := r.FindSnapshot(ctx, o.Snapshot, "")
	if err != nil {
		return err
	}
	f, err := os.OpenFile(o.Device, os.O_WRONLY, 0)
	if err != nil {
		return fmt.Errorf("open device: %w", err)
	}
	defer f.Close()
	size, err := deviceSize(f)
	if err != nil {
		return err
	}
	if size < snap.Size {
		return fmt.Errorf("device %s holds %d bytes, the snapshot %d: restore into a claim at least as large", o.Device, size, snap.Size)
	}
	if err := r.Restore(ctx, snap.ID, f, repo.RestoreOptions{Progress: progress, ProgressInterval: o.Interval}); err != nil {
		return fmt.Errorf("restore %s: %w", o.Device, err)
	}
	if err := f.Sync(); err != nil {
		return fmt.Errorf("sync %s: %w", o.Device, err)
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("close %s: %w", o.Device, err)
	}
	out.write(Summary{Type: "summary", Op: "restore", Device: o.Device, Snapshot: snap.ID.String(), Name: snap.Name,
		Size: snap.Size, Duration: time.Since(start)})
	return nil
}

// deviceSize is the size of a regular file or block device (by seeking to its end).
func deviceSize(f *os.File) (int64, error) {
	end, err := chunk.SeekSize(f)
	if err != nil {
		return 0, fmt.Errorf("size of %s: %w", f.Name(), err)
	}
	return end, nil
}

// password reads the repository password: file, then CAIRN_PASSWORD_FILE (already in
// file via the flag default), then CAIRN_PASSWORD.
func password(file string, getenv func(string) string) ([]byte, error) {
	if file != "" {
		b, err := os.ReadFile(file)
		if err != nil {
			return nil, fmt.Errorf("read password file: %w", err)
		}
		return []byte(strings.TrimRight(string(b), "\r\n")), nil
	}
	if p := getenv("CAIRN_PASSWORD"); p != "" {
		return []byte(p), nil
	}
	return nil, fmt.Errorf("%w: no password: set CAIRN_PASSWORD or CAIRN_PASSWORD_FILE (a mover never prompts)", ErrUsage)
}

// serveMetrics serves m on addr until stop is called.
func serveMetrics(addr string, m *Metrics, listening func(string)) (stop func(), err error) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("metrics listener: %w", err)
	}
	mux := http.NewServeMux()
	mux.Handle("/metrics", m)
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}
	go func() { _ = srv.Serve(ln) }()
	if listening != nil {
		listening(ln.Addr().String())
	}
	return func() { _ = srv.Close() }, nil
}

// lineWriter writes JSON lines, one writer at a time.
type lineWriter struct {
	mu sync.Mutex
	w  io.Writer
}

func (l *lineWriter) write(v any) {
	b, err := json.Marshal(v)
	if err != nil {
		return
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	_, _ = l.w.Write(append(b, '\n'))
}
