package local

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"github.com/cairnbackup/cairn/repo/backend"
)

// ErrPackClosed is returned by a PackFile used after Commit or Abort.
var ErrPackClosed = errors.New("local: pack file already committed or aborted")

// PackFile is a pack being written straight to a temporary file, so a backup need not hold
// the pack in memory. It is named only by Commit, once its content (and so its name) is
// known. Not safe for concurrent use.
type PackFile struct {
	b    *Backend
	f    *os.File
	tmp  string
	size int64
	// flushed is how much of the file has been handed to writeback (startWriteback).
	flushed int64
	err     error // sticky write error
	done    bool
}

// CreatePack starts a new pack in a temporary file. Until Commit the file is a ".tmp-*" file
// inside data/, which List never reports, so a crash leaves nothing check or prune treats as a
// pack. The caller must call Commit or Abort.
func (b *Backend) CreatePack(ctx context.Context) (*PackFile, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	var rnd [8]byte
	_, _ = rand.Read(rnd[:])
	// The final directory depends on the name, known at the end: the temporary file lives in
	// one of the 256 pack directories (chosen at random, which spreads them), from where
	// Commit renames it on the same filesystem.
	dir := filepath.Join(b.dir, backend.Pack.String(), hex.EncodeToString(rnd[:1]))
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("create pack: %w", mapErr(err))
	}
	tmp := filepath.Join(dir, tmpPrefix+hex.EncodeToString(rnd[:]))
	f, err := os.OpenFile(tmp, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return nil, fmt.Errorf("create pack: %w", mapErr(err))
	}
	return &PackFile{b: b, f: f, tmp: tmp}, nil
}

// Write appends p to the pack. A failed write is sticky: every later call, Commit included,
// returns the same error.
func (p *PackFile) Write(b []byte) (int, error) {
	if p.done {
		return 0, ErrPackClosed
	}
	if p.err != nil {
		return 0, p.err
	}
	n, err := p.f.Write(b)
	p.size += int64(n)
	if err != nil {
		p.err = fmt.Errorf("write pack: %w", mapErr(err))
		return n, p.err
	}
	if p.size-p.flushed >= writebackStep {
		startWriteback(p.f, p.flushed, p.size-p.flushed)
		p.flushed = p.size
	}
	return n, nil
}

// writebackStep is how many written bytes of a pack are handed to the kernel's writeback at
// a time while the pack fills.
const writebackStep = 4 << 20

// Size returns the bytes written so far.
func (p *PackFile) Size() int64 { return p.size }

// Commit makes the pack durable under h with the same guarantees as Save: the file is
// fsynced, renamed into place, and its directory fsynced; its pages leave the page cache. On
// any error the temporary file is removed and nothing is stored under h.
func (p *PackFile) Commit(ctx context.Context, h backend.Handle) error {
	if p.done {
		return ErrPackClosed
	}
	fail := func(err error) error {
		_ = p.Abort()
		return fmt.Errorf("save %s: %w", h, err)
	}
	if p.err != nil {
		return fail(p.err)
	}
	if err := ctx.Err(); err != nil {
		return fail(err)
	}
	if h.Type != backend.Pack {
		return fail(fmt.Errorf("commit pack file as %s: not a pack", h.Type))
	}
	if err := h.Validate(); err != nil {
		return fail(err)
	}
	if err := p.f.Sync(); err != nil {
		return fail(mapErr(err))
	}
	// The pack is written back now: drop it from the page cache. A backup never reads its
	// packs again, and a volume's worth of them would fill the node's cache (charged to the
	// pod's memory cgroup) and make the kernel find fresh pages for every pack; dropped,
	// the next pack reuses these (DECISIONS §31).
	adviseDontNeed(p.f, 0, 0)
	if err := p.f.Close(); err != nil {
		return fail(mapErr(err))
	}
	p.f = nil
	final := p.b.Path(h)
	if err := os.MkdirAll(filepath.Dir(final), 0o700); err != nil {
		return fail(mapErr(err))
	}
	if err := os.Rename(p.tmp, final); err != nil {
		return fail(mapErr(err))
	}
	p.done = true
	if err := syncDir(filepath.Dir(final)); err != nil {
		return fmt.Errorf("save %s: %w", h, err)
	}
	return nil
}

// Abort discards the pack: the temporary file is closed and removed. Abort after Commit or
// Abort does nothing.
func (p *PackFile) Abort() error {
	if p.done {
		return nil
	}
	p.done = true
	var err error
	if p.f != nil {
		err = p.f.Close()
		p.f = nil
	}
	if rerr := os.Remove(p.tmp); rerr != nil && !errors.Is(rerr, os.ErrNotExist) {
		err = errors.Join(err, rerr)
	}
	if err != nil {
		return fmt.Errorf("abort pack: %w", mapErr(err))
	}
	return nil
}
