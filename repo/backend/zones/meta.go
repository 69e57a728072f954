package zones

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"sort"
	"sync"
	"time"

	"github.com/cairnbackup/cairn/repo/backend"
)

// replicate saves raw under h in every zone not marked down, in parallel. It fails unless
// at least need zones stored it; it returns the zones that did not, by name.
func (b *Backend) replicate(ctx context.Context, h backend.Handle, raw []byte, need int) (map[string]error, error) {
	errs := b.forZones(ctx, func(ctx context.Context, z *zone) error {
		if b.isDown(z) {
			return errDown(z)
		}
		err := z.be.Save(ctx, h, raw)
		b.note(z, err)
		return err
	})
	failed := map[string]error{}
	for i, err := range errs {
		if err != nil {
			failed[b.zones[i].name] = err
		}
	}
	if err := ctx.Err(); err != nil {
		return failed, fmt.Errorf("zones: save %s: %w", h, err)
	}
	if ok := len(b.zones) - len(failed); ok < need {
		return failed, quorumError("save "+h.String()+": stored in zones", ok, need, failed)
	}
	return failed, nil
}

func (b *Backend) saveMeta(ctx context.Context, h backend.Handle, data []byte) error {
	failed, err := b.replicate(ctx, h, SealCopy(h, data), b.meta)
	if err != nil {
		if h.Type == backend.Snapshot || h.Type == backend.Index {
			// Fresh names only: undo the minority so that a failed backup records nothing.
			b.removeFrom(ctx, h, func(z *zone) bool { _, bad := failed[z.name]; return !bad })
		}
		return err
	}
	return b.recordMissing(ctx, OpSave, h, failed)
}

// recordMissing writes a degraded record naming the zones in failed (nothing for locks,
// which are short-lived, or when nothing failed).
func (b *Backend) recordMissing(ctx context.Context, op string, h backend.Handle, failed map[string]error) error {
	if len(failed) == 0 || h.Type == backend.Lock {
		return nil
	}
	return b.writeRecord(ctx, newRecord(op, h, sortedNames(failed), nil))
}

// removeFrom removes h, best effort and in parallel, from the zones sel selects.
func (b *Backend) removeFrom(ctx context.Context, h backend.Handle, sel func(z *zone) bool) {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 30*time.Second)
	defer cancel()
	b.forZones(ctx, func(ctx context.Context, z *zone) error {
		if !sel(z) {
			return nil
		}
		if err := z.be.Remove(ctx, h); err != nil && !errors.Is(err, backend.ErrNotFound) {
			b.log.Warn("roll back: remove failed", "zone", z.name, "object", h.String(), "err", err)
		}
		return nil
	})
}

// saveNewMeta: SaveNew in the first zone that answers (the arbiter: of concurrent writers
// exactly one wins there), then in all the others in parallel; ErrExists anywhere rolls
// back this call's copies.
func (b *Backend) saveNewMeta(ctx context.Context, h backend.Handle, data []byte) error {
	raw := SealCopy(h, data)
	failed := map[string]error{}
	created := map[*zone]bool{}
	var mu sync.Mutex
	rollback := func() {
		b.removeFrom(ctx, h, func(z *zone) bool { return created[z] })
	}
	arbiter := -1
	for i, z := range b.zones {
		if b.isDown(z) {
			failed[z.name] = errDown(z)
			continue
		}
		err := z.be.SaveNew(ctx, h, raw)
		b.note(z, err)
		if errors.Is(err, backend.ErrExists) {
			return fmt.Errorf("zones: save new %s: zone %s: %w", h, z.name, err)
		}
		if err != nil {
			if ctx.Err() != nil {
				return fmt.Errorf("zones: save new %s: %w", h, ctx.Err())
			}
			failed[z.name] = err
			continue
		}
		created[z] = true
		arbiter = i
		break
	}
	if arbiter < 0 {
		return quorumError("save new "+h.String()+": stored in zones", 0, b.meta, failed)
	}
	exists := false
	var wg sync.WaitGroup
	for _, z := range b.zones[arbiter+1:] {
		if b.isDown(z) {
			failed[z.name] = errDown(z)
			continue
		}
		wg.Go(func() {
			err := z.be.SaveNew(ctx, h, raw)
			b.note(z, err)
			mu.Lock()
			defer mu.Unlock()
			switch {
			case err == nil:
				created[z] = true
			case errors.Is(err, backend.ErrExists):
				exists = true
			default:
				failed[z.name] = err
			}
		})
	}
	wg.Wait()
	switch {
	case exists:
		rollback()
		return fmt.Errorf("zones: save new %s: %w", h, backend.ErrExists)
	case ctx.Err() != nil:
		rollback()
		return fmt.Errorf("zones: save new %s: %w", h, ctx.Err())
	case len(created) < b.meta:
		rollback()
		return quorumError("save new "+h.String()+": stored in zones", len(created), b.meta, failed)
	}
	return b.recordMissing(ctx, OpSave, h, failed)
}

// readOrder returns the zones with those marked down last.
func (b *Backend) readOrder() []*zone {
	out := make([]*zone, 0, len(b.zones))
	var down []*zone
	for _, z := range b.zones {
		if b.isDown(z) {
			down = append(down, z)
		} else {
			out = append(out, z)
		}
	}
	return append(out, down...)
}

// fetchMeta returns the verified bytes of metadata object h from the first zone that has
// a good copy. Zones are asked one at a time in readOrder; the next is asked at once when
// one fails, or after the hedge delay when one is slow. A missing object wraps
// backend.ErrNotFound only when enough zones answered "not found" that no quorate copy can
// exist; otherwise the error wraps ErrUnavailable (or ErrCorruptCopy when copies exist but
// none verifies).
func (b *Backend) fetchMeta(ctx context.Context, h backend.Handle) ([]byte, error) {
	data, _, err := b.fetchCopy(ctx, h, b.readOrder())
	return data, err
}

// fetchCopy is fetchMeta over the given zones; it also returns the zone that answered.
func (b *Backend) fetchCopy(ctx context.Context, h backend.Handle, order []*zone) ([]byte, *zone, error) {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	type result struct {
		z    *zone
		data []byte
		err  error
	}
	results := make(chan result, len(order))
	next := 0
	start := func() {
		z := order[next]
		next++
		go func() {
			raw, err := z.be.Load(ctx, h, 0, 0)
			if err == nil {
				raw, err = OpenCopy(h, raw)
			}
			b.note(z, err)
			results <- result{z, raw, err}
		}()
	}
	var hedge <-chan time.Time
	var timer *time.Timer
	if b.hedge > 0 {
		timer = time.NewTimer(b.hedge)
		defer timer.Stop()
	}
	failed := map[string]error{}
	start()
	for pending := 1; pending > 0; {
		if timer != nil && next < len(order) {
			hedge = timer.C
		} else {
			hedge = nil
		}
		select {
		case r := <-results:
			pending--
			if r.err == nil {
				return r.data, r.z, nil
			}
			failed[r.z.name] = r.err
			if next < len(order) {
				start()
				pending++
				if timer != nil {
					timer.Reset(b.hedge)
				}
			}
		case <-hedge:
			start()
			pending++
			timer.Reset(b.hedge)
		case <-ctx.Done():
			return nil, nil, fmt.Errorf("zones: load %s: %w", h, context.Cause(ctx))
		}
	}
	return nil, nil, b.missingError("load "+h.String(), failed, len(b.zones)-b.meta+1)
}

// missingError explains a read that found no good copy: ErrNotFound if at least
// absentNeed zones said the object does not exist, else the most telling failure.
func (b *Backend) missingError(what string, failed map[string]error, absentNeed int) error {
	absent, corrupt := 0, 0
	for _, err := range failed {
		switch {
		case errors.Is(err, backend.ErrNotFound):
			absent++
		case errors.Is(err, ErrCorruptCopy):
			corrupt++
		}
	}
	if absent >= absentNeed || absent == len(failed) {
		return fmt.Errorf("zones: %s: %w", what, backend.ErrNotFound)
	}
	if corrupt > 0 && corrupt+absent == len(failed) {
		return fmt.Errorf("zones: %s: no zone holds a good copy: %w", what, ErrCorruptCopy)
	}
	return quorumError(what+": good copies", 0, 1, failed)
}

func (b *Backend) loadMeta(ctx context.Context, h backend.Handle, offset, length int64) ([]byte, error) {
	data, err := b.fetchMeta(ctx, h)
	if err != nil {
		return nil, err
	}
	w, err := backend.Window(data, offset, length)
	if err != nil {
		return nil, fmt.Errorf("zones: load %s: %w", h, err)
	}
	return w, nil
}

// enoughListed checks that enough zones answered a listing for it to include every object
// written with a quorum of need zones.
func (b *Backend) enoughListed(errs []error, need int, what string) error {
	failed := map[string]error{}
	for i, err := range errs {
		if err != nil {
			failed[b.zones[i].name] = err
		}
	}
	listed := len(b.zones) - len(failed)
	want := len(b.zones) - need + 1
	if listed >= want {
		return nil
	}
	for _, err := range failed {
		if !errors.Is(err, backend.ErrUnavailable) {
			return fmt.Errorf("zones: %s: %w", what, err)
		}
	}
	return quorumError(what+": zones listed", listed, want, failed)
}

// listZones lists type t in every zone not marked down; fn is called under a lock with the
// zone index, name and stored size.
func (b *Backend) listZones(ctx context.Context, t backend.Type, need int, fn func(zi int, name string, size int64)) ([]error, error) {
	var mu sync.Mutex
	index := map[*zone]int{}
	for i, z := range b.zones {
		index[z] = i
	}
	errs := b.forZones(ctx, func(ctx context.Context, z *zone) error {
		if b.isDown(z) {
			return errDown(z)
		}
		type ent struct {
			name string
			size int64
		}
		var ents []ent
		err := z.be.List(ctx, t, func(name string, size int64) error {
			ents = append(ents, ent{name, size})
			return nil
		})
		b.note(z, err)
		if err != nil {
			return fmt.Errorf("zone %s: %w", z.name, err)
		}
		mu.Lock()
		defer mu.Unlock()
		for _, e := range ents {
			fn(index[z], e.name, e.size)
		}
		return nil
	})
	if err := ctx.Err(); err != nil {
		return errs, fmt.Errorf("zones: list %s: %w", t, err)
	}
	return errs, b.enoughListed(errs, need, "list "+t.String())
}

func (b *Backend) listMeta(ctx context.Context, t backend.Type, fn func(name string, size int64) error) error {
	sizes := map[string]int64{}
	_, err := b.listZones(ctx, t, b.meta, func(_ int, name string, size int64) {
		if size < int64(CopyTrailerSize) {
			b.log.Warn("ignoring a metadata copy shorter than its trailer", "object", t.String()+"/"+name, "size", size)
			return
		}
		if _, ok := sizes[name]; !ok {
			sizes[name] = size - int64(CopyTrailerSize)
		}
	})
	if err != nil {
		return err
	}
	names := slices.Sorted(maps.Keys(sizes))
	for _, n := range names {
		if err := fn(n, sizes[n]); err != nil {
			return err
		}
	}
	return nil
}

// removeMeta removes h from every zone. It succeeds once a majority of zones confirm the
// object is gone (removed or absent), so the copies left in unreachable zones are a
// minority that Heal removes (they are recorded) and never copies back.
func (b *Backend) removeMeta(ctx context.Context, h backend.Handle) error {
	var mu sync.Mutex
	removed, absent := 0, 0
	failed := map[string]error{}
	b.forZones(ctx, func(ctx context.Context, z *zone) error {
		var err error
		if b.isDown(z) {
			err = errDown(z)
		} else {
			err = z.be.Remove(ctx, h)
			b.note(z, err)
		}
		mu.Lock()
		defer mu.Unlock()
		switch {
		case err == nil:
			removed++
		case errors.Is(err, backend.ErrNotFound):
			absent++
		default:
			failed[z.name] = err
		}
		return nil
	})
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("zones: remove %s: %w", h, err)
	}
	if removed == 0 && (len(failed) == 0 || absent >= len(b.zones)-b.meta+1) {
		return fmt.Errorf("zones: remove %s: %w", h, backend.ErrNotFound)
	}
	if removed+absent < b.meta {
		return quorumError("remove "+h.String()+": zones confirmed", removed+absent, b.meta, failed)
	}
	return b.recordMissing(ctx, OpRemove, h, failed)
}

func sortedNames[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}
