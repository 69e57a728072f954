// Package mover is the entrypoint that moves one volume between a block device (or image
// file) and a cairn repository: "cairn mover backup|restore --device PATH ...", run by the
// agent's mover Jobs (and in-process by tests). It prints JSON lines (progress reports, then a
// summary or an error) on stdout, serves Prometheus metrics on --metrics-addr, and reports
// success only by returning nil (the process exit status).
//
// The repository comes from --repo or CAIRN_REPO; the password from --password-file,
// CAIRN_PASSWORD_FILE or CAIRN_PASSWORD (there is never a prompt: a mover is not
// interactive).
//
// # Caveats
//
//   - Restore writes zeros explicitly (a block device is not known to read as zeros) and
//     refuses a device smaller than the snapshot.
//   - The metrics endpoint lives only as long as the move; scrape it with a short interval or
//     use --metrics-linger to keep it up after the end.
package mover
