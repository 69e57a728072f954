package s3

import (
	"bytes"
	"context"
	"errors"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/minio/minio-go/v7"

	"github.com/cairnbackup/cairn/internal/miniotest"
	"github.com/cairnbackup/cairn/repo/backend"
	"github.com/cairnbackup/cairn/repo/backend/backendtest"
)

// testConfig returns a configuration for a fresh prefix on srv.
func testConfig(t testing.TB, srv *miniotest.Server) Config {
	return Config{
		Endpoint:   srv.Endpoint(),
		Bucket:     srv.Bucket(),
		Prefix:     "t-" + backendtest.RandomName(t)[:12],
		AccessKey:  srv.AccessKey(),
		SecretKey:  srv.SecretKey(),
		Lookup:     "path",
		MaxRetries: 2,
		Timeout:    20 * time.Second,
	}
}

func open(t testing.TB, cfg Config) *Backend {
	t.Helper()
	b, err := Open(t.Context(), cfg)
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	t.Cleanup(func() { b.Close() })
	return b
}

func TestConformance(t *testing.T) {
	srv := miniotest.Start(t, 1)[0]
	backendtest.Run(t, func(t *testing.T) backend.Backend {
		return open(t, testConfig(t, srv))
	})
}

func TestConformanceNoPrefix(t *testing.T) {
	srv := miniotest.Start(t, 1)[0]
	n := 0
	backendtest.Run(t, func(t *testing.T) backend.Backend {
		// A bucket per subtest: the suite needs an empty backend each time.
		n++
		cfg := testConfig(t, srv)
		cfg.Prefix = ""
		cfg.Bucket = "noprefix-" + strconv.Itoa(n)
		b, err := Create(t.Context(), cfg)
		if err != nil {
			t.Fatalf("Create: %v", err)
		}
		t.Cleanup(func() { b.Close() })
		return b
	})
}

func TestMultipart(t *testing.T) {
	srv := miniotest.Start(t, 1)[0]
	cfg := testConfig(t, srv)
	cfg.PartSize = MinPartSize
	b := open(t, cfg)
	data := backendtest.RandomData(t, 3*MinPartSize+12345)
	h := backend.Handle{Type: backend.Pack, Name: backendtest.RandomName(t)}
	if err := b.Save(t.Context(), h, data); err != nil {
		t.Fatal(err)
	}
	got, err := b.Load(t.Context(), h, MinPartSize-10, 20) // across a part boundary
	if err != nil || !bytes.Equal(got, data[MinPartSize-10:MinPartSize+10]) {
		t.Fatalf("Load across parts: %v", err)
	}
	got, err = b.Load(t.Context(), h, 0, 0)
	if err != nil || !bytes.Equal(got, data) {
		t.Fatalf("Load whole multipart object: %d bytes, %v", len(got), err)
	}
	// The same ranges, and the last byte, read with LoadInto into one reused buffer.
	buf := make([]byte, len(data))
	for _, r := range []struct{ off, n int }{{MinPartSize - 10, 20}, {0, len(data)}, {len(data) - 1, 1}} {
		dst := buf[:r.n]
		if err := b.LoadInto(t.Context(), h, int64(r.off), dst); err != nil {
			t.Fatalf("LoadInto [%d, +%d): %v", r.off, r.n, err)
		}
		if !bytes.Equal(dst, data[r.off:r.off+r.n]) {
			t.Fatalf("LoadInto [%d, +%d): wrong bytes", r.off, r.n)
		}
	}
}

func TestKeyLayout(t *testing.T) {
	name := "ab" + strings.Repeat("0", 62)
	tests := []struct {
		prefix string
		h      backend.Handle
		want   string
	}{
		{"", backend.Handle{Type: backend.Config}, "config"},
		{"repo", backend.Handle{Type: backend.Config, Name: "ignored"}, "repo/config"},
		{"repo", backend.Handle{Type: backend.Key, Name: name}, "repo/keys/" + name},
		{"a/b", backend.Handle{Type: backend.Snapshot, Name: name}, "a/b/snapshots/" + name},
		{"repo", backend.Handle{Type: backend.Index, Name: name}, "repo/index/" + name},
		{"repo", backend.Handle{Type: backend.Pack, Name: name}, "repo/data/ab/" + name},
		{"", backend.Handle{Type: backend.Pack, Name: "f"}, "data/xx/f"},
		{"repo", backend.Handle{Type: backend.Lock, Name: name}, "repo/locks/" + name},
	}
	for _, tc := range tests {
		b := &Backend{}
		if tc.prefix != "" {
			b.base = tc.prefix + "/"
		}
		if got := b.Key(tc.h); got != tc.want {
			t.Errorf("Key(%s) with prefix %q = %q, want %q", tc.h, tc.prefix, got, tc.want)
		}
	}
}

func TestListSkipsForeignKeys(t *testing.T) {
	srv := miniotest.Start(t, 1)[0]
	b := open(t, testConfig(t, srv))
	name := backendtest.RandomName(t)
	if err := b.Save(t.Context(), backend.Handle{Type: backend.Snapshot, Name: name}, []byte("s")); err != nil {
		t.Fatal(err)
	}
	for _, key := range []string{"snapshots/sub/x", "snapshots/.hidden", "data/stray", "data/ab/cd/deep", "snapshotsx/y"} {
		if _, err := b.client.PutObject(t.Context(), b.cfg.Bucket, b.base+key, bytes.NewReader(nil), 0, minio.PutObjectOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	for _, typ := range []backend.Type{backend.Snapshot, backend.Pack} {
		var got []string
		if err := b.List(t.Context(), typ, func(n string, _ int64) error { got = append(got, n); return nil }); err != nil {
			t.Fatal(err)
		}
		want := []string{}
		if typ == backend.Snapshot {
			want = []string{name}
		}
		if strings.Join(got, ",") != strings.Join(want, ",") {
			t.Errorf("List(%s) = %v, want %v", typ, got, want)
		}
	}
}

func TestOpenErrors(t *testing.T) {
	srv := miniotest.Start(t, 1)[0]
	closed := closedPort(t)
	tests := []struct {
		name     string
		mod      func(*Config)
		sentinel error
		want     string
	}{
		{"unreachable", func(c *Config) { c.Endpoint = closed }, backend.ErrUnavailable, "endpoint unreachable"},
		{"wrong access key", func(c *Config) { c.AccessKey = "nobody" }, ErrAccessDenied, "rejected"},
		{"wrong secret", func(c *Config) { c.SecretKey = "wrong-secret-value" }, ErrAccessDenied, "rejected"},
		{"missing bucket", func(c *Config) { c.Bucket = "no-such-bucket" }, backend.ErrNotFound, `bucket "no-such-bucket" does not exist`},
		{"tls against plain http", func(c *Config) { c.TLS = true }, nil, "tls=false"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			cfg := testConfig(t, srv)
			cfg.MaxRetries = 1
			tc.mod(&cfg)
			b, err := Open(t.Context(), cfg)
			if err == nil {
				b.Close()
				t.Fatal("Open succeeded, want an error")
			}
			msg := err.Error()
			if tc.sentinel != nil && !errors.Is(err, tc.sentinel) {
				t.Errorf("Open: %v, want it to wrap %v", err, tc.sentinel)
			}
			if !strings.Contains(msg, tc.want) || !strings.Contains(msg, cfg.Endpoint) {
				t.Errorf("Open: %q, want it to mention %q and the endpoint %s", msg, tc.want, cfg.Endpoint)
			}
			t.Logf("Open error: %v", err)
			if strings.Contains(msg, cfg.SecretKey) {
				t.Errorf("Open error leaks the secret key: %q", msg)
			}
		})
	}
}

func TestCreate(t *testing.T) {
	srv := miniotest.Start(t, 1)[0]
	cfg := testConfig(t, srv)
	cfg.Bucket = "created-by-test"
	if _, err := Open(t.Context(), cfg); !errors.Is(err, backend.ErrNotFound) {
		t.Fatalf("Open of a missing bucket: %v, want ErrNotFound", err)
	}
	for range 2 { // the second Create finds the bucket
		b, err := Create(t.Context(), cfg)
		if err != nil {
			t.Fatalf("Create: %v", err)
		}
		b.Close()
	}
	b := open(t, cfg)
	if strings.Contains(b.Location(), cfg.SecretKey) || !strings.Contains(b.Location(), cfg.Endpoint) {
		t.Fatalf("Location() = %q", b.Location())
	}
}

func TestCAFile(t *testing.T) {
	cfg := Config{Endpoint: "h", Bucket: "bucket", AccessKey: "a", SecretKey: "s", TLS: true}
	dir := t.TempDir()
	notPEM := filepath.Join(dir, "bad.pem")
	if err := os.WriteFile(notPEM, []byte("not a certificate"), 0o600); err != nil {
		t.Fatal(err)
	}
	for file, want := range map[string]string{notPEM: "no PEM certificate", filepath.Join(dir, "missing.pem"): "no such file"} {
		cfg.CAFile = file
		if _, err := Open(t.Context(), cfg); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("Open with CA file %s: %v, want %q", file, err, want)
		}
	}
}

// TestKilledServer kills the server in the middle of an upload and of a download: both
// must fail with ErrUnavailable, within the bound the retries and timeout give.
func TestKilledServer(t *testing.T) {
	for _, op := range []string{"save", "load"} {
		t.Run(op, func(t *testing.T) {
			srv := miniotest.Start(t, 1)[0]
			cfg := testConfig(t, srv)
			cfg.Timeout = 2 * time.Second
			b := open(t, cfg)
			h := backend.Handle{Type: backend.Pack, Name: backendtest.RandomName(t)}
			data := backendtest.RandomData(t, 32<<20)
			if op == "load" {
				if err := b.Save(t.Context(), h, data); err != nil {
					t.Fatal(err)
				}
			}
			var kill sync.Once
			b.onProgress = func() { kill.Do(srv.Kill) }
			// The deadline is only a backstop against a hang; the error must not be it.
			ctx, cancel := context.WithTimeout(t.Context(), time.Minute)
			defer cancel()
			var err error
			if op == "save" {
				err = b.Save(ctx, h, data)
			} else {
				_, err = b.Load(ctx, h, 0, 0)
			}
			if !errors.Is(err, backend.ErrUnavailable) || ctx.Err() != nil {
				t.Fatalf("%s on a server killed mid-transfer: %v, want ErrUnavailable", op, err)
			}
			b.onProgress = nil
			if _, err := b.Stat(ctx, h); !errors.Is(err, backend.ErrUnavailable) {
				t.Fatalf("Stat on a dead server: %v, want ErrUnavailable", err)
			}
			srv.Restart(t)
			if op == "load" {
				if got, err := b.Load(t.Context(), h, 0, 0); err != nil || !bytes.Equal(got, data) {
					t.Fatalf("Load after restart: %v", err)
				}
			}
		})
	}
}

// TestHungServer pauses the server: requests must give up with ErrUnavailable once the
// timeout passes without progress, instead of hanging.
func TestHungServer(t *testing.T) {
	srv := miniotest.Start(t, 1)[0]
	cfg := testConfig(t, srv)
	cfg.Timeout = 500 * time.Millisecond
	b := open(t, cfg)
	h := backend.Handle{Type: backend.Index, Name: backendtest.RandomName(t)}
	if err := b.Save(t.Context(), h, []byte("x")); err != nil {
		t.Fatal(err)
	}
	srv.Pause(t)
	defer srv.Resume()
	ctx, cancel := context.WithTimeout(t.Context(), time.Minute) // backstop only
	defer cancel()
	if _, err := b.Load(ctx, h, 0, 0); !errors.Is(err, backend.ErrUnavailable) || ctx.Err() != nil {
		t.Fatalf("Load from a hung server: %v, want ErrUnavailable", err)
	}
	if err := b.Save(ctx, h, []byte("x")); !errors.Is(err, backend.ErrUnavailable) || ctx.Err() != nil {
		t.Fatalf("Save to a hung server: %v, want ErrUnavailable", err)
	}
	if err := b.List(ctx, backend.Index, func(string, int64) error { return nil }); !errors.Is(err, backend.ErrUnavailable) || ctx.Err() != nil {
		t.Fatalf("List on a hung server: %v, want ErrUnavailable", err)
	}
}

// TestCallerDeadlineNotUnavailable: when the caller's own context ends, the error is the
// context's, not ErrUnavailable (the store may be fine; the caller gave up).
func TestCallerDeadlineNotUnavailable(t *testing.T) {
	srv := miniotest.Start(t, 1)[0]
	b := open(t, testConfig(t, srv)) // Timeout 20s: far longer than the caller waits
	srv.Pause(t)
	defer srv.Resume()
	ctx, cancel := context.WithTimeout(t.Context(), 200*time.Millisecond)
	defer cancel()
	_, err := b.Stat(ctx, backend.Handle{Type: backend.Config})
	if !errors.Is(err, context.DeadlineExceeded) || errors.Is(err, backend.ErrUnavailable) {
		t.Fatalf("Stat past the caller's deadline: %v, want DeadlineExceeded and not ErrUnavailable", err)
	}
}

func closedPort(t *testing.T) string {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	return addr
}

func TestLoadInto(t *testing.T) {
	srv := miniotest.Start(t, 1)[0]
	backendtest.RunLoadInto(t, open(t, testConfig(t, srv)))
	backendtest.RunLoadParts(t, open(t, testConfig(t, srv)))
}
