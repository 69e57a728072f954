// Package cli holds what the two cairn binaries share: "cairn" (repository commands) and
// "cairn-k8s" (the Kubernetes commands, which "cairn k8s ..." runs). It owns the global flags
// and their environment variables (--repo/CAIRN_REPO, --password-file, --cache-dir, --json,
// -q, -v, --profile-dir/CAIRN_PROFILE_DIR), password resolution and prompts, opening the
// repository, output helpers (JSON lines, tables, the JSON shape of a snapshot), usage
// errors, hint lines and exit codes, Go profiles of a command (--profile-dir), and running a
// command tree with panic recovery and signal handling.
//
// It exists so that neither binary links the other's dependencies: cmd/cairn must never
// import k8s.io packages (a test in cmd/cairn guards that), so nothing here may either.
//
// # Caveats
//
//   - Errors are printed as "cairn: <message>" by both binaries, so the output of
//     "cairn k8s ..." is the same whichever binary prints it.
//   - CAIRN_KDF=test (or --kdf=test, not advertised in --help) makes new key slots cheap to derive and
//     is meant for tests only.
package cli
