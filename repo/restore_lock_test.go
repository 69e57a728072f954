package repo

import (
	"bytes"
	"context"
	"errors"
	"sync"
	"testing"

	"github.com/cairnbackup/cairn/repo/backend"
)

// gateWriter blocks its first write until release is closed, signalling started first, so a
// test can act while a restore is in the middle of writing.
type gateWriter struct {
	once    sync.Once
	started chan struct{}
	release chan struct{}
	mu      sync.Mutex
	buf     bytes.Buffer
}

func newGateWriter() *gateWriter {
	return &gateWriter{started: make(chan struct{}), release: make(chan struct{})}
}

func (w *gateWriter) wait() {
	w.once.Do(func() { close(w.started) })
	<-w.release
}

func (w *gateWriter) Write(p []byte) (int, error) {
	w.wait()
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.buf.Write(p)
}

func (w *gateWriter) WriteAt(p []byte, off int64) (int, error) {
	w.wait()
	return len(p), nil
}

// TestRestoreLockBlocksPrune: while a restore runs, a prune (exclusive lock) fails with
// ErrLocked instead of deleting packs the restore reads; afterwards the lock is gone and
// prune runs.
func TestRestoreLockBlocksPrune(t *testing.T) {
	tests := []struct {
		name string
		run  func(r *Repository, id ID, w *gateWriter) error
	}{
		{"Restore", func(r *Repository, id ID, w *gateWriter) error {
			return r.Restore(context.Background(), id, w, RestoreOptions{})
		}},
		{"RestoreStream", func(r *Repository, id ID, w *gateWriter) error {
			return r.RestoreStream(context.Background(), id, w, RestoreOptions{})
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r, dir := newLCRepo(t)
			other := openLC(t, dir)
			vol := mixedVolume(3<<20, 7)
			s := backupBytes(t, r, vol, "vol")

			w := newGateWriter()
			done := make(chan error, 1)
			go func() { done <- tc.run(r, s.ID, w) }()
			select {
			case <-w.started:
			case err := <-done:
				t.Fatalf("restore ended before writing: %v", err)
			}
			if n := countObjects(t, r, backend.Lock); n != 1 {
				t.Fatalf("%d lock objects during restore, want 1", n)
			}
			if _, err := other.Prune(context.Background(), noGrace); !errors.Is(err, ErrLocked) {
				t.Fatalf("prune during restore: err = %v, want ErrLocked", err)
			}
			if _, err := other.acquireLock(context.Background(), LockRepair, true); !errors.Is(err, ErrLocked) {
				t.Fatalf("repair lock during restore: err = %v, want ErrLocked", err)
			}
			ck, err := other.acquireLock(context.Background(), LockCheck, false)
			if err != nil {
				t.Fatalf("check beside a restore: %v", err)
			}
			if err := ck.release(context.Background()); err != nil {
				t.Fatal(err)
			}
			close(w.release)
			if err := <-done; err != nil {
				t.Fatalf("restore: %v", err)
			}
			if tc.name == "RestoreStream" && !bytes.Equal(w.buf.Bytes(), vol) {
				t.Fatal("restored bytes differ")
			}
			if n := countObjects(t, r, backend.Lock); n != 0 {
				t.Fatalf("%d lock objects after restore, want 0", n)
			}
			mustPrune(t, other, noGrace)
		})
	}
}
