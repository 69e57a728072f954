package zones

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"sync"
	"time"

	"github.com/cairnbackup/cairn/repo/backend"
)

// ZoneStatus is the state of one zone as Status and CheckShards see it.
type ZoneStatus struct {
	Name      string        `json:"name"`
	Location  string        `json:"location"`
	Reachable bool          `json:"reachable"`
	Latency   time.Duration `json:"latency_ns"`
	Error     string        `json:"error,omitempty"`
	// Filled by CheckShards: shards and metadata copies this zone should hold but lacks
	// (or holds corrupt, with Verify).
	MissingShards int `json:"missing_shards"`
	CorruptShards int `json:"corrupt_shards"`
	MissingCopies int `json:"missing_copies"`
	CorruptCopies int `json:"corrupt_copies"`
}

// Status probes every zone in parallel with one cheap request (a HEAD of the config) and
// reports reachability and latency. It also clears or sets the zones' down marks.
func (b *Backend) Status(ctx context.Context) []ZoneStatus {
	out := make([]ZoneStatus, len(b.zones))
	b.forZones(ctx, func(ctx context.Context, z *zone) error {
		i := b.zoneIndex(z)
		st := ZoneStatus{Name: z.name, Location: z.be.Location()}
		start := time.Now()
		_, err := z.be.Stat(ctx, backend.Handle{Type: backend.Config})
		st.Latency = time.Since(start)
		if err != nil && !errors.Is(err, backend.ErrNotFound) {
			st.Error = err.Error()
			b.note(z, err)
		} else {
			st.Reachable = true
			b.note(z, nil)
		}
		out[i] = st
		return nil
	})
	return out
}

func (b *Backend) zoneIndex(z *zone) int {
	for i, x := range b.zones {
		if x == z {
			return i
		}
	}
	return -1
}

// ShardLoc names one shard of a pack and its zone.
type ShardLoc struct {
	Index int    `json:"index"`
	Zone  string `json:"zone"`
}

// PackHealth lists the unhealthy shards of one pack.
type PackHealth struct {
	Pack    string     `json:"pack"`
	Missing []ShardLoc `json:"missing,omitempty"`
	Corrupt []ShardLoc `json:"corrupt,omitempty"`
	// Unknown lists shards in zones that could not be listed.
	Unknown []ShardLoc `json:"unknown,omitempty"`
	// Present is the number of shards found (healthy, with Verify).
	Present int `json:"present"`
	// Readable is false when fewer than k shards are known good.
	Readable bool `json:"readable"`
	// Removed is set when a degraded record says the pack was removed (these are
	// leftovers for Heal to delete, not damage).
	Removed bool   `json:"removed,omitempty"`
	Error   string `json:"error,omitempty"`
}

// CopyHealth lists the zones lacking (or holding corrupt) copies of one metadata object.
type CopyHealth struct {
	Object  string   `json:"object"` // e.g. "index/ab12..."
	Missing []string `json:"missing,omitempty"`
	Corrupt []string `json:"corrupt,omitempty"`
	Present int      `json:"present"`
	Removed bool     `json:"removed,omitempty"`
}

// ShardReport is what CheckShards found.
type ShardReport struct {
	Layout      string       `json:"layout"`
	Zones       []ZoneStatus `json:"zones"`
	Packs       int          `json:"packs"`
	Objects     int          `json:"objects"` // metadata objects (locks excluded)
	Damaged     []PackHealth `json:"damaged_packs"`
	DamagedMeta []CopyHealth `json:"damaged_objects"`
	Records     int          `json:"degraded_records"`
	// Totals over Damaged / DamagedMeta.
	MissingShards int `json:"missing_shards"`
	CorruptShards int `json:"corrupt_shards"`
	Unreadable    int `json:"unreadable_packs"`
	MissingCopies int `json:"missing_copies"`
	CorruptCopies int `json:"corrupt_copies"`

	records map[string]*Record
}

// Healthy reports whether every reachable zone holds every shard and copy it should,
// intact, and every zone was reachable.
func (r *ShardReport) Healthy() bool {
	if len(r.Damaged) > 0 || len(r.DamagedMeta) > 0 {
		return false
	}
	for _, z := range r.Zones {
		if !z.Reachable {
			return false
		}
	}
	return true
}

// ScanOptions select how deep CheckShards looks.
type ScanOptions struct {
	// Verify reads every shard and copy and checks its checksums (and the parity); without
	// it only listings are compared (one listing per zone and type).
	Verify bool
}

var metaTypes = []backend.Type{backend.Config, backend.Key, backend.Snapshot, backend.Index}

// CheckShards lists every zone and reports, for every pack and metadata object, the
// shards and copies missing from reachable zones (and, with Verify, those corrupt).
func (b *Backend) CheckShards(ctx context.Context, opts ScanOptions) (*ShardReport, error) {
	rep := &ShardReport{Layout: b.layout.String(), Zones: b.Status(ctx)}
	zoneIdx := map[string]int{}
	for i, z := range b.zones {
		zoneIdx[z.name] = i
	}
	recs, err := b.Records(ctx)
	if err != nil {
		return nil, fmt.Errorf("zones: check shards: %w", err)
	}
	rep.records, rep.Records = recs, len(recs)
	removed := map[backend.Handle]bool{}
	for _, r := range recs {
		if r.Op == OpRemove {
			removed[r.Handle()] = true
		}
	}
	listedOK := func(errs []error) []bool {
		ok := make([]bool, len(b.zones))
		for i, e := range errs {
			ok[i] = e == nil
			if e != nil {
				rep.Zones[i].Reachable = false
				if rep.Zones[i].Error == "" {
					rep.Zones[i].Error = e.Error()
				}
			}
		}
		return ok
	}

	// Metadata.
	for _, t := range metaTypes {
		where := map[string][]bool{}
		errs, err := b.listZones(ctx, t, b.meta, func(zi int, name string, _ int64) {
			if where[name] == nil {
				where[name] = make([]bool, len(b.zones))
			}
			where[name][zi] = true
		})
		if err != nil {
			return nil, fmt.Errorf("zones: check shards: %w", err)
		}
		ok := listedOK(errs)
		for _, name := range sortedNames(where) {
			h := backend.Handle{Type: t, Name: name}
			if t == backend.Config {
				h.Name = ""
			}
			rep.Objects++
			ch := CopyHealth{Object: h.String(), Removed: removed[h]}
			for zi, has := range where[name] {
				switch {
				case has:
					ch.Present++
				case ok[zi]:
					ch.Missing = append(ch.Missing, b.zones[zi].name)
				}
			}
			if opts.Verify {
				ch.Corrupt = b.verifyCopies(ctx, h, where[name])
				ch.Present -= len(ch.Corrupt)
			}
			if len(ch.Missing)+len(ch.Corrupt) > 0 {
				rep.DamagedMeta = append(rep.DamagedMeta, ch)
				rep.MissingCopies += len(ch.Missing)
				rep.CorruptCopies += len(ch.Corrupt)
				for _, z := range ch.Missing {
					rep.Zones[zoneIdx[z]].MissingCopies++
				}
				for _, z := range ch.Corrupt {
					rep.Zones[zoneIdx[z]].CorruptCopies++
				}
			}
		}
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}

	// Packs.
	packs, errs, err := b.scanPacks(ctx)
	if err != nil {
		return nil, fmt.Errorf("zones: check shards: %w", err)
	}
	ok := listedOK(errs)
	names := sortedNames(packs)
	rep.Packs = len(names)
	results := make([]*PackHealth, len(names))
	sem := make(chan struct{}, 8)
	var wg sync.WaitGroup
	for n, name := range names {
		sem <- struct{}{}
		wg.Go(func() {
			defer func() { <-sem }()
			results[n] = b.packHealth(ctx, name, packs[name], ok, opts.Verify, removed[backend.Handle{Type: backend.Pack, Name: name}])
		})
	}
	wg.Wait()
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	for _, ph := range results {
		if len(ph.Missing)+len(ph.Corrupt) == 0 && ph.Error == "" {
			continue
		}
		rep.Damaged = append(rep.Damaged, *ph)
		rep.MissingShards += len(ph.Missing)
		rep.CorruptShards += len(ph.Corrupt)
		if !ph.Readable && !ph.Removed {
			rep.Unreadable++
		}
		for _, l := range ph.Missing {
			rep.Zones[zoneIdx[l.Zone]].MissingShards++
		}
		for _, l := range ph.Corrupt {
			rep.Zones[zoneIdx[l.Zone]].CorruptShards++
		}
	}
	return rep, nil
}

func (b *Backend) packHealth(ctx context.Context, name string, seen *packSeen, listed []bool, verify, removed bool) *PackHealth {
	src := b.source(name)
	ph := &PackHealth{Pack: name, Removed: removed}
	for i, zi := range src.place {
		loc := ShardLoc{Index: i, Zone: b.zones[zi].name}
		_, has := seen.shards[i]
		switch {
		case has:
			ph.Present++
		case listed[zi]:
			ph.Missing = append(ph.Missing, loc)
		default:
			ph.Unknown = append(ph.Unknown, loc)
		}
	}
	if verify && !removed {
		failed, err := b.coder.Check(ctx, src, src.id)
		if err != nil {
			ph.Error = err.Error()
		}
		for i, ferr := range failed {
			if _, has := seen.shards[i]; !has || errors.Is(ferr, backend.ErrUnavailable) {
				continue // missing or unknown: already counted
			}
			ph.Corrupt = append(ph.Corrupt, ShardLoc{Index: i, Zone: b.zones[src.place[i]].name})
			ph.Present--
		}
		sort.Slice(ph.Corrupt, func(a, c int) bool { return ph.Corrupt[a].Index < ph.Corrupt[c].Index })
	}
	ph.Readable = ph.Present >= b.layout.Data
	return ph
}

// verifyCopies loads every listed copy of h and returns the zones whose copy is corrupt.
func (b *Backend) verifyCopies(ctx context.Context, h backend.Handle, where []bool) []string {
	var mu sync.Mutex
	var bad []string
	b.forZones(ctx, func(ctx context.Context, z *zone) error {
		if !where[b.zoneIndex(z)] {
			return nil
		}
		raw, err := z.be.Load(ctx, h, 0, 0)
		if err == nil {
			_, err = OpenCopy(h, raw)
		}
		if errors.Is(err, ErrCorruptCopy) {
			mu.Lock()
			bad = append(bad, z.name)
			mu.Unlock()
		}
		return nil
	})
	sort.Strings(bad)
	return bad
}

// HealOptions select what Heal does.
type HealOptions struct {
	// Verify also reads every shard and copy (see ScanOptions.Verify), so corrupt ones are
	// rebuilt too; without it only missing ones are.
	Verify bool
}

// HealReport is what Heal did.
type HealReport struct {
	Before          *ShardReport `json:"before"`
	ShardsRebuilt   int          `json:"shards_rebuilt"`
	CopiesRestored  int          `json:"copies_restored"`
	LeftoversRemove int          `json:"leftovers_removed"`
	RecordsCleared  int          `json:"records_cleared"`
	// Failed lists what could not be healed (unreadable packs, unreachable zones, ...).
	Failed []string `json:"failed,omitempty"`
}

// Healed reports whether Heal fixed everything it found.
func (r *HealReport) Healed() bool { return len(r.Failed) == 0 }

// Heal runs CheckShards and repairs what it found in reachable zones: rebuilds missing
// (and, with Verify, corrupt) shards with erasure.Heal, restores metadata copies from a
// good one, deletes the leftovers of recorded removals, and finally removes the degraded
// records whose objects are whole again. Zones that cannot be reached stay unhealed and
// are listed in Failed; run Heal again when they are back.
func (b *Backend) Heal(ctx context.Context, opts HealOptions) (*HealReport, error) {
	before, err := b.CheckShards(ctx, ScanOptions(opts))
	if err != nil {
		return nil, err
	}
	rep := &HealReport{Before: before}
	unhealed := map[backend.Handle]bool{}
	fail := func(h backend.Handle, format string, args ...any) {
		unhealed[h] = true
		rep.Failed = append(rep.Failed, h.String()+": "+fmt.Sprintf(format, args...))
	}
	down := false
	for _, z := range before.Zones {
		if !z.Reachable {
			down = true
			rep.Failed = append(rep.Failed, "zone "+z.Name+" unreachable: "+z.Error)
		}
	}
	saved := map[backend.Handle]bool{}
	for _, r := range before.records {
		if r.Op == OpSave {
			saved[r.Handle()] = true
		}
	}

	for _, ch := range before.DamagedMeta {
		h := handleOf(ch.Object)
		switch {
		case ch.Removed && ch.Present < b.meta:
			n := b.removeCopies(ctx, h)
			rep.LeftoversRemove += n
		case ch.Present >= b.meta || saved[h]:
			n, err := b.restoreCopies(ctx, h, append(append([]string{}, ch.Missing...), ch.Corrupt...))
			rep.CopiesRestored += n
			if err != nil {
				fail(h, "%v", err)
			}
		default:
			fail(h, "only %d of %d zones hold a copy and no record explains it; left alone", ch.Present, len(b.zones))
		}
	}
	for _, ph := range before.Damaged {
		h := backend.Handle{Type: backend.Pack, Name: ph.Pack}
		if ph.Removed && !ph.Readable {
			src := b.source(ph.Pack)
			b.removeShards(ctx, src, func(int) bool { return true })
			rep.LeftoversRemove += ph.Present
			continue
		}
		var idx []int
		for _, l := range ph.Missing {
			idx = append(idx, l.Index)
		}
		for _, l := range ph.Corrupt {
			idx = append(idx, l.Index)
		}
		if len(idx) == 0 {
			if ph.Error != "" {
				fail(h, "%s", ph.Error)
			}
			continue
		}
		n, err := b.healPack(ctx, ph.Pack, idx)
		rep.ShardsRebuilt += n
		if err != nil {
			fail(h, "%v", err)
		}
	}
	if err := ctx.Err(); err != nil {
		return rep, err
	}
	// Records: clear those whose object is now whole in every zone.
	for name, r := range before.records {
		if down || unhealed[r.Handle()] {
			continue
		}
		b.removeCopies(ctx, backend.Handle{Type: backend.Pack, Name: name})
		rep.RecordsCleared++
	}
	return rep, nil
}

func handleOf(object string) backend.Handle {
	if object == "config" {
		return backend.Handle{Type: backend.Config}
	}
	for _, t := range backend.Types {
		if p := t.String() + "/"; len(object) > len(p) && object[:len(p)] == p {
			return backend.Handle{Type: t, Name: object[len(p):]}
		}
	}
	return backend.Handle{}
}

// healPack rebuilds the listed shards and stores them in their zones.
func (b *Backend) healPack(ctx context.Context, name string, idx []int) (int, error) {
	src := b.source(name)
	objs, err := b.coder.Heal(ctx, src, src.id, idx)
	if err != nil {
		return 0, err
	}
	b.readers.drop(name)
	var errs []error
	n := 0
	for i, obj := range objs {
		z := src.zone(i)
		err := z.be.Save(ctx, src.handle(i), obj)
		b.note(z, err)
		if err != nil {
			errs = append(errs, fmt.Errorf("shard %d to zone %s: %w", i, z.name, err))
			continue
		}
		n++
	}
	return n, errors.Join(errs...)
}

// restoreCopies copies a verified copy of h to the named zones.
func (b *Backend) restoreCopies(ctx context.Context, h backend.Handle, to []string) (int, error) {
	data, _, err := b.fetchCopy(ctx, h, b.zones)
	if err != nil {
		return 0, err
	}
	raw := SealCopy(h, data)
	var errs []error
	n := 0
	for _, name := range to {
		for _, z := range b.zones {
			if z.name != name {
				continue
			}
			if err := z.be.Save(ctx, h, raw); err != nil {
				errs = append(errs, fmt.Errorf("zone %s: %w", z.name, err))
				continue
			}
			n++
		}
	}
	return n, errors.Join(errs...)
}

// removeCopies removes h from every zone, best effort; it returns how many it removed.
func (b *Backend) removeCopies(ctx context.Context, h backend.Handle) int {
	var mu sync.Mutex
	n := 0
	b.forZones(ctx, func(ctx context.Context, z *zone) error {
		if err := z.be.Remove(ctx, h); err == nil {
			mu.Lock()
			n++
			mu.Unlock()
		}
		return nil
	})
	return n
}
