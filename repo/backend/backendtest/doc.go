// Package backendtest is the conformance suite every backend.Backend implementation passes.
//
// Run exercises the whole contract written on backend.Backend: atomic round trips of every
// object type, ranged loads (including to-the-end, the exact end and past the end), Stat,
// List per type, Remove, the ErrNotFound and ErrExists sentinels, overwrites, zero-length
// objects, all-hex names, rejection of unsafe names, and concurrent use (run it under -race).
// Each subtest gets a fresh, empty backend from the factory, so backends that share a store
// (one bucket) must isolate them, e.g. by a per-test prefix.
//
// # Caveats
//
// The suite is sized to take seconds against a local MinIO; it is not a load test.
package backendtest
