package main

import (
	"bytes"
	"context"
	"github.com/cairnbackup/cairn/internal/cli"
	"io"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// testVolume writes a sparse volume of size bytes: random and text-like regions, and holes.
func testVolume(t *testing.T, path string, size int64, seed byte) []byte {
	t.Helper()
	data := make([]byte, size)
	rng := rand.New(rand.NewChaCha8([32]byte{seed}))
	for off := int64(0); off < size; off += 256 << 10 {
		end := min(off+256<<10, size)
		switch (off / (256 << 10)) % 4 {
		case 0, 1:
			for i := off; i < end; i++ {
				data[i] = byte(rng.Uint32())
			}
		case 2:
			for i := off; i < end; i++ {
				data[i] = "cairn volume text "[i%18]
			}
		}
	}
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if err := f.Truncate(size); err != nil {
		t.Fatal(err)
	}
	for off := int64(0); off < size; off += 256 << 10 {
		if (off/(256<<10))%4 == 3 {
			continue // a hole
		}
		end := min(off+256<<10, size)
		if _, err := f.WriteAt(data[off:end], off); err != nil {
			t.Fatal(err)
		}
	}
	return data
}

func readFile(t *testing.T, p string) []byte {
	t.Helper()
	b, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// TestEndToEnd drives the CLI in-process through a repository's life.
func TestEndToEnd(t *testing.T) {
	dir := t.TempDir()
	repoDir := filepath.Join(dir, "repo")
	c := newCLI(t, map[string]string{cli.EnvRepo: repoDir, cli.EnvPassword: "pw1", cli.EnvKDF: "test",
		cli.EnvCacheDir: filepath.Join(dir, "cache")})

	// init, and init again.
	r := c.ok("init", "--json")
	var initSum map[string]any
	mustJSON(t, r.stdout, &initSum)
	if initSum["type"] != "summary" || initSum["op"] != "init" || len(initSum["repository_id"].(string)) != 64 ||
		len(initSum["key_id"].(string)) != 64 {
		t.Errorf("init summary: %s", r.stdout)
	}
	r = c.want(cli.ExitRepository, "init")
	if !strings.Contains(r.stderr, "already exists") || !strings.Contains(r.stderr, "hint: ") {
		t.Errorf("second init: %q", r.stderr)
	}

	// Backup of a generated sparse file.
	const size = 3<<20 + 12345
	vol := filepath.Join(dir, "vol.img")
	orig := testVolume(t, vol, size, 1)
	r = c.ok("backup", "--json", "--name", "vol", "--tag", "app=test", "--host", "h1", vol)
	var b1 backupSummary
	mustJSON(t, r.stdout, &b1)
	if b1.Type != "summary" || b1.Op != "backup" || len(b1.Snapshot.ID) != 64 || b1.Snapshot.Size != size ||
		b1.Snapshot.Name != "vol" || b1.Snapshot.Hostname != "h1" || b1.Snapshot.Stats.NewBytes == 0 {
		t.Errorf("backup summary: %s", r.stdout)
	}
	if r.stderr != "" && !strings.Contains(r.stderr, `"type":"progress"`) {
		t.Errorf("backup --json stderr should hold only progress lines: %q", r.stderr)
	}

	// snapshots --json.
	r = c.ok("snapshots", "--json")
	var snaps []cli.SnapshotJSON
	mustJSON(t, r.stdout, &snaps)
	if len(snaps) != 1 || snaps[0].ID != b1.Snapshot.ID || len(snaps[0].Tags) != 1 || snaps[0].Tags[0] != "app=test" {
		t.Fatalf("snapshots --json: %s", r.stdout)
	}
	r = c.ok("snapshots")
	if !strings.Contains(r.stdout, b1.Snapshot.ShortID) || !strings.Contains(r.stdout, "app=test") {
		t.Errorf("snapshots table: %s", r.stdout)
	}

	// Restore to a new file: same bytes, same size.
	out := filepath.Join(dir, "out.img")
	c.ok("restore", "latest", out)
	if !bytes.Equal(readFile(t, out), orig) {
		t.Fatal("restored file differs from the source")
	}
	// An existing non-empty file is refused, then replaced with --overwrite.
	os.WriteFile(out, bytes.Repeat([]byte{0xff}, size+999), 0o600)
	r = c.want(cli.ExitError, "restore", "latest", out)
	if !strings.Contains(r.stderr, "--overwrite") {
		t.Errorf("refusal should mention --overwrite: %q", r.stderr)
	}
	c.ok("restore", "--overwrite", "latest", out)
	if !bytes.Equal(readFile(t, out), orig) {
		t.Fatal("restore --overwrite: file differs from the source (stale tail or holes not zero?)")
	}
	// Restore to stdout: data only on stdout, summary on stderr.
	r = c.ok("restore", b1.Snapshot.ShortID, "-")
	if r.stdout != string(orig) {
		t.Fatal("restore to stdout differs from the source")
	}
	if !strings.Contains(r.stderr, "restored snapshot") {
		t.Errorf("restore to stdout: summary should be on stderr: %q", r.stderr)
	}

	// Second backup after a small change stores little.
	f, _ := os.OpenFile(vol, os.O_WRONLY, 0)
	f.WriteAt(bytes.Repeat([]byte("changed!"), 512), 1<<20)
	f.Close()
	changed := readFile(t, vol)
	r = c.ok("backup", "--json", "--name", "vol", vol)
	var b2 backupSummary
	mustJSON(t, r.stdout, &b2)
	if b2.Snapshot.Stats.NewBytes >= b1.Snapshot.Stats.NewBytes || b2.DedupRatio <= 0 {
		t.Errorf("second backup: new %d (first %d), dedup %v", b2.Snapshot.Stats.NewBytes, b1.Snapshot.Stats.NewBytes, b2.DedupRatio)
	}
	// An ID prefix finds the first snapshot; "latest" the second.
	c.ok("restore", b1.Snapshot.ID[:10], filepath.Join(dir, "first.img"))
	if !bytes.Equal(readFile(t, filepath.Join(dir, "first.img")), orig) {
		t.Error("restore by ID prefix: wrong content")
	}
	c.ok("restore", "latest", "--name", "vol", filepath.Join(dir, "second.img"))
	if !bytes.Equal(readFile(t, filepath.Join(dir, "second.img")), changed) {
		t.Error("restore latest: wrong content")
	}

	// Backup from stdin.
	cs := *c
	cs.stdin = bytes.NewReader(orig[:100000])
	r = cs.ok("backup", "--name", "stream", "-")
	if !strings.HasPrefix(r.stdout, "snapshot ") {
		t.Errorf("backup text summary: %q", r.stdout)
	}
	r = c.ok("restore", "latest", "--name", "stream", "-")
	if r.stdout != string(orig[:100000]) {
		t.Error("stdin backup did not round-trip")
	}
	r = c.ok("snapshots", "--name", "vol", "--json")
	mustJSON(t, r.stdout, &snaps)
	if len(snaps) != 2 {
		t.Errorf("snapshots --name vol: %d, want 2", len(snaps))
	}

	// ls and cat.
	var objs []objectJSON
	mustJSON(t, c.ok("ls", "snapshots", "--json").stdout, &objs)
	if len(objs) != 3 {
		t.Errorf("ls snapshots: %d objects, want 3", len(objs))
	}
	mustJSON(t, c.ok("ls", "packs", "--json").stdout, &objs)
	if len(objs) == 0 || objs[0].Size <= 0 {
		t.Errorf("ls packs: %+v", objs)
	}
	var idx []objectJSON
	mustJSON(t, c.ok("ls", "index", "--json").stdout, &idx)
	var exts []extentJSON
	mustJSON(t, c.ok("ls", b1.Snapshot.ID[:8], "--json").stdout, &exts)
	var sum int64
	zero := false
	for _, e := range exts {
		if e.Offset != sum || (e.Zero == (e.Blob != "")) {
			t.Fatalf("ls extents: bad extent %+v at %d", e, sum)
		}
		sum += e.Length
		zero = zero || e.Zero
	}
	if sum != size || !zero {
		t.Errorf("ls extents cover %d bytes (want %d), zero extents: %v", sum, size, zero)
	}
	if r := c.ok("ls", "latest"); !strings.Contains(r.stdout, "OFFSET") {
		t.Errorf("ls latest: %q", r.stdout)
	}
	var cfg map[string]any
	mustJSON(t, c.ok("cat", "config").stdout, &cfg)
	if cfg["id"] != initSum["repository_id"] {
		t.Errorf("cat config id %v, want %v", cfg["id"], initSum["repository_id"])
	}
	var cs1 map[string]any
	mustJSON(t, c.ok("cat", "snapshot", b1.Snapshot.ID[:12]).stdout, &cs1)
	if cs1["id"] != b1.Snapshot.ID {
		t.Errorf("cat snapshot: %v", cs1)
	}
	var ci map[string]any
	mustJSON(t, c.ok("cat", "index", idx[0].Name[:8]).stdout, &ci)
	if _, ok := ci["packs"]; !ok {
		t.Errorf("cat index: %v", ci)
	}
	c.want(cli.ExitError, "cat", "index", "ffffffffff")

	// Keys: add, list, passwd, remove.
	var keys []map[string]any
	mustJSON(t, c.ok("key", "list", "--json").stdout, &keys)
	if len(keys) != 1 || keys[0]["current"] != true {
		t.Fatalf("key list: %v", keys)
	}
	key1 := keys[0]["id"].(string)
	var ks keySummary
	mustJSON(t, c.with(cli.EnvNewPassword, "pw2").ok("key", "add", "--json").stdout, &ks)
	if ks.Op != "key add" || len(ks.Key.ID) != 64 {
		t.Errorf("key add summary: %+v", ks)
	}
	key2 := ks.Key.ID
	c2 := c.with(cli.EnvPassword, "pw2")
	mustJSON(t, c2.ok("key", "list", "--json").stdout, &keys)
	if len(keys) != 2 {
		t.Fatalf("key list after add: %v", keys)
	}
	for _, k := range keys {
		if (k["id"] == key2) != (k["current"] == true) {
			t.Errorf("opened with pw2, the current key should be %s: %v", key2[:8], keys)
		}
	}
	r = c2.want(cli.ExitError, "key", "remove", key2[:8])
	if !strings.Contains(r.stderr, "in use") {
		t.Errorf("removing the current key: %q", r.stderr)
	}
	c2.want(cli.ExitError, "key", "remove", "0000000000")
	mustJSON(t, c2.ok("key", "remove", key1[:8], "--json").stdout, &ks)
	if ks.Key.ID != key1 {
		t.Errorf("key remove summary names %q, want %q", ks.Key.ID, key1)
	}
	c.want(cli.ExitPassword, "snapshots") // pw1's slot is gone
	r = c2.with(cli.EnvNewPassword, "pw3").ok("key", "passwd")
	if !strings.Contains(r.stdout, "password changed") {
		t.Errorf("key passwd: %q", r.stdout)
	}
	c2.want(cli.ExitPassword, "snapshots")
	c3 := c.with(cli.EnvPassword, "pw3")
	mustJSON(t, c3.ok("key", "list", "--json").stdout, &keys)
	if len(keys) != 1 {
		t.Errorf("after passwd: %d keys, want 1", len(keys))
	}

	// Error exit codes.
	r = c.with(cli.EnvPassword, "nope").want(cli.ExitPassword, "snapshots")
	if !strings.Contains(r.stderr, "hint: check CAIRN_PASSWORD") {
		t.Errorf("wrong password hint: %q", r.stderr)
	}
	c3.with(cli.EnvRepo, filepath.Join(dir, "missing")).want(cli.ExitRepository, "snapshots")
	c3.want(cli.ExitNotFound, "restore", "deadbeef", filepath.Join(dir, "x.img"))
	c3.want(cli.ExitNotFound, "restore", "latest", "--name", "nothing", filepath.Join(dir, "x.img"))
	if _, err := os.Stat(filepath.Join(dir, "x.img")); err == nil {
		t.Error("a failed restore left its target file behind")
	}
	c3.want(cli.ExitNotFound, "ls", "latest", "--name", "nothing")

	// Corrupt data: flip a byte of a snapshot object.
	snapFiles, _ := filepath.Glob(filepath.Join(repoDir, "snapshots", "*"))
	if len(snapFiles) == 0 {
		snapFiles, _ = filepath.Glob(filepath.Join(repoDir, "snapshots", "*", "*"))
	}
	if len(snapFiles) == 0 {
		t.Fatal("no snapshot files found to corrupt")
	}
	b := readFile(t, snapFiles[0])
	b[len(b)/2] ^= 1
	os.Chmod(snapFiles[0], 0o600)
	if err := os.WriteFile(snapFiles[0], b, 0o600); err != nil {
		t.Fatal(err)
	}
	r = c3.want(cli.ExitCorrupt, "snapshots")
	if !strings.Contains(r.stderr, "corrupt") {
		t.Errorf("corrupt: %q", r.stderr)
	}
}

// cancelReader cancels a context after the first read, like a SIGINT mid-backup.
type cancelReader struct {
	r      io.Reader
	cancel context.CancelFunc
	n      int
}

func (c *cancelReader) Read(p []byte) (int, error) {
	c.n++
	if c.n == 2 {
		c.cancel()
	}
	return c.r.Read(p)
}

// TestInterruptedBackup checks exit code 130 and that nothing is recorded.
func TestInterruptedBackup(t *testing.T) {
	dir := t.TempDir()
	c := newCLI(t, map[string]string{cli.EnvRepo: filepath.Join(dir, "repo"), cli.EnvPassword: "pw", cli.EnvKDF: "test", cli.EnvCacheDir: "off"})
	c.ok("init", "-q")
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	ci := *c
	ci.ctx = ctx
	ci.stdin = &cancelReader{r: io.LimitReader(rand.NewChaCha8([32]byte{9}), 64<<20), cancel: cancel}
	r := ci.want(cli.ExitInterrupted, "backup", "-")
	if !strings.HasPrefix(r.stderr, "cairn: interrupted") {
		t.Errorf("stderr %q", r.stderr)
	}
	var snaps []cli.SnapshotJSON
	mustJSON(t, c.ok("snapshots", "--json").stdout, &snaps)
	if len(snaps) != 0 {
		t.Errorf("an interrupted backup recorded %d snapshot(s)", len(snaps))
	}
}

// TestQuickstart runs the demo on a small volume.
func TestQuickstart(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "qs")
	c := newCLI(t, nil)
	r := c.ok("quickstart", "--dir", dir, "--size", "3MiB", "--json")
	var s quickstartSummary
	mustJSON(t, r.stdout, &s)
	if !s.Verified || len(s.Backups) != 2 || s.VolumeSize != 3<<20 || s.Restore.Bytes != 3<<20 || len(s.SHA256) != 64 {
		t.Fatalf("quickstart summary: %s", r.stdout)
	}
	if n := s.Backups[1].Snapshot.Stats.NewBytes; n >= s.Backups[0].Snapshot.Stats.NewBytes {
		t.Errorf("second backup stored %d new bytes, the first %d", n, s.Backups[0].Snapshot.Stats.NewBytes)
	}
	// The printed commands work: the repository opens with the demo password.
	c.with(cli.EnvRepo, s.Repository, cli.EnvPassword, quickstartPassword, cli.EnvCacheDir, "off").ok("snapshots")
	// A non-empty --dir is refused.
	c.want(cli.ExitUsage, "quickstart", "--dir", dir)
	// Text mode narrates and ends with the next commands.
	r = c.ok("quickstart", "--dir", filepath.Join(t.TempDir(), "qs2"), "--size", "1MiB")
	for _, want := range []string{"export CAIRN_REPO=", "cairn snapshots", "SHA-256", "backup #2"} {
		if !strings.Contains(r.stdout, want) {
			t.Errorf("quickstart output lacks %q:\n%s", want, r.stdout)
		}
	}
}
