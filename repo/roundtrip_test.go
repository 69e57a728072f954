package repo

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"syscall"
	"testing"
)

func TestRoundTrip(t *testing.T) {
	r, _ := newTestRepo(t)
	cases := []struct {
		name string
		data []byte
	}{
		{"empty", nil},
		{"one byte", []byte{42}},
		{"one zero byte", []byte{0}},
		{"random odd size", randomVolume(3<<20+12345, 1)},
		{"compressible", compressibleVolume(2<<20+7, 2)},
		{"sparse", sparseVolume(9<<20+4097, 3)},
		{"all zero", make([]byte, 5<<20+99)},
		{"larger than max chunk", randomVolume(5<<20+1, 4)},
		{"mixed", mixedVolume(11<<20+333, 5)},
		{"zero block then byte", append(make([]byte, 64<<10), 7)},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			s := backupBytes(t, r, tc.data, tc.name)
			if s.Size != int64(len(tc.data)) {
				t.Fatalf("snapshot size %d, want %d", s.Size, len(tc.data))
			}
			if got := restoreBytes(t, r, s.ID); !bytes.Equal(got, tc.data) {
				t.Fatalf("stream restore differs (got %d bytes, want %d)", len(got), len(tc.data))
			}
			for _, sparse := range []bool{false, true} {
				p := filepath.Join(t.TempDir(), "out.img")
				f, err := os.Create(p)
				if err != nil {
					t.Fatal(err)
				}
				if !sparse {
					// A non-sparse restore must overwrite garbage with zeros (block device case).
					if err := f.Truncate(int64(len(tc.data))); err != nil {
						t.Fatal(err)
					}
					if _, err := f.WriteAt(bytes.Repeat([]byte{0xAA}, len(tc.data)), 0); err != nil {
						t.Fatal(err)
					}
				}
				if err := r.Restore(context.Background(), s.ID, f, RestoreOptions{Sparse: sparse}); err != nil {
					t.Fatalf("Restore(sparse=%v): %v", sparse, err)
				}
				f.Close()
				got, err := os.ReadFile(p)
				if err != nil {
					t.Fatal(err)
				}
				if !bytes.Equal(got, tc.data) {
					t.Fatalf("Restore(sparse=%v) differs", sparse)
				}
			}
		})
	}
}

func TestSparseFileHolesSkippedAndRestored(t *testing.T) {
	r, _ := newTestRepo(t)
	p := filepath.Join(t.TempDir(), "sparse.img")
	f, err := os.Create(p)
	if err != nil {
		t.Fatal(err)
	}
	const size = 64 << 20
	if err := f.Truncate(size); err != nil {
		t.Fatal(err)
	}
	island := randomVolume(1<<20, 9)
	for _, off := range []int64{0, 20 << 20, 40<<20 + 4096, size - 1<<20} {
		if _, err := f.WriteAt(island, off); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.Seek(0, 0); err != nil {
		t.Fatal(err)
	}
	s, err := r.Backup(context.Background(), f, BackupOptions{Name: "sparse"})
	f.Close()
	if err != nil {
		t.Fatal(err)
	}
	if s.Stats.HoleBytes < 50<<20 {
		t.Errorf("hole bytes %d: holes were read instead of skipped", s.Stats.HoleBytes)
	}
	out := filepath.Join(t.TempDir(), "out.img")
	of, err := os.Create(out)
	if err != nil {
		t.Fatal(err)
	}
	if err := r.Restore(context.Background(), s.ID, of, RestoreOptions{Sparse: true}); err != nil {
		t.Fatal(err)
	}
	of.Close()
	got, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, want) {
		t.Fatal("restored sparse file differs")
	}
	var st syscall.Stat_t
	if err := syscall.Stat(out, &st); err != nil {
		t.Fatal(err)
	}
	if allocated := st.Blocks * 512; allocated > 16<<20 {
		t.Errorf("restored file allocates %d bytes for %d data bytes: holes not preserved", allocated, 4<<20)
	}
}

func TestIncrementalDedup(t *testing.T) {
	r, dir := newTestRepo(t)
	vol := randomVolume(48<<20, 11)
	s1 := backupBytes(t, r, vol, "vol")
	if s1.Stats.NewBytes != int64(len(vol)) {
		t.Fatalf("first backup new bytes %d, want %d", s1.Stats.NewBytes, len(vol))
	}

	// Same volume again: only a snapshot object is added.
	before := dirSize(t, dir)
	s2 := backupBytes(t, r, vol, "vol")
	grown := dirSize(t, dir) - before
	if s2.Stats.NewBytes != 0 || s2.Stats.Packs != 0 {
		t.Errorf("unchanged backup stored new data: %+v", s2.Stats)
	}
	if grown > 16<<10 {
		t.Errorf("unchanged backup grew the repository by %d bytes", grown)
	}

	// Change 1% of the volume in four clustered regions.
	vol2 := bytes.Clone(vol)
	changed := len(vol2) / 100
	for i := range 4 {
		off := (i*2 + 1) * len(vol2) / 9
		copy(vol2[off:off+changed/4], randomVolume(changed/4, uint64(100+i)))
	}
	before = dirSize(t, dir)
	s3 := backupBytes(t, r, vol2, "vol")
	grown = dirSize(t, dir) - before
	if limit := int64(len(vol2)) * 5 / 100; s3.Stats.NewBytes > limit || grown > limit {
		t.Errorf("1%% change added %d new bytes, grew repo by %d; want under %d", s3.Stats.NewBytes, grown, limit)
	}
	if s3.Stats.NewBytes < int64(changed) {
		t.Errorf("1%% change added only %d new bytes, less than the %d changed", s3.Stats.NewBytes, changed)
	}
	if !bytes.Equal(restoreBytes(t, r, s3.ID), vol2) || !bytes.Equal(restoreBytes(t, r, s1.ID), vol) {
		t.Fatal("restore after incremental differs")
	}
}

func TestReopenAndRestoreWithoutCache(t *testing.T) {
	r, dir := newTestRepo(t)
	vol := mixedVolume(7<<20, 21)
	s := backupBytes(t, r, vol, "v")
	r.Close()
	for _, cache := range []string{"off", filepath.Join(t.TempDir(), "fresh")} {
		r2, err := Open(context.Background(), dir, OpenOptions{Password: testPassword, CacheDir: cache})
		if err != nil {
			t.Fatal(err)
		}
		latest, err := r2.FindSnapshot(context.Background(), "latest", "v")
		if err != nil {
			t.Fatal(err)
		}
		if latest.ID != s.ID {
			t.Fatalf("latest = %s, want %s", latest.ID, s.ID)
		}
		if !bytes.Equal(restoreBytes(t, r2, s.ID), vol) {
			t.Fatal("restore differs")
		}
		r2.Close()
	}
}

func TestConcurrentBackupsOneRepository(t *testing.T) {
	r, _ := newTestRepo(t)
	vols := [][]byte{randomVolume(3<<20, 31), compressibleVolume(3<<20, 32), randomVolume(3<<20, 31), sparseVolume(3<<20, 33)}
	snaps := make([]*Snapshot, len(vols))
	errs := make(chan error, len(vols))
	for i, v := range vols {
		go func() {
			s, err := r.Backup(context.Background(), bytes.NewReader(v), BackupOptions{Name: "c"})
			snaps[i] = s
			errs <- err
		}()
	}
	for range vols {
		if err := <-errs; err != nil {
			t.Fatal(err)
		}
	}
	for i, s := range snaps {
		if !bytes.Equal(restoreBytes(t, r, s.ID), vols[i]) {
			t.Fatalf("volume %d differs", i)
		}
	}
	all, err := r.Snapshots(context.Background())
	if err != nil || len(all) != len(vols) {
		t.Fatalf("Snapshots = %d, %v", len(all), err)
	}
}
