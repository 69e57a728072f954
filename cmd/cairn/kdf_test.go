package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"testing"

	"github.com/cairnbackup/cairn/crypto"
	"github.com/cairnbackup/cairn/internal/cli"
)

// TestInitKDF: --kdf / CAIRN_KDF choose the Argon2id parameters recorded in the new key slot,
// and the repository opens with either.
func TestInitKDF(t *testing.T) {
	for _, tc := range []struct {
		name string
		args []string
		env  string
		want crypto.KDFParams
	}{
		{"default", nil, "", crypto.DefaultKDFParams()},
		{"flag strong", []string{"--kdf", "strong"}, "", crypto.StrongKDFParams()},
		{"env strong", nil, "strong", crypto.StrongKDFParams()},
		{"env test", nil, "test", crypto.TestKDFParams()},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := filepath.Join(t.TempDir(), "repo")
			c := newCLI(t, map[string]string{cli.EnvRepo: dir, cli.EnvPassword: "pw", cli.EnvKDF: tc.env, cli.EnvCacheDir: "off"})
			c.ok(append([]string{"init"}, tc.args...)...)
			keys, err := os.ReadDir(filepath.Join(dir, "keys"))
			if err != nil || len(keys) != 1 {
				t.Fatalf("keys: %v, %d files", err, len(keys))
			}
			b, err := os.ReadFile(filepath.Join(dir, "keys", keys[0].Name()))
			if err != nil {
				t.Fatal(err)
			}
			var slot crypto.KeySlot
			if err := json.Unmarshal(b, &slot); err != nil {
				t.Fatal(err)
			}
			if slot.Params != tc.want {
				t.Errorf("slot params %+v, want %+v", slot.Params, tc.want)
			}
			c.with(cli.EnvKDF, "").ok("snapshots")
		})
	}
	newCLI(t, map[string]string{cli.EnvKDF: "fast"}).want(cli.ExitUsage, "version")
}
