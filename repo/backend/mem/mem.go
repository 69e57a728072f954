package mem

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"

	"github.com/cairnbackup/cairn/repo/backend"
)

// Backend is an in-memory backend.Backend with fault injection. Safe for concurrent use.
type Backend struct {
	name   string
	mu     sync.RWMutex
	objs   map[backend.Handle][]byte
	calls  [numOps]atomic.Int64
	faults faults
}

var _ backend.Backend = (*Backend)(nil)

// New returns an empty backend; name appears in Location ("mem:name").
func New(name string) *Backend {
	return &Backend{name: name, objs: make(map[backend.Handle][]byte)}
}

// Location returns "mem:" and the backend's name.
func (b *Backend) Location() string { return "mem:" + b.name }

// Calls returns how many times op was called (including calls that failed).
func (b *Backend) Calls(op Op) int64 { return b.calls[op].Load() }

// Len returns the number of stored objects.
func (b *Backend) Len() int {
	b.mu.RLock()
	defer b.mu.RUnlock()
	return len(b.objs)
}

// Get returns a copy of the stored bytes of h, bypassing faults.
func (b *Backend) Get(h backend.Handle) ([]byte, bool) {
	h = canon(h)
	b.mu.RLock()
	defer b.mu.RUnlock()
	d, ok := b.objs[h]
	if !ok {
		return nil, false
	}
	return clone(d), true
}

// Put stores a copy of data under h, bypassing faults and validation; tests use it to plant
// or corrupt objects.
func (b *Backend) Put(h backend.Handle, data []byte) {
	h = canon(h)
	b.mu.Lock()
	defer b.mu.Unlock()
	b.objs[h] = clone(data)
}

// Delete removes h, bypassing faults.
func (b *Backend) Delete(h backend.Handle) {
	h = canon(h)
	b.mu.Lock()
	defer b.mu.Unlock()
	delete(b.objs, h)
}

// start counts the call, checks the context and the name, and runs any fault.
func (b *Backend) start(ctx context.Context, op Op, h backend.Handle) (backend.Handle, error, error) {
	b.calls[op].Add(1)
	if err := ctx.Err(); err != nil {
		return h, fmt.Errorf("mem: %s %s: %w", op, h, err), nil
	}
	if op != OpList {
		if err := h.Validate(); err != nil {
			return h, fmt.Errorf("mem: %s: %w", op, err), nil
		}
		h = canon(h)
	}
	now, after := b.inject(ctx, op, h)
	return h, now, after
}

// Save stores a copy of data under h.
func (b *Backend) Save(ctx context.Context, h backend.Handle, data []byte) error {
	h, err, after := b.start(ctx, OpSave, h)
	if err != nil {
		return err
	}
	d := clone(data)
	b.mu.Lock()
	b.objs[h] = d
	b.mu.Unlock()
	return after
}

// SaveNew stores a copy of data under h unless h exists (backend.ErrExists).
func (b *Backend) SaveNew(ctx context.Context, h backend.Handle, data []byte) error {
	h, err, after := b.start(ctx, OpSaveNew, h)
	if err != nil {
		return err
	}
	d := clone(data)
	b.mu.Lock()
	defer b.mu.Unlock()
	if _, ok := b.objs[h]; ok {
		return fmt.Errorf("mem: save %s: %w", h, backend.ErrExists)
	}
	b.objs[h] = d
	return after
}

// Load returns a copy of length bytes at offset of h (length 0: to the end).
func (b *Backend) Load(ctx context.Context, h backend.Handle, offset, length int64) ([]byte, error) {
	h, err, _ := b.start(ctx, OpLoad, h)
	if err != nil {
		return nil, err
	}
	if offset < 0 || length < 0 {
		return nil, fmt.Errorf("mem: load %s: invalid range offset=%d length=%d", h, offset, length)
	}
	b.mu.RLock()
	d, ok := b.objs[h]
	b.mu.RUnlock()
	if !ok {
		return nil, fmt.Errorf("mem: load %s: %w", h, backend.ErrNotFound)
	}
	w, err := backend.Window(d, offset, length)
	if err != nil {
		return nil, fmt.Errorf("mem: load %s: %w", h, err)
	}
	return clone(w), nil
}

// LoadParts reads the bytes of h from offset on into parts, in order, exactly as many as
// they hold: LoadInto for several buffers (zones read a range's whole blocks into the
// caller's buffer with it). Faults registered for OpLoad apply.
func (b *Backend) LoadParts(ctx context.Context, h backend.Handle, offset int64, parts [][]byte) error {
	var n int
	for _, p := range parts {
		n += len(p)
	}
	return b.loadInto(ctx, h, offset, n, func(d []byte) {
		for _, p := range parts {
			d = d[copy(p, d):]
		}
	})
}

// LoadInto copies exactly len(dst) bytes of h at offset into dst. Faults registered for
// OpLoad apply to it as to Load.
func (b *Backend) LoadInto(ctx context.Context, h backend.Handle, offset int64, dst []byte) error {
	return b.loadInto(ctx, h, offset, len(dst), func(d []byte) { copy(dst, d) })
}

// loadInto checks that h holds n bytes at offset and hands them to fill.
func (b *Backend) loadInto(ctx context.Context, h backend.Handle, offset int64, n int, fill func([]byte)) error {
	h, err, _ := b.start(ctx, OpLoad, h)
	if err != nil {
		return err
	}
	if offset < 0 {
		return fmt.Errorf("mem: load %s: invalid offset %d", h, offset)
	}
	b.mu.RLock()
	d, ok := b.objs[h]
	b.mu.RUnlock()
	if !ok {
		return fmt.Errorf("mem: load %s: %w", h, backend.ErrNotFound)
	}
	if size := int64(len(d)); offset > size || int64(n) > size-offset {
		return fmt.Errorf("mem: load %s: short object: wanted %d bytes at %d, size %d", h, n, offset, size)
	}
	fill(d[offset : offset+int64(n)])
	return nil
}

// Stat returns the size of h.
func (b *Backend) Stat(ctx context.Context, h backend.Handle) (int64, error) {
	h, err, _ := b.start(ctx, OpStat, h)
	if err != nil {
		return 0, err
	}
	b.mu.RLock()
	d, ok := b.objs[h]
	b.mu.RUnlock()
	if !ok {
		return 0, fmt.Errorf("mem: stat %s: %w", h, backend.ErrNotFound)
	}
	return int64(len(d)), nil
}

// List calls fn for each object of type t. fn runs without locks held, so it may call back
// into the backend; objects saved or removed during the listing may or may not be seen.
func (b *Backend) List(ctx context.Context, t backend.Type, fn func(name string, size int64) error) error {
	if _, err, _ := b.start(ctx, OpList, backend.Handle{Type: t}); err != nil {
		return err
	}
	type entry struct {
		name string
		size int64
	}
	var ents []entry
	b.mu.RLock()
	for h, d := range b.objs {
		if h.Type == t {
			name := h.Name
			if t == backend.Config {
				name = "config"
			}
			ents = append(ents, entry{name, int64(len(d))})
		}
	}
	b.mu.RUnlock()
	for _, e := range ents {
		if err := ctx.Err(); err != nil {
			return fmt.Errorf("mem: list %s: %w", t, err)
		}
		if err := fn(e.name, e.size); err != nil {
			return err
		}
	}
	return nil
}

// Remove deletes h; a missing object wraps backend.ErrNotFound.
func (b *Backend) Remove(ctx context.Context, h backend.Handle) error {
	h, err, after := b.start(ctx, OpRemove, h)
	if err != nil {
		return err
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	if _, ok := b.objs[h]; !ok {
		return fmt.Errorf("mem: remove %s: %w", h, backend.ErrNotFound)
	}
	delete(b.objs, h)
	return after
}

// Close does nothing; the objects stay readable through Get.
func (b *Backend) Close() error { return nil }

// canon drops the name of the Config handle, which has none.
func canon(h backend.Handle) backend.Handle {
	if h.Type == backend.Config {
		h.Name = ""
	}
	return h
}

func clone(b []byte) []byte {
	out := make([]byte, len(b))
	copy(out, b)
	return out
}
