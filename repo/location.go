package repo

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/cairnbackup/cairn/repo/backend"
	"github.com/cairnbackup/cairn/repo/backend/local"
)

// A location string selects the backend:
//   - a directory path (the embedded default): "/backups/repo", "./repo"
//   - later: "s3://host:port/bucket/prefix" and a zones file "zones.yaml"
func openBackend(ctx context.Context, location string) (backend.Backend, error) {
	if location == "" {
		return nil, errors.New("no repository location given (set --repo or CAIRN_REPO)")
	}
	if strings.Contains(location, "://") {
		return nil, fmt.Errorf("repository location %q: this build supports local directories only", location)
	}
	return local.Open(location)
}

func createBackend(ctx context.Context, location string) (backend.Backend, error) {
	if location == "" {
		return nil, errors.New("no repository location given (set --repo or CAIRN_REPO)")
	}
	if strings.Contains(location, "://") {
		return nil, fmt.Errorf("repository location %q: this build supports local directories only", location)
	}
	return local.Create(location)
}
