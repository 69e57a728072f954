package s3

import (
	"bytes"
	"strings"
	"testing"

	"github.com/cairnbackup/cairn/internal/miniotest"
	"github.com/cairnbackup/cairn/repo/backend"
)

// TestTLS runs against a real MinIO server on HTTPS with a certificate from a private CA:
// with the CA file the backend works end to end (also through an s3:// URL with ?ca=);
// without it, and with plain HTTP against the HTTPS port, Open fails with a clear error.
func TestTLS(t *testing.T) {
	srv := miniotest.StartTLS(t, 1)[0]
	good := testConfig(t, srv)
	good.TLS, good.CAFile = true, srv.CAFile()

	t.Setenv("AWS_ACCESS_KEY_ID", srv.AccessKey())
	t.Setenv("AWS_SECRET_ACCESS_KEY", srv.SecretKey())
	fromURL, err := ParseURL(srv.URL("via-url"))
	if err != nil {
		t.Fatalf("ParseURL(%s): %v", srv.URL("via-url"), err)
	}
	for _, cfg := range []Config{good, fromURL} {
		b := open(t, cfg)
		h := backend.Handle{Type: backend.Index, Name: strings.Repeat("ab", 32)}
		data := []byte("sealed index bytes over TLS")
		if err := b.Save(t.Context(), h, data); err != nil {
			t.Fatalf("Save over TLS: %v", err)
		}
		got, err := b.Load(t.Context(), h, 0, 0)
		if err != nil || !bytes.Equal(got, data) {
			t.Fatalf("Load over TLS = %q, %v", got, err)
		}
	}

	tests := []struct {
		name string
		mod  func(*Config)
		want string
	}{
		{"unknown CA", func(c *Config) { c.CAFile = "" }, "certificate"},
		{"plain http to https port", func(c *Config) { c.TLS, c.CAFile = false, "" }, srv.Endpoint()},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			cfg := good
			cfg.MaxRetries = 1
			tc.mod(&cfg)
			b, err := Open(t.Context(), cfg)
			if err == nil {
				b.Close()
				t.Fatal("Open succeeded, want an error")
			}
			if !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("Open: %v, want it to mention %q", err, tc.want)
			}
			t.Logf("Open error: %v", err)
		})
	}
}
