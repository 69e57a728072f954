package repo

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/cairnbackup/cairn/repo/backend"
	"github.com/cairnbackup/cairn/repo/backend/local"
	"github.com/cairnbackup/cairn/repo/backend/s3"
	"github.com/cairnbackup/cairn/repo/backend/zones"
)

// A location string selects the backend:
//   - a directory path (the embedded default): "/backups/repo", "./repo"
//   - one S3/MinIO bucket: "s3://host:port/bucket/prefix?tls=false" (credentials from
//     AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY or MINIO_ROOT_USER/MINIO_ROOT_PASSWORD)
//   - several zones with erasure-coded packs: a zones file "zones.yaml" (or ".yml", or
//     "zones:///path/zones.yaml"); see docs/ZONES.md
func openBackend(ctx context.Context, location string) (backend.Backend, error) {
	return backendFor(ctx, location, false)
}

func createBackend(ctx context.Context, location string) (backend.Backend, error) {
	return backendFor(ctx, location, true)
}

func backendFor(ctx context.Context, location string, create bool) (backend.Backend, error) {
	switch {
	case location == "":
		return nil, errors.New("no repository location given (set --repo or CAIRN_REPO)")
	case strings.HasPrefix(location, "zones://") || strings.HasSuffix(location, ".yaml") || strings.HasSuffix(location, ".yml"):
		return zonesBackend(ctx, strings.TrimPrefix(location, "zones://"), create)
	case strings.HasPrefix(location, "s3://"):
		cfg, err := s3.ParseURL(location)
		if err != nil {
			return nil, err
		}
		if create {
			return s3.Create(ctx, cfg)
		}
		return s3.Open(ctx, cfg)
	case strings.Contains(location, "://"):
		return nil, fmt.Errorf("repository location %q: unknown scheme (want a directory path or s3://host:port/bucket/prefix)", location)
	}
	if create {
		return local.Create(location)
	}
	return local.Open(location)
}

func zonesBackend(ctx context.Context, path string, create bool) (backend.Backend, error) {
	cfg, err := zones.LoadConfig(path)
	if err != nil {
		return nil, err
	}
	if !create {
		return zones.Open(ctx, cfg, zones.Options{})
	}
	be, err := zones.Create(ctx, cfg, zones.Options{})
	if errors.Is(err, backend.ErrExists) {
		return nil, fmt.Errorf("%w: %w", ErrRepositoryExists, err)
	}
	return be, err
}
