package main

import (
	"fmt"
	"strings"
)

// Environment variables that carry the object-store credentials to cairn; the zones file
// names them (it never holds secrets).
const (
	envZonesAccessKey = "BENCH_S3_ACCESS_KEY"
	envZonesSecretKey = "BENCH_S3_SECRET_KEY"
)

// zonesYAML renders cairn's zones file (docs/ZONES.md) for data+parity erasure over the
// targets, one zone per target, in order, plain HTTP, credentials from envZonesAccessKey
// and envZonesSecretKey; other settings are cairn's defaults.
func zonesYAML(data, parity int, targets []S3Target) []byte {
	var b strings.Builder
	fmt.Fprintf(&b, "# written by the cairn bench harness\nerasure: {data: %d, parity: %d}\nzones:\n", data, parity)
	for i, t := range targets {
		fmt.Fprintf(&b, "  - {name: zone%d, endpoint: %q, bucket: %q", i, t.Endpoint, t.Bucket)
		if t.Prefix != "" {
			fmt.Fprintf(&b, ", prefix: %q", t.Prefix)
		}
		fmt.Fprintf(&b, ", access_key_env: %s, secret_key_env: %s, tls: false}\n", envZonesAccessKey, envZonesSecretKey)
	}
	return []byte(b.String())
}

// bucketName returns a valid S3 bucket name (3-63 lowercase letters, digits and hyphens)
// for the seq-th repository of tool.
func bucketName(seq int, tool string) string {
	var b strings.Builder
	for _, r := range strings.ToLower(tool) {
		if (r >= 'a' && r <= 'z') || (r >= '0' && r <= '9') {
			b.WriteRune(r)
		} else {
			b.WriteByte('-')
		}
	}
	name := fmt.Sprintf("bench-%04d-%s", seq, strings.Trim(b.String(), "-"))
	if len(name) > 63 {
		name = strings.TrimRight(name[:63], "-")
	}
	return name
}
