package miniotest

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"github.com/cairnbackup/cairn/internal/testserver"
)

// ErrNotRunning is returned for a server process that is not running.
var ErrNotRunning = errors.New("minio server is not running")

// StartProcess starts one MinIO server outside a test (for tools such as the bench
// harness): bin is the server binary, dir a directory for its data and certificates
// (created if missing). It picks free ports, waits until the server is ready and creates
// bucket BucketName. The caller stops the server with Kill; the process also dies with its
// parent on Linux.
func StartProcess(ctx context.Context, bin, dir string) (*Server, error) {
	s := &Server{
		bin:     bin,
		dataDir: filepath.Join(dir, "data"),
		certDir: filepath.Join(dir, "certs"),
		logs:    &testserver.TailBuffer{Max: 32 << 10},
	}
	for _, d := range []string{s.dataDir, s.certDir} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			return nil, fmt.Errorf("minio server dir: %w", err)
		}
	}
	if err := s.startFresh(ctx); err != nil {
		s.Kill()
		return nil, fmt.Errorf("start minio in %s: %w\n%s", dir, err, s.logs.String())
	}
	return s, nil
}

// Relaunch starts a killed server again on the same port and data directory and waits
// until it is ready; a running server is killed first. It is Restart without a test.
func (s *Server) Relaunch(ctx context.Context) error {
	s.Kill()
	ctx, cancel := context.WithTimeout(ctx, startTimeout)
	defer cancel()
	if err := s.launch(ctx); err != nil {
		return fmt.Errorf("restart minio on %s: %w\n%s", s.Endpoint(), err, s.logs.String())
	}
	return nil
}

// Running reports whether the server process is running (it may be paused).
func (s *Server) Running() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.cmd != nil
}

// Pid returns the process ID of the running server, or ErrNotRunning.
func (s *Server) Pid() (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.cmd == nil {
		return 0, ErrNotRunning
	}
	return s.cmd.Process.Pid, nil
}
