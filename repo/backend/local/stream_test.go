package local_test

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"testing"

	"github.com/cairnbackup/cairn/internal/pagecache"
	"github.com/cairnbackup/cairn/repo/backend"
	"github.com/cairnbackup/cairn/repo/backend/local"
)

// tempFiles returns the ".tmp-*" files under the pack directories.
func tempFiles(t *testing.T, dir string) []string {
	t.Helper()
	m, err := filepath.Glob(filepath.Join(dir, "data", "*", ".tmp-*"))
	if err != nil {
		t.Fatal(err)
	}
	return m
}

// newPackFile creates a backend in dir and starts a pack in it.
func newPackFile(t *testing.T, ctx context.Context, dir string) (*local.Backend, *local.PackFile) {
	t.Helper()
	b, err := local.Create(dir)
	if err != nil {
		t.Fatal(err)
	}
	p, err := b.CreatePack(ctx)
	if err != nil {
		t.Fatal(err)
	}
	return b, p
}

func listPacks(t *testing.T, b *local.Backend) map[string]int64 {
	t.Helper()
	got := map[string]int64{}
	if err := b.List(context.Background(), backend.Pack, func(name string, size int64) error {
		got[name] = size
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	return got
}

func TestPackFile(t *testing.T) {
	const name = "ab12cd34"
	h := backend.Handle{Type: backend.Pack, Name: name}
	parts := [][]byte{[]byte("header"), bytes.Repeat([]byte{7}, 100000), []byte("trailer")}
	want := bytes.Join(parts, nil)
	tests := []struct {
		name    string
		commit  bool
		handle  backend.Handle
		wantErr bool
	}{
		{"commit", true, h, false},
		{"abort", false, h, false},
		{"commit as a non-pack", true, backend.Handle{Type: backend.Index, Name: name}, true},
		{"commit with a bad name", true, backend.Handle{Type: backend.Pack, Name: ".x"}, true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			ctx := context.Background()
			dir := t.TempDir()
			b, p := newPackFile(t, ctx, dir)
			for _, part := range parts {
				if _, err := p.Write(part); err != nil {
					t.Fatal(err)
				}
			}
			if p.Size() != int64(len(want)) {
				t.Fatalf("Size %d, want %d", p.Size(), len(want))
			}
			if len(listPacks(t, b)) != 0 {
				t.Fatal("an uncommitted pack is listed")
			}
			if len(tempFiles(t, dir)) != 1 {
				t.Fatalf("temporary files before commit: %v", tempFiles(t, dir))
			}
			var err error
			if tc.commit {
				err = p.Commit(ctx, tc.handle)
			} else {
				err = p.Abort()
			}
			if (err != nil) != tc.wantErr {
				t.Fatalf("err %v, want error %v", err, tc.wantErr)
			}
			if left := tempFiles(t, dir); len(left) != 0 {
				t.Errorf("temporary files left: %v", left)
			}
			packs := listPacks(t, b)
			if !tc.commit || tc.wantErr {
				if len(packs) != 0 {
					t.Fatalf("packs stored: %v", packs)
				}
				return
			}
			if packs[name] != int64(len(want)) || len(packs) != 1 {
				t.Fatalf("packs %v, want %s of %d bytes", packs, name, len(want))
			}
			got, err := b.Load(ctx, h, 0, 0)
			if err != nil || !bytes.Equal(got, want) {
				t.Fatalf("Load: %v, equal %v", err, bytes.Equal(got, want))
			}
			if _, err := p.Write([]byte("x")); !errors.Is(err, local.ErrPackClosed) {
				t.Errorf("Write after Commit: %v", err)
			}
			if err := p.Commit(ctx, h); !errors.Is(err, local.ErrPackClosed) {
				t.Errorf("second Commit: %v", err)
			}
			if err := p.Abort(); err != nil {
				t.Errorf("Abort after Commit: %v", err)
			}
			if _, err := b.Stat(ctx, h); err != nil {
				t.Errorf("Abort after Commit removed the pack: %v", err)
			}
		})
	}
}

func TestPackFileCanceled(t *testing.T) {
	dir := t.TempDir()
	ctx, cancel := context.WithCancel(context.Background())
	b, p := newPackFile(t, ctx, dir)
	if _, err := p.Write([]byte("data")); err != nil {
		t.Fatal(err)
	}
	cancel()
	if err := p.Commit(ctx, backend.Handle{Type: backend.Pack, Name: "abcd"}); !errors.Is(err, context.Canceled) {
		t.Fatalf("Commit after cancel: %v", err)
	}
	if left := tempFiles(t, dir); len(left) != 0 {
		t.Errorf("temporary files left: %v", left)
	}
	if _, err := b.CreatePack(ctx); !errors.Is(err, context.Canceled) {
		t.Errorf("CreatePack with a canceled context: %v", err)
	}
}

func TestPackFileAfterAbort(t *testing.T) {
	dir := t.TempDir()
	_, p := newPackFile(t, context.Background(), dir)
	if err := p.Abort(); err != nil {
		t.Fatal(err)
	}
	if _, err := p.Write([]byte("x")); !errors.Is(err, local.ErrPackClosed) {
		t.Fatalf("Write after Abort: %v", err)
	}
	if err := p.Commit(context.Background(), backend.Handle{Type: backend.Pack, Name: "abcd"}); !errors.Is(err, local.ErrPackClosed) {
		t.Fatalf("Commit after Abort: %v", err)
	}
	if left := tempFiles(t, dir); len(left) != 0 {
		t.Errorf("temporary files left: %v", left)
	}
}

// TestPackFileLeavesNoCache: a committed pack is not left in the page cache. The file must
// be written through the page cache first: 8 MiB in writes of 1 MiB, so the writeback of
// Write (every 4 MiB) runs too.
func TestPackFileLeavesNoCache(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	control := filepath.Join(dir, "control")
	if err := os.WriteFile(control, make([]byte, 1<<20), 0o600); err != nil {
		t.Fatal(err)
	}
	if pagecache.Evict(control); cachedPages(t, control) > 16 {
		t.Skip("this filesystem keeps written pages cached (tmpfs?)")
	}
	b, p := newPackFile(t, ctx, dir)
	chunk := bytes.Repeat([]byte{1}, 1<<20)
	for range 8 {
		if _, err := p.Write(chunk); err != nil {
			t.Fatal(err)
		}
	}
	tmp := tempFiles(t, dir)
	if len(tmp) != 1 {
		t.Fatalf("temporary files %v, want one", tmp)
	}
	if n := cachedPages(t, tmp[0]); n < 1024 {
		t.Skipf("the pack is not in the page cache before its commit (%d pages)", n)
	}
	h := backend.Handle{Type: backend.Pack, Name: "ab12cd34"}
	if err := p.Commit(ctx, h); err != nil {
		t.Fatal(err)
	}
	if n := cachedPages(t, b.Path(h)); n > 16 {
		t.Fatalf("%d pages of the committed 8 MiB pack still cached", n)
	}
}
