package main

import (
	"context"
	"errors"
	"path/filepath"
)

// Backends the harness can put repositories on.
const (
	BackendLocal = "local"
	BackendMinio = "minio"
)

// ErrNoZones is returned when a backend without zones is asked to take zones down.
var ErrNoZones = errors.New("backend has no zones to take down")

// S3Target is one bucket (and key prefix) a repository uses on an object store.
type S3Target struct {
	Endpoint  string // host:port, plain HTTP
	Bucket    string
	Prefix    string // key prefix inside the bucket, without a trailing slash
	AccessKey string
	SecretKey string
	server    int // index of the server in the store
}

// store is where the repositories of tool runs live: a local directory, or buckets on
// object-store servers the harness runs.
type store interface {
	// prepare gives tool's run in ws a fresh, empty repository: it sets ws.Repo (the
	// location the tool is given), ws.RepoEnv and ws.S3.
	prepare(ctx context.Context, tool string, ws *Workspace) error
	// stat lists the repository's files or objects.
	stat(ctx context.Context, ws *Workspace) (treeStat, error)
	// cacheDirs are the local files backing the repository, whose page cache is dropped
	// before every phase.
	cacheDirs(ws *Workspace) []string
	// release deletes the repository after the run (not called with --keep).
	release(ctx context.Context, ws *Workspace) error
	// zonesDown kills the servers of the last n zones of ws's repository; zonesUp restarts
	// every killed server. ErrNoZones when the backend has none.
	zonesDown(ctx context.Context, ws *Workspace, n int) error
	zonesUp(ctx context.Context) error
	// serverCPU returns the CPU seconds used so far by each running server process, by
	// PID (nil when the backend runs no servers).
	serverCPU() map[int]float64
	// close stops every server.
	close()
}

// localStore keeps each repository in the workspace's repo directory.
type localStore struct{}

func (localStore) prepare(_ context.Context, _ string, ws *Workspace) error {
	ws.Repo, ws.RepoEnv, ws.S3 = filepath.Join(ws.Dir, "repo"), nil, nil
	return nil
}

func (localStore) stat(_ context.Context, ws *Workspace) (treeStat, error) { return statTree(ws.Repo) }
func (localStore) cacheDirs(ws *Workspace) []string                        { return []string{ws.Repo} }
func (localStore) release(context.Context, *Workspace) error               { return nil }
func (localStore) zonesDown(context.Context, *Workspace, int) error        { return ErrNoZones }
func (localStore) zonesUp(context.Context) error                           { return nil }
func (localStore) serverCPU() map[int]float64                              { return nil }
func (localStore) close()                                                  {}

// cpuDelta sums, over the processes of after, the CPU seconds they used since before (a
// process absent from before, e.g. restarted, counts from zero).
func cpuDelta(before, after map[int]float64) float64 {
	var d float64
	for pid, v := range after {
		d += v - before[pid]
	}
	return d
}
