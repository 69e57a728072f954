package main

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path"
	"slices"
	"testing"

	"github.com/minio/minio-go/v7"
	"github.com/minio/minio-go/v7/pkg/credentials"

	"github.com/cairnbackup/cairn/internal/miniotest"
	"github.com/cairnbackup/cairn/internal/testserver"
)

// fakeS3Tool replicates whole images to every bucket of ws.S3 (a "zone" each) and
// restores from the first zone that answers, so it survives zones going down. It runs
// one trivial measured command per phase.
type fakeS3Tool struct {
	sh      string
	backups int
}

func (f *fakeS3Tool) Name() string                                       { return "cairn" }
func (f *fakeS3Tool) Env(*Workspace) []string                            { return nil }
func (f *fakeS3Tool) Version(context.Context, Runner, *Workspace) string { return "fake" }

func (f *fakeS3Tool) touch(ctx context.Context, r Runner) error {
	_, err := r.Run(ctx, Cmd{Args: []string{f.sh, "-c", "true"}})
	return err
}

func s3Client(t S3Target) (*minio.Client, error) {
	return minio.New(t.Endpoint, &minio.Options{Creds: credentials.NewStaticV4(t.AccessKey, t.SecretKey, ""), MaxRetries: 1})
}

func (f *fakeS3Tool) putAll(ctx context.Context, ws *Workspace, name string, data []byte) error {
	for _, t := range ws.S3 {
		c, err := s3Client(t)
		if err != nil {
			return err
		}
		if _, err := c.PutObject(ctx, t.Bucket, path.Join(t.Prefix, name), bytes.NewReader(data), int64(len(data)), minio.PutObjectOptions{}); err != nil {
			return err
		}
	}
	return nil
}

func (f *fakeS3Tool) Init(ctx context.Context, r Runner, ws *Workspace) error {
	if err := f.putAll(ctx, ws, "config", []byte("cfg")); err != nil {
		return err
	}
	return f.touch(ctx, r)
}

func (f *fakeS3Tool) Backup(ctx context.Context, r Runner, ws *Workspace) error {
	f.backups++
	data, err := os.ReadFile(ws.Source)
	if err != nil {
		return err
	}
	if err := f.putAll(ctx, ws, fmt.Sprintf("snap%d", f.backups), data); err != nil {
		return err
	}
	return f.touch(ctx, r)
}

func (f *fakeS3Tool) Snapshots(ctx context.Context, r Runner, _ *Workspace) error {
	return f.touch(ctx, r)
}

func (f *fakeS3Tool) Restore(ctx context.Context, r Runner, ws *Workspace) error {
	var lastErr error
	for _, t := range ws.S3 {
		c, err := s3Client(t)
		if err != nil {
			return err
		}
		o, err := c.GetObject(ctx, t.Bucket, path.Join(t.Prefix, fmt.Sprintf("snap%d", f.backups)), minio.GetObjectOptions{})
		if err != nil {
			lastErr = err
			continue
		}
		data, err := io.ReadAll(o)
		o.Close()
		if err != nil {
			lastErr = err
			continue
		}
		if err := os.WriteFile(ws.Restore, data, 0o644); err != nil {
			return err
		}
		return f.touch(ctx, r)
	}
	return fmt.Errorf("no zone answered: %w", lastErr)
}

func (f *fakeS3Tool) Check(ctx context.Context, r Runner, _ *Workspace) error {
	return f.touch(ctx, r)
}

func (f *fakeS3Tool) Prune(ctx context.Context, r Runner, ws *Workspace) error {
	for _, t := range ws.S3 {
		c, err := s3Client(t)
		if err != nil {
			return err
		}
		if err := c.RemoveObject(ctx, t.Bucket, path.Join(t.Prefix, "snap1"), minio.RemoveObjectOptions{}); err != nil {
			return err
		}
	}
	return f.touch(ctx, r)
}

// TestMinioRound runs one round of a fake tool on six real MinIO servers with two zones
// killed for the degraded restore: buckets are made and listed, zones killed and
// restarted, buckets removed afterwards.
func TestMinioRound(t *testing.T) {
	sh, err := exec.LookPath("sh")
	if err != nil {
		t.Skip(err)
	}
	bin := miniotest.Binary(t)
	ctx := t.Context()
	work := t.TempDir()
	st, err := startMinio(ctx, bin, work+"/minio", minioZones)
	if err != nil {
		testserver.Unavailable(t, "start minio: %v", err)
	}
	t.Cleanup(st.close)
	in, err := prepareInput(ctx, work, inputSpec{kind: KindMixed, size: 1 << 20, seed: 1, pct: 5, maxRun: 16})
	if err != nil {
		t.Fatal(err)
	}
	h := &harness{workdir: work, rounds: 1, cold: true, tools: []Tool{&fakeS3Tool{sh: sh}},
		baseEnv: os.Environ(), store: st, zonesDown: 2}
	rs, err := h.run(ctx, []*Input{in})
	if err != nil {
		t.Fatal(err)
	}
	var phases []Phase
	byPhase := map[Phase]Result{}
	for _, r := range rs {
		if r.Status != StatusOK {
			t.Errorf("%s: %s %s", r.Phase, r.Status, r.Error)
		}
		phases = append(phases, r.Phase)
		byPhase[r.Phase] = r
	}
	if !slices.Equal(phases, Phases) {
		t.Fatalf("phases %v, want %v", phases, Phases)
	}
	// Six zones, one object per zone per backup; sizes summed over every bucket.
	if r := byPhase[PhaseFull]; r.Objects != minioZones || r.RepoBytes != minioZones*(in.Size+3) || r.RepoFiles != 2*minioZones {
		t.Errorf("full backup %+v", r)
	}
	// While two zones are down their last listing still counts.
	if r := byPhase[PhaseRestoreDegraded]; r.Objects != 0 || r.RepoBytes != minioZones*(2*in.Size+3) {
		t.Errorf("degraded restore %+v", r)
	}
	if r := byPhase[PhasePrune]; r.RepoBytes != minioZones*(in.Size+3) {
		t.Errorf("prune %+v", r)
	}
	for i, srv := range st.servers {
		if !srv.Running() {
			t.Errorf("server %d not restarted", i)
		}
		bs, err := st.clients[i].ListBuckets(ctx)
		if err != nil {
			t.Fatalf("server %d: %v", i, err)
		}
		if len(bs) != 1 || bs[0].Name != miniotest.BucketName {
			t.Errorf("server %d keeps buckets %v after the run", i, bs)
		}
	}
}
