package repo

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/cairnbackup/cairn/repo/backend"
)

func snapAt(ts string, tags ...string) *Snapshot {
	t, err := time.Parse("2006-01-02 15:04", ts)
	if err != nil {
		panic(err)
	}
	var id ID
	copy(id[:], ts)
	return &Snapshot{ID: id, Time: t, Name: "v", Tags: tags}
}

func keptTimes(keep []ForgetDecision) []string {
	var out []string
	for _, d := range keep {
		out = append(out, d.Snapshot.Time.Format("2006-01-02 15:04"))
	}
	return out
}

func TestApplyPolicy(t *testing.T) {
	snaps := []*Snapshot{
		snapAt("2026-01-01 10:00"), snapAt("2026-01-01 11:00"), snapAt("2026-01-01 11:30"),
		snapAt("2026-01-02 09:00"), snapAt("2026-01-09 09:00", "keep"), snapAt("2026-02-01 09:00"),
		snapAt("2026-02-15 09:00"), snapAt("2027-03-01 09:00"),
	}
	cases := []struct {
		name string
		p    ForgetPolicy
		want []string
	}{
		{"last 2", ForgetPolicy{Last: 2}, []string{"2027-03-01 09:00", "2026-02-15 09:00"}},
		{"hourly 3", ForgetPolicy{Hourly: 3}, []string{"2027-03-01 09:00", "2026-02-15 09:00", "2026-02-01 09:00"}},
		{"daily 5", ForgetPolicy{Daily: 5}, []string{"2027-03-01 09:00", "2026-02-15 09:00", "2026-02-01 09:00", "2026-01-09 09:00", "2026-01-02 09:00"}},
		{"daily keeps newest of the day", ForgetPolicy{Daily: -1}, []string{"2027-03-01 09:00", "2026-02-15 09:00", "2026-02-01 09:00", "2026-01-09 09:00", "2026-01-02 09:00", "2026-01-01 11:30"}},
		{"weekly 3", ForgetPolicy{Weekly: 3}, []string{"2027-03-01 09:00", "2026-02-15 09:00", "2026-02-01 09:00"}},
		{"monthly 3", ForgetPolicy{Monthly: 3}, []string{"2027-03-01 09:00", "2026-02-15 09:00", "2026-01-09 09:00"}},
		{"yearly unlimited", ForgetPolicy{Yearly: -1}, []string{"2027-03-01 09:00", "2026-02-15 09:00"}},
		{"tag", ForgetPolicy{Tags: []string{"keep"}}, []string{"2026-01-09 09:00"}},
		{"last 1 + tag", ForgetPolicy{Last: 1, Tags: []string{"keep"}}, []string{"2027-03-01 09:00", "2026-01-09 09:00"}},
		{"hourly within a day", ForgetPolicy{Hourly: 10}, []string{"2027-03-01 09:00", "2026-02-15 09:00", "2026-02-01 09:00", "2026-01-09 09:00", "2026-01-02 09:00", "2026-01-01 11:30", "2026-01-01 10:00"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			keep, remove := applyPolicy(snaps, tc.p)
			if got := keptTimes(keep); !slices.Equal(got, tc.want) {
				t.Fatalf("kept %v, want %v", got, tc.want)
			}
			if len(keep)+len(remove) != len(snaps) {
				t.Fatalf("%d kept + %d removed != %d", len(keep), len(remove), len(snaps))
			}
		})
	}
}

func TestGroupSnapshots(t *testing.T) {
	a, b, c := snapAt("2026-01-01 10:00", "x"), snapAt("2026-01-01 11:00"), snapAt("2026-01-01 12:00", "x")
	b.Name = "w"
	d := snapAt("2026-01-01 13:00", "y", "x")
	for _, tc := range []struct {
		by   string
		want int
	}{{"", 3}, {"name,tags", 3}, {"name", 2}} {
		if g := groupSnapshots([]*Snapshot{a, b, c, d}, ForgetPolicy{GroupBy: tc.by}); len(g) != tc.want {
			t.Errorf("group by %q: %d groups, want %d", tc.by, len(g), tc.want)
		}
	}
}

func TestForget(t *testing.T) {
	ctx := context.Background()
	r, _ := newLCRepo(t)
	base := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	for i := range 5 {
		data := randomVolume(50<<10, uint64(i))
		if _, err := r.Backup(ctx, bytesReader(data), BackupOptions{Name: fmt.Sprint("v", i%2), Time: base.Add(time.Duration(i) * time.Hour)}); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := r.Forget(ctx, ForgetPolicy{}, false); !errors.Is(err, ErrEmptyPolicy) {
		t.Fatalf("empty policy: %v", err)
	}
	if _, err := r.Forget(ctx, ForgetPolicy{Last: 1, GroupBy: "host"}, false); err == nil {
		t.Fatal("bad grouping accepted")
	}
	packs := countObjects(t, r, backend.Pack)
	res, err := r.Forget(ctx, ForgetPolicy{Last: 1}, true)
	if err != nil || res.Removed != 3 || res.Kept != 2 || len(res.Groups) != 2 {
		t.Fatalf("dry run: %+v %v", res, err)
	}
	if all, _ := r.Snapshots(ctx); len(all) != 5 {
		t.Fatal("dry run removed snapshots")
	}
	res, err = r.Forget(ctx, ForgetPolicy{Last: 1, Name: "v0"}, false)
	if err != nil || res.Removed != 2 || res.Kept != 1 {
		t.Fatalf("forget: %+v %v", res, err)
	}
	all, _ := r.Snapshots(ctx)
	if len(all) != 3 {
		t.Fatalf("%d snapshots left, want 3", len(all))
	}
	if countObjects(t, r, backend.Pack) != packs {
		t.Fatal("forget touched data")
	}
	if err := r.RemoveSnapshots(ctx, []ID{all[0].ID}); err != nil {
		t.Fatal(err)
	}
	if err := r.RemoveSnapshots(ctx, []ID{all[0].ID}); !errors.Is(err, ErrSnapshotNotFound) {
		t.Fatalf("removing twice: %v", err)
	}
}
