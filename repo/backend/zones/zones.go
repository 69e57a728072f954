package zones

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/cairnbackup/cairn/erasure"
	"github.com/cairnbackup/cairn/repo/backend"
	"github.com/cairnbackup/cairn/repo/backend/s3"
)

// Defaults for Options.
const (
	// DefaultHedgeAfter is how long a metadata load or a healthy pack range read waits for
	// one zone before also asking another.
	DefaultHedgeAfter = 500 * time.Millisecond
	// DefaultDownFor is how long a zone that failed with backend.ErrUnavailable is skipped
	// by writes (and tried last by reads) before it is tried again.
	DefaultDownFor = 15 * time.Second
	// DefaultReaders is the number of open pack readers kept (an LRU).
	DefaultReaders = 256
)

// poolPacks is how many concurrent pack saves' shard buffers a Backend keeps for reuse.
const poolPacks = 4

// ZoneBackend is one zone given to New: a name for messages and its store.
type ZoneBackend struct {
	Name    string
	Backend backend.Backend
}

// Options tune a Backend; the zero value gives the defaults.
type Options struct {
	Logger      *slog.Logger
	WriteQuorum int           // shards a pack Save must store; 0: DefaultWriteQuorum
	HedgeAfter  time.Duration // 0: DefaultHedgeAfter; < 0 disables time-based hedging
	DownFor     time.Duration // 0: DefaultDownFor; < 0 never skips a failed zone
	BlockSize   int           // erasure block size of new shards; 0: erasure.DefaultBlockSize
	Readers     int           // pack readers cached; 0: DefaultReaders
	Location    string        // Location() text; "" derives one from the zone names
}

// Backend spreads a repository over zones: metadata replicated to every zone, packs
// erasure-coded into shards, one shard per zone. Safe for concurrent use.
type Backend struct {
	zones    []*zone
	layout   erasure.Layout
	coder    *erasure.Coder
	quorum   int // pack write quorum, in shards
	meta     int // metadata write quorum, in zones (a majority)
	hedge    time.Duration
	downFor  time.Duration
	location string
	log      *slog.Logger

	readers *readerCache
	sizes   sizeCache
	bufs    *bufPool // shard buffers of pack saves
}

var _ backend.Backend = (*Backend)(nil)

type zone struct {
	name      string
	be        backend.Backend
	downUntil atomic.Int64 // unix nanoseconds; 0: up
}

// New returns a Backend over the given zones (in placement order) with layout l. It does
// no I/O. The zone backends are closed by Close.
func New(zs []ZoneBackend, l erasure.Layout, opts Options) (*Backend, error) {
	if err := l.Validate(); err != nil {
		return nil, fmt.Errorf("zones: %w", err)
	}
	if len(zs) < l.Total() {
		return nil, fmt.Errorf("zones: layout %v needs %d zones, have %d", l, l.Total(), len(zs))
	}
	q := opts.WriteQuorum
	if q == 0 {
		q = DefaultWriteQuorum(l)
	}
	if q < l.Data || q > l.Total() {
		return nil, fmt.Errorf("zones: write quorum %d outside %d..%d", q, l.Data, l.Total())
	}
	var copts []erasure.Option
	if opts.BlockSize != 0 {
		copts = append(copts, erasure.WithBlockSize(opts.BlockSize))
	}
	hedge := opts.HedgeAfter
	if hedge == 0 {
		hedge = DefaultHedgeAfter
	}
	if hedge > 0 {
		copts = append(copts, erasure.WithHedgeAfter(hedge))
	}
	coder, err := erasure.NewCoder(l, copts...)
	if err != nil {
		return nil, fmt.Errorf("zones: %w", err)
	}
	b := &Backend{
		layout: l, coder: coder, quorum: q, meta: len(zs)/2 + 1, hedge: hedge,
		downFor: opts.DownFor, log: opts.Logger, location: opts.Location,
		readers: newReaderCache(opts.Readers),
		bufs:    newBufPool(poolPacks * l.Total()),
	}
	if b.downFor == 0 {
		b.downFor = DefaultDownFor
	}
	if b.log == nil {
		b.log = slog.New(slog.DiscardHandler)
	}
	names := make([]string, len(zs))
	seen := map[string]bool{}
	for i, z := range zs {
		if z.Backend == nil || checkZoneName(z.Name) != nil || seen[z.Name] {
			return nil, fmt.Errorf("zones: zone #%d: missing backend, bad or duplicate name %q", i+1, z.Name)
		}
		seen[z.Name] = true
		names[i] = z.Name
		b.zones = append(b.zones, &zone{name: z.Name, be: z.Backend})
	}
	if b.location == "" {
		b.location = fmt.Sprintf("zones:%s (%v)", strings.Join(names, ","), l)
	}
	return b, nil
}

// Open connects to every zone of cfg (in parallel). Zones that do not answer are
// tolerated as long as enough answer to read (k zones, and enough to see every metadata
// object written to a majority); writes then check their own quorum. Any other failure
// (bad credentials, a missing bucket) is an error naming the zone.
func Open(ctx context.Context, cfg *Config, opts Options) (*Backend, error) {
	return connect(ctx, cfg, opts, false)
}

// Create checks every zone of cfg before anything is written: each must answer, accept
// the credentials, have the bucket, and hold no repository under its prefix. Failures
// name the zone; a zone that already holds a repository wraps backend.ErrExists.
func Create(ctx context.Context, cfg *Config, opts Options) (*Backend, error) {
	b, err := connect(ctx, cfg, opts, true)
	if err != nil {
		return nil, err
	}
	errs := b.forZones(ctx, func(ctx context.Context, z *zone) error {
		_, err := z.be.Stat(ctx, backend.Handle{Type: backend.Config})
		switch {
		case err == nil:
			return fmt.Errorf("zone %s (%s) already holds a repository: %w", z.name, z.be.Location(), backend.ErrExists)
		case errors.Is(err, backend.ErrNotFound):
			return nil
		}
		return fmt.Errorf("zone %s: %w", z.name, err)
	})
	if err := errors.Join(errs...); err != nil {
		b.Close()
		return nil, fmt.Errorf("zones: create: %w", err)
	}
	return b, nil
}

func connect(ctx context.Context, cfg *Config, opts Options, strict bool) (*Backend, error) {
	if cfg == nil || len(cfg.Zones) == 0 {
		return nil, fmt.Errorf("%w: no zones", ErrConfig)
	}
	zs := make([]ZoneBackend, len(cfg.Zones))
	errs := make([]error, len(cfg.Zones))
	var wg sync.WaitGroup
	for i, zc := range cfg.Zones {
		zs[i].Name = zc.Name
		wg.Go(func() {
			be, err := s3.Open(ctx, zc.S3)
			if err != nil {
				errs[i] = fmt.Errorf("zone %s: %w", zc.Name, err)
				return
			}
			zs[i].Backend = be
		})
	}
	wg.Wait()
	closeAll := func() {
		for _, z := range zs {
			if z.Backend != nil {
				z.Backend.Close()
			}
		}
	}
	if err := ctx.Err(); err != nil {
		closeAll()
		return nil, fmt.Errorf("zones: open: %w", err)
	}
	var fatal, down []error
	for _, err := range errs {
		switch {
		case err == nil:
		case !strict && errors.Is(err, backend.ErrUnavailable):
			down = append(down, err)
		default:
			fatal = append(fatal, err)
		}
	}
	q := opts.WriteQuorum
	if q == 0 {
		q = cfg.WriteQuorum
	}
	if q == 0 {
		q = DefaultWriteQuorum(cfg.Layout)
	}
	// Reading needs k zones for packs and enough zones to see every metadata object
	// written to a majority; writes check their own quorum later.
	up := len(zs) - len(down) - len(fatal)
	need := max(cfg.Layout.Data, len(zs)-(len(zs)/2+1)+1)
	if len(fatal) == 0 && up < need {
		fatal = append(fatal, fmt.Errorf("only %d of %d zones answer, need %d: %w", up, len(zs), need, backend.ErrUnavailable))
		fatal = append(fatal, down...)
	}
	if len(fatal) > 0 {
		closeAll()
		return nil, fmt.Errorf("zones: open: %w", errors.Join(fatal...))
	}
	opts.WriteQuorum = q
	if opts.Location == "" && cfg.Source != "" {
		opts.Location = fmt.Sprintf("zones:%s (%v over %d zones)", cfg.Source, cfg.Layout, len(cfg.Zones))
	}
	for i := range zs {
		if zs[i].Backend == nil {
			zs[i].Backend = unreachable{name: zs[i].Name, err: errs[i]}
		}
	}
	b, err := New(zs, cfg.Layout, opts)
	if err != nil {
		closeAll()
		return nil, err
	}
	for i, z := range b.zones {
		if errs[i] != nil {
			b.markDown(z, errs[i])
		}
	}
	return b, nil
}

// Location describes the backend (no credentials).
func (b *Backend) Location() string { return b.location }

// Layout returns the erasure layout of packs.
func (b *Backend) Layout() erasure.Layout { return b.layout }

// WriteQuorum returns the number of shards a pack Save must store.
func (b *Backend) WriteQuorum() int { return b.quorum }

// MetaQuorum returns the number of zones a metadata Save must reach (a majority).
func (b *Backend) MetaQuorum() int { return b.meta }

// ZoneNames returns the zone names in placement order.
func (b *Backend) ZoneNames() []string {
	out := make([]string, len(b.zones))
	for i, z := range b.zones {
		out[i] = z.name
	}
	return out
}

// Close closes every zone backend.
func (b *Backend) Close() error {
	b.bufs.reset()
	var errs []error
	for _, z := range b.zones {
		if err := z.be.Close(); err != nil {
			errs = append(errs, fmt.Errorf("zone %s: %w", z.name, err))
		}
	}
	return errors.Join(errs...)
}

// isDown reports whether z failed recently and should be skipped by writes.
func (b *Backend) isDown(z *zone) bool {
	u := z.downUntil.Load()
	return u != 0 && time.Now().UnixNano() < u
}

// note records the outcome of a call on z: an unavailability marks it down for a while.
func (b *Backend) note(z *zone, err error) {
	if err == nil {
		z.downUntil.Store(0)
		return
	}
	if errors.Is(err, backend.ErrUnavailable) {
		b.markDown(z, err)
	}
}

func (b *Backend) markDown(z *zone, err error) {
	if b.downFor < 0 {
		return
	}
	if !b.isDown(z) {
		b.log.Warn("zone unavailable", "zone", z.name, "err", err, "skip_for", b.downFor)
	}
	z.downUntil.Store(time.Now().Add(b.downFor).UnixNano())
}

// errDown is returned for calls not sent to a zone marked down.
func errDown(z *zone) error {
	return fmt.Errorf("zone %s: skipped, failed recently: %w", z.name, backend.ErrUnavailable)
}

// forZones runs fn on every zone in parallel and returns the errors by zone index.
func (b *Backend) forZones(ctx context.Context, fn func(ctx context.Context, z *zone) error) []error {
	errs := make([]error, len(b.zones))
	var wg sync.WaitGroup
	for i, z := range b.zones {
		wg.Go(func() { errs[i] = fn(ctx, z) })
	}
	wg.Wait()
	return errs
}

// unreachable stands in for a zone that did not answer at Open; every call fails with
// the Open error (wrapping backend.ErrUnavailable) until the process reopens the backend.
type unreachable struct {
	name string
	err  error
}

func (u unreachable) Location() string { return "unreachable:" + u.name }
func (u unreachable) Save(context.Context, backend.Handle, []byte) error {
	return u.err
}
func (u unreachable) SaveNew(context.Context, backend.Handle, []byte) error {
	return u.err
}
func (u unreachable) Load(context.Context, backend.Handle, int64, int64) ([]byte, error) {
	return nil, u.err
}
func (u unreachable) Stat(context.Context, backend.Handle) (int64, error) { return 0, u.err }
func (u unreachable) List(context.Context, backend.Type, func(string, int64) error) error {
	return u.err
}
func (u unreachable) Remove(context.Context, backend.Handle) error { return u.err }
func (u unreachable) Close() error                                 { return nil }

// Save stores h: packs as erasure-coded shards, everything else as replicated copies.
func (b *Backend) Save(ctx context.Context, h backend.Handle, data []byte) error {
	if err := b.precheck(ctx, "save", h); err != nil {
		return err
	}
	if h.Type == backend.Pack {
		return b.savePack(ctx, h, data)
	}
	return b.saveMeta(ctx, h, data)
}

// SaveNew stores h only if it exists in no zone (see the package documentation).
func (b *Backend) SaveNew(ctx context.Context, h backend.Handle, data []byte) error {
	if err := b.precheck(ctx, "save new", h); err != nil {
		return err
	}
	if h.Type == backend.Pack {
		// Packs are content addressed and never written conditionally by the repository;
		// keep the contract anyway.
		if _, err := b.Stat(ctx, h); err == nil {
			return fmt.Errorf("zones: save new %s: %w", h, backend.ErrExists)
		}
		return b.savePack(ctx, h, data)
	}
	return b.saveNewMeta(ctx, h, data)
}

// Load reads length bytes at offset of h (length 0: to the end).
func (b *Backend) Load(ctx context.Context, h backend.Handle, offset, length int64) ([]byte, error) {
	if err := b.precheck(ctx, "load", h); err != nil {
		return nil, err
	}
	if offset < 0 || length < 0 {
		return nil, fmt.Errorf("zones: load %s: invalid range offset=%d length=%d", h, offset, length)
	}
	if h.Type == backend.Pack {
		return b.loadPack(ctx, h, offset, length, nil)
	}
	return b.loadMeta(ctx, h, offset, length)
}

// LoadInto reads exactly len(dst) bytes of h at offset into dst, so a caller (a restore)
// can reuse one buffer for many reads: a pack range is assembled in dst from the verified
// data-shard blocks (or the reconstruction Load would do), with no buffer of its size in
// between. Errors are Load's: a missing object wraps backend.ErrNotFound, an object too
// short for the range is an error, not a short read. On an error dst may hold part of the
// range.
func (b *Backend) LoadInto(ctx context.Context, h backend.Handle, offset int64, dst []byte) error {
	if err := b.precheck(ctx, "load", h); err != nil {
		return err
	}
	if offset < 0 {
		return fmt.Errorf("zones: load %s: invalid offset %d", h, offset)
	}
	if h.Type == backend.Pack {
		if dst == nil {
			dst = []byte{} // loadPack: nil means "allocate"
		}
		_, err := b.loadPack(ctx, h, offset, 0, dst)
		return err
	}
	// Metadata objects are small and read whole (the copy that verifies); copy the range.
	data, err := b.loadMeta(ctx, h, offset, int64(len(dst)))
	if err != nil {
		return err
	}
	copy(dst, data) // len(data) == len(dst), or dst is empty and data the object's tail
	return nil
}

// Stat returns the size of h (for a pack, the pack length N, not a shard's).
func (b *Backend) Stat(ctx context.Context, h backend.Handle) (int64, error) {
	if err := b.precheck(ctx, "stat", h); err != nil {
		return 0, err
	}
	if h.Type == backend.Pack {
		return b.statPack(ctx, h)
	}
	data, err := b.fetchMeta(ctx, h)
	if err != nil {
		return 0, err
	}
	return int64(len(data)), nil
}

// List calls fn once for each object of type t found in any zone.
func (b *Backend) List(ctx context.Context, t backend.Type, fn func(name string, size int64) error) error {
	if t < backend.Config || t > backend.Lock {
		return fmt.Errorf("zones: list: invalid object type %s", t)
	}
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("zones: list %s: %w", t, err)
	}
	if t == backend.Pack {
		return b.listPacks(ctx, fn)
	}
	return b.listMeta(ctx, t, fn)
}

// Remove deletes h from every zone (see the package documentation for the quorum).
func (b *Backend) Remove(ctx context.Context, h backend.Handle) error {
	if err := b.precheck(ctx, "remove", h); err != nil {
		return err
	}
	if h.Type == backend.Pack {
		return b.removePack(ctx, h)
	}
	return b.removeMeta(ctx, h)
}

func (b *Backend) precheck(ctx context.Context, op string, h backend.Handle) error {
	if err := h.Validate(); err != nil {
		return fmt.Errorf("zones: %s: %w", op, err)
	}
	if h.Type == backend.Pack && isInternal(h.Name) {
		return fmt.Errorf("zones: %s: invalid pack name %q (reserved)", op, h.Name)
	}
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("zones: %s %s: %w", op, h, err)
	}
	return nil
}

// quorumError reduces per-zone failures to one error: it names every failed zone and
// wraps the most common cause among the sentinels (ErrUnavailable when in doubt).
func quorumError(what string, have, need int, failed map[string]error) error {
	counts := map[error]int{}
	var parts []string
	for _, name := range sortedNames(failed) {
		err := failed[name]
		parts = append(parts, name+": "+err.Error())
		for _, s := range []error{backend.ErrNoSpace, backend.ErrNotFound, backend.ErrExists, context.Canceled, context.DeadlineExceeded} {
			if errors.Is(err, s) {
				counts[s]++
			}
		}
	}
	cause, best := backend.ErrUnavailable, 0
	for s, n := range counts {
		if n > best && s != backend.ErrNotFound && s != backend.ErrExists {
			cause, best = s, n
		}
	}
	return fmt.Errorf("zones: %s: %d of %d needed (%s): %w", what, have, need, strings.Join(parts, "; "), cause)
}
