package k8sagent

import (
	"bytes"
	"context"
	"fmt"

	"github.com/cairnbackup/cairn/repo"
)

// BackupInfo is one application backup found in the repository.
type BackupInfo struct {
	Snapshot  *repo.Snapshot // the record's repository snapshot
	BackupID  string
	Namespace string
}

// ListBackups returns the application backups in r, oldest first; namespace "" lists all.
func ListBackups(ctx context.Context, r *repo.Repository, namespace string) ([]BackupInfo, error) {
	all, err := r.Snapshots(ctx)
	if err != nil {
		return nil, fmt.Errorf("list repository snapshots: %w", err)
	}
	var out []BackupInfo
	for _, s := range all {
		if !hasTag(s, TagKind+"=app") {
			continue
		}
		ns := tagValue(s, TagNamespace)
		if namespace != "" && ns != namespace {
			continue
		}
		out = append(out, BackupInfo{Snapshot: s, BackupID: tagValue(s, TagAppBackup), Namespace: ns})
	}
	return out, nil
}

// LoadBackup resolves ref (a snapshot ID or unique prefix of an application record, or
// "latest" with namespace) and decodes its record.
func LoadBackup(ctx context.Context, r *repo.Repository, ref, namespace string) (*AppBackup, *repo.Snapshot, error) {
	var snap *repo.Snapshot
	if ref == "latest" {
		list, err := ListBackups(ctx, r, namespace)
		if err != nil {
			return nil, nil, err
		}
		if len(list) == 0 {
			return nil, nil, fmt.Errorf("no application backup of namespace %q: %w", namespace, repo.ErrSnapshotNotFound)
		}
		snap = list[len(list)-1].Snapshot
	} else {
		s, err := r.FindSnapshot(ctx, ref, "")
		if err != nil {
			return nil, nil, err
		}
		snap = s
	}
	if !hasTag(snap, TagKind+"=app") {
		return nil, nil, fmt.Errorf("snapshot %s (%s): %w; list them with 'cairn k8s snapshots'", snap.ID.Short(), snap.Name, ErrNotAppBackup)
	}
	var buf bytes.Buffer
	if err := r.RestoreStream(ctx, snap.ID, &buf, repo.RestoreOptions{}); err != nil {
		return nil, nil, fmt.Errorf("read application record %s: %w", snap.ID.Short(), err)
	}
	rec, err := DecodeRecord(&buf)
	if err != nil {
		return nil, nil, fmt.Errorf("application record %s: %w", snap.ID.Short(), err)
	}
	return rec, snap, nil
}
