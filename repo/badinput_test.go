package repo

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/cairnbackup/cairn/repo/backend"
)

func TestOpenErrors(t *testing.T) {
	_, dir := newTestRepo(t)
	ctx := context.Background()
	cases := []struct {
		name     string
		location string
		password string
		want     error
	}{
		{"wrong password", dir, "nope", ErrWrongPassword},
		{"missing directory", filepath.Join(t.TempDir(), "absent"), "x", ErrNoRepository},
		{"empty directory", t.TempDir(), "x", ErrNoRepository},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Open(ctx, tc.location, OpenOptions{Password: []byte(tc.password), CacheDir: "off"})
			if !errors.Is(err, tc.want) {
				t.Fatalf("Open: %v, want %v", err, tc.want)
			}
		})
	}
}

func TestInitTwiceRefused(t *testing.T) {
	_, dir := newTestRepo(t)
	_, err := Init(context.Background(), dir, testInitOptions(t))
	if !errors.Is(err, ErrRepositoryExists) {
		t.Fatalf("second Init: %v, want ErrRepositoryExists", err)
	}
}

func TestUnsupportedVersion(t *testing.T) {
	_, dir := newTestRepo(t)
	p := filepath.Join(dir, "config")
	b, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	b[7] = 9 // format version 9
	if err := os.WriteFile(p, b, 0o600); err != nil {
		t.Fatal(err)
	}
	_, err = Open(context.Background(), dir, OpenOptions{Password: testPassword, CacheDir: "off"})
	if !errors.Is(err, ErrUnsupportedVersion) {
		t.Fatalf("Open: %v, want ErrUnsupportedVersion", err)
	}
}

// objectFiles lists the files of one object type in a local repository.
func objectFiles(t *testing.T, dir string, ty backend.Type) []string {
	t.Helper()
	var out []string
	err := filepath.Walk(filepath.Join(dir, ty.String()), func(p string, fi os.FileInfo, err error) error {
		if err == nil && !fi.IsDir() {
			out = append(out, p)
		}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func TestTamperDetected(t *testing.T) {
	flip := func(off func(n int) int) func(t *testing.T, p string) {
		return func(t *testing.T, p string) {
			b, err := os.ReadFile(p)
			if err != nil {
				t.Fatal(err)
			}
			b[off(len(b))] ^= 0x01
			if err := os.WriteFile(p, b, 0o600); err != nil {
				t.Fatal(err)
			}
		}
	}
	truncate := func(t *testing.T, p string) {
		fi, err := os.Stat(p)
		if err != nil {
			t.Fatal(err)
		}
		if err := os.Truncate(p, fi.Size()/2); err != nil {
			t.Fatal(err)
		}
	}
	remove := func(t *testing.T, p string) {
		if err := os.Remove(p); err != nil {
			t.Fatal(err)
		}
	}
	cases := []struct {
		name   string
		ty     backend.Type
		mutate func(t *testing.T, p string)
		want   error // nil: any error
	}{
		{"pack blob byte", backend.Pack, flip(func(n int) int { return n / 3 }), ErrCorrupt},
		{"pack salt byte", backend.Pack, flip(func(int) int { return 20 }), ErrCorrupt},
		{"pack truncated", backend.Pack, truncate, nil},
		{"pack missing", backend.Pack, remove, backend.ErrNotFound},
		{"snapshot byte", backend.Snapshot, flip(func(n int) int { return n - 5 }), ErrCorrupt},
		{"snapshot truncated", backend.Snapshot, truncate, ErrCorrupt},
		{"index byte", backend.Index, flip(func(n int) int { return n / 2 }), ErrCorrupt},
		{"index truncated", backend.Index, truncate, ErrCorrupt},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			r, dir := newTestRepo(t)
			vol := randomVolume(3<<20, 41)
			s := backupBytes(t, r, vol, "t")
			r.Close()
			files := objectFiles(t, dir, tc.ty)
			if len(files) == 0 {
				t.Fatalf("no %s objects", tc.ty)
			}
			for _, f := range files {
				tc.mutate(t, f)
			}
			r2, err := Open(context.Background(), dir, OpenOptions{Password: testPassword, CacheDir: "off"})
			if err != nil {
				t.Fatal(err)
			}
			defer r2.Close()
			var buf bytes.Buffer
			err = r2.RestoreStream(context.Background(), s.ID, &buf, RestoreOptions{})
			if err == nil {
				t.Fatal("restore of tampered repository succeeded")
			}
			if tc.want != nil && !errors.Is(err, tc.want) {
				t.Fatalf("restore error %v, want %v", err, tc.want)
			}
			if strings.Contains(err.Error(), "\n") {
				t.Errorf("error is not one line: %q", err)
			}
		})
	}
}

// faultyBackend fails pack saves after `after` successful ones.
type faultyBackend struct {
	backend.Backend
	after atomic.Int64
	err   error
}

func (f *faultyBackend) Save(ctx context.Context, h backend.Handle, data []byte) error {
	if h.Type == backend.Pack && f.after.Add(-1) < 0 {
		return fmt.Errorf("save %s: %w", h, f.err)
	}
	return f.Backend.Save(ctx, h, data)
}

func TestBackupStorageFailureRecordsNothing(t *testing.T) {
	for _, tc := range []struct {
		name string
		err  error
	}{
		{"disk full", backend.ErrNoSpace},
		{"zone down", backend.ErrUnavailable},
	} {
		t.Run(tc.name, func(t *testing.T) {
			fb := &faultyBackend{Backend: localBackend(t), err: tc.err}
			fb.after.Store(1 << 40)
			r := newRepoOn(t, fb)
			good := backupBytes(t, r, randomVolume(2<<20, 51), "good")
			fb.after.Store(2)
			_, err := r.Backup(context.Background(), bytes.NewReader(randomVolume(8<<20, 52)), BackupOptions{Name: "bad"})
			if !errors.Is(err, tc.err) {
				t.Fatalf("Backup: %v, want %v", err, tc.err)
			}
			snaps, err := r.Snapshots(context.Background())
			if err != nil {
				t.Fatal(err)
			}
			if len(snaps) != 1 || snaps[0].ID != good.ID {
				t.Fatalf("snapshots after failed backup: %d", len(snaps))
			}
			// The repository stays usable: the earlier snapshot restores and a new backup works.
			fb.after.Store(1 << 40)
			if !bytes.Equal(restoreBytes(t, r, good.ID), randomVolume(2<<20, 51)) {
				t.Fatal("earlier snapshot no longer restores")
			}
			vol := randomVolume(8<<20, 52)
			s := backupBytes(t, r, vol, "retry")
			if !bytes.Equal(restoreBytes(t, r, s.ID), vol) {
				t.Fatal("retry differs")
			}
		})
	}
}

// failingReader returns an error after n bytes.
type failingReader struct {
	r io.Reader
	n int
}

func (f *failingReader) Read(p []byte) (int, error) {
	if f.n <= 0 {
		return 0, errors.New("input/output error")
	}
	if len(p) > f.n {
		p = p[:f.n]
	}
	n, err := f.r.Read(p)
	f.n -= n
	return n, err
}

func TestUnreadableSourceRecordsNothing(t *testing.T) {
	r, _ := newTestRepo(t)
	src := &failingReader{r: bytes.NewReader(randomVolume(8<<20, 61)), n: 5 << 20}
	_, err := r.Backup(context.Background(), src, BackupOptions{})
	if err == nil || !strings.Contains(err.Error(), "read source") {
		t.Fatalf("Backup: %v, want a read source error", err)
	}
	snaps, err := r.Snapshots(context.Background())
	if err != nil || len(snaps) != 0 {
		t.Fatalf("snapshots after failed backup: %d, %v", len(snaps), err)
	}
}

func TestCancelledBackupRecordsNothing(t *testing.T) {
	r, _ := newTestRepo(t)
	ctx, cancel := context.WithCancel(context.Background())
	src := &cancelAfter{r: bytes.NewReader(randomVolume(16<<20, 71)), n: 4 << 20, cancel: cancel}
	_, err := r.Backup(ctx, src, BackupOptions{})
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("Backup: %v, want context.Canceled", err)
	}
	snaps, err := r.Snapshots(context.Background())
	if err != nil || len(snaps) != 0 {
		t.Fatalf("snapshots after cancelled backup: %d, %v", len(snaps), err)
	}
}

type cancelAfter struct {
	r      io.Reader
	n      int
	cancel func()
}

func (c *cancelAfter) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n -= n
	if c.n <= 0 {
		c.cancel()
	}
	return n, err
}

func TestKeys(t *testing.T) {
	r, dir := newTestRepo(t)
	ctx := context.Background()
	kdf := testInitOptions(t).KDF
	if err := r.RemoveKey(ctx, r.keyID); !errors.Is(err, ErrCurrentKey) {
		t.Fatalf("remove current: %v", err)
	}
	k2, err := r.AddKey(ctx, []byte("second"), kdf)
	if err != nil {
		t.Fatal(err)
	}
	keys, err := r.Keys(ctx)
	if err != nil || len(keys) != 2 {
		t.Fatalf("Keys = %v, %v", keys, err)
	}
	if _, err := Open(ctx, dir, OpenOptions{Password: []byte("second"), CacheDir: "off"}); err != nil {
		t.Fatalf("open with added key: %v", err)
	}
	if _, err := r.ChangePassword(ctx, []byte("third"), kdf); err != nil {
		t.Fatal(err)
	}
	if _, err := Open(ctx, dir, OpenOptions{Password: testPassword, CacheDir: "off"}); !errors.Is(err, ErrWrongPassword) {
		t.Fatalf("old password still opens: %v", err)
	}
	if err := r.RemoveKey(ctx, k2.ID[:10]); err != nil {
		t.Fatalf("remove second: %v", err)
	}
	r3, err := Open(ctx, dir, OpenOptions{Password: []byte("third"), CacheDir: "off"})
	if err != nil {
		t.Fatal(err)
	}
	defer r3.Close()
	if err := r3.RemoveKey(ctx, r3.keyID); !errors.Is(err, ErrCurrentKey) {
		t.Fatalf("remove current: %v", err)
	}
	if err := r3.RemoveKey(ctx, "ffffffff"); !errors.Is(err, ErrKeyNotFound) {
		t.Fatalf("remove unknown: %v", err)
	}
}
