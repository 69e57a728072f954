package zones

import (
	"errors"
	"fmt"
	"strings"
	"testing"
)

func zonesYAML(k, m int, zones ...string) string {
	return fmt.Sprintf("erasure: {data: %d, parity: %d}\nzones:\n%s", k, m, strings.Join(zones, "\n"))
}

func zoneYAML(name, endpoint string) string {
	return fmt.Sprintf("  - {name: %s, endpoint: %q, bucket: backups, access_key_env: AK, secret_key_env: SK, tls: false}", name, endpoint)
}

func TestParseConfig(t *testing.T) {
	env := func(k string) string { return map[string]string{"AK": "user", "SK": "secretpass"}[k] }
	six := make([]string, 6)
	for i := range six {
		six[i] = zoneYAML(fmt.Sprintf("z%d", i), fmt.Sprintf("127.0.0.1:%d", 9001+i))
	}
	tests := []struct {
		name    string
		yaml    string
		wantErr string // substring; "" means success
	}{
		{"4+2 over six", zonesYAML(4, 2, six...), ""},
		{"single zone 1+0", zonesYAML(1, 0, zoneYAML("only", "minio:9000")), ""},
		{"k+m above zones", zonesYAML(4, 3, six...), "needs 7 zones"},
		{"k zero", zonesYAML(0, 1, six...), "data >= 1"},
		{"m negative", zonesYAML(2, -1, six...), "parity >= 0"},
		{"duplicate name", zonesYAML(1, 0, zoneYAML("a", "h:1"), zoneYAML("a", "h:2")), "zone a: name used twice"},
		{"same place", zonesYAML(1, 0, zoneYAML("a", "h:1"), zoneYAML("b", "h:1")), "zone b: same endpoint"},
		{"scheme in endpoint", zonesYAML(1, 0, zoneYAML("a", "http://h:1")), "zone a: endpoint"},
		{"bad port", zonesYAML(1, 0, zoneYAML("a", "h:99999")), "zone a: endpoint"},
		{"missing env", zonesYAML(1, 0, "  - {name: a, endpoint: h, bucket: backups, access_key_env: NOPE, secret_key_env: SK}"), "zone a: access_key_env: environment variable NOPE is not set"},
		{"unknown field", zonesYAML(1, 0, "  - {name: a, endpoint: h, bucket: b1b, access_key_env: AK, secret_key_env: SK, colour: red}"), "colour"},
		{"bad bucket", zonesYAML(1, 0, "  - {name: a, endpoint: h, bucket: B, access_key_env: AK, secret_key_env: SK}"), "zone a: bucket"},
		{"no name", zonesYAML(1, 0, "  - {endpoint: h, bucket: bbb, access_key_env: AK, secret_key_env: SK}"), "zone #1: name is missing"},
		{"no erasure", "zones: []", "need both data and parity"},
		{"write quorum out of range", "erasure: {data: 4, parity: 2, write_quorum: 7}\nzones:\n" + strings.Join(six, "\n"), "write_quorum 7"},
		{"empty", "", "empty file"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			cfg, err := ParseConfig([]byte(tc.yaml), env)
			if tc.wantErr == "" {
				if err != nil {
					t.Fatal(err)
				}
				if cfg.Zones[0].S3.AccessKey != "user" || cfg.Zones[0].S3.TLS {
					t.Fatalf("zone 0: %+v", cfg.Zones[0].S3)
				}
				if cfg.WriteQuorum != DefaultWriteQuorum(cfg.Layout) {
					t.Fatalf("write quorum %d", cfg.WriteQuorum)
				}
				return
			}
			if err == nil || !errors.Is(err, ErrConfig) || !strings.Contains(err.Error(), tc.wantErr) {
				t.Fatalf("error %v, want ErrConfig containing %q", err, tc.wantErr)
			}
		})
	}
}
