package main

import (
	"context"
	"errors"
	"slices"
	"strings"
	"testing"
)

// recorder is a Runner that records commands and answers from canned output.
type recorder struct {
	run, helper []Cmd
	out         map[string][]byte // by first argument after the binary + second
	err         error
}

func (r *recorder) Run(_ context.Context, c Cmd) ([]byte, error) {
	r.run = append(r.run, c)
	return r.out[key(c)], r.err
}

func (r *recorder) Helper(_ context.Context, c Cmd) ([]byte, error) {
	r.helper = append(r.helper, c)
	return r.out[key(c)], nil
}

func key(c Cmd) string {
	if len(c.Args) < 3 {
		return strings.Join(c.Args[1:], " ")
	}
	return c.Args[1] + " " + c.Args[2]
}

func args(cs []Cmd) []string {
	var out []string
	for _, c := range cs {
		out = append(out, strings.Join(c.Args, " "))
	}
	return out
}

func TestToolCommands(t *testing.T) {
	ws := newWorkspace("/w")
	kcfg := " --config-file=/w/config/kopia.config --log-dir=/w/logs"
	kopiaList := []byte(`[{"id":"new","startTime":"2025-01-01T00:00:02.1Z"},{"id":"old","startTime":"2025-01-01T00:00:01.95Z"}]`)
	tests := []struct {
		tool    Tool
		phase   func(Tool, Runner) error
		want    []string
		helpers []string
	}{
		{&cairnTool{bin: "cairn"}, func(t Tool, r Runner) error { return t.Init(context.Background(), r, ws) }, []string{"cairn init"}, nil},
		{&cairnTool{bin: "cairn"}, func(t Tool, r Runner) error { return t.Backup(context.Background(), r, ws) }, []string{"cairn backup --name vol /w/src/vol.img"}, nil},
		{&cairnTool{bin: "cairn"}, func(t Tool, r Runner) error { return t.Restore(context.Background(), r, ws) }, []string{"cairn restore latest /w/restore/vol.img"}, nil},
		{&cairnTool{bin: "cairn"}, func(t Tool, r Runner) error { return t.Snapshots(context.Background(), r, ws) }, []string{"cairn snapshots --json"}, nil},
		{&cairnTool{bin: "cairn"}, func(t Tool, r Runner) error { return t.Check(context.Background(), r, ws) }, []string{"cairn check"}, nil},
		{&resticTool{bin: "restic"}, func(t Tool, r Runner) error { return t.Init(context.Background(), r, ws) }, []string{"restic init --repository-version 2"}, nil},
		{&resticTool{bin: "restic"}, func(t Tool, r Runner) error { return t.Backup(context.Background(), r, ws) }, []string{"restic backup --no-scan --host bench /w/src/vol.img"}, nil},
		{&resticTool{bin: "restic"}, func(t Tool, r Runner) error { return t.Restore(context.Background(), r, ws) }, []string{"restic restore latest:/w/src --target /w/restore"}, nil},
		{&resticTool{bin: "restic"}, func(t Tool, r Runner) error { return t.Check(context.Background(), r, ws) }, []string{"restic check"}, nil},
		{&resticTool{bin: "restic"}, func(t Tool, r Runner) error { return t.Prune(context.Background(), r, ws) }, []string{"restic forget --keep-last 1 --prune"}, nil},
		{&kopiaTool{bin: "kopia"}, func(t Tool, r Runner) error { return t.Init(context.Background(), r, ws) }, []string{
			"kopia repository create filesystem --path=/w/repo --cache-directory=/w/cache --object-splitter=DYNAMIC-512K-BUZHASH" + kcfg,
			"kopia policy set --global --compression=zstd-fastest" + kcfg}, nil},
		{&kopiaTool{bin: "kopia"}, func(t Tool, r Runner) error { return t.Backup(context.Background(), r, ws) }, []string{"kopia snapshot create /w/src/vol.img" + kcfg}, nil},
		{&kopiaTool{bin: "kopia"}, func(t Tool, r Runner) error { return t.Restore(context.Background(), r, ws) }, []string{"kopia restore /w/src/vol.img /w/restore/vol.img --snapshot-time=latest" + kcfg}, nil},
		{&kopiaTool{bin: "kopia"}, func(t Tool, r Runner) error { return t.Check(context.Background(), r, ws) }, []string{"kopia snapshot verify" + kcfg}, nil},
		{&kopiaTool{bin: "kopia"}, func(t Tool, r Runner) error { return t.Prune(context.Background(), r, ws) }, []string{
			"kopia snapshot delete old --delete" + kcfg, "kopia maintenance run --full --safety=none" + kcfg},
			[]string{"kopia snapshot list --json /w/src/vol.img" + kcfg}},
	}
	for _, tt := range tests {
		t.Run(tt.tool.Name()+" "+strings.Join(tt.want, ";"), func(t *testing.T) {
			r := &recorder{out: map[string][]byte{"snapshot list": kopiaList}}
			if err := tt.phase(tt.tool, r); err != nil {
				t.Fatal(err)
			}
			if got := args(r.run); !slices.Equal(got, tt.want) {
				t.Errorf("commands\n got %q\nwant %q", got, tt.want)
			}
			if got := args(r.helper); !slices.Equal(got, tt.helpers) {
				t.Errorf("helpers\n got %q\nwant %q", got, tt.helpers)
			}
		})
	}
}

func TestToolEnv(t *testing.T) {
	ws := newWorkspace("/w")
	profiled := newWorkspace("/w")
	profiled.ProfileDir = "/p/in/round0/backup-full"
	tests := []struct {
		tool Tool
		ws   *Workspace
		want []string
	}{
		{&cairnTool{kdf: "test"}, ws, []string{"CAIRN_REPO=/w/repo", "CAIRN_PASSWORD=bench-password", "CAIRN_CACHE_DIR=/w/cache", "CAIRN_KDF=test"}},
		{&cairnTool{}, ws, []string{"CAIRN_REPO=/w/repo", "CAIRN_PASSWORD=bench-password", "CAIRN_CACHE_DIR=/w/cache"}},
		{&cairnTool{}, profiled, []string{"CAIRN_REPO=/w/repo", "CAIRN_PASSWORD=bench-password", "CAIRN_CACHE_DIR=/w/cache", "CAIRN_PROFILE_DIR=/p/in/round0/backup-full"}},
		{&resticTool{}, ws, []string{"RESTIC_REPOSITORY=/w/repo", "RESTIC_PASSWORD=bench-password", "RESTIC_CACHE_DIR=/w/cache", "RESTIC_COMPRESSION=auto", "RESTIC_PROGRESS_FPS=1"}},
		{&resticTool{}, profiled, []string{"RESTIC_REPOSITORY=/w/repo", "RESTIC_PASSWORD=bench-password", "RESTIC_CACHE_DIR=/w/cache", "RESTIC_COMPRESSION=auto", "RESTIC_PROGRESS_FPS=1"}},
		{&kopiaTool{}, ws, []string{"KOPIA_PASSWORD=bench-password", "KOPIA_CHECK_FOR_UPDATES=false"}},
	}
	for _, tt := range tests {
		if got := tt.tool.Env(tt.ws); !slices.Equal(got, tt.want) {
			t.Errorf("%s env %q, want %q", tt.tool.Name(), got, tt.want)
		}
	}
}

func TestUnsupported(t *testing.T) {
	tests := []struct {
		err  error
		want bool
	}{
		{&CmdError{Code: 2, Stderr: "cairn: usage"}, true},
		{&CmdError{Code: 1, Stderr: `Error: unknown command "check" for "cairn"`}, true},
		{&CmdError{Code: 1, Stderr: "unknown flag: --keep-last"}, true},
		{&CmdError{Code: 6, Stderr: "repository data is corrupt"}, false},
		{errors.New("exec: not found"), false},
		{nil, false},
	}
	for _, tt := range tests {
		got := unsupported(tt.err)
		if errors.Is(got, ErrUnsupported) != tt.want {
			t.Errorf("unsupported(%v) = %v, want unsupported=%v", tt.err, got, tt.want)
		}
		if tt.err != nil && !errors.Is(got, tt.err) {
			t.Errorf("unsupported(%v) lost the cause", tt.err)
		}
	}
	r := &recorder{err: &CmdError{Code: 2}}
	if err := (&cairnTool{bin: "cairn"}).Prune(context.Background(), r, newWorkspace("/w")); !errors.Is(err, ErrUnsupported) {
		t.Errorf("cairn prune with exit 2: %v", err)
	}
}

func TestKopiaOldSnapshots(t *testing.T) {
	tests := []struct {
		in   string
		want []string
		bad  bool
	}{
		{in: `[]`},
		{in: `[{"id":"a","startTime":"2025-01-01T00:00:00Z"}]`},
		{in: `[{"id":"b","startTime":"2025-01-01T00:00:02Z"},{"id":"a","startTime":"2025-01-01T00:00:01.5Z"},{"id":"c","startTime":"2025-01-01T00:00:03Z"}]`, want: []string{"a", "b"}},
		{in: `{`, bad: true},
	}
	for _, tt := range tests {
		got, err := kopiaOldSnapshots([]byte(tt.in))
		if (err != nil) != tt.bad || !slices.Equal(got, tt.want) {
			t.Errorf("kopiaOldSnapshots(%s) = %v, %v; want %v", tt.in, got, err, tt.want)
		}
	}
}

func TestNewTool(t *testing.T) {
	for _, n := range []string{"cairn", "kopia", "restic"} {
		tl, err := newTool(n, "/bin/"+n, toolConfig{})
		if err != nil || tl.Name() != n {
			t.Errorf("newTool(%s) = %v, %v", n, tl, err)
		}
	}
	if _, err := newTool("borg", "", toolConfig{}); err == nil {
		t.Error("newTool(borg) accepted")
	}
}
