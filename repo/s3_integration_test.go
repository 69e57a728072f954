package repo

import (
	"bytes"
	"context"
	"errors"
	"testing"

	"github.com/cairnbackup/cairn/internal/miniotest"
)

// TestS3RoundTrip runs the core round trip against a real MinIO server through an s3:// location.
func TestS3RoundTrip(t *testing.T) {
	srv := miniotest.Start(t, 1)[0]
	t.Setenv("AWS_ACCESS_KEY_ID", srv.AccessKey())
	t.Setenv("AWS_SECRET_ACCESS_KEY", srv.SecretKey())
	ctx := context.Background()
	loc := srv.URL("team/repo")
	r, err := Init(ctx, loc, testInitOptions(t))
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	if _, err := Init(ctx, loc, testInitOptions(t)); !errors.Is(err, ErrRepositoryExists) {
		t.Fatalf("second Init: %v", err)
	}
	vol := mixedVolume(9<<20+77, 81)
	s1 := backupBytes(t, r, vol, "s3")
	vol[5<<20] ^= 0xff
	s2 := backupBytes(t, r, vol, "s3")
	if s2.Stats.NewBytes > 2<<20 {
		t.Errorf("incremental over S3 stored %d new bytes", s2.Stats.NewBytes)
	}
	r2, err := Open(ctx, loc, OpenOptions{Password: testPassword, CacheDir: "off"})
	if err != nil {
		t.Fatal(err)
	}
	defer r2.Close()
	if !bytes.Equal(restoreBytes(t, r2, s2.ID), vol) {
		t.Fatal("S3 restore differs")
	}
	vol[5<<20] ^= 0xff
	if !bytes.Equal(restoreBytes(t, r2, s1.ID), vol) {
		t.Fatal("S3 restore of first snapshot differs")
	}
	if _, err := Open(ctx, loc, OpenOptions{Password: []byte("wrong"), CacheDir: "off"}); !errors.Is(err, ErrWrongPassword) {
		t.Fatalf("wrong password over S3: %v", err)
	}
	if _, err := Open(ctx, srv.URL("absent"), OpenOptions{Password: testPassword, CacheDir: "off"}); !errors.Is(err, ErrNoRepository) {
		t.Fatalf("missing repository over S3: %v", err)
	}
}
