// Package pagecache evicts files from the kernel's page cache, so a benchmark reads them from
// the disk: the bench harness before every phase, and the repository's cold-cache restore
// benchmarks. Linux only (fdatasync + POSIX_FADV_DONTNEED, no privileges needed); elsewhere
// Evict does nothing.
package pagecache
