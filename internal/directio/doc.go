// Package directio owns the small pieces of direct I/O (O_DIRECT) that cairn shares between
// reading volumes (chunk) and writing packs (repo/backend/local): the alignment rule,
// aligned buffers, and opening a second descriptor of an open file that bypasses the page
// cache.
//
// Why: on the virtual machines cairn is measured on, moving a byte through the page cache
// costs the kernel a page allocation and a copy, several times what the copy alone costs in
// user space (docs/DECISIONS.md §16, §27), and it fills the page cache with data nobody will
// read again. Direct I/O needs the file offset, the length and the buffer address aligned to
// Align; a filesystem that does not support it refuses the open or the first transfer with
// EINVAL (Unsupported), and callers then fall back to buffered I/O.
package directio
