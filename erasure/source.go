package erasure

import "context"

// ShardSource fetches bytes of the shard objects of one pack. The storage layer implements
// it (for example one zone per shard, chosen with Placement); this package never learns
// where shards live.
//
// ReadShard returns bytes of the object of shard index:
//   - offset >= 0, length >= 0: exactly [offset, offset+length); a shorter object is an error;
//   - offset >= 0, length < 0: from offset to the end of the object (0, -1 = whole object);
//   - offset < 0: the last -offset bytes (the whole object if it is shorter), length ignored
//     (an HTTP suffix range, "bytes=-N").
//
// Any error (object missing, zone unreachable, ...) makes that shard an erasure for the
// operation. Implementations must be safe for concurrent use and must return promptly when
// ctx is cancelled: a degraded read cancels the fetches it no longer needs and does not wait
// for them. The returned slice belongs to the caller.
type ShardSource interface {
	ReadShard(ctx context.Context, index int, offset, length int64) ([]byte, error)
}

// ShardReaderInto is an optional ShardSource extension: ReadShardInto fills parts, in
// order, with the bytes of shard index's object from offset (>= 0) on, exactly as many as
// the parts hold (a shorter object is an error), with one request. A PackReader reads the
// blocks a range covers whole straight into the caller's buffer this way, and only the
// blocks at its ends (and a footer) into buffers of its own. Otherwise ReadShard's rules
// apply; on an error the parts may hold part of the data.
type ShardReaderInto interface {
	ReadShardInto(ctx context.Context, index int, offset int64, parts [][]byte) error
}
