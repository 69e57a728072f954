// Command bench is the side-by-side benchmark harness: it drives the cairn binary and two
// peers (kopia and restic, pinned in bench/peers/go.mod and built by bench/peers/install.sh)
// through their command lines over the same volume images, and reports per-phase wall time,
// CPU time, peak RSS, repository size and objects written, with medians over rounds and the
// headline ratios cairn/kopia, cairn/restic and cairn/best-peer (with the range of the
// per-round cairn/best-peer ratios).
//
//	go run ./bench --short                               # one small round (make bench)
//	go run ./bench --gen mixed --size 256MiB --rounds 3  # the standard comparison
//	go run ./bench --image vol.img --json > out.json     # a real volume image
//	go run ./bench --backend minio --zones-down 2        # six MinIO servers, cairn 4+2
//
// It owns the input generators (random, compressible, sparse with holes or explicit zeros,
// mixed, and ext4 filesystem images built with mkfs.ext4 -d), the in-place mutation that
// produces the second generation for the incremental backup, process measurement, and the
// table, JSON and SVG renderings. docs/BENCHMARKS.md documents every peer setting.
//
// Repositories live in a store: a local directory (--backend local), or buckets on six
// MinIO servers the harness runs itself (--backend minio, internal/miniotest.StartProcess):
// cairn gets a zones file with 4+2 erasure over all six, each peer one bucket on one
// server. --zones-down N kills N of cairn's zones for an extra restore-degraded phase.
//
// # Caveats
//
//   - Peak RSS is Rusage.Maxrss of each child process: the maximum over the process's
//     lifetime, not an average; for a phase of several commands it is the largest of them.
//   - By default the page cache of the source image and of the repository is dropped
//     (fdatasync + POSIX_FADV_DONTNEED, no root needed) before every phase, so every tool
//     starts cold; --warm keeps it.
//   - The check phases are not equivalent between tools (restic check and kopia's
//     maintenance verification read different amounts of data); compare them with care.
//   - Every command pays its tool's password key derivation (cairn Argon2id, kopia and
//     restic scrypt), a fixed cost per command that dominates small inputs; the
//     "snapshots" phase measures it. --cairn-kdf test gives cairn a cheap KDF (then the
//     comparison flatters cairn).
//   - On object storage the repository size is the sum of all objects in the run's
//     buckets: for cairn 1.5x its data by design (4+2). The servers' CPU is reported apart
//     (srv cpu), not in the tool's cpu; servers and tools share the machine's cores.
package main
