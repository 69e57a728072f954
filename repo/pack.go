package repo

import (
	"context"
	"encoding/binary"
	"fmt"
	"sync"

	"github.com/zeebo/blake3"

	"github.com/cairnbackup/cairn/crypto"
	"github.com/cairnbackup/cairn/index"
	"github.com/cairnbackup/cairn/internal/ids"
	"github.com/cairnbackup/cairn/repo/backend"
)

// Pack layout constants (docs/FORMAT.md §5).
const (
	packHeaderSize = 8
	packSaltSize   = 32
	packDataStart  = packHeaderSize + packSaltSize
	packTrailer    = 4
)

// packBuilder assembles one pack: in memory (buffered), or written blob by blob to a
// packWriter (streaming), which keeps a backup's memory independent of the pack size. Both
// produce the same bytes (docs/FORMAT.md §5).
type packBuilder struct {
	sealer  *crypto.PackSealer
	buf     []byte // buffered: the pack so far
	w       packWriter
	hash    *blake3.Hasher // streaming: of the bytes written
	n       int            // streaming: bytes written
	table   []byte
	entries []index.Entry
}

func blobAAD(t index.BlobType, id ids.ID) [1 + ids.Size]byte {
	var aad [1 + ids.Size]byte
	aad[0] = byte(t)
	copy(aad[1:], id[:])
	return aad
}

// newPackBuilder starts a pack assembled in buf.
func (r *Repository) newPackBuilder(buf []byte) (*packBuilder, error) {
	s, err := r.key.NewPackSealer()
	if err != nil {
		return nil, fmt.Errorf("new pack: %w", err)
	}
	h := objectHeader(typePack)
	salt := s.Salt()
	buf = append(buf[:0], h[:]...)
	buf = append(buf, salt[:]...)
	return &packBuilder{sealer: s, buf: buf}, nil
}

// newPackStream starts a pack written to a new pack file of ps. The caller commits the file
// after finish, or aborts it.
func (r *Repository) newPackStream(ctx context.Context, ps packStreamer) (*packBuilder, error) {
	s, err := r.key.NewPackSealer()
	if err != nil {
		return nil, fmt.Errorf("new pack: %w", err)
	}
	w, err := ps.CreatePack(ctx)
	if err != nil {
		return nil, fmt.Errorf("new pack: %w", err)
	}
	p := &packBuilder{sealer: s, w: w, hash: blake3.New()}
	h := objectHeader(typePack)
	salt := s.Salt()
	var head [packDataStart]byte
	copy(head[:], h[:])
	copy(head[packHeaderSize:], salt[:])
	if err := p.write(head[:]); err != nil {
		_ = w.Abort()
		return nil, err
	}
	return p, nil
}

// write appends b to a streamed pack.
func (p *packBuilder) write(b []byte) error {
	_, _ = p.hash.Write(b) // never fails
	if _, err := p.w.Write(b); err != nil {
		return fmt.Errorf("write pack: %w", err)
	}
	p.n += len(b)
	return nil
}

// abort discards a streamed pack; it does nothing for a buffered one.
func (p *packBuilder) abort() {
	if p != nil && p.w != nil {
		_ = p.w.Abort()
	}
}

// add seals payload as the next blob of a buffered pack.
func (p *packBuilder) add(t index.BlobType, id ids.ID, rawLen int, compressed bool, payload []byte) {
	_, _ = p.addVia(t, id, rawLen, compressed, payload, nil) // a buffered pack cannot fail
}

// addVia seals payload as the next blob. A streamed pack seals into dst[:0] (grown if
// needed), which may be payload[:0] exactly, then writes it; it returns the buffer used, for
// reuse. A buffered pack ignores dst and returns it.
func (p *packBuilder) addVia(t index.BlobType, id ids.ID, rawLen int, compressed bool, payload, dst []byte) ([]byte, error) {
	seq := uint32(len(p.entries))
	aad := blobAAD(t, id)
	var off, length int
	if p.w == nil {
		off = len(p.buf)
		p.buf = p.sealer.SealBlob(p.buf, uint64(seq), aad[:], payload)
		length = len(p.buf) - off
	} else {
		off = p.n
		dst = p.sealer.SealBlob(dst[:0], uint64(seq), aad[:], payload)
		length = len(dst)
		if err := p.write(dst); err != nil {
			return dst, err
		}
	}
	p.entries = append(p.entries, index.Entry{
		ID: id, Type: t, Offset: uint64(off), Length: uint32(length),
		RawLength: uint32(rawLen), Compressed: compressed, Seq: seq,
	})
	p.table = append(p.table, byte(t))
	p.table = append(p.table, id[:]...)
	p.table = binary.AppendUvarint(p.table, uint64(length))
	p.table = binary.AppendUvarint(p.table, uint64(rawLen))
	var flags byte
	if compressed {
		flags = 1
	}
	p.table = append(p.table, flags)
	return dst, nil
}

// size is the pack's size so far, its (unsealed) table included.
func (p *packBuilder) size() int {
	if p.w != nil {
		return p.n + len(p.table)
	}
	return len(p.buf) + len(p.table)
}

// finish seals the table and trailer of a buffered pack and names it.
func (p *packBuilder) finish() (ids.ID, []byte, []index.Entry) {
	id, data, entries, _ := p.end() // a buffered pack cannot fail
	return id, data, entries
}

// end seals the table and trailer and names the pack. A buffered pack returns its bytes; a
// streamed one returns nil data, its bytes being in its pack file, not yet committed.
func (p *packBuilder) end() (ids.ID, []byte, []index.Entry, error) {
	pt := make([]byte, 0, len(p.table)+binary.MaxVarintLen64)
	pt = binary.AppendUvarint(pt, uint64(len(p.entries)))
	pt = append(pt, p.table...)
	h := objectHeader(typePack)
	var id ids.ID
	if p.w == nil {
		start := len(p.buf)
		p.buf = p.sealer.SealTable(p.buf, h[:], pt)
		p.buf = binary.LittleEndian.AppendUint32(p.buf, uint32(len(p.buf)-start))
		id = ids.Hash(p.buf)
	} else {
		tail := p.sealer.SealTable(nil, h[:], pt)
		tail = binary.LittleEndian.AppendUint32(tail, uint32(len(tail)))
		if err := p.write(tail); err != nil {
			return ids.ID{}, nil, nil, err
		}
		copy(id[:], p.hash.Sum(nil))
	}
	for i := range p.entries {
		p.entries[i].Pack = id
	}
	return id, p.buf, p.entries, nil
}

// parsePack verifies a whole pack and returns its blob entries (used by check and repair).
func (r *Repository) parsePack(id ids.ID, data []byte) ([]index.Entry, error) {
	what := "pack " + id.String()
	if ids.Hash(data) != id {
		return nil, fmt.Errorf("%w: %s: content does not match its name", ErrCorrupt, what)
	}
	if len(data) < packDataStart+packTrailer+crypto.Overhead {
		return nil, fmt.Errorf("%w: %s: too short (%d bytes)", ErrCorrupt, what, len(data))
	}
	if err := checkHeader(data, typePack, what); err != nil {
		return nil, err
	}
	tlen := int(binary.LittleEndian.Uint32(data[len(data)-packTrailer:]))
	tstart := len(data) - packTrailer - tlen
	if tlen < crypto.Overhead || tstart < packDataStart {
		return nil, fmt.Errorf("%w: %s: bad table length %d", ErrCorrupt, what, tlen)
	}
	op, err := r.key.NewPackOpener(data[packHeaderSize:packDataStart])
	if err != nil {
		return nil, fmt.Errorf("%s: %w", what, err)
	}
	table, err := op.OpenTable(nil, data[:packHeaderSize], data[tstart:tstart+tlen])
	if err != nil {
		return nil, fmt.Errorf("%w: %s: table: %v", ErrCorrupt, what, err)
	}
	entries, err := decodePackTable(id, table)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", what, err)
	}
	end := uint64(packDataStart)
	for _, e := range entries {
		end += uint64(e.Length)
	}
	if end != uint64(tstart) {
		return nil, fmt.Errorf("%w: %s: blobs end at %d, table starts at %d", ErrCorrupt, what, end, tstart)
	}
	return entries, nil
}

func decodePackTable(pack ids.ID, b []byte) ([]index.Entry, error) {
	n, k := binary.Uvarint(b)
	if k <= 0 || n > uint64(len(b))/(1+ids.Size+3) {
		return nil, fmt.Errorf("%w: pack table: bad count", ErrCorrupt)
	}
	b = b[k:]
	entries := make([]index.Entry, 0, n)
	off := uint64(packDataStart)
	for i := uint64(0); i < n; i++ {
		if len(b) < 1+ids.Size {
			return nil, fmt.Errorf("%w: pack table: truncated", ErrCorrupt)
		}
		e := index.Entry{Type: index.BlobType(b[0]), Pack: pack, Offset: off, Seq: uint32(i)}
		if e.Type > index.ListBlob {
			return nil, fmt.Errorf("%w: pack table: unknown blob type %d", ErrCorrupt, b[0])
		}
		copy(e.ID[:], b[1:1+ids.Size])
		b = b[1+ids.Size:]
		length, k1 := binary.Uvarint(b)
		if k1 <= 0 || length < crypto.Overhead || length > 1<<31 {
			return nil, fmt.Errorf("%w: pack table: bad length", ErrCorrupt)
		}
		b = b[k1:]
		raw, k2 := binary.Uvarint(b)
		if k2 <= 0 || raw > 1<<31 {
			return nil, fmt.Errorf("%w: pack table: bad raw length", ErrCorrupt)
		}
		b = b[k2:]
		if len(b) < 1 || b[0]&^1 != 0 {
			return nil, fmt.Errorf("%w: pack table: bad flags", ErrCorrupt)
		}
		e.Compressed = b[0] == 1
		b = b[1:]
		e.Length, e.RawLength = uint32(length), uint32(raw)
		off += length
		entries = append(entries, e)
	}
	if len(b) != 0 {
		return nil, fmt.Errorf("%w: pack table: %d trailing bytes", ErrCorrupt, len(b))
	}
	return entries, nil
}

// openerCache remembers per-pack openers so a pack's salt is fetched once.
type openerCache struct {
	mu sync.Mutex
	m  map[ids.ID]*crypto.PackOpener
}

const maxOpeners = 4096

func (r *Repository) packOpener(ctx context.Context, pack ids.ID) (*crypto.PackOpener, error) {
	if op := r.cachedOpener(pack); op != nil {
		return op, nil
	}
	h := backend.Handle{Type: backend.Pack, Name: pack.String()}
	head, err := r.be.Load(ctx, h, 0, packDataStart)
	if err != nil {
		return nil, err
	}
	return r.openerFromHead(pack, head)
}

// cachedOpener returns the remembered opener of pack, or nil.
func (r *Repository) cachedOpener(pack ids.ID) *crypto.PackOpener {
	r.openers.mu.Lock()
	defer r.openers.mu.Unlock()
	return r.openers.m[pack]
}

// openerFromHead checks the first packDataStart bytes of pack, derives its opener from the
// salt there and remembers it.
func (r *Repository) openerFromHead(pack ids.ID, head []byte) (*crypto.PackOpener, error) {
	h := backend.Handle{Type: backend.Pack, Name: pack.String()}
	if len(head) < packDataStart {
		return nil, fmt.Errorf("%w: %s: %d-byte header", ErrCorrupt, h, len(head))
	}
	if err := checkHeader(head[:packDataStart], typePack, h.String()); err != nil {
		return nil, err
	}
	op, err := r.key.NewPackOpener(head[packHeaderSize:packDataStart])
	if err != nil {
		return nil, fmt.Errorf("%s: %w", h, err)
	}
	r.openers.mu.Lock()
	if r.openers.m == nil || len(r.openers.m) >= maxOpeners {
		r.openers.m = make(map[ids.ID]*crypto.PackOpener)
	}
	r.openers.m[pack] = op
	r.openers.mu.Unlock()
	return op, nil
}

// readBlob fetches, authenticates and decompresses one blob. A compressed blob is decoded
// into dst[:0] (grown if needed); an uncompressed one is decrypted in place in the buffer the
// backend returned, which is returned instead of dst, saving a copy. Callers recycle whatever
// buffer comes back.
func (r *Repository) readBlob(ctx context.Context, e index.Entry, dst []byte) ([]byte, error) {
	op, err := r.packOpener(ctx, e.Pack)
	if err != nil {
		return nil, fmt.Errorf("blob %s: %w", e.ID.Short(), err)
	}
	h := backend.Handle{Type: backend.Pack, Name: e.Pack.String()}
	sealed, err := r.be.Load(ctx, h, int64(e.Offset), int64(e.Length))
	if err != nil {
		return nil, fmt.Errorf("blob %s: %w", e.ID.Short(), err)
	}
	// sealed is ours: open it in place.
	return r.openSealed(op, e, sealed, &dst)
}

// openBlob authenticates and decompresses one sealed blob into dst[:0]; sealed is not
// modified.
func (r *Repository) openBlob(op *crypto.PackOpener, e index.Entry, sealed, dst []byte) ([]byte, error) {
	aad := blobAAD(e.Type, e.ID)
	if !e.Compressed {
		pt, err := op.OpenBlob(dst[:0], uint64(e.Seq), aad[:], sealed)
		if err != nil {
			return nil, fmt.Errorf("%w: blob %s in pack %s: %v", ErrCorrupt, e.ID.Short(), e.Pack.Short(), err)
		}
		if len(pt) != int(e.RawLength) {
			return nil, fmt.Errorf("%w: blob %s: %d bytes, want %d", ErrCorrupt, e.ID.Short(), len(pt), e.RawLength)
		}
		return pt, nil
	}
	pt, err := op.OpenBlob(nil, uint64(e.Seq), aad[:], sealed)
	if err != nil {
		return nil, fmt.Errorf("%w: blob %s in pack %s: %v", ErrCorrupt, e.ID.Short(), e.Pack.Short(), err)
	}
	out, err := r.comp.decompress(dst, pt, int(e.RawLength))
	if err != nil {
		return nil, fmt.Errorf("blob %s: %w", e.ID.Short(), err)
	}
	return out, nil
}
