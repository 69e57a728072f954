package miniotest_test

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net"
	"testing"
	"time"

	"github.com/minio/minio-go/v7"
	"github.com/minio/minio-go/v7/pkg/credentials"

	"github.com/cairnbackup/cairn/internal/miniotest"
	"github.com/cairnbackup/cairn/internal/testserver"
)

func client(t *testing.T, s *miniotest.Server) *minio.Client {
	t.Helper()
	c, err := minio.New(s.Endpoint(), &minio.Options{
		Creds:      credentials.NewStaticV4(s.AccessKey(), s.SecretKey(), ""),
		MaxRetries: 1,
	})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func put(ctx context.Context, c *minio.Client, bucket, key string, data []byte) error {
	_, err := c.PutObject(ctx, bucket, key, bytes.NewReader(data), int64(len(data)), minio.PutObjectOptions{})
	return err
}

func get(ctx context.Context, c *minio.Client, bucket, key string) ([]byte, error) {
	o, err := c.GetObject(ctx, bucket, key, minio.GetObjectOptions{})
	if err != nil {
		return nil, err
	}
	defer o.Close()
	return io.ReadAll(o)
}

func TestStartIndependentZones(t *testing.T) {
	servers := miniotest.Start(t, 2)
	if servers[0].Endpoint() == servers[1].Endpoint() || servers[0].DataDir() == servers[1].DataDir() {
		t.Fatalf("servers share an endpoint or data dir: %s %s", servers[0].Endpoint(), servers[1].Endpoint())
	}
	ctx := t.Context()
	c0, c1 := client(t, servers[0]), client(t, servers[1])
	if err := put(ctx, c0, servers[0].Bucket(), "k", []byte("zone0")); err != nil {
		t.Fatal(err)
	}
	if got, err := get(ctx, c0, servers[0].Bucket(), "k"); err != nil || string(got) != "zone0" {
		t.Fatalf("get from zone 0 = %q, %v", got, err)
	}
	if _, err := c1.StatObject(ctx, servers[1].Bucket(), "k", minio.StatObjectOptions{}); minio.ToErrorResponse(err).Code != "NoSuchKey" {
		t.Fatalf("zone 1 sees zone 0's object: %v", err)
	}
}

func TestKillRestart(t *testing.T) {
	s := miniotest.Start(t, 1)[0]
	c := client(t, s)
	ctx := t.Context()
	if err := put(ctx, c, s.Bucket(), "persist", []byte("data")); err != nil {
		t.Fatal(err)
	}
	s.Kill()
	if conn, err := net.Dial("tcp", s.Endpoint()); err == nil {
		conn.Close()
		t.Fatal("killed server still accepts connections")
	}
	s.Restart(t)
	if got, err := get(ctx, c, s.Bucket(), "persist"); err != nil || string(got) != "data" {
		t.Fatalf("after restart: %q, %v; want the object kept in the data dir", got, err)
	}
}

func TestPauseResume(t *testing.T) {
	s := miniotest.Start(t, 1)[0]
	c := client(t, s)
	s.Pause(t)
	ctx, cancel := context.WithTimeout(t.Context(), 300*time.Millisecond)
	err := put(ctx, c, s.Bucket(), "k", []byte("x"))
	cancel()
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("put to a paused server: %v, want a deadline error", err)
	}
	s.Resume()
	if err := put(t.Context(), c, s.Bucket(), "k", []byte("x")); err != nil {
		t.Fatalf("put after Resume: %v", err)
	}
}

func TestStartProcessRelaunch(t *testing.T) {
	bin := miniotest.Binary(t)
	ctx := t.Context()
	s, err := miniotest.StartProcess(ctx, bin, t.TempDir())
	if err != nil {
		testserver.Unavailable(t, "%v", err)
	}
	t.Cleanup(s.Kill)
	if _, err := s.Pid(); err != nil || !s.Running() {
		t.Fatalf("started server: running %v, pid error %v", s.Running(), err)
	}
	c := client(t, s)
	if err := put(ctx, c, s.Bucket(), "k", []byte("v")); err != nil {
		t.Fatal(err)
	}
	s.Kill()
	if _, err := s.Pid(); !errors.Is(err, miniotest.ErrNotRunning) || s.Running() {
		t.Fatalf("killed server: running %v, pid error %v", s.Running(), err)
	}
	if err := s.Relaunch(ctx); err != nil {
		t.Fatal(err)
	}
	if got, err := get(ctx, c, s.Bucket(), "k"); err != nil || string(got) != "v" {
		t.Fatalf("after Relaunch: %q, %v", got, err)
	}
}

// TestMakeBucket: MakeBucket returns once the bucket answers a listing, accepts a bucket
// the server already has, and reports a bucket it cannot create.
func TestMakeBucket(t *testing.T) {
	srv := miniotest.Start(t, 1)[0]
	c := client(t, srv)
	for _, tc := range []struct {
		name, bucket string
		wantErr      bool
	}{
		{"new", "cairn-extra", false},
		{"again", "cairn-extra", false},
		{"the server's own", srv.Bucket(), false},
		{"invalid name", "Not_A_Bucket", true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := miniotest.MakeBucket(t.Context(), c, tc.bucket)
			if (err != nil) != tc.wantErr {
				t.Fatalf("MakeBucket(%q) = %v, want error %v", tc.bucket, err, tc.wantErr)
			}
			if tc.wantErr {
				return
			}
			if err := put(t.Context(), c, tc.bucket, "k", []byte("x")); err != nil {
				t.Fatalf("put into the new bucket: %v", err)
			}
		})
	}
}
