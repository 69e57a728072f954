// Package k8sagent is cairn's Kubernetes agent: it captures an application (the resources of
// one namespace, optionally narrowed by a label selector, plus the cluster-scoped objects they
// depend on) together with the data of its PersistentVolumeClaims into a cairn repository, and
// restores it, in order, into the same or another namespace or cluster.
//
// It owns discovery (Discover: every listable namespaced resource of every API group, custom
// resources included), manifest capture, CSI VolumeSnapshot orchestration, mover Job specs
// (MoverLauncher, JobLauncher), consistency hooks (ParseHooks, Executor), and ordered restore
// with transforms (Transform, RestoreOrder).
//
// # Repository layout
//
// An application backup is one repository snapshot named "k8s/<namespace>/manifests" whose
// content is the canonical JSON of an AppBackup record (every manifest, plus one entry per
// volume naming the repository snapshot that holds the volume's raw bytes). Volume snapshots
// are named "k8s/<namespace>/pvc/<claim>". Both carry the tag cairn.k8s/app-backup=<id>; the
// record snapshot also carries cairn.k8s/kind=app and cairn.k8s/namespace=<namespace>, which
// is how ListBackups finds them. The manifest stream goes through the same content-defined
// chunking as volumes, so unchanged manifests cost nothing in later backups.
//
// # Data path
//
// For each claim: a VolumeSnapshot (snapshot.storage.k8s.io/v1), wait until readyToUse, a
// temporary claim from it in volumeMode Block (Filesystem volumes take the
// snapshot.storage.kubernetes.io/allow-volume-mode-change path), and a mover that streams the
// raw device into the repository ("cairn mover backup"). Restore mirrors it: a Block claim
// written by "cairn mover restore"; a Filesystem claim is then cut from a VolumeSnapshot of
// that staging claim. Every temporary object carries the label cairn.io/temporary and is
// deleted afterwards, also on failure.
//
// # Caveats
//
//   - Volumes must be CSI volumes with a VolumeSnapshotClass for their driver, and the driver
//     must support volume-mode conversion for Filesystem volumes.
//   - Hooks run only in pods that are Running at backup time.
//   - Restore refuses an existing target namespace unless told otherwise; objects that
//     already exist there are then left alone and reported, never overwritten.
//   - Restored PersistentVolumes are new ones provisioned from the repository data; captured
//     PersistentVolume objects are kept for reference only.
package k8sagent
