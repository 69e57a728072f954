package repo

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/cairnbackup/cairn/repo/backend"
)

// ErrEmptyPolicy: Forget was called without any keep rule (it would remove everything).
var ErrEmptyPolicy = errors.New("no keep rule given; refusing to forget every snapshot")

// ForgetPolicy says which snapshots to keep, with restic's semantics: snapshots are
// grouped (by name, or by name and tags), and within each group, newest first, a snapshot
// is kept if any rule keeps it. Last keeps the n newest; Hourly/Daily/Weekly/Monthly/Yearly
// keep the newest snapshot of each of the n most recent hours/days/ISO weeks/months/years
// that have one; Tags keeps every snapshot that has one of the tags. A count of -1 means
// unlimited. Buckets use each snapshot's recorded time zone.
type ForgetPolicy struct {
	Last, Hourly, Daily, Weekly, Monthly, Yearly int
	Tags                                         []string
	// GroupBy is "name,tags" (the default when empty) or "name".
	GroupBy string
	// Name, when set, limits Forget to snapshots of that name.
	Name string
}

func (p ForgetPolicy) empty() bool {
	return p.Last == 0 && p.Hourly == 0 && p.Daily == 0 && p.Weekly == 0 && p.Monthly == 0 &&
		p.Yearly == 0 && len(p.Tags) == 0
}

// ForgetDecision is one snapshot and the rules that keep it (empty when removed).
type ForgetDecision struct {
	Snapshot *Snapshot `json:"snapshot"`
	Reasons  []string  `json:"reasons,omitempty"`
}

// ForgetGroup is the outcome for one group of snapshots.
type ForgetGroup struct {
	Name   string           `json:"name"`
	Tags   []string         `json:"tags,omitempty"`
	Keep   []ForgetDecision `json:"keep"`
	Remove []ForgetDecision `json:"remove"`
}

// ForgetResult reports what Forget kept and removed (or would remove, with dryRun).
type ForgetResult struct {
	Groups  []ForgetGroup `json:"groups"`
	Kept    int           `json:"kept"`
	Removed int           `json:"removed"`
	DryRun  bool          `json:"dry_run"`
}

// Forget applies policy and removes the snapshot objects it does not keep. It never
// touches data: run Prune to reclaim space. It needs no lock: removing a snapshot is safe
// against concurrent backups and prunes.
func (r *Repository) Forget(ctx context.Context, policy ForgetPolicy, dryRun bool) (*ForgetResult, error) {
	if policy.empty() {
		return nil, fmt.Errorf("forget: %w", ErrEmptyPolicy)
	}
	if policy.GroupBy != "" && policy.GroupBy != "name" && policy.GroupBy != "name,tags" {
		return nil, fmt.Errorf("forget: unknown grouping %q (want name or name,tags)", policy.GroupBy)
	}
	all, err := r.Snapshots(ctx)
	if err != nil {
		return nil, fmt.Errorf("forget: %w", err)
	}
	res := &ForgetResult{Groups: []ForgetGroup{}, DryRun: dryRun}
	for _, g := range groupSnapshots(all, policy) {
		g.Keep, g.Remove = applyPolicy(g.snaps, policy)
		res.Kept += len(g.Keep)
		res.Removed += len(g.Remove)
		res.Groups = append(res.Groups, g.ForgetGroup)
	}
	if dryRun {
		return res, nil
	}
	for _, g := range res.Groups {
		for _, d := range g.Remove {
			if err := r.removeSnapshot(ctx, d.Snapshot.ID); err != nil {
				return res, fmt.Errorf("forget: %w", err)
			}
		}
	}
	return res, nil
}

// RemoveSnapshots removes the given snapshot objects (no data; run Prune afterwards).
func (r *Repository) RemoveSnapshots(ctx context.Context, list []ID) error {
	for _, id := range list {
		if err := r.removeSnapshot(ctx, id); err != nil {
			return fmt.Errorf("forget: %w", err)
		}
	}
	return nil
}

func (r *Repository) removeSnapshot(ctx context.Context, id ID) error {
	err := r.be.Remove(ctx, backend.Handle{Type: backend.Snapshot, Name: id.String()})
	if isNotFound(err) {
		return fmt.Errorf("snapshot %s: %w", id.Short(), ErrSnapshotNotFound)
	}
	if err != nil {
		return fmt.Errorf("remove snapshot %s: %w", id.Short(), err)
	}
	return nil
}

type snapGroup struct {
	ForgetGroup
	snaps []*Snapshot
}

func groupSnapshots(all []*Snapshot, p ForgetPolicy) []*snapGroup {
	byKey := map[string]*snapGroup{}
	var out []*snapGroup
	for _, s := range all {
		if p.Name != "" && s.Name != p.Name {
			continue
		}
		var tags []string
		if p.GroupBy != "name" {
			tags = slices.Clone(s.Tags)
			sort.Strings(tags)
			tags = slices.Compact(tags)
		}
		key := s.Name + "\x00" + strings.Join(tags, "\x00")
		g := byKey[key]
		if g == nil {
			g = &snapGroup{ForgetGroup: ForgetGroup{Name: s.Name, Tags: tags}}
			byKey[key] = g
			out = append(out, g)
		}
		g.snaps = append(g.snaps, s)
	}
	sort.SliceStable(out, func(i, j int) bool {
		if out[i].Name != out[j].Name {
			return out[i].Name < out[j].Name
		}
		return strings.Join(out[i].Tags, ",") < strings.Join(out[j].Tags, ",")
	})
	return out
}

type keepRule struct {
	name   string
	count  int
	bucket func(time.Time) string
}

// applyPolicy decides, newest first, which snapshots of one group to keep.
func applyPolicy(snaps []*Snapshot, p ForgetPolicy) (keep, remove []ForgetDecision) {
	sorted := slices.Clone(snaps)
	sort.SliceStable(sorted, func(i, j int) bool {
		if !sorted[i].Time.Equal(sorted[j].Time) {
			return sorted[i].Time.After(sorted[j].Time)
		}
		return cmpID(sorted[i].ID, sorted[j].ID) > 0
	})
	seq := 0
	rules := []*keepRule{
		{"last", p.Last, func(time.Time) string { seq++; return fmt.Sprint(seq) }},
		{"hourly", p.Hourly, func(t time.Time) string { return t.Format("2006-01-02 15") }},
		{"daily", p.Daily, func(t time.Time) string { return t.Format("2006-01-02") }},
		{"weekly", p.Weekly, func(t time.Time) string { y, w := t.ISOWeek(); return fmt.Sprintf("%d-%02d", y, w) }},
		{"monthly", p.Monthly, func(t time.Time) string { return t.Format("2006-01") }},
		{"yearly", p.Yearly, func(t time.Time) string { return t.Format("2006") }},
	}
	last := make([]string, len(rules))
	for i := range last {
		last[i] = "\x00none"
	}
	keep, remove = []ForgetDecision{}, []ForgetDecision{}
	for _, s := range sorted {
		var reasons []string
		for i, rule := range rules {
			if rule.count == 0 {
				continue
			}
			b := rule.bucket(s.Time)
			if b == last[i] {
				continue
			}
			last[i] = b
			if rule.count > 0 {
				rule.count--
			}
			reasons = append(reasons, rule.name)
		}
		for _, t := range p.Tags {
			if slices.Contains(s.Tags, t) {
				reasons = append(reasons, "tag "+t)
				break
			}
		}
		if len(reasons) > 0 {
			keep = append(keep, ForgetDecision{Snapshot: s, Reasons: reasons})
		} else {
			remove = append(remove, ForgetDecision{Snapshot: s})
		}
	}
	return keep, remove
}
