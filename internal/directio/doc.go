// Package directio owns the small pieces of direct I/O (O_DIRECT): the alignment rule,
// aligned buffers, and opening a second descriptor of an open file that bypasses the page
// cache. chunk reads cold volumes with them (docs/DECISIONS.md §16); pack writes and restore
// reads and writes were measured with them and stay buffered (§27).
//
// Why: on the virtual machines cairn is measured on, moving a byte through the page cache
// costs the kernel a page allocation and a copy, several times what the copy alone costs in
// user space, and it fills the page cache with data nobody will read again. Direct I/O needs the file offset, the length and the buffer address aligned to
// Align; a filesystem that does not support it refuses the open or the first transfer with
// EINVAL (Unsupported), and callers then fall back to buffered I/O.
package directio
