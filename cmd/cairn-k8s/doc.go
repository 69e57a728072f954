// Command cairn-k8s runs cairn's Kubernetes commands: backup, snapshots, show, restore and
// the in-cluster agent. Users normally reach it as "cairn k8s ...": cairn finds cairn-k8s
// next to itself or in $PATH and executes it with the same arguments and environment, so
// flags, help, --json output and exit codes are those documented for "cairn k8s" in
// docs/CLI.md and docs/KUBERNETES.md. Run directly, "cairn-k8s ARGS" is "cairn k8s ARGS".
//
// It is a second binary so that cairn itself does not link client-go and the other
// Kubernetes libraries, which cost every cairn command about 15 MiB of resident memory at
// start (docs/DECISIONS.md §12). What both binaries share (global flags, passwords, output,
// exit codes) is package internal/cli.
//
// Caveats: the mover Jobs still run "cairn mover ...", which is part of cairn, not of
// cairn-k8s; the image of the movers must contain cairn.
package main
