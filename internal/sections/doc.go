// Package sections joins byte ranges of several sources (io.ReaderAt sections, byte slices,
// runs of zeros) into one read-only object, an io.ReaderAt that knows its size: an upload
// body assembled in place, without copying its parts into one buffer. The erasure coder
// describes the shard objects of a pack spooled to a file this way, and the s3 backend sends
// such an object as the body of a PUT.
package sections
