package main

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/cairnbackup/cairn/internal/cli"
)

// TestPasswordFileFlagOrder checks --password-file beats CAIRN_PASSWORD_FILE through the CLI.
func TestPasswordFileFlagOrder(t *testing.T) {
	dir := t.TempDir()
	good := filepath.Join(dir, "good")
	bad := filepath.Join(dir, "bad")
	os.WriteFile(good, []byte("pw\n"), 0o600)
	os.WriteFile(bad, []byte("wrong\n"), 0o600)
	c := newCLI(t, map[string]string{cli.EnvRepo: filepath.Join(dir, "repo"), cli.EnvKDF: "test", cli.EnvCacheDir: "off"})
	c.with(cli.EnvPasswordFile, good).ok("init")
	c.with(cli.EnvPasswordFile, bad).want(cli.ExitPassword, "snapshots")
	c.with(cli.EnvPasswordFile, bad, cli.EnvPassword, "pw").want(cli.ExitPassword, "snapshots")
	c.with(cli.EnvPasswordFile, bad).ok("snapshots", "--password-file", good)
	c.with(cli.EnvPassword, "pw").ok("snapshots")
}
