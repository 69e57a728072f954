package repo

import (
	"context"
	"encoding/json"
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/cairnbackup/cairn/index"
	"github.com/cairnbackup/cairn/internal/ids"
	"github.com/cairnbackup/cairn/repo/backend"
)

// Snapshot records one backup of a volume stream.
type Snapshot struct {
	ID       ID          `json:"-"`
	Version  int         `json:"version"`
	Time     time.Time   `json:"time"`
	Hostname string      `json:"hostname"`
	Name     string      `json:"name,omitempty"`
	Tags     []string    `json:"tags,omitempty"`
	Size     int64       `json:"size"`
	Lists    []ID        `json:"lists"`
	Stats    BackupStats `json:"stats"`
}

// BackupStats summarise what a backup read and wrote.
type BackupStats struct {
	DataBytes   int64         `json:"data_bytes"`   // bytes chunked and hashed
	ZeroBytes   int64         `json:"zero_bytes"`   // bytes in zero runs and holes
	HoleBytes   int64         `json:"hole_bytes"`   // of which skipped unread as file holes
	NewBytes    int64         `json:"new_bytes"`    // plaintext bytes of blobs added
	StoredBytes int64         `json:"stored_bytes"` // bytes of packs written
	Chunks      int64         `json:"chunks"`
	NewChunks   int64         `json:"new_chunks"`
	Packs       int64         `json:"packs"`
	Duration    time.Duration `json:"duration_ns"`
}

func (r *Repository) loadSnapshot(ctx context.Context, id ID) (*Snapshot, error) {
	b, err := r.loadObject(ctx, backend.Snapshot, typeSnapshot, id)
	if err != nil {
		return nil, fmt.Errorf("snapshot %s: %w", id.Short(), err)
	}
	return decodeSnapshot(id, b)
}

// decodeSnapshot parses and validates the plaintext of snapshot object id.
func decodeSnapshot(id ID, b []byte) (*Snapshot, error) {
	var s Snapshot
	if err := json.Unmarshal(b, &s); err != nil {
		return nil, fmt.Errorf("snapshot %s: %w: %v", id.Short(), ErrCorrupt, err)
	}
	if s.Version != FormatVersion {
		return nil, fmt.Errorf("snapshot %s: %w (version %d)", id.Short(), ErrUnsupportedVersion, s.Version)
	}
	if s.Size < 0 {
		return nil, fmt.Errorf("snapshot %s: %w: negative size", id.Short(), ErrCorrupt)
	}
	s.ID = id
	return &s, nil
}

// Snapshots lists all snapshots, oldest first. A snapshot object that cannot be read is an error.
func (r *Repository) Snapshots(ctx context.Context) ([]*Snapshot, error) {
	names, err := r.objectNames(ctx, backend.Snapshot)
	if err != nil {
		return nil, err
	}
	out := make([]*Snapshot, 0, len(names))
	for _, id := range names {
		s, err := r.loadSnapshot(ctx, id)
		if err != nil {
			return nil, err
		}
		out = append(out, s)
	}
	sort.SliceStable(out, func(i, j int) bool { return out[i].Time.Before(out[j].Time) })
	return out, nil
}

func (r *Repository) objectNames(ctx context.Context, t backend.Type) ([]ids.ID, error) {
	var out []ids.ID
	err := r.be.List(ctx, t, func(name string, _ int64) error {
		id, err := ids.Parse(name)
		if err != nil {
			r.log.Warn("ignoring object with a malformed name", "type", t, "name", name)
			return nil
		}
		out = append(out, id)
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("list %s: %w", t, err)
	}
	return out, nil
}

// resolve finds the unique object of type t whose name starts with prefix.
func (r *Repository) resolve(ctx context.Context, t backend.Type, prefix string) (ids.ID, error) {
	prefix = strings.ToLower(prefix)
	if len(prefix) == 2*ids.Size {
		return ids.Parse(prefix)
	}
	if prefix == "" {
		return ids.ID{}, fmt.Errorf("empty ID")
	}
	names, err := r.objectNames(ctx, t)
	if err != nil {
		return ids.ID{}, err
	}
	var found []ids.ID
	for _, id := range names {
		if strings.HasPrefix(id.String(), prefix) {
			found = append(found, id)
		}
	}
	switch len(found) {
	case 0:
		return ids.ID{}, fmt.Errorf("%s %q: %w", t, prefix, backend.ErrNotFound)
	case 1:
		return found[0], nil
	}
	return ids.ID{}, fmt.Errorf("%s %q matches %d objects: %w", t, prefix, len(found), ErrAmbiguousID)
}

// FindSnapshot resolves ref: "latest" (the newest, only among snapshots called name when name
// is not empty), a full ID, or a unique ID prefix.
func (r *Repository) FindSnapshot(ctx context.Context, ref, name string) (*Snapshot, error) {
	if ref == "latest" {
		all, err := r.Snapshots(ctx)
		if err != nil {
			return nil, err
		}
		for i := len(all) - 1; i >= 0; i-- {
			if name == "" || all[i].Name == name {
				return all[i], nil
			}
		}
		if name != "" {
			return nil, fmt.Errorf("no snapshot named %q: %w", name, ErrSnapshotNotFound)
		}
		return nil, fmt.Errorf("the repository has no snapshots: %w", ErrSnapshotNotFound)
	}
	id, err := r.resolve(ctx, backend.Snapshot, ref)
	if err != nil {
		if isNotFound(err) {
			return nil, fmt.Errorf("snapshot %q: %w", ref, ErrSnapshotNotFound)
		}
		return nil, err
	}
	s, err := r.loadSnapshot(ctx, id)
	if isNotFound(err) {
		return nil, fmt.Errorf("snapshot %q: %w", ref, ErrSnapshotNotFound)
	}
	return s, err
}

// Extents calls fn for each extent of snapshot id in volume order.
func (r *Repository) Extents(ctx context.Context, id ID, fn func(Extent) error) error {
	s, err := r.loadSnapshot(ctx, id)
	if err != nil {
		return err
	}
	c, err := r.indexCache(ctx)
	if err != nil {
		return err
	}
	return r.walkExtents(ctx, c, s, fn)
}

// walkExtents decodes the snapshot's chunk lists in order and checks their total size.
func (r *Repository) walkExtents(ctx context.Context, c *index.Cache, s *Snapshot, fn func(Extent) error) error {
	var off int64
	var buf []byte
	for _, lid := range s.Lists {
		if err := ctx.Err(); err != nil {
			return err
		}
		e, ok, err := c.Lookup(lid)
		if err != nil {
			return fmt.Errorf("index lookup: %w", err)
		}
		if !ok || e.Type != index.ListBlob {
			return fmt.Errorf("%w: snapshot %s: chunk list %s is not in the index", ErrCorrupt, s.ID.Short(), lid.Short())
		}
		buf, err = r.readBlob(ctx, e, buf)
		if err != nil {
			return fmt.Errorf("snapshot %s: chunk list: %w", s.ID.Short(), err)
		}
		off, err = decodeList(buf, off, fn)
		if err != nil {
			return fmt.Errorf("snapshot %s: %w", s.ID.Short(), err)
		}
	}
	if off != s.Size {
		return fmt.Errorf("%w: snapshot %s: chunk lists cover %d bytes, snapshot size is %d", ErrCorrupt, s.ID.Short(), off, s.Size)
	}
	return nil
}

func marshalSnapshot(s *Snapshot) ([]byte, error) { return json.Marshal(s) }
