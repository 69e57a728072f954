// Command cairn is the command-line interface to a cairn backup repository: create one,
// back up a block device, image file or stream into it, list and inspect what is stored,
// restore snapshots, and manage password key slots.
//
// It is a thin layer over the public API of package repo (github.com/cairnbackup/cairn/repo):
// it owns flags, environment variables, password prompts, progress display, output
// formatting (text tables or --json) and exit codes, and nothing about the storage format.
// The reference is docs/CLI.md; "cairn quickstart" is a self-contained demo.
//
// Caveats: passwords are prompted for only when stdin is a terminal; otherwise they come from
// --password-file, CAIRN_PASSWORD_FILE or CAIRN_PASSWORD. CAIRN_KDF=test (or --kdf=test,
// not advertised in --help) makes new key slots cheap to derive and is meant for tests only.
package main
