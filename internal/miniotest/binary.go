package miniotest

import (
	"context"
	"fmt"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/cairnbackup/cairn/internal/testserver"
)

// EnvBinary names the environment variable that overrides the MinIO binary path.
const EnvBinary = "CAIRN_MINIO_BIN"

var (
	binOnce sync.Once
	binPath string
	binErr  error
)

// Binary returns the path of the MinIO server binary, finding (or building) it once per
// test process. It skips t (fails it when CI=true) if no binary can be had.
func Binary(t testing.TB) string {
	t.Helper()
	binOnce.Do(func() { binPath, binErr = findBinary() })
	if binErr != nil {
		testserver.Unavailable(t, "minio binary: %v", binErr)
	}
	return binPath
}

// FindBinary returns the path of the MinIO server binary outside a test: $CAIRN_MINIO_BIN
// if set, else what scripts/minio.sh prints (it builds the pinned version into a cache
// directory when missing, which takes minutes). ctx bounds that build.
func FindBinary(ctx context.Context) (string, error) {
	return findBinaryContext(ctx)
}

func findBinary() (string, error) {
	// Building from scratch takes minutes; bound it well inside the default test timeout.
	ctx, cancel := context.WithTimeout(context.Background(), 8*time.Minute)
	defer cancel()
	return findBinaryContext(ctx)
}

func findBinaryContext(ctx context.Context) (string, error) {
	if p := os.Getenv(EnvBinary); p != "" {
		if err := testserver.Executable(p); err != nil {
			return "", fmt.Errorf("$%s: %w", EnvBinary, err)
		}
		return p, nil
	}
	out, err := testserver.RunScript(ctx, "minio.sh")
	if err != nil {
		return "", fmt.Errorf("%w; set $%s", err, EnvBinary)
	}
	p := strings.TrimSpace(out)
	if err := testserver.Executable(p); err != nil {
		return "", fmt.Errorf("scripts/minio.sh printed %q: %w", p, err)
	}
	return p, nil
}
