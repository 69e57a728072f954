// Package local is the embedded default backend: a repository in a local directory.
//
// Layout (identical to the object keys of the S3 backend):
//
//	config
//	keys/<id>
//	snapshots/<id>
//	index/<id>
//	data/<first two hex digits>/<id>
//	locks/<id>
//
// Every Save writes a temporary file in the target directory, fsyncs it, renames it into place
// and fsyncs the directory, so an object is either absent or complete, also after a crash or a
// full disk. Lock objects are written the same way but not fsynced: a lock only matters while
// the process that holds it runs. Temporary files are named ".tmp-*" and are ignored by List; a crash may leave one
// behind, which is harmless.
//
// Beyond backend.Backend it offers what the repository uses when present: CreatePack (a pack
// streamed to a temporary file, named on Commit), LoadInto (reads into the caller's buffer)
// and Prefetch (POSIX_FADV_WILLNEED on a range a restore reads next).
package local
