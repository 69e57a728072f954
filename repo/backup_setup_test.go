package repo

import (
	"bytes"
	"context"
	"errors"
	"io"
	"runtime"
	"testing"
	"time"

	"github.com/cairnbackup/cairn/index"
	"github.com/cairnbackup/cairn/internal/ids"
	"github.com/cairnbackup/cairn/repo/backend"
	"github.com/cairnbackup/cairn/repo/backend/mem"
)

// drainSignal is a source that closes drained when it reports the end of its data (or
// its error).
type drainSignal struct {
	r       io.Reader
	err     error // returned instead of io.EOF at the end
	drained chan struct{}
}

func (d *drainSignal) Read(p []byte) (int, error) {
	n, err := d.r.Read(p)
	if err == io.EOF {
		close(d.drained)
		if d.err != nil {
			err = d.err
		}
	}
	return n, err
}

// gateLock holds the saving of be's lock objects until open is closed, and fails it after
// 10 s (the deadline is the failure, not synchronisation).
func gateLock(be *mem.Backend, open <-chan struct{}, err error) {
	be.AddFault(mem.OpSaveNew, &mem.Fault{
		Match: func(h backend.Handle) bool { return h.Type == backend.Lock },
		Times: 1,
		Do: func(ctx context.Context, _ backend.Handle) error {
			if werr := awaitFault(ctx, open, "lock saved before the source was read to its end"); werr != nil {
				return werr
			}
			return err
		},
	})
}

// awaitFault waits in a mem.Fault's Do until ch is closed (nil), ctx is done (its error), or
// 10 s have passed (an error saying why: the deadline is the failure, not synchronisation).
func awaitFault(ctx context.Context, ch <-chan struct{}, why string) error {
	select {
	case <-ch:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	case <-time.After(10 * time.Second):
		return errors.New(why)
	}
}

// TestBackupReadsWhileLocking: the pipeline reads the source while the lock is being
// written. Here the lock's save waits until the whole source was read, so a backup that
// takes its lock first fails; the snapshot must still restore.
func TestBackupReadsWhileLocking(t *testing.T) {
	be := mem.New("overlap")
	r := newRepoOn(t, be)
	data := randomVolume(1<<20, 51) // less than one read: read to its end at once
	src := &drainSignal{r: bytes.NewReader(data), drained: make(chan struct{})}
	gateLock(be, src.drained, nil)
	snap, err := r.Backup(context.Background(), src, BackupOptions{})
	if err != nil {
		t.Fatal(err)
	}
	checkRestore(t, r, snap.ID, data)
}

// TestBackupSetupAndPipelineErrors: whichever of the set-up (lock, listings) and the
// pipeline fails first is the error reported, not the cancellation it caused in the other.
func TestBackupSetupAndPipelineErrors(t *testing.T) {
	errSource := errors.New("source broke")
	for _, c := range []struct {
		name    string
		lockErr error // the lock's save fails with this once the source is drained
		srcErr  error // the source fails with this at its end
		want    error
	}{
		{"lock fails", errors.New("lock refused"), nil, mem.ErrInjected},
		{"source fails while the lock is saved", nil, errSource, errSource},
	} {
		t.Run(c.name, func(t *testing.T) {
			be := mem.New("errors")
			r := newRepoOn(t, be)
			src := &drainSignal{r: bytes.NewReader(randomVolume(1<<20, 52)), err: c.srcErr, drained: make(chan struct{})}
			gateLock(be, src.drained, c.lockErr)
			_, err := r.Backup(context.Background(), src, BackupOptions{})
			if !errors.Is(err, c.want) {
				t.Fatalf("Backup: %v, want %v", err, c.want)
			}
			snaps, err := r.Snapshots(context.Background())
			if err != nil || len(snaps) != 0 {
				t.Fatalf("snapshots after a failed backup: %d, %v", len(snaps), err)
			}
		})
	}
}

// TestStoreWaitsForSetup: before the lock is held and the index synced, a blob is neither
// looked up nor queued for packing; once they are, it is.
func TestStoreWaitsForSetup(t *testing.T) {
	r := newRepoOn(t, mem.New("gate"))
	b := r.newBackupRun(2)
	c, err := newCompressor("fastest")
	if err != nil {
		t.Fatal(err)
	}
	b.comps = make(chan *compressor, 1)
	b.comps <- c
	packCh := make(chan blob, 1)
	id := ids.ID{1}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := b.store(ctx, packCh, index.DataBlob, id, []byte("data"), 0); !errors.Is(err, context.Canceled) {
		t.Fatalf("store before set-up: %v, want context.Canceled", err)
	}
	if len(packCh) != 0 || len(b.claimed) != 0 {
		t.Fatal("a blob was claimed or queued before set-up")
	}
	lk, unlock, err := b.setup(context.Background())
	if err != nil || lk == nil {
		t.Fatalf("setup: %v", err)
	}
	defer unlock()
	if err := b.store(context.Background(), packCh, index.DataBlob, id, []byte("data"), 0); err != nil {
		t.Fatalf("store after set-up: %v", err)
	}
	if len(packCh) != 1 {
		t.Fatal("the blob was not queued after set-up")
	}
}

// procsSource records GOMAXPROCS at its first read.
type procsSource struct {
	r     io.Reader
	procs int
}

func (p *procsSource) Read(b []byte) (int, error) {
	if p.procs == 0 {
		p.procs = runtime.GOMAXPROCS(0)
	}
	return p.r.Read(b)
}

// TestBackupExtraProcs: while a backup to a local repository runs, GOMAXPROCS is ioProcs
// above the caller's (for goroutines blocked in file I/O); other backends get none; the
// caller's value comes back afterwards.
func TestBackupExtraProcs(t *testing.T) {
	base := runtime.GOMAXPROCS(0)
	for _, c := range []struct {
		name string
		be   backend.Backend
		want int
	}{
		{"local", localBackend(t), base + ioProcs},
		{"memory (as object storage)", mem.New("procs"), base},
	} {
		t.Run(c.name, func(t *testing.T) {
			r := newRepoOn(t, c.be)
			src := &procsSource{r: bytes.NewReader(randomVolume(1<<20, 53))}
			if _, err := r.Backup(context.Background(), src, BackupOptions{}); err != nil {
				t.Fatal(err)
			}
			if src.procs != c.want {
				t.Errorf("GOMAXPROCS during the backup: %d, want %d", src.procs, c.want)
			}
			if got := runtime.GOMAXPROCS(0); got != base {
				t.Errorf("GOMAXPROCS after the backup: %d, want %d", got, base)
			}
		})
	}
}
