package repo

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/cairnbackup/cairn/internal/ids"
	"github.com/cairnbackup/cairn/repo/backend/zones"
)

// ErrNotZoned: the repository's backend keeps no erasure-coded shards (it is not a zones
// repository), so there is no zone status and nothing for RepairShards to do.
var ErrNotZoned = errors.New("repository is not stored on zones (no erasure-coded shards)")

// shardHealer is what a backend with zones and shards offers the repository
// (implemented by *zones.Backend).
type shardHealer interface {
	Status(ctx context.Context) []zones.ZoneStatus
	CheckShards(ctx context.Context, opts zones.ScanOptions) (*zones.ShardReport, error)
	Heal(ctx context.Context, opts zones.HealOptions) (*zones.HealReport, error)
}

func (r *Repository) healer() (shardHealer, bool) {
	h, ok := r.be.(shardHealer)
	return h, ok
}

// ZoneStatus probes every zone and lists them to count missing shards and metadata
// copies per zone (no data is read). It returns ErrNotZoned for other backends.
func (r *Repository) ZoneStatus(ctx context.Context) (*zones.ShardReport, error) {
	h, ok := r.healer()
	if !ok {
		return nil, ErrNotZoned
	}
	rep, err := h.CheckShards(ctx, zones.ScanOptions{})
	if err != nil {
		return nil, fmt.Errorf("zone status: %w", err)
	}
	return rep, nil
}

// RepairShardsOptions select how deep RepairShards looks.
type RepairShardsOptions struct {
	// Verify reads every shard and metadata copy, so corrupt ones are rebuilt as well as
	// missing ones.
	Verify bool
}

// RepairShards rebuilds missing (and, with Verify, corrupt) shards and metadata copies in
// every reachable zone and clears the degraded records of what it healed. It holds a
// shared lock (like check): safe while backups and restores run, not during prune.
func (r *Repository) RepairShards(ctx context.Context, opts RepairShardsOptions) (*zones.HealReport, error) {
	h, ok := r.healer()
	if !ok {
		return nil, ErrNotZoned
	}
	_, unlock, err := r.lockFor(ctx, "repair shards", LockCheck, false)
	if err != nil {
		return nil, err
	}
	defer unlock()
	rep, err := h.Heal(ctx, zones.HealOptions{Verify: opts.Verify})
	if err != nil {
		return rep, fmt.Errorf("repair shards: %w", err)
	}
	return rep, nil
}

// checkShards adds shard health to a check report when the backend has shards: missing
// or corrupt shards and copies, and unreachable zones, are errors (redundancy is lost
// until 'cairn repair'); pending degraded records are informational. With ReadData every
// shard is read and verified.
func (c *checkRun) checkShards(ctx context.Context, opts CheckOptions) error {
	h, ok := c.r.healer()
	if !ok {
		return nil
	}
	rep, err := h.CheckShards(ctx, zones.ScanOptions{Verify: opts.ReadData})
	if err != nil {
		return fmt.Errorf("shards: %w", err)
	}
	c.rep.Shards = rep
	for _, z := range rep.Zones {
		if !z.Reachable {
			c.rep.add(LevelError, "zone "+z.Name, "unreachable: %s", z.Error)
		}
	}
	for _, p := range rep.Damaged {
		obj := "data/" + p.Pack
		if id, err := ids.Parse(p.Pack); err == nil {
			obj = "data/" + id.Short()
		}
		if p.Removed {
			c.rep.add(LevelInfo, obj, "%d leftover shard(s) of a removed pack; cairn repair removes them", p.Present)
			continue
		}
		msg := fmt.Sprintf("%d of %d shards good", p.Present, len(p.Missing)+len(p.Corrupt)+len(p.Unknown)+p.Present)
		if len(p.Missing) > 0 {
			msg += "; missing " + shardList(p.Missing)
		}
		if len(p.Corrupt) > 0 {
			msg += "; corrupt " + shardList(p.Corrupt)
		}
		if p.Error != "" {
			msg += "; " + p.Error
		}
		if !p.Readable {
			msg += "; NOT READABLE (fewer than k good shards)"
		} else {
			msg += "; cairn repair rebuilds them"
		}
		c.rep.add(LevelError, obj, "%s", msg)
	}
	for _, m := range rep.DamagedMeta {
		if m.Removed {
			c.rep.add(LevelInfo, m.Object, "leftover copies of a removed object in %d zone(s)", m.Present)
			continue
		}
		var parts []string
		if len(m.Missing) > 0 {
			parts = append(parts, "missing in "+strings.Join(m.Missing, ", "))
		}
		if len(m.Corrupt) > 0 {
			parts = append(parts, "corrupt in "+strings.Join(m.Corrupt, ", "))
		}
		c.rep.add(LevelError, m.Object, "copy %s; cairn repair restores it", strings.Join(parts, "; "))
	}
	if rep.Records > 0 {
		c.rep.add(LevelInfo, "zones", "%d degraded write record(s) pending repair", rep.Records)
	}
	return nil
}

func shardList(ls []zones.ShardLoc) string {
	parts := make([]string, len(ls))
	for i, l := range ls {
		parts[i] = fmt.Sprintf("#%d (zone %s)", l.Index, l.Zone)
	}
	return strings.Join(parts, ", ")
}
