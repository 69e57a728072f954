package cli

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"runtime/pprof"
	"runtime/trace"
	"strings"

	"github.com/spf13/cobra"
)

// EnvProfileDir names the directory --profile-dir defaults to.
const EnvProfileDir = "CAIRN_PROFILE_DIR"

// profileFileMode is the mode of profile files: they name functions, not data, but stay
// private like the rest of a cache directory.
const profileFileMode = 0o600

// profiles are the Go profiles and the execution trace of one command being written to a
// directory.
type profiles struct {
	dir, base  string // files are dir/base.cpu.pprof, dir/base.allocs.pprof and dir/base.trace
	cpu, trace *os.File
}

// startProfiles starts a CPU profile and an execution trace of the command in dir, creating
// dir if needed. The files are named after the command path and the process ID, so that
// every command of a script (or every phase of a benchmark) keeps its own:
// "cairn-backup-4711.cpu.pprof". The trace shows what a profile cannot: when each goroutine
// ran, waited or sat in a system call (how busy the pipeline kept the cores).
func startProfiles(dir string, cmd *cobra.Command) (*profiles, error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("profile directory: %w", err)
	}
	base := fmt.Sprintf("%s-%d", strings.ReplaceAll(cmd.CommandPath(), " ", "-"), os.Getpid())
	p := &profiles{dir: dir, base: base}
	f, err := os.OpenFile(p.path("cpu.pprof"), os.O_WRONLY|os.O_CREATE|os.O_TRUNC, profileFileMode)
	if err != nil {
		return nil, fmt.Errorf("CPU profile: %w", err)
	}
	if err := pprof.StartCPUProfile(f); err != nil {
		discard(f)
		return nil, fmt.Errorf("CPU profile %s: %w", f.Name(), err)
	}
	p.cpu = f
	tf, err := os.OpenFile(p.path("trace"), os.O_WRONLY|os.O_CREATE|os.O_TRUNC, profileFileMode)
	if err != nil {
		p.abort()
		return nil, fmt.Errorf("execution trace: %w", err)
	}
	if err := trace.Start(tf); err != nil {
		discard(tf)
		p.abort()
		return nil, fmt.Errorf("execution trace %s: %w", tf.Name(), err)
	}
	p.trace = tf
	return p, nil
}

// abort stops the CPU profile and removes its file, for a start that failed half-way.
func (p *profiles) abort() {
	pprof.StopCPUProfile()
	discard(p.cpu)
}

// discard closes and removes a profile file that will not be written.
func discard(f *os.File) {
	f.Close()
	os.Remove(f.Name())
}

// path names the file of one output: "cpu.pprof", "allocs.pprof" or "trace".
func (p *profiles) path(suffix string) string {
	return filepath.Join(p.dir, p.base+"."+suffix)
}

// stop ends the trace and the CPU profile and writes the allocation profile of the whole
// command (after a collection, so that it counts every allocation made so far).
func (p *profiles) stop() error {
	if p == nil {
		return nil
	}
	trace.Stop()
	var err error
	if terr := p.trace.Close(); terr != nil {
		err = fmt.Errorf("execution trace: %w", terr)
	}
	pprof.StopCPUProfile()
	if cerr := p.cpu.Close(); cerr != nil {
		err = errors.Join(err, fmt.Errorf("CPU profile: %w", cerr))
	}
	runtime.GC()
	f, ferr := os.OpenFile(p.path("allocs.pprof"), os.O_WRONLY|os.O_CREATE|os.O_TRUNC, profileFileMode)
	if ferr != nil {
		return errors.Join(err, fmt.Errorf("allocation profile: %w", ferr))
	}
	werr := pprof.Lookup("allocs").WriteTo(f, 0)
	if cerr := f.Close(); werr == nil {
		werr = cerr
	}
	if werr != nil {
		err = errors.Join(err, fmt.Errorf("allocation profile %s: %w", f.Name(), werr))
	}
	return err
}
