package repo

import "errors"

// Sentinel errors callers branch on (test with errors.Is).
var (
	// ErrNoRepository: there is no repository at the location.
	ErrNoRepository = errors.New("no repository at this location")
	// ErrRepositoryExists: Init found a repository already there.
	ErrRepositoryExists = errors.New("a repository already exists at this location")
	// ErrWrongPassword: no key slot opens with the given password.
	ErrWrongPassword = errors.New("wrong password or no key slot matches")
	// ErrUnsupportedVersion: the repository was written by a newer or unknown format version.
	ErrUnsupportedVersion = errors.New("unsupported repository format version")
	// ErrCorrupt: stored data failed authentication or did not decode (tampered or truncated).
	ErrCorrupt = errors.New("repository data is corrupt")
	// ErrSnapshotNotFound: no snapshot matches the reference.
	ErrSnapshotNotFound = errors.New("snapshot not found")
	// ErrAmbiguousID: an ID prefix matches more than one object.
	ErrAmbiguousID = errors.New("ambiguous ID prefix")
	// ErrLastKey: removing the key slot would leave the repository without any.
	ErrLastKey = errors.New("cannot remove the last key slot")
	// ErrCurrentKey: the key slot in use by this session cannot be removed.
	ErrCurrentKey = errors.New("cannot remove the key slot in use")
	// ErrKeyNotFound: no key slot has that ID.
	ErrKeyNotFound = errors.New("key slot not found")
)
