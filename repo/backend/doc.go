// The concrete backends live in sub-packages: local (a directory, the embedded default),
// s3 (one S3/MinIO bucket) and zones (Reed-Solomon erasure sets across several S3 zones).
// backendtest holds the conformance suite every backend must pass.
package backend
