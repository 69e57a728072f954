package repo

import (
	"context"
	"fmt"

	"github.com/cairnbackup/cairn/index"
	"github.com/cairnbackup/cairn/internal/ids"
	"github.com/cairnbackup/cairn/repo/backend"
)

// blobWriter writes blobs into new packs and, after their packs, index objects naming them
// (used by prune's repack and by repair). Not safe for concurrent use.
type blobWriter struct {
	r       *Repository
	ps      packStreamer // how packs are streamed (nil: buffered), decided once
	pb      *packBuilder
	scratch []byte        // streamed packs: where a blob is sealed before it is written
	pending []index.Entry // stored, not yet in an index object
	seen    map[ids.ID]struct{}

	packs   int
	bytes   int64
	blobs   int
	indexes []ids.ID
}

func (r *Repository) newBlobWriter() *blobWriter {
	// streamer probes the spool directory of an object store (a file created and closed):
	// once per writer, not once per pack.
	return &blobWriter{r: r, ps: r.streamer(), seen: map[ids.ID]struct{}{}}
}

// add seals one blob (payload already compressed when compressed is set). A blob added
// twice is stored once.
func (w *blobWriter) add(ctx context.Context, t index.BlobType, id ids.ID, rawLen int, compressed bool, payload []byte) error {
	if _, dup := w.seen[id]; dup {
		return nil
	}
	w.seen[id] = struct{}{}
	if w.pb == nil {
		var pb *packBuilder
		var err error
		if w.ps != nil {
			pb, err = w.r.newPackStream(ctx, w.ps)
		} else {
			pb, err = w.r.newPackBuilder(make([]byte, 0, w.r.cfg.PackSize+len(payload)+64<<10))
		}
		if err != nil {
			return err
		}
		w.pb = pb
	}
	// payload belongs to the caller: never seal it in place.
	scratch, err := w.pb.addVia(t, id, rawLen, compressed, payload, w.scratch)
	if err != nil {
		w.abort()
		return err
	}
	w.scratch = scratch
	w.blobs++
	if w.pb.size() >= w.r.cfg.PackSize {
		return w.flushPack(ctx)
	}
	return nil
}

// addPlain compresses plaintext (when it pays) and adds it.
func (w *blobWriter) addPlain(ctx context.Context, t index.BlobType, id ids.ID, plaintext []byte) error {
	out, compressed := w.r.comp.compress(nil, plaintext)
	if !compressed {
		out = plaintext
	}
	return w.add(ctx, t, id, len(plaintext), compressed, out)
}

func (w *blobWriter) flushPack(ctx context.Context) error {
	if w.pb == nil || len(w.pb.entries) == 0 {
		return nil
	}
	pb := w.pb
	w.pb = nil
	id, data, entries, err := pb.end()
	if err != nil {
		pb.abort()
		return err
	}
	h := backend.Handle{Type: backend.Pack, Name: id.String()}
	size := int64(len(data))
	if pb.w != nil {
		err, size = pb.w.Commit(ctx, h), int64(pb.n)
	} else {
		err = w.r.be.Save(ctx, h, data)
	}
	if err != nil {
		return fmt.Errorf("save pack: %w", err)
	}
	w.packs++
	w.bytes += size
	w.pending = append(w.pending, entries...)
	if len(w.pending) >= w.r.indexFlush() {
		return w.flushIndex(ctx)
	}
	return nil
}

func (w *blobWriter) flushIndex(ctx context.Context) error {
	if len(w.pending) == 0 {
		return nil
	}
	id, err := w.r.saveIndex(ctx, nil, &index.Object{Entries: w.pending})
	if err != nil {
		return err
	}
	w.indexes = append(w.indexes, id)
	w.pending = nil
	return nil
}

// abort discards a pack being streamed (after an error, or when the writer is abandoned).
func (w *blobWriter) abort() {
	w.pb.abort()
	w.pb = nil
}

// finish stores the last pack and the index objects for everything written.
func (w *blobWriter) finish(ctx context.Context) error {
	if err := w.flushPack(ctx); err != nil {
		return err
	}
	return w.flushIndex(ctx)
}

// indexWriter writes index entries as a series of bounded index objects; the last one
// carries Supersedes, so its presence proves the whole series was written
// (docs/LIFECYCLE.md §4).
type indexWriter struct {
	r       *Repository
	pending []index.Entry
	written []ids.ID
	entries int
}

func (w *indexWriter) add(ctx context.Context, es ...index.Entry) error {
	w.pending = append(w.pending, es...)
	w.entries += len(es)
	for len(w.pending) >= 2*w.r.indexFlush() {
		n := w.r.indexFlush()
		id, err := w.r.saveIndex(ctx, nil, &index.Object{Entries: w.pending[:n]})
		if err != nil {
			return err
		}
		w.written = append(w.written, id)
		w.pending = append(w.pending[:0], w.pending[n:]...)
	}
	return nil
}

// finish writes the remaining entries with supersedes. With no entries left and nothing
// to supersede, it writes nothing.
func (w *indexWriter) finish(ctx context.Context, supersedes []ids.ID) error {
	if len(w.pending) == 0 && len(supersedes) == 0 {
		return nil
	}
	id, err := w.r.saveIndex(ctx, nil, &index.Object{Supersedes: supersedes, Entries: w.pending})
	if err != nil {
		return err
	}
	w.written = append(w.written, id)
	w.pending = nil
	return nil
}
