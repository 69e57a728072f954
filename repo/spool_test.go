package repo

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/cairnbackup/cairn/crypto"
	"github.com/cairnbackup/cairn/repo/backend"
	"github.com/cairnbackup/cairn/repo/backend/mem"
)

// TestSpoolDirFallback: where no spool file can be created, a backup to a fileSaver buffers
// its packs in memory, says so in the log, and still stores a restorable snapshot.
func TestSpoolDirFallback(t *testing.T) {
	ctx := context.Background()
	file := filepath.Join(t.TempDir(), "file")
	if err := os.WriteFile(file, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name, dir string
		spools    bool
	}{
		{"usable directory", t.TempDir(), true},
		{"directory created", filepath.Join(t.TempDir(), "a", "b"), true},
		{"path under a file", filepath.Join(file, "spool"), false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var logs bytes.Buffer
			zb, _ := zonesOnMem(t)
			kdf := crypto.TestKDFParams()
			r, err := InitWith(ctx, zb, InitOptions{Password: testPassword, KDF: &kdf, PackSize: 1 << 20,
				CacheDir: "off", SpoolDir: tc.dir, Logger: slog.New(slog.NewTextHandler(&logs, nil))})
			if err != nil {
				t.Fatal(err)
			}
			defer r.Close()
			_, spools := r.streamer().(spoolStreamer)
			if spools != tc.spools {
				t.Fatalf("spools %v, want %v", spools, tc.spools)
			}
			if warned := strings.Contains(logs.String(), "cannot spool packs"); warned == tc.spools {
				t.Fatalf("warning logged %v, want %v: %s", warned, !tc.spools, logs.String())
			}
			vol := mixedVolume(3<<20, 5)
			snap, err := r.Backup(ctx, bytes.NewReader(vol), BackupOptions{})
			if err != nil {
				t.Fatal(err)
			}
			var out bytes.Buffer
			if err := r.RestoreStream(ctx, snap.ID, &out, RestoreOptions{}); err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(out.Bytes(), vol) {
				t.Fatal("restore differs")
			}
		})
	}
}

// recordSaver is a fileSaver that records what it was given, or fails.
type recordSaver struct {
	err   error
	saved []byte
	calls int
}

func (s *recordSaver) SaveFile(_ context.Context, _ backend.Handle, f *os.File, size int64) error {
	s.calls++
	if s.err != nil {
		return s.err
	}
	s.saved = make([]byte, size)
	_, err := f.ReadAt(s.saved, 0)
	return err
}

// TestSpoolPack: Commit hands the fileSaver exactly the bytes written; a failed write is
// sticky, names the spool directory, and is what Commit returns without saving; after
// Commit or Abort the pack is finished.
func TestSpoolPack(t *testing.T) {
	ctx := context.Background()
	h := backend.Handle{Type: backend.Pack, Name: strings.Repeat("ab", 32)}
	t.Run("commit", func(t *testing.T) {
		rs := &recordSaver{}
		dir := t.TempDir()
		w, err := spoolStreamer{be: rs, dir: dir}.CreatePack(ctx)
		if err != nil {
			t.Fatal(err)
		}
		for _, s := range []string{"hello, ", "", "spooled ", "world"} {
			if _, err := w.Write([]byte(s)); err != nil {
				t.Fatal(err)
			}
		}
		if err := w.Commit(ctx, h); err != nil {
			t.Fatal(err)
		}
		if string(rs.saved) != "hello, spooled world" {
			t.Fatalf("saved %q", rs.saved)
		}
		if _, err := w.Write([]byte("x")); err == nil {
			t.Fatal("write after commit succeeded")
		}
		if err := w.Commit(ctx, h); err == nil {
			t.Fatal("second commit succeeded")
		}
		if err := w.Abort(); err != nil {
			t.Fatalf("abort after commit: %v", err)
		}
	})
	t.Run("save fails", func(t *testing.T) {
		boom := errors.New("zones down")
		rs := &recordSaver{err: boom}
		w, err := spoolStreamer{be: rs, dir: t.TempDir()}.CreatePack(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := w.Write([]byte("data")); err != nil {
			t.Fatal(err)
		}
		if err := w.Commit(ctx, h); !errors.Is(err, boom) {
			t.Fatalf("commit: %v, want %v", err, boom)
		}
	})
	t.Run("write fails", func(t *testing.T) {
		rs := &recordSaver{}
		dir := t.TempDir()
		w, err := spoolStreamer{be: rs, dir: dir}.CreatePack(ctx)
		if err != nil {
			t.Fatal(err)
		}
		sp := w.(*spoolPack)
		_ = sp.f.File.Close() // every write fails now, like a full disk
		_, werr := w.Write([]byte("data"))
		if werr == nil || !strings.Contains(werr.Error(), dir) {
			t.Fatalf("write error %v, want one naming %s", werr, dir)
		}
		if _, err := w.Write([]byte("more")); !errors.Is(err, werr) && err.Error() != werr.Error() {
			t.Fatalf("second write: %v, want the first error again", err)
		}
		if err := w.Commit(ctx, h); err == nil || err.Error() != werr.Error() {
			t.Fatalf("commit: %v, want %v", err, werr)
		}
		if rs.calls != 0 {
			t.Fatal("a pack whose spool write failed was saved")
		}
	})
	t.Run("abort", func(t *testing.T) {
		rs := &recordSaver{}
		w, err := spoolStreamer{be: rs, dir: t.TempDir()}.CreatePack(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if err := w.Abort(); err != nil {
			t.Fatal(err)
		}
		if err := w.Commit(ctx, h); err == nil || rs.calls != 0 {
			t.Fatalf("commit after abort: %v, %d saves", err, rs.calls)
		}
	})
	t.Run("missing directory", func(t *testing.T) {
		dir := filepath.Join(t.TempDir(), "gone")
		if _, err := (spoolStreamer{be: &recordSaver{}, dir: dir}).CreatePack(ctx); err == nil || !strings.Contains(err.Error(), dir) {
			t.Fatalf("CreatePack: %v, want an error naming %s", err, dir)
		}
	})
}

// TestSpoolBackupSaveFails: when the zones lose their write quorum, the backup fails with the
// backend's error, stores no snapshot, and leaves nothing in the spool directory.
func TestSpoolBackupSaveFails(t *testing.T) {
	ctx := context.Background()
	zb, mems := zonesOnMem(t)
	kdf := crypto.TestKDFParams()
	dir := t.TempDir()
	r, err := InitWith(ctx, zb, InitOptions{Password: testPassword, KDF: &kdf, PackSize: 1 << 20, CacheDir: "off", SpoolDir: dir})
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	packs := func(h backend.Handle) bool { return h.Type == backend.Pack }
	for _, mb := range mems[:3] {
		mb.AddFault(mem.OpSave, &mem.Fault{Match: packs, Err: errors.New("disk gone")})
	}
	_, err = r.Backup(ctx, bytes.NewReader(mixedVolume(4<<20, 9)), BackupOptions{})
	if !errors.Is(err, backend.ErrUnavailable) && !errors.Is(err, mem.ErrInjected) {
		t.Fatalf("backup: %v, want the zones' failure", err)
	}
	snaps, err := r.Snapshots(ctx)
	if err != nil || len(snaps) != 0 {
		t.Fatalf("snapshots after a failed backup: %v %v", snaps, err)
	}
	if left, err := os.ReadDir(dir); err != nil || len(left) > 0 {
		t.Fatalf("spool directory after the failed backup: %v %v", left, err)
	}
}
