package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"

	"github.com/minio/minio-go/v7"
	"github.com/minio/minio-go/v7/pkg/credentials"

	"github.com/cairnbackup/cairn/internal/miniotest"
)

// The object-storage layout: cairn spreads its repository over minioZones servers with
// minioData+minioParity erasure coding; a peer gets one bucket on the first server.
const (
	minioZones  = 6
	minioData   = 4
	minioParity = 2
)

// minioStore runs MinIO servers on 127.0.0.1 for the whole harness run and gives every
// tool run fresh buckets on them.
type minioStore struct {
	dir     string // holds one directory per server
	servers []*miniotest.Server
	clients []*minio.Client

	mu   sync.Mutex
	seq  int
	down map[int]bool // servers killed by zonesDown
	// last holds each (server, bucket)'s latest listing, used while the server is down.
	last map[string]treeStat
}

// startMinio starts n servers of binary bin, each with its data under dir/zoneI (dir is
// emptied first). On error every server started is stopped.
func startMinio(ctx context.Context, bin, dir string, n int) (*minioStore, error) {
	if err := os.RemoveAll(dir); err != nil {
		return nil, fmt.Errorf("minio dir: %w", err)
	}
	s := &minioStore{dir: dir, servers: make([]*miniotest.Server, n), clients: make([]*minio.Client, n),
		down: map[int]bool{}, last: map[string]treeStat{}}
	errs := make([]error, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			s.servers[i], errs[i] = miniotest.StartProcess(ctx, bin, filepath.Join(dir, "zone"+strconv.Itoa(i)))
		})
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		s.close()
		return nil, err
	}
	for i, srv := range s.servers {
		c, err := minio.New(srv.Endpoint(), &minio.Options{Creds: credentials.NewStaticV4(srv.AccessKey(), srv.SecretKey(), "")})
		if err != nil {
			s.close()
			return nil, fmt.Errorf("minio client %d: %w", i, err)
		}
		s.clients[i] = c
	}
	return s, nil
}

func (s *minioStore) target(i int, bucket, prefix string) S3Target {
	srv := s.servers[i]
	return S3Target{Endpoint: srv.Endpoint(), Bucket: bucket, Prefix: prefix,
		AccessKey: srv.AccessKey(), SecretKey: srv.SecretKey(), server: i}
}

// prepare creates a fresh bucket: on every server for cairn (its zones file goes to
// ws.Dir/zones.yaml), on the first server for a peer.
func (s *minioStore) prepare(ctx context.Context, tool string, ws *Workspace) error {
	s.mu.Lock()
	s.seq++
	bucket := bucketName(s.seq, tool)
	s.mu.Unlock()
	ws.S3 = nil
	n := 1
	if tool == "cairn" {
		n = len(s.servers)
	}
	for i := range n {
		prefix := tool
		if tool == "cairn" {
			prefix = "repo"
		}
		ws.S3 = append(ws.S3, s.target(i, bucket, prefix))
		if err := miniotest.MakeBucket(ctx, s.clients[i], bucket); err != nil {
			return fmt.Errorf("%s: %w", s.servers[i].Endpoint(), err)
		}
	}
	t := ws.S3[0]
	switch tool {
	case "cairn":
		ws.Repo = filepath.Join(ws.Dir, "zones.yaml")
		if err := os.WriteFile(ws.Repo, zonesYAML(minioData, minioParity, ws.S3), 0o600); err != nil {
			return fmt.Errorf("zones file: %w", err)
		}
		ws.RepoEnv = []string{envZonesAccessKey + "=" + t.AccessKey, envZonesSecretKey + "=" + t.SecretKey}
	case "restic":
		ws.Repo = "s3:http://" + t.Endpoint + "/" + t.Bucket + "/" + t.Prefix
		ws.RepoEnv = []string{"AWS_ACCESS_KEY_ID=" + t.AccessKey, "AWS_SECRET_ACCESS_KEY=" + t.SecretKey}
	default: // kopia and tests: the tool reads ws.S3
		ws.Repo = "s3://" + t.Endpoint + "/" + t.Bucket + "/" + t.Prefix
		ws.RepoEnv = nil
	}
	return nil
}

// stat lists every bucket of the repository; a server that is down contributes its last
// listing (a killed server's data does not change).
func (s *minioStore) stat(ctx context.Context, ws *Workspace) (treeStat, error) {
	ts := treeStat{Files: map[string]fileSig{}}
	for _, t := range ws.S3 {
		key := strconv.Itoa(t.server) + "/" + t.Bucket
		s.mu.Lock()
		down, last := s.down[t.server], s.last[key]
		s.mu.Unlock()
		part := last
		if !down {
			var err error
			if part, err = s.list(ctx, t); err != nil {
				return ts, err
			}
			s.mu.Lock()
			s.last[key] = part
			s.mu.Unlock()
		}
		for k, sig := range part.Files {
			ts.Files[key+"/"+k] = sig
		}
		ts.Bytes += part.Bytes
		ts.DiskBytes += part.DiskBytes
	}
	return ts, nil
}

// list sums the objects of t's bucket (every key, not only the prefix: the bucket is the
// run's own).
func (s *minioStore) list(ctx context.Context, t S3Target) (treeStat, error) {
	ts := treeStat{Files: map[string]fileSig{}}
	for o := range s.clients[t.server].ListObjects(ctx, t.Bucket, minio.ListObjectsOptions{Recursive: true}) {
		if o.Err != nil {
			return ts, fmt.Errorf("list %s on %s: %w", t.Bucket, t.Endpoint, o.Err)
		}
		ts.Files[o.Key] = fileSig{size: o.Size, mtime: o.LastModified.UnixNano(), etag: o.ETag}
		ts.Bytes += o.Size
		ts.DiskBytes += o.Size
	}
	return ts, nil
}

func (s *minioStore) cacheDirs(*Workspace) []string { return []string{s.dir} }

// release force-deletes the run's buckets (MinIO removes a non-empty bucket in one call).
func (s *minioStore) release(ctx context.Context, ws *Workspace) error {
	var errs []error
	for _, t := range ws.S3 {
		s.mu.Lock()
		down := s.down[t.server]
		delete(s.last, strconv.Itoa(t.server)+"/"+t.Bucket)
		s.mu.Unlock()
		if down {
			continue
		}
		if err := s.clients[t.server].RemoveBucketWithOptions(ctx, t.Bucket, minio.RemoveBucketOptions{ForceDelete: true}); err != nil {
			errs = append(errs, fmt.Errorf("remove bucket %s on %s: %w", t.Bucket, t.Endpoint, err))
		}
	}
	return errors.Join(errs...)
}

// zonesDown kills (SIGKILL) the servers of the last n zones of ws's repository.
func (s *minioStore) zonesDown(_ context.Context, ws *Workspace, n int) error {
	if n > len(ws.S3) {
		return fmt.Errorf("%w: %d of %d zones", ErrNoZones, n, len(ws.S3))
	}
	for _, t := range ws.S3[len(ws.S3)-n:] {
		s.servers[t.server].Kill()
		s.mu.Lock()
		s.down[t.server] = true
		s.mu.Unlock()
	}
	return nil
}

// zonesUp restarts every killed server on its port and data.
func (s *minioStore) zonesUp(ctx context.Context) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	var errs []error
	for i := range s.down {
		if err := s.servers[i].Relaunch(ctx); err != nil {
			errs = append(errs, err)
			continue
		}
		delete(s.down, i)
	}
	return errors.Join(errs...)
}

func (s *minioStore) serverCPU() map[int]float64 {
	out := map[int]float64{}
	for _, srv := range s.servers {
		if srv == nil {
			continue
		}
		pid, err := srv.Pid()
		if err != nil {
			continue
		}
		if sec, err := processCPU(pid); err == nil {
			out[pid] = sec
		}
	}
	return out
}

// close kills every server.
func (s *minioStore) close() {
	for _, srv := range s.servers {
		if srv != nil {
			srv.Kill()
		}
	}
}

// processCPU returns the user+system CPU seconds of a process from /proc/PID/stat
// (fields 14 and 15, in USER_HZ = 100 ticks per second on Linux).
func processCPU(pid int) (float64, error) {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return 0, err
	}
	return parseProcStatCPU(b)
}

// parseProcStatCPU extracts utime+stime (seconds) from the contents of /proc/PID/stat.
func parseProcStatCPU(stat []byte) (float64, error) {
	i := bytes.LastIndexByte(stat, ')')
	if i < 0 {
		return 0, errors.New("proc stat: no command name")
	}
	f := strings.Fields(string(stat[i+1:]))
	// f[0] is field 3 (state); utime and stime are fields 14 and 15.
	if len(f) < 13 {
		return 0, fmt.Errorf("proc stat: %d fields", len(f)+2)
	}
	u, err1 := strconv.ParseUint(f[11], 10, 64)
	st, err2 := strconv.ParseUint(f[12], 10, 64)
	if err := errors.Join(err1, err2); err != nil {
		return 0, fmt.Errorf("proc stat: %w", err)
	}
	return float64(u+st) / 100, nil
}
