// Package mem is an in-memory backend.Backend with fault injection, for unit tests of the
// packages above the storage layer (repository, index, erasure across zones).
//
// A Backend keeps every object in a map; Load and Save copy, so callers may reuse buffers.
// Faults are attached per operation with AddFault: fail with an error (once, N times or
// always), fail after the operation took effect (a lost acknowledgement), block until the
// context is done or a gate opens, or run an arbitrary hook. Get and Put bypass the faults to
// inspect or corrupt stored bytes directly.
//
// # Caveats
//
// Nothing is durable; the backend is for tests, not for repositories that must survive the
// process. Name validation mirrors the local backend (no empty names, no '/' or '\', no
// leading '.').
package mem
