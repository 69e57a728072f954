package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strings"
	"syscall"
	"time"

	"github.com/cairnbackup/cairn/internal/testserver"
)

// Cmd is one command a tool runs.
type Cmd struct {
	Args   []string // Args[0] is the binary
	Env    []string // added to the (scrubbed) base environment, after the tool's own
	Stdin  string   // file to connect to stdin; empty for none
	Stdout string   // file to write stdout to; empty to capture it (first 4 MiB)
}

// Runner executes a tool's commands. Run is part of the phase being measured; Helper is
// not (e.g. looking up a snapshot ID before a measured delete).
type Runner interface {
	Run(ctx context.Context, c Cmd) ([]byte, error)
	Helper(ctx context.Context, c Cmd) ([]byte, error)
}

// CmdError is a command that failed: it ran and exited non-zero, or could not start.
type CmdError struct {
	Args   []string
	Code   int    // exit code, -1 if it did not exit normally
	Stderr string // the tail of its stderr
	Err    error
}

func (e *CmdError) Error() string {
	return fmt.Sprintf("%s: exit %d: %v: %s", strings.Join(e.Args, " "), e.Code, e.Err, e.Stderr)
}

func (e *CmdError) Unwrap() error { return e.Err }

// Measure is the cost of one phase: the sums over its measured commands of wall and CPU
// time, and the largest peak RSS among them.
type Measure struct {
	Wall   time.Duration
	User   time.Duration
	Sys    time.Duration
	MaxRSS int64 // bytes
	Cmds   int
}

// execRunner runs commands as child processes and accumulates a Measure.
type execRunner struct {
	env    []string  // base environment of every command
	stderr io.Writer // every command's stderr is copied here (a log file), may be nil
	m      Measure
}

// scrubEnv returns environ without variables that would steer a tool (its own
// repository, password or cache settings leaking from the caller's shell).
func scrubEnv(environ []string) []string {
	var out []string
	for _, kv := range environ {
		switch {
		case strings.HasPrefix(kv, "CAIRN_"), strings.HasPrefix(kv, "RESTIC_"),
			strings.HasPrefix(kv, "KOPIA_"), strings.HasPrefix(kv, "GOMAXPROCS="),
			strings.HasPrefix(kv, "AWS_"), strings.HasPrefix(kv, "BENCH_S3_"),
			strings.HasPrefix(kv, "XDG_CACHE_HOME="), strings.HasPrefix(kv, "XDG_CONFIG_HOME="):
			continue
		}
		out = append(out, kv)
	}
	return out
}

const captureLimit = 4 << 20

// limitedBuffer keeps the first limit bytes written to it.
type limitedBuffer struct {
	buf   bytes.Buffer
	limit int
}

func (b *limitedBuffer) Write(p []byte) (int, error) {
	if room := b.limit - b.buf.Len(); room > 0 {
		b.buf.Write(p[:min(len(p), room)])
	}
	return len(p), nil
}

func (r *execRunner) Run(ctx context.Context, c Cmd) ([]byte, error) {
	return r.exec(ctx, c, true)
}

func (r *execRunner) Helper(ctx context.Context, c Cmd) ([]byte, error) {
	return r.exec(ctx, c, false)
}

func (r *execRunner) exec(ctx context.Context, c Cmd, measured bool) ([]byte, error) {
	if len(c.Args) == 0 {
		return nil, errors.New("run: empty command")
	}
	cmd := exec.CommandContext(ctx, c.Args[0], c.Args[1:]...)
	cmd.Env = append(append([]string(nil), r.env...), c.Env...)
	tail := &testserver.TailBuffer{Max: 4 << 10}
	if r.stderr != nil {
		fmt.Fprintf(r.stderr, "$ %s\n", strings.Join(c.Args, " "))
		cmd.Stderr = io.MultiWriter(tail, r.stderr)
	} else {
		cmd.Stderr = tail
	}
	out := &limitedBuffer{limit: captureLimit}
	cmd.Stdout = out
	if c.Stdout != "" {
		f, err := os.Create(c.Stdout)
		if err != nil {
			return nil, fmt.Errorf("run: stdout: %w", err)
		}
		defer f.Close()
		cmd.Stdout = f
	}
	if c.Stdin != "" {
		f, err := os.Open(c.Stdin)
		if err != nil {
			return nil, fmt.Errorf("run: stdin: %w", err)
		}
		defer f.Close()
		cmd.Stdin = f
	}
	start := time.Now()
	err := cmd.Run()
	wall := time.Since(start)
	if ps := cmd.ProcessState; ps != nil && measured {
		r.m.Wall += wall
		r.m.User += ps.UserTime()
		r.m.Sys += ps.SystemTime()
		r.m.Cmds++
		if ru, ok := ps.SysUsage().(*syscall.Rusage); ok {
			r.m.MaxRSS = max(r.m.MaxRSS, ru.Maxrss*1024) // Linux reports KiB
		}
	}
	if err != nil {
		code := -1
		if ps := cmd.ProcessState; ps != nil {
			code = ps.ExitCode()
		}
		return out.buf.Bytes(), &CmdError{Args: c.Args, Code: code, Stderr: strings.TrimSpace(tail.String()), Err: err}
	}
	return out.buf.Bytes(), nil
}
