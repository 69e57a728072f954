package main

import (
	"bytes"
	"github.com/cairnbackup/cairn/internal/cli"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// smallFilesystem mounts a tmpfs of size bytes on a new directory and unmounts it when t
// ends. It skips t where mounting is not permitted (not root, no CAP_SYS_ADMIN).
func smallFilesystem(t *testing.T, size string) string {
	t.Helper()
	dir := t.TempDir()
	if out, err := exec.Command("mount", "-t", "tmpfs", "-o", "size="+size, "tmpfs", dir).CombinedOutput(); err != nil {
		t.Skipf("cannot mount a small tmpfs here (%v: %s); the disk-full path is covered by fault injection in repo", err, strings.TrimSpace(string(out)))
	}
	t.Cleanup(func() { _ = exec.Command("umount", dir).Run() })
	return dir
}

// TestDiskFull fills a real (tmpfs) filesystem during a backup: cairn exits non-zero with a
// one-line "no space" error, records no snapshot, and the repository still checks and
// restores what it held before.
func TestDiskFull(t *testing.T) {
	fs := smallFilesystem(t, "12m")
	repoDir := filepath.Join(fs, "repo")
	dir := t.TempDir()
	c := newCLI(t, map[string]string{cli.EnvRepo: repoDir, cli.EnvPassword: "pw", cli.EnvKDF: "test", cli.EnvCacheDir: filepath.Join(dir, "cache")})
	c.ok("init")

	small := make([]byte, 3<<20)
	rng := rand.New(rand.NewChaCha8([32]byte{7}))
	for i := range small {
		small[i] = byte(rng.Uint32())
	}
	smallPath := filepath.Join(dir, "small.img")
	if err := os.WriteFile(smallPath, small, 0o600); err != nil {
		t.Fatal(err)
	}
	c.ok("backup", "--name", "small", smallPath)

	big := make([]byte, 24<<20) // random: does not compress, cannot fit in what is left
	for i := range big {
		big[i] = byte(rng.Uint32())
	}
	bigPath := filepath.Join(dir, "big.img")
	if err := os.WriteFile(bigPath, big, 0o600); err != nil {
		t.Fatal(err)
	}
	r := c.run("backup", "--name", "big", bigPath)
	if r.code == 0 {
		t.Fatalf("backup onto a full filesystem succeeded:\n%s", r.stdout)
	}
	if !strings.Contains(r.stderr, "no space") {
		t.Errorf("disk-full error does not say so:\n%s", r.stderr)
	}
	if strings.Contains(r.stderr, "goroutine ") || strings.Contains(r.stderr, "panic") {
		t.Errorf("disk-full error is not one clear line:\n%s", r.stderr)
	}
	t.Logf("cairn backup onto a full disk: exit %d: %s", r.code, strings.TrimSpace(r.stderr))

	if !strings.Contains(r.stderr, "hint: ") {
		t.Errorf("disk-full error has no hint:\n%s", r.stderr)
	}
	leftovers, _ := filepath.Glob(filepath.Join(repoDir, "data", "*", ".tmp-*"))
	if len(leftovers) != 0 {
		t.Errorf("the failed backup left temporary files: %v", leftovers)
	}

	out := c.ok("snapshots", "--json").stdout
	if strings.Count(out, `"name":"big"`) != 0 || strings.Count(out, `"name":"small"`) != 1 {
		t.Fatalf("snapshots after the failed backup:\n%s", out)
	}
	c.ok("check")
	restored := filepath.Join(dir, "restored.img")
	c.ok("restore", "latest", "--name", "small", restored)
	got, err := os.ReadFile(restored)
	if err != nil || !bytes.Equal(got, small) {
		t.Fatalf("restore after the failed backup differs (%v)", err)
	}
}
