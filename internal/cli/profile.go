package cli

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"runtime/pprof"
	"strings"

	"github.com/spf13/cobra"
)

// EnvProfileDir names the directory --profile-dir defaults to.
const EnvProfileDir = "CAIRN_PROFILE_DIR"

// profileFileMode is the mode of profile files: they name functions, not data, but stay
// private like the rest of a cache directory.
const profileFileMode = 0o600

// profiles are the Go profiles of one command being written to a directory.
type profiles struct {
	dir, base string // files are dir/base.cpu.pprof and dir/base.allocs.pprof
	cpu       *os.File
}

// startProfiles starts a CPU profile of the command in dir, creating dir if needed. The
// files are named after the command path and the process ID, so that every command of a
// script (or every phase of a benchmark) keeps its own: "cairn-backup-4711.cpu.pprof".
func startProfiles(dir string, cmd *cobra.Command) (*profiles, error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("profile directory: %w", err)
	}
	base := fmt.Sprintf("%s-%d", strings.ReplaceAll(cmd.CommandPath(), " ", "-"), os.Getpid())
	p := &profiles{dir: dir, base: base}
	f, err := os.OpenFile(p.path("cpu"), os.O_WRONLY|os.O_CREATE|os.O_TRUNC, profileFileMode)
	if err != nil {
		return nil, fmt.Errorf("CPU profile: %w", err)
	}
	if err := pprof.StartCPUProfile(f); err != nil {
		f.Close()
		os.Remove(f.Name())
		return nil, fmt.Errorf("CPU profile %s: %w", f.Name(), err)
	}
	p.cpu = f
	return p, nil
}

func (p *profiles) path(kind string) string {
	return filepath.Join(p.dir, p.base+"."+kind+".pprof")
}

// stop ends the CPU profile and writes the allocation profile of the whole command (after a
// collection, so that it counts every allocation made so far).
func (p *profiles) stop() error {
	if p == nil {
		return nil
	}
	pprof.StopCPUProfile()
	err := p.cpu.Close()
	if err != nil {
		err = fmt.Errorf("CPU profile: %w", err)
	}
	runtime.GC()
	f, ferr := os.OpenFile(p.path("allocs"), os.O_WRONLY|os.O_CREATE|os.O_TRUNC, profileFileMode)
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
