// Package miniotest starts real MinIO server processes for integration tests.
//
// Start launches n independent single-drive servers ("zones"), each on its own 127.0.0.1
// port with its own temporary data directory, fixed root credentials and one bucket, and
// stops them when the test ends. A Server can be killed (SIGKILL, a dead zone), paused
// (SIGSTOP, a hung zone) and restarted on the same port and data.
//
// Outside tests (the bench harness), FindBinary and StartProcess do the same for one
// server without a testing.TB; Relaunch restarts a killed one.
//
// The server binary comes from $CAIRN_MINIO_BIN, else from scripts/minio.sh, which builds
// the MinIO version pinned in tools/go.mod once into a cache directory.
//
// # Caveats
//
// When the binary cannot be had or a server does not start, the test is skipped locally but
// fails when CI=true: an integration test never silently skips in CI. The first use in a
// fresh cache builds MinIO, which takes minutes; run scripts/minio.sh before `go test`.
// Free ports are picked by binding :0 and closing, so another process could take one in
// between; Start retries a server on a fresh port if it exits before becoming ready.
package miniotest
