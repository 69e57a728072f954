// Package pagecache evicts files from the kernel's page cache, so a benchmark reads them from
// the disk: the bench harness before every phase, and the repository's cold-cache restore
// benchmarks. Linux only (fdatasync + POSIX_FADV_DONTNEED, no privileges needed); elsewhere
// Evict does nothing. Resident tells how much of a file is cached (cachestat(2)), for tests
// of code that reads through, around or ahead of the page cache.
package pagecache
