// Package spool creates anonymous scratch files: files without a name (Linux O_TMPFILE), or
// whose name is removed at once, so they vanish when closed or when the process dies, and a
// killed backup leaves nothing behind. The repository spools packs bound for an object store
// to such a file, so a backup does not hold whole packs in memory.
package spool
