package zones

import (
	"context"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"maps"
	"os"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/zeebo/blake3"

	"github.com/cairnbackup/cairn/erasure"
	"github.com/cairnbackup/cairn/internal/sections"
	"github.com/cairnbackup/cairn/repo/backend"
)

// ShardName returns the object name of shard index of pack: "<pack>.s<index>", stored by
// the zone backend under data/<first two characters>/.
func ShardName(pack string, index int) string { return pack + ".s" + strconv.Itoa(index) }

// ParseShardName splits a shard object name into pack name and shard index.
func ParseShardName(s string) (pack string, index int, ok bool) {
	i := strings.LastIndex(s, ".s")
	if i <= 0 || i+2 >= len(s) || len(s)-i-2 > 3 {
		return "", 0, false
	}
	digits := s[i+2:]
	if len(digits) > 1 && digits[0] == '0' {
		return "", 0, false
	}
	n, err := strconv.Atoi(digits)
	if err != nil || n < 0 || n >= erasure.MaxShards || strconv.Itoa(n) != digits {
		return "", 0, false
	}
	return s[:i], n, true
}

// PackID returns the erasure pack ID of a pack name: the 32 bytes a 64-digit hex name
// encodes, else BLAKE3-256 of the name.
func PackID(name string) []byte {
	if len(name) == 2*erasure.PackIDSize {
		if id, err := hex.DecodeString(name); err == nil {
			return id
		}
	}
	sum := blake3.Sum256([]byte(name))
	return sum[:]
}

// shardSource serves the shards of one pack from their zones.
type shardSource struct {
	b       *Backend
	name    string
	id      []byte
	place   []int
	objSize atomic.Int64 // shard object size + 1 once known (all shards of a pack agree)
}

func (b *Backend) source(name string) *shardSource {
	id := PackID(name)
	return &shardSource{b: b, name: name, id: id, place: erasure.Placement(id, b.layout.Data, b.layout.Parity, len(b.zones))}
}

func (s *shardSource) zone(i int) *zone { return s.b.zones[s.place[i]] }

func (s *shardSource) handle(i int) backend.Handle {
	return backend.Handle{Type: backend.Pack, Name: ShardName(s.name, i)}
}

var _ erasure.ShardReaderInto = (*shardSource)(nil)

// ReadShard implements erasure.ShardSource.
func (s *shardSource) ReadShard(ctx context.Context, i int, offset, length int64) ([]byte, error) {
	var data []byte
	err := s.inZone(ctx, i, func(z *zone) (err error) {
		data, err = s.read(ctx, z, s.handle(i), offset, length)
		return err
	})
	if err != nil {
		return nil, err
	}
	return data, nil
}

// ReadShardInto implements erasure.ShardReaderInto: one range request into parts when the
// zone's store reads into parts (partsLoader), else a Load copied into them.
func (s *shardSource) ReadShardInto(ctx context.Context, i int, offset int64, parts [][]byte) error {
	if offset < 0 {
		return fmt.Errorf("shard %d: invalid offset %d", i, offset)
	}
	return s.inZone(ctx, i, func(z *zone) error {
		if pl, ok := z.be.(partsLoader); ok {
			return pl.LoadParts(ctx, s.handle(i), offset, parts)
		}
		var n int64
		for _, p := range parts {
			n += int64(len(p))
		}
		data, err := s.read(ctx, z, s.handle(i), offset, n)
		for _, p := range parts {
			data = data[copy(p, data):]
		}
		return err
	})
}

// inZone runs read against the zone of shard i: a zone known to be down fails at once, and
// the outcome of read counts towards the zone's health unless ctx ended.
func (s *shardSource) inZone(ctx context.Context, i int, read func(*zone) error) error {
	if i < 0 || i >= len(s.place) {
		return fmt.Errorf("shard index %d outside the layout", i)
	}
	z := s.zone(i)
	if s.b.isDown(z) {
		return errDown(z)
	}
	err := read(z)
	if ctx.Err() == nil {
		s.b.note(z, err)
	}
	if err != nil {
		return fmt.Errorf("zone %s: %w", z.name, err)
	}
	return nil
}

func (s *shardSource) read(ctx context.Context, z *zone, h backend.Handle, offset, length int64) ([]byte, error) {
	switch {
	case offset < 0:
		if tl, ok := z.be.(tailLoader); ok {
			return tl.LoadTail(ctx, h, -offset)
		}
		size := s.objSize.Load() - 1
		if size < 0 {
			n, err := z.be.Stat(ctx, h)
			if err != nil {
				return nil, err
			}
			size = n
			s.objSize.Store(n + 1)
		}
		start := max(0, size+offset)
		if start == size {
			return []byte{}, nil
		}
		data, err := z.be.Load(ctx, h, start, size-start)
		if err != nil {
			s.objSize.Store(0) // maybe overwritten meanwhile: ask again next time
		}
		return data, err
	case length < 0:
		return z.be.Load(ctx, h, offset, 0)
	case length == 0:
		return []byte{}, nil
	}
	return z.be.Load(ctx, h, offset, length)
}

// tailLoader is a zone store that can read the end of an object without knowing its size
// (s3.Backend: a suffix-range GET), so a footer costs one request, not a Stat and a GET.
type tailLoader interface {
	LoadTail(ctx context.Context, h backend.Handle, n int64) ([]byte, error)
}

// partsLoader is a zone store that can read a range of an object into consecutive parts
// with one request (s3.Backend.LoadParts), exactly as many bytes as they hold.
type partsLoader interface {
	LoadParts(ctx context.Context, h backend.Handle, offset int64, parts [][]byte) error
}

// partsSaver is a zone store that can store an object given as consecutive parts without
// joining them first (s3.Backend). SaveParts has Save's guarantees (atomic, parts not used
// after it returns) for the concatenation of parts.
type partsSaver interface {
	SaveParts(ctx context.Context, h backend.Handle, parts [][]byte) error
}

// savePack encodes data and stores its shards (storeShards).
//
// Memory: data payloads alias data (no copy; the last one's zero padding is a small
// separate part) and parity payloads come from b.bufs, reused across saves; a zone store
// that is a partsSaver uploads the parts as they are, any other gets the object joined in
// a pooled buffer. So a steady stream of saves allocates no shard memory, and a save in
// flight holds m shard-sized buffers (4+2, 16 MiB packs: 8 MiB).
func (b *Backend) savePack(ctx context.Context, h backend.Handle, data []byte) error {
	src := b.source(h.Name)
	var pooled [][]byte
	objs, err := b.coder.EncodeParts(src.id, data, func(n int64) []byte {
		p := b.bufs.get(n)
		pooled = append(pooled, p)
		return p
	})
	defer func() { b.bufs.put(pooled...) }()
	if err != nil {
		return fmt.Errorf("zones: save %s: %w", h, err)
	}
	return b.storeShards(ctx, h, src, int64(len(data)), func(ctx context.Context, z *zone, i int) error {
		return b.saveShard(ctx, z, src.handle(i), objs[i])
	})
}

// SaveFile stores pack h from the size bytes at the start of f, a pack the repository
// spooled to a file, with Save's guarantees, without reading the pack into memory: the
// erasure coder works through f a stripe at a time (erasure.EncodeFile) and writes the
// parity payloads to f after the pack, and every shard object is uploaded straight from f
// by a zone store that is a readerAtSaver (s3.Backend). So a save holds a few stripe
// buffers instead of a pack and its parity. f is written past size and must not be used
// otherwise until SaveFile returns. Other object types are read into memory and saved.
func (b *Backend) SaveFile(ctx context.Context, h backend.Handle, f *os.File, size int64) error {
	if err := b.precheck(ctx, "save", h); err != nil {
		return err
	}
	if size < 0 {
		return fmt.Errorf("zones: save %s: negative size %d", h, size)
	}
	if h.Type != backend.Pack {
		data := make([]byte, size)
		if _, err := f.ReadAt(data, 0); err != nil {
			return fmt.Errorf("zones: save %s: read spooled object: %w", h, err)
		}
		return b.Save(ctx, h, data)
	}
	src := b.source(h.Name)
	objs, err := b.coder.EncodeFile(src.id, f, size)
	if err != nil {
		return fmt.Errorf("zones: save %s: %w", h, err)
	}
	return b.storeShards(ctx, h, src, size, func(ctx context.Context, z *zone, i int) error {
		return b.saveShardFrom(ctx, z, src.handle(i), objs[i])
	})
}

// storeShards stores shard i of pack h (n bytes) in zone Placement[i] with save, all in
// parallel. Below the write quorum the shards written are removed again and the error
// wraps backend.ErrUnavailable (or the most common cause); a quorate write that missed
// zones is recorded for Heal.
func (b *Backend) storeShards(ctx context.Context, h backend.Handle, src *shardSource, n int64, save func(ctx context.Context, z *zone, i int) error) error {
	b.readers.drop(h.Name)
	total := b.layout.Total()
	errs := make([]error, total)
	var wg sync.WaitGroup
	for i := range total {
		z := src.zone(i)
		if b.isDown(z) {
			errs[i] = errDown(z)
			continue
		}
		wg.Go(func() {
			errs[i] = save(ctx, z, i)
			if ctx.Err() == nil {
				b.note(z, errs[i])
			}
		})
	}
	wg.Wait()
	failed := map[string]error{}
	var zones []string
	var shards []int
	for i, err := range errs {
		if err != nil {
			name := src.zone(i).name
			failed[name] = fmt.Errorf("shard %d: %w", i, err)
			zones = append(zones, name)
			shards = append(shards, i)
		}
	}
	ok := total - len(failed)
	undo := func() {
		b.sizes.drop(h.Name)
		b.removeShards(ctx, src, func(i int) bool { return errs[i] == nil })
	}
	if err := ctx.Err(); err != nil {
		undo()
		return fmt.Errorf("zones: save %s: %w", h, err)
	}
	if ok < b.quorum {
		undo()
		return quorumError("save "+h.String()+": shards stored", ok, b.quorum, failed)
	}
	if len(failed) > 0 {
		if err := b.writeRecord(ctx, newRecord(OpSave, h, zones, shards)); err != nil {
			undo()
			return fmt.Errorf("zones: save %s: %w", h, err)
		}
	}
	b.sizes.put(h.Name, n)
	b.readers.drop(h.Name)
	return nil
}

// saveShard stores the shard object that parts make up in z.
func (b *Backend) saveShard(ctx context.Context, z *zone, h backend.Handle, parts [][]byte) error {
	if ps, ok := z.be.(partsSaver); ok {
		return ps.SaveParts(ctx, h, parts)
	}
	var n int64
	for _, p := range parts {
		n += int64(len(p))
	}
	obj := b.bufs.get(n)
	defer b.bufs.put(obj)
	off := 0
	for _, p := range parts {
		off += copy(obj[off:], p)
	}
	return z.be.Save(ctx, h, obj)
}

// readerAtSaver is a zone store that can store an object read in place from an io.ReaderAt
// (s3.Backend), with Save's guarantees.
type readerAtSaver interface {
	SaveReaderAt(ctx context.Context, h backend.Handle, r io.ReaderAt, size int64) error
}

// saveShardFrom stores the shard object obj in z: read in place by a readerAtSaver, else
// read into a pooled buffer and saved.
func (b *Backend) saveShardFrom(ctx context.Context, z *zone, h backend.Handle, obj *sections.Reader) error {
	if rs, ok := z.be.(readerAtSaver); ok {
		return rs.SaveReaderAt(ctx, h, obj, obj.Size())
	}
	buf := b.bufs.get(obj.Size())
	defer b.bufs.put(buf)
	if _, err := obj.ReadAt(buf, 0); err != nil {
		return fmt.Errorf("read spooled shard: %w", err)
	}
	return z.be.Save(ctx, h, buf)
}

// removeShards removes, best effort and in parallel, the shards of src that sel selects.
func (b *Backend) removeShards(ctx context.Context, src *shardSource, sel func(i int) bool) {
	ctx = context.WithoutCancel(ctx)
	var wg sync.WaitGroup
	for i := range src.place {
		if !sel(i) {
			continue
		}
		wg.Go(func() {
			z := src.zone(i)
			if err := z.be.Remove(ctx, src.handle(i)); err != nil && !errors.Is(err, backend.ErrNotFound) {
				b.log.Warn("roll back: remove shard failed", "zone", z.name, "shard", src.handle(i).String(), "err", err)
			}
		})
	}
	wg.Wait()
}

// loadPack reads pack h at offset: into dst, exactly len(dst) bytes (LoadInto), or when dst
// is nil into a new buffer of length bytes (Load; length 0: to the end). The range is
// checked against the pack length before any buffer is allocated, and the erasure reader
// copies verified (or reconstructed) blocks straight into the buffer.
func (b *Backend) loadPack(ctx context.Context, h backend.Handle, offset, length int64, dst []byte) ([]byte, error) {
	r, err := b.readers.get(b, h.Name)
	if err != nil {
		return nil, fmt.Errorf("zones: load %s: %w", h, err)
	}
	n, err := r.reader.PackLen(ctx)
	if err != nil {
		b.readers.drop(h.Name)
		return nil, b.packError("load "+h.String(), err)
	}
	if offset > n {
		return nil, fmt.Errorf("zones: load %s: offset %d beyond size %d", h, offset, n)
	}
	switch {
	case dst != nil:
		length = int64(len(dst))
	case length == 0:
		length = n - offset
	}
	if length > n-offset {
		return nil, fmt.Errorf("zones: load %s: %w: [%d, %d) of a %d-byte pack", h, erasure.ErrRange, offset, offset+length, n)
	}
	if dst == nil {
		dst = make([]byte, length)
	}
	if err := r.reader.ReadRangeInto(ctx, offset, dst); err != nil {
		if errors.Is(err, erasure.ErrRange) {
			return nil, fmt.Errorf("zones: load %s: %w", h, err)
		}
		b.readers.drop(h.Name)
		return nil, b.packError("load "+h.String(), err)
	}
	return dst, nil
}

func (b *Backend) statPack(ctx context.Context, h backend.Handle) (int64, error) {
	n, err := b.packGeometry(ctx, "stat", h, (*erasure.PackReader).PackLen)
	if err != nil {
		return 0, err
	}
	b.sizes.put(h.Name, n)
	return n, nil
}

// packGeometry returns a value of pack h's geometry (get: PackLen or ShardSize) from its
// cached reader, which reads a footer if none is known yet; a reader that fails is dropped.
func (b *Backend) packGeometry(ctx context.Context, op string, h backend.Handle,
	get func(*erasure.PackReader, context.Context) (int64, error)) (int64, error) {
	r, err := b.readers.get(b, h.Name)
	if err != nil {
		return 0, fmt.Errorf("zones: %s %s: %w", op, h, err)
	}
	v, err := get(r.reader, ctx)
	if err != nil {
		b.readers.drop(h.Name)
		return 0, b.packError(op+" "+h.String(), err)
	}
	return v, nil
}

// PackStride returns how many bytes of pack h each data-shard object holds (the shard size
// S): bytes [k*S, (k+1)*S) of the pack are shard k's. A reader whose ranges end in one data
// shard each costs one request per range (erasure.PackReader.ShardSize); restores cut their
// runs with it. It reads a footer if the pack's geometry is not cached yet.
func (b *Backend) PackStride(ctx context.Context, h backend.Handle) (int64, error) {
	if err := b.precheck(ctx, "stride of", h); err != nil {
		return 0, err
	}
	if h.Type != backend.Pack {
		return 0, fmt.Errorf("zones: stride of %s: not a pack", h)
	}
	return b.packGeometry(ctx, "stride of", h, (*erasure.PackReader).ShardSize)
}

// packError maps a failed pack read: too few shards because they do not exist (more
// absent than a quorate pack could lack) wraps backend.ErrNotFound; because zones did
// not answer, backend.ErrUnavailable; otherwise erasure.ErrTooFewShards.
func (b *Backend) packError(what string, err error) error {
	var tf *erasure.TooFewShardsError
	if !errors.As(err, &tf) {
		return fmt.Errorf("zones: %s: %w", what, err)
	}
	absent, unavailable := 0, 0
	for _, e := range tf.Failed {
		switch {
		case errors.Is(e, backend.ErrNotFound):
			absent++
		case errors.Is(e, backend.ErrUnavailable):
			unavailable++
		}
	}
	switch {
	case absent > b.layout.Total()-b.quorum || (absent > 0 && absent == len(tf.Failed)):
		return fmt.Errorf("zones: %s: %w (%w)", what, backend.ErrNotFound, err)
	case unavailable > 0:
		return fmt.Errorf("zones: %s: %w (%w)", what, backend.ErrUnavailable, err)
	}
	return fmt.Errorf("zones: %s: %w", what, err)
}

// packSeen is what listings found of one pack: shard index -> object size, for shards
// found in the zone placement assigns them.
type packSeen struct {
	shards map[int]int64
}

// scanPacks lists the shard objects of every zone; shards found outside their zone are
// ignored. It also returns the zones whose listing failed.
func (b *Backend) scanPacks(ctx context.Context) (map[string]*packSeen, []error, error) {
	packs := map[string]*packSeen{}
	placeCache := map[string][]int{}
	errs, err := b.listZones(ctx, backend.Pack, b.quorum, func(zi int, name string, size int64) {
		pack, idx, ok := ParseShardName(name)
		if !ok || idx >= b.layout.Total() {
			return
		}
		place, ok := placeCache[pack]
		if !ok {
			id := PackID(pack)
			place = erasure.Placement(id, b.layout.Data, b.layout.Parity, len(b.zones))
			placeCache[pack] = place
		}
		if place[idx] != zi {
			return
		}
		p := packs[pack]
		if p == nil {
			p = &packSeen{shards: map[int]int64{}}
			packs[pack] = p
		}
		p.shards[idx] = size
	})
	return packs, errs, err
}

// listPacks reports the union of packs with their length N: from this process's cache,
// else from one shard footer (one small ranged GET per pack, 16 at a time).
func (b *Backend) listPacks(ctx context.Context, fn func(name string, size int64) error) error {
	packs, _, err := b.scanPacks(ctx)
	if err != nil {
		return err
	}
	names := slices.Sorted(maps.Keys(packs))
	sizes := make([]int64, len(names))
	sem := make(chan struct{}, 16)
	var wg sync.WaitGroup
	for i, name := range names {
		if n, ok := b.sizes.get(name); ok {
			sizes[i] = n
			continue
		}
		sem <- struct{}{}
		wg.Go(func() {
			defer func() { <-sem }()
			sizes[i] = b.footerSize(ctx, name, packs[name])
		})
	}
	wg.Wait()
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("zones: list packs: %w", err)
	}
	for i, name := range names {
		if err := fn(name, sizes[i]); err != nil {
			return err
		}
	}
	return nil
}

// footerSize reads N from the footer of one listed shard; if none verifies it returns an
// upper bound, k times the shard object size.
func (b *Backend) footerSize(ctx context.Context, name string, seen *packSeen) int64 {
	src := b.source(name)
	idx := make([]int, 0, len(seen.shards))
	for i := range seen.shards {
		idx = append(idx, i)
	}
	sort.Ints(idx)
	var largest int64
	for _, i := range idx {
		size := seen.shards[i]
		largest = max(largest, size)
		src.objSize.Store(size + 1)
		tail, err := src.ReadShard(ctx, i, -min(size, 4096), -1)
		if err != nil {
			continue
		}
		info, err := erasure.ParseFooter(tail)
		if errors.Is(err, erasure.ErrShortTail) {
			var f int
			if f, err = erasure.FooterLen(tail); err == nil {
				if tail, err = src.ReadShard(ctx, i, -int64(f), -1); err == nil {
					info, err = erasure.ParseFooter(tail)
				}
			}
		}
		if err != nil || info.Index != i || string(info.PackID[:]) != string(src.id) {
			continue
		}
		b.sizes.put(name, info.PackLen)
		return info.PackLen
	}
	b.log.Warn("no shard footer of a listed pack verifies; listing an upper bound of its size", "pack", name)
	return largest * int64(b.layout.Data)
}

// removePack removes every shard. It succeeds once so many shards are confirmed gone
// (removed or absent) that fewer than k may remain, i.e. the pack can no longer be read;
// the leftovers in unreachable zones are recorded for Heal.
func (b *Backend) removePack(ctx context.Context, h backend.Handle) error {
	src := b.source(h.Name)
	b.readers.drop(h.Name)
	b.sizes.drop(h.Name)
	errs := make([]error, len(src.place))
	var wg sync.WaitGroup
	for i := range src.place {
		z := src.zone(i)
		if b.isDown(z) {
			errs[i] = errDown(z)
			continue
		}
		wg.Go(func() {
			errs[i] = z.be.Remove(ctx, src.handle(i))
			if ctx.Err() == nil {
				b.note(z, errs[i])
			}
		})
	}
	wg.Wait()
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("zones: remove %s: %w", h, err)
	}
	removed, absent := 0, 0
	failed := map[string]error{}
	var zones []string
	var shards []int
	for i, err := range errs {
		switch {
		case err == nil:
			removed++
		case errors.Is(err, backend.ErrNotFound):
			absent++
		default:
			name := src.zone(i).name
			failed[name] = fmt.Errorf("shard %d: %w", i, err)
			zones = append(zones, name)
			shards = append(shards, i)
		}
	}
	if removed == 0 && (len(failed) == 0 || absent > b.layout.Total()-b.quorum) {
		return fmt.Errorf("zones: remove %s: %w", h, backend.ErrNotFound)
	}
	if len(failed) >= b.layout.Data {
		return quorumError("remove "+h.String()+": shards confirmed gone", removed+absent, b.layout.Parity+1, failed)
	}
	if len(failed) > 0 {
		return b.writeRecord(ctx, newRecord(OpRemove, h, zones, shards))
	}
	return nil
}
