package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

func TestExecRunner(t *testing.T) {
	sh, err := exec.LookPath("sh")
	if err != nil {
		t.Skip(err)
	}
	ctx := context.Background()
	r := &execRunner{env: []string{"A=1"}}
	out, err := r.Run(ctx, Cmd{Args: []string{sh, "-c", `echo "$A$B"`}, Env: []string{"B=2"}})
	if err != nil || string(out) != "12\n" {
		t.Fatalf("Run = %q, %v", out, err)
	}
	if r.m.Cmds != 1 || r.m.MaxRSS <= 0 || r.m.Wall <= 0 {
		t.Errorf("measure %+v", r.m)
	}
	if _, err := r.Helper(ctx, Cmd{Args: []string{sh, "-c", "true"}}); err != nil || r.m.Cmds != 1 {
		t.Errorf("helper was measured (%d cmds) or failed: %v", r.m.Cmds, err)
	}
	_, err = r.Run(ctx, Cmd{Args: []string{sh, "-c", "echo boom >&2; exit 3"}})
	var ce *CmdError
	if !errors.As(err, &ce) || ce.Code != 3 || ce.Stderr != "boom" {
		t.Errorf("failing command: %v", err)
	}
	dir := t.TempDir()
	in, outp := filepath.Join(dir, "in"), filepath.Join(dir, "out")
	if err := os.WriteFile(in, []byte("data"), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := r.Run(ctx, Cmd{Args: []string{sh, "-c", "cat"}, Stdin: in, Stdout: outp}); err != nil {
		t.Fatal(err)
	}
	if b, _ := os.ReadFile(outp); string(b) != "data" {
		t.Errorf("redirected stdout %q", b)
	}
	if _, err := r.Run(ctx, Cmd{}); err == nil {
		t.Error("empty command accepted")
	}
}

func TestScrubEnv(t *testing.T) {
	got := scrubEnv([]string{"PATH=/bin", "CAIRN_REPO=x", "RESTIC_PASSWORD=y", "KOPIA_PASSWORD=z", "GOMAXPROCS=1", "HOME=/h"})
	if want := []string{"PATH=/bin", "HOME=/h"}; !slices.Equal(got, want) {
		t.Errorf("scrubEnv = %q, want %q", got, want)
	}
}

func TestRoundOrder(t *testing.T) {
	tools := []string{"a", "b", "c"}
	seen := map[string][]int{}
	for r := range 3 {
		for pos, tl := range roundOrder(tools, r) {
			seen[tl] = append(seen[tl], pos)
		}
	}
	for _, tl := range tools {
		p := slices.Sorted(slices.Values(seen[tl]))
		if !slices.Equal(p, []int{0, 1, 2}) {
			t.Errorf("%s positions %v, want each once", tl, seen[tl])
		}
	}
}

// fakeTool stores whole images as files in the repository, in Go; it runs one trivial
// measured command per phase so the measurement path is exercised.
type fakeTool struct {
	sh          string
	corrupt     bool
	noCheck     bool
	failBackups int // the n-th backup (1-based) fails
	backups     int
	profileDirs []string // ws.ProfileDir of every phase, in order
}

func (f *fakeTool) Name() string                                       { return "cairn" }
func (f *fakeTool) Env(*Workspace) []string                            { return nil }
func (f *fakeTool) Version(context.Context, Runner, *Workspace) string { return "fake" }

func (f *fakeTool) touch(ctx context.Context, r Runner, ws *Workspace) error {
	f.profileDirs = append(f.profileDirs, ws.ProfileDir)
	_, err := r.Run(ctx, Cmd{Args: []string{f.sh, "-c", "true"}})
	return err
}

func (f *fakeTool) Init(ctx context.Context, r Runner, ws *Workspace) error {
	if err := os.MkdirAll(ws.Repo, 0o755); err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(ws.Repo, "config"), []byte("cfg"), 0o644); err != nil {
		return err
	}
	return f.touch(ctx, r, ws)
}

func (f *fakeTool) Backup(ctx context.Context, r Runner, ws *Workspace) error {
	f.backups++
	if f.backups == f.failBackups {
		return errors.New("backup exploded")
	}
	if err := copyFile(ws.Source, filepath.Join(ws.Repo, fmt.Sprintf("snap%d", f.backups))); err != nil {
		return err
	}
	return f.touch(ctx, r, ws)
}

func (f *fakeTool) Snapshots(ctx context.Context, r Runner, ws *Workspace) error {
	return f.touch(ctx, r, ws)
}

func (f *fakeTool) Restore(ctx context.Context, r Runner, ws *Workspace) error {
	if err := copyFile(filepath.Join(ws.Repo, fmt.Sprintf("snap%d", f.backups)), ws.Restore); err != nil {
		return err
	}
	if f.corrupt {
		fh, err := os.OpenFile(ws.Restore, os.O_WRONLY, 0)
		if err != nil {
			return err
		}
		_, err = fh.WriteAt([]byte{0xff}, 100)
		fh.Close()
		if err != nil {
			return err
		}
	}
	return f.touch(ctx, r, ws)
}

func (f *fakeTool) Check(ctx context.Context, r Runner, ws *Workspace) error {
	if f.noCheck {
		return unsupported(&CmdError{Code: 2, Stderr: "unknown command"})
	}
	return f.touch(ctx, r, ws)
}

func (f *fakeTool) Prune(ctx context.Context, r Runner, ws *Workspace) error {
	if err := os.Remove(filepath.Join(ws.Repo, "snap1")); err != nil {
		return err
	}
	return f.touch(ctx, r, ws)
}

func TestHarnessRunTool(t *testing.T) {
	sh, err := exec.LookPath("sh")
	if err != nil {
		t.Skip(err)
	}
	ctx := context.Background()
	work := t.TempDir()
	in, err := prepareInput(ctx, work, inputSpec{kind: KindMixed, size: 2 << 20, seed: 1, pct: 5, maxRun: 16})
	if err != nil {
		t.Fatal(err)
	}
	type want struct {
		statuses []string // one per phase, in order, for the phases that produced a result
		errHas   string
	}
	ok7 := []string{"ok", "ok", "ok", "ok", "ok", "ok", "ok"}
	tests := []struct {
		name    string
		tool    *fakeTool
		profile bool // --cairn-profile
		want    want
	}{
		{"all ok", &fakeTool{sh: sh}, false, want{statuses: ok7}},
		{"profiled", &fakeTool{sh: sh}, true, want{statuses: ok7}},
		{"corrupt restore", &fakeTool{sh: sh, corrupt: true}, false, want{statuses: []string{"ok", "ok", "ok", "ok", "failed"}, errHas: ErrRestoreMismatch.Error()}},
		{"no check", &fakeTool{sh: sh, noCheck: true}, false, want{statuses: []string{"ok", "ok", "ok", "ok", "ok", "skipped", "ok"}}},
		{"incr fails", &fakeTool{sh: sh, failBackups: 2}, false, want{statuses: []string{"ok", "ok", "failed"}, errHas: "backup exploded"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := &harness{workdir: work, rounds: 1, cold: true, tools: []Tool{tt.tool}, baseEnv: os.Environ()}
			if tt.profile {
				h.profileDir = filepath.Join(work, "profiles")
			}
			rs, err := h.run(ctx, []*Input{in})
			if err != nil {
				t.Fatal(err)
			}
			// Every phase that ran to the end touched the tool once.
			var wantDirs []string
			for _, r := range rs {
				if r.Status != StatusOK {
					continue
				}
				dir := ""
				if tt.profile {
					dir = filepath.Join(work, "profiles", in.Name, "round0", string(r.Phase))
				}
				wantDirs = append(wantDirs, dir)
			}
			if tt.want.statuses[len(tt.want.statuses)-1] == "ok" && !slices.Equal(tt.tool.profileDirs, wantDirs) {
				t.Errorf("profile directories %q, want %q", tt.tool.profileDirs, wantDirs)
			}
			var st []string
			phases := slices.DeleteFunc(slices.Clone(Phases), func(p Phase) bool { return p == PhaseRestoreDegraded })
			for i, r := range rs {
				st = append(st, r.Status)
				if r.Phase != phases[i] {
					t.Errorf("result %d is phase %s, want %s", i, r.Phase, phases[i])
				}
				if r.Status == StatusFailed && !strings.Contains(r.Error, tt.want.errHas) {
					t.Errorf("%s error %q lacks %q", r.Phase, r.Error, tt.want.errHas)
				}
			}
			if !slices.Equal(st, tt.want.statuses) {
				t.Fatalf("statuses %v, want %v", st, tt.want.statuses)
			}
			if tt.name != "all ok" && tt.name != "profiled" {
				return
			}
			byPhase := map[Phase]Result{}
			for _, r := range rs {
				byPhase[r.Phase] = r
			}
			if r := byPhase[PhaseFull]; r.Objects != 1 || r.RepoBytes != in.Size+3 || r.Commands != 1 || r.SourceBytes != in.Size {
				t.Errorf("full backup result %+v", r)
			}
			if r := byPhase[PhaseIncr]; r.Objects != 1 || r.RepoBytes != 2*in.Size+3 || r.RepoFiles != 3 {
				t.Errorf("incremental result %+v", r)
			}
			if r := byPhase[PhasePrune]; r.Objects != 0 || r.RepoBytes != in.Size+3 {
				t.Errorf("prune result %+v", r)
			}
			for _, r := range rs { // cold runs end every phase with a measured sync(2)
				if r.SyncSec <= 0 || r.WallSec <= r.SyncSec {
					t.Errorf("%s: sync %gs not a positive part of wall %gs", r.Phase, r.SyncSec, r.WallSec)
				}
			}
			if _, err := os.Stat(filepath.Join(work, "runs")); err == nil {
				entries, _ := os.ReadDir(filepath.Join(work, "runs", in.Name))
				if len(entries) != 0 {
					t.Errorf("workspace left behind without --keep: %v", entries)
				}
			}
		})
	}
}

func TestPrepareInputReuses(t *testing.T) {
	ctx := context.Background()
	work := t.TempDir()
	spec := inputSpec{kind: KindRandom, size: 1 << 20, seed: 2, pct: 10, maxRun: 4}
	a, err := prepareInput(ctx, work, spec)
	if err != nil {
		t.Fatal(err)
	}
	if a.SHA1 == a.SHA2 || a.Changed == 0 || a.Size != 1<<20 || a.Name != "random-1MiB" {
		t.Errorf("input %+v", a)
	}
	st, _ := os.Stat(a.Gen1)
	b, err := prepareInput(ctx, work, spec)
	if err != nil {
		t.Fatal(err)
	}
	st2, _ := os.Stat(b.Gen1)
	if !os.SameFile(st, st2) || !st.ModTime().Equal(st2.ModTime()) || b.SHA2 != a.SHA2 {
		t.Error("input was regenerated instead of reused")
	}
	img := filepath.Join(work, "vol.raw")
	if err := os.WriteFile(img, make([]byte, 1<<20), 0o644); err != nil {
		t.Fatal(err)
	}
	c, err := prepareInput(ctx, work, inputSpec{image: img, seed: 1, pct: 5, maxRun: 8})
	if err != nil {
		t.Fatal(err)
	}
	if c.Kind != "image" || c.SHA1 == c.SHA2 || c.Name != "image-vol.raw" {
		t.Errorf("image input %+v", c)
	}
}

func TestParseFlags(t *testing.T) {
	var sink strings.Builder
	o, err := parseFlags(nil, &sink)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(o.sizes, []int64{256 << 20}) || o.rounds != 3 || !slices.Equal(o.tools, []string{"cairn", "kopia", "restic"}) || !slices.Equal(o.gens, listFlag{"mixed"}) {
		t.Errorf("defaults %+v", o)
	}
	o, err = parseFlags([]string{"--short"}, &sink)
	if err != nil || !slices.Equal(o.sizes, []int64{32 << 20}) || o.rounds != 1 {
		t.Errorf("--short: %+v, %v", o, err)
	}
	o, err = parseFlags([]string{"--short", "--size", "8GiB", "--gen", "ext4", "--gen", "sparse", "--tools", "kopia, restic"}, &sink)
	if err != nil || !slices.Equal(o.sizes, []int64{8 << 30}) || o.rounds != 1 || !slices.Equal(o.gens, listFlag{"ext4", "sparse"}) || !slices.Equal(o.tools, []string{"kopia", "restic"}) {
		t.Errorf("explicit: %+v, %v", o, err)
	}
	if len(o.specs()) != 2 {
		t.Errorf("specs %v", o.specs())
	}
	o, err = parseFlags([]string{"--size", "256MiB, 1GiB,256MiB", "--gen", "mixed", "--gen", "sparse"}, &sink)
	if err != nil || !slices.Equal(o.sizes, []int64{256 << 20, 1 << 30}) || len(o.specs()) != 4 {
		t.Errorf("size sweep: %+v, %v", o, err)
	}
	o, err = parseFlags([]string{"--backend", "minio", "--zones-down", "2", "--minio", "/x/minio"}, &sink)
	if err != nil || o.backend != BackendMinio || o.zonesDown != 2 || o.minioBin != "/x/minio" {
		t.Errorf("minio backend: %+v, %v", o, err)
	}
	for _, bad := range [][]string{
		{"--gen", "nope"}, {"--size", "12XB"}, {"--size", "1k"}, {"--size", "1GiB,"}, {"--rounds", "0"}, {"--tools", "borg"},
		{"--backend", "s3"}, {"--mutate", "101"}, {"extra"},
		{"--zones-down", "1"}, {"--backend", "minio", "--zones-down", "3"}, {"--backend", "minio", "--zones-down", "-1"},
	} {
		if _, err := parseFlags(bad, &sink); err == nil {
			t.Errorf("parseFlags(%q) accepted", bad)
		}
	}
}
