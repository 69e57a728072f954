// Package s3 stores a repository in one S3 (or MinIO) bucket, under an optional key prefix.
//
// Objects use the same layout as the local backend: "config", "keys/<name>",
// "snapshots/<name>", "index/<name>", "data/<first two hex digits>/<name>" and
// "locks/<name>", all below Prefix. Open checks, with one cheap listing call, that the
// endpoint answers, the credentials work and the bucket exists; Create also makes the bucket.
// ParseURL reads an "s3://host[:port]/bucket[/prefix]?options" repository URL, taking the
// credentials from the environment (never from the URL).
//
// Uploads stream from the caller's memory: Save, SaveNew and SaveParts (an object given as
// consecutive parts, which the zones backend uses to upload a shard payload and its footer
// without joining them) hand minio-go a seekable io.ReaderAt body, so neither a single PUT
// nor a multipart upload buffers or copies the data, and retries seek back. The payload
// is not hashed for the signature (UNSIGNED-PAYLOAD): cairn's objects carry their own
// checksums. A body is never read after its call returns, even when net/http is still
// draining a failed request, so callers may reuse their buffers at once. Downloads are
// range GETs read straight into their buffer: Load allocates one of the range's size,
// LoadInto fills the caller's (a restore reuses one buffer for all its reads), LoadParts
// several of the caller's in order (zones: a range's whole blocks into the restore's
// buffer, its end blocks and footer into others).
//
// Errors wrap the backend sentinels: a missing object or bucket backend.ErrNotFound, a taken
// name in SaveNew backend.ErrExists, a full store backend.ErrNoSpace, and an endpoint that
// cannot be reached, times out, stalls or answers 5xx backend.ErrUnavailable. Rejected
// credentials wrap ErrAccessDenied. No error and no Location ever contains the secret key.
//
// # Caveats
//
//   - SaveNew is a conditional PUT (If-None-Match: *). The store must support it (MinIO
//     does, and AWS S3 since 2024); a PUT that succeeded but whose answer was lost is retried
//     by the client and then reports ErrExists for the caller's own object.
//   - S3 deletes are idempotent, so Remove first checks that the object exists (a HEAD) to
//     report ErrNotFound; the two calls are not atomic.
//   - Config.Timeout bounds how long a request may make no progress (no connection, no
//     response headers, no body bytes moving), not the total duration of a large transfer.
//     A stall cancels the request at once instead of retrying it, so a hung endpoint fails
//     fast with ErrUnavailable; errors that arrive quickly (connection refused, 5xx) are
//     retried MaxRetries times with a short exponential backoff.
package s3
