package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/cairnbackup/cairn/internal/cli"
	"github.com/cairnbackup/cairn/internal/miniotest"
)

// TestZonesEndToEnd runs the session of the zones feature through the CLI against six
// real MinIO servers: init, backup, two zones killed, restore, zones status, repair, check.
func TestZonesEndToEnd(t *testing.T) {
	srvs := miniotest.Start(t, 6)
	dir := t.TempDir()
	var y strings.Builder
	y.WriteString("erasure: {data: 4, parity: 2}\nzones:\n")
	for i, s := range srvs {
		fmt.Fprintf(&y, "  - {name: site%d, endpoint: %q, bucket: %s, access_key_env: E2E_MINIO_USER, secret_key_env: E2E_MINIO_PASS, tls: false, max_retries: 1}\n",
			i, s.Endpoint(), s.Bucket())
	}
	t.Setenv("E2E_MINIO_USER", srvs[0].AccessKey())
	t.Setenv("E2E_MINIO_PASS", srvs[0].SecretKey())
	zf := filepath.Join(dir, "zones.yaml")
	if err := os.WriteFile(zf, []byte(y.String()), 0o600); err != nil {
		t.Fatal(err)
	}
	c := newCLI(t, map[string]string{cli.EnvRepo: zf, cli.EnvPassword: "pw", cli.EnvKDF: "test", cli.EnvCacheDir: "off"})
	c.ok("init")
	vol := filepath.Join(dir, "vol.img")
	orig := testVolume(t, vol, 3<<20+999, 7)
	c.ok("backup", "--name", "vol", vol)
	if r := c.ok("zones", "status"); strings.Contains(r.stdout, "DOWN") || !strings.Contains(r.stdout, "site5") {
		t.Fatalf("zones status, all up:\n%s", r.stdout)
	}

	srvs[2].Kill()
	srvs[5].Kill()
	out := filepath.Join(dir, "out.img")
	c.ok("restore", "latest", out)
	if !bytes.Equal(readFile(t, out), orig) {
		t.Fatal("restore with two zones down differs")
	}
	r := c.ok("zones", "status", "--json")
	var st struct {
		Zones []struct {
			Name      string `json:"name"`
			Reachable bool   `json:"reachable"`
		} `json:"zones"`
	}
	if err := json.Unmarshal([]byte(r.stdout), &st); err != nil || len(st.Zones) != 6 || st.Zones[2].Reachable || st.Zones[5].Reachable || !st.Zones[0].Reachable {
		t.Fatalf("zones status --json with two down: %v\n%s", err, r.stdout)
	}
	c.want(cli.ExitError, "repair") // zones still down: cannot heal everything

	srvs[2].Restart(t)
	srvs[5].Restart(t)
	// Lose every shard one zone held (a wiped site), then repair to full redundancy.
	if err := os.RemoveAll(filepath.Join(srvs[2].DataDir(), srvs[2].Bucket(), "data")); err != nil {
		t.Fatal(err)
	}
	c.want(cli.ExitCorrupt, "check")
	if r := c.ok("zones", "status"); !strings.Contains(r.stdout, "not at full redundancy") && !strings.Contains(r.stderr, "not at full redundancy") {
		t.Fatalf("zones status after a wiped zone:\n%s%s", r.stdout, r.stderr)
	}
	c.ok("repair")
	c.ok("check", "--read-data")
	srvs[0].Kill()
	srvs[1].Kill()
	c.ok("restore", "--overwrite", "latest", out)
	if !bytes.Equal(readFile(t, out), orig) {
		t.Fatal("restore after repair with two other zones down differs")
	}
}
