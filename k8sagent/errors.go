package k8sagent

import "errors"

// Sentinel errors callers branch on (test with errors.Is).
var (
	// ErrForbidden: the API server refused an operation the agent needs (missing RBAC).
	ErrForbidden = errors.New("not allowed by the cluster's RBAC")
	// ErrNamespaceNotFound: the namespace to back up does not exist.
	ErrNamespaceNotFound = errors.New("namespace not found")
	// ErrNamespaceExists: the restore target namespace exists and AllowExistingNamespace is off.
	ErrNamespaceExists = errors.New("target namespace already exists")
	// ErrNoSnapshotClass: no VolumeSnapshotClass serves a volume's CSI driver.
	ErrNoSnapshotClass = errors.New("no VolumeSnapshotClass for the volume's CSI driver")
	// ErrUnsupportedVolume: a claim is not bound to a CSI volume, so it cannot be snapshotted.
	ErrUnsupportedVolume = errors.New("volume cannot be snapshotted")
	// ErrTimeout: a VolumeSnapshot, claim or mover did not get ready in time.
	ErrTimeout = errors.New("timed out")
	// ErrMoverFailed: a mover run (Job) failed.
	ErrMoverFailed = errors.New("mover failed")
	// ErrNotAppBackup: the repository snapshot is not an application backup record.
	ErrNotAppBackup = errors.New("not a Kubernetes application backup")
	// ErrBadRecord: an application backup record did not decode or is inconsistent.
	ErrBadRecord = errors.New("invalid application backup record")
	// ErrBadHook: a hook annotation did not parse.
	ErrBadHook = errors.New("invalid hook annotation")
	// ErrHookFailed: a hook command failed and its policy is to fail the backup.
	ErrHookFailed = errors.New("hook failed")
)
