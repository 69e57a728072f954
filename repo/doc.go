// Package repo is cairn's public Go API: create or open a repository, back up a volume
// stream into it, restore snapshots, and inspect what is stored.
//
//	r, err := repo.Init(ctx, "/backups/repo", repo.InitOptions{Password: pw})
//	snap, err := r.Backup(ctx, volume, repo.BackupOptions{Name: "pvc-data"})
//	err = r.Restore(ctx, snap.ID, target, repo.RestoreOptions{})
//
// A backup streams the source through a pipeline that uses every core: the chunk package
// splits it into zero runs and content-defined chunks; workers name chunks with keyed BLAKE3,
// skip those the repository already has (looked up in the local bbolt index cache, so memory
// does not grow with the repository), compress the rest with zstd; a packer seals them with
// AES-256-GCM into packs, and uploaders store the packs. Index objects are written after their
// packs and the snapshot last, so an interrupted backup records nothing and leaves a consistent
// repository (its packs are reused by the next run when their index was written).
//
// Maintenance (docs/LIFECYCLE.md): Forget applies retention policies to snapshots, Prune frees
// unreferenced data in two phases with a grace period so it is safe beside running backups,
// Check verifies structure (and with ReadData every blob), and RepairIndex, RepairPacks and
// RepairSnapshots rebuild what can be rebuilt, deleting nothing unless forced. Locks (Locks,
// RemoveLocks) are objects in the repository: backups share, prune and repair exclude.
//
// The on-storage format is specified in docs/FORMAT.md. Storage backends implement
// repo/backend.Backend; a location string selects one (a directory path is the embedded
// default).
//
// Caveats: a Repository is safe for concurrent use, but the index cache file is used by one
// process at a time; a second process opening the same cache falls back to a private
// temporary cache rebuilt from the repository.
package repo
