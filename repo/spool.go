package repo

import (
	"context"
	"fmt"
	"os"
	"path/filepath"

	"github.com/cairnbackup/cairn/internal/spool"
	"github.com/cairnbackup/cairn/repo/backend"
)

// fileSaver is implemented by backends that store an object from a file (s3.Backend,
// zones.Backend): a backup spools each pack for them to an anonymous local file
// (docs/DECISIONS.md §19) instead of holding it in memory. SaveFile has Save's guarantees
// for the size bytes at the start of f; it may write to f past size (scratch space) and
// must not use f once it has returned.
type fileSaver interface {
	SaveFile(ctx context.Context, h backend.Handle, f *os.File, size int64) error
}

// spoolStreamer streams packs to anonymous files in dir and saves them to be on Commit.
type spoolStreamer struct {
	be  fileSaver
	dir string
}

func (s spoolStreamer) CreatePack(context.Context) (packWriter, error) {
	f, err := spool.Create(s.dir)
	if err != nil {
		return nil, fmt.Errorf("spool pack in %s: %w", s.dir, err)
	}
	return &spoolPack{f: f, be: s.be, dir: s.dir}, nil
}

// spoolPack is one pack being spooled. A failed write is sticky: every later call, Commit
// included, returns it.
type spoolPack struct {
	f    *spool.File
	be   fileSaver
	dir  string
	size int64
	err  error
	done bool
}

func (p *spoolPack) Write(b []byte) (int, error) {
	if p.done {
		return 0, fmt.Errorf("spool pack: write after commit or abort")
	}
	if p.err != nil {
		return 0, p.err
	}
	n, err := p.f.Write(b)
	p.size += int64(n)
	if err != nil {
		p.err = fmt.Errorf("spool pack in %s (set the cache directory or SpoolDir elsewhere): %w", p.dir, err)
	}
	return n, p.err
}

// Commit saves the spooled pack under h and frees the file, whatever the outcome.
func (p *spoolPack) Commit(ctx context.Context, h backend.Handle) error {
	if p.done {
		return fmt.Errorf("spool pack: commit after commit or abort")
	}
	p.done = true
	defer p.f.Close()
	if p.err != nil {
		return p.err
	}
	return p.be.SaveFile(ctx, h, p.f.File, p.size)
}

// Abort frees the file; after Commit it does nothing.
func (p *spoolPack) Abort() error {
	if p.done {
		return nil
	}
	p.done = true
	return p.f.Close()
}

// spoolDir returns where packs for a fileSaver are spooled: the SpoolDir option, else
// "spool" in the cache directory, else the system's temporary directory. It creates the
// directory and checks that a file can be created in it; when that fails it logs why and
// returns false, and packs are buffered in memory instead.
func (r *Repository) spoolDir() (string, bool) {
	dir := r.spool
	if dir == "" {
		dir = os.TempDir()
		if r.cacheDir != "" {
			dir = filepath.Join(r.cacheDir, "spool")
		}
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		r.log.Warn("cannot spool packs: buffering them in memory", "dir", dir, "err", err)
		return "", false
	}
	f, err := spool.Create(dir)
	if err != nil {
		r.log.Warn("cannot spool packs: buffering them in memory", "dir", dir, "err", err)
		return "", false
	}
	_ = f.Close()
	return dir, true
}
