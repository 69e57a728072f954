package repo

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/cairnbackup/cairn/repo/backend"
	"github.com/cairnbackup/cairn/repo/backend/local"
)

// Crash tests: a child process (this test binary, TestHelperProcess) runs a backup or a
// prune against a copy of a prepared repository and kills itself with SIGKILL at a seeded
// random backend mutation (just before or just after it), so every step of the protocol is
// interrupted in some seed. The parent then checks what the docs promise.

const (
	envHelper  = "CAIRN_LC_HELPER"
	envRepo    = "CAIRN_LC_REPO"
	envCache   = "CAIRN_LC_CACHE"
	envKillAt  = "CAIRN_LC_KILL_AT"
	envKillPre = "CAIRN_LC_KILL_BEFORE"
)

// killBackend counts Save/SaveNew/Remove calls and SIGKILLs the process at call killAt.
type killBackend struct {
	backend.Backend
	killAt int64 // 0: never
	before bool
	n      atomic.Int64
}

func (k *killBackend) mutate(fn func() error) error {
	n := k.n.Add(1)
	if n == k.killAt && k.before {
		_ = syscall.Kill(os.Getpid(), syscall.SIGKILL)
		select {}
	}
	err := fn()
	if n == k.killAt {
		_ = syscall.Kill(os.Getpid(), syscall.SIGKILL)
		select {}
	}
	return err
}

func (k *killBackend) Save(ctx context.Context, h backend.Handle, b []byte) error {
	return k.mutate(func() error { return k.Backend.Save(ctx, h, b) })
}

func (k *killBackend) SaveNew(ctx context.Context, h backend.Handle, b []byte) error {
	return k.mutate(func() error { return k.Backend.SaveNew(ctx, h, b) })
}

func (k *killBackend) Remove(ctx context.Context, h backend.Handle) error {
	return k.mutate(func() error { return k.Backend.Remove(ctx, h) })
}

// crash volumes: A is the base, B edits A and appends new data.
func crashVolA() []byte { return randomVolume(2<<20, 500) }
func crashVolB() []byte {
	return append(editVolume(crashVolA(), 501, 4), randomVolume(2<<20, 502)...)
}
func crashVolC() []byte { return randomVolume(1<<20, 503) }

var crashPrune = PruneOptions{Grace: -1, ClockSkew: -1, RepackThreshold: 0.3}

// runCrashOp runs role against dir through kb (in the child, or in-process to calibrate).
func runCrashOp(ctx context.Context, role, dir, cacheDir string, kb *killBackend) error {
	be, err := local.Open(dir)
	if err != nil {
		return err
	}
	kb.Backend = be
	r, err := OpenWith(ctx, kb, OpenOptions{Password: testPassword, CacheDir: cacheDir})
	if err != nil {
		return err
	}
	defer r.Close()
	r.life.indexFlush = 64
	switch role {
	case "backup":
		_, err = r.Backup(ctx, bytesReader(crashVolB()), BackupOptions{Name: "B"})
	case "prune":
		_, err = r.Prune(ctx, crashPrune)
	case "big-check", "big-checkdata", "big-forget", "big-prune":
		r.life.indexFlush = 0
		err = runBig(ctx, role, r)
	default:
		err = fmt.Errorf("unknown role %q", role)
	}
	return err
}

func TestHelperProcess(t *testing.T) {
	role := os.Getenv(envHelper)
	if role == "" {
		t.Skip("helper process for crash tests")
	}
	killAt, _ := strconv.ParseInt(os.Getenv(envKillAt), 10, 64)
	kb := &killBackend{killAt: killAt, before: os.Getenv(envKillPre) == "1"}
	if err := runCrashOp(context.Background(), role, os.Getenv(envRepo), os.Getenv(envCache), kb); err != nil {
		fmt.Fprintln(os.Stderr, "helper:", err)
		os.Exit(3)
	}
	os.Exit(0)
}

func copyDir(t testing.TB, src, dst string) {
	t.Helper()
	err := filepath.Walk(src, func(p string, fi os.FileInfo, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(src, p)
		target := filepath.Join(dst, rel)
		if fi.IsDir() {
			return os.MkdirAll(target, 0o700)
		}
		in, err := os.Open(p)
		if err != nil {
			return err
		}
		defer in.Close()
		out, err := os.Create(target)
		if err != nil {
			return err
		}
		if _, err := io.Copy(out, in); err != nil {
			out.Close()
			return err
		}
		return out.Close()
	})
	if err != nil {
		t.Fatal(err)
	}
}

// runChild runs role on dir in a child process killed at mutation killAt; it reports
// whether the child was killed (false: it finished).
func runChild(t *testing.T, role, dir string, killAt int64, before bool) bool {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^TestHelperProcess$")
	pre := "0"
	if before {
		pre = "1"
	}
	tmp := t.TempDir() // the child's TMPDIR: a killed run must leave nothing in it
	cmd.Env = append(os.Environ(), envHelper+"="+role, envRepo+"="+dir, envCache+"="+filepath.Join(t.TempDir(), "cache"),
		envKillAt+"="+strconv.FormatInt(killAt, 10), envKillPre+"="+pre, "TMPDIR="+tmp)
	out, err := cmd.CombinedOutput()
	if left, rerr := os.ReadDir(tmp); rerr != nil || len(left) > 0 {
		t.Errorf("helper %s (kill at %d): temporary directory not empty afterwards: %v %v", role, killAt, left, rerr)
	}
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		if ws, ok := ee.Sys().(syscall.WaitStatus); ok && ws.Signaled() && ws.Signal() == syscall.SIGKILL {
			return true
		}
	}
	if err != nil {
		t.Fatalf("helper %s: %v\n%s", role, err, out)
	}
	return false
}

// calibrate counts the mutations of role on a copy of base.
func calibrate(t *testing.T, role, base string) int64 {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "calib")
	copyDir(t, base, dir)
	kb := &killBackend{}
	if err := runCrashOp(context.Background(), role, dir, filepath.Join(t.TempDir(), "cache"), kb); err != nil {
		t.Fatal(err)
	}
	return kb.n.Load()
}

// verifyAfterCrash opens dir fresh and asserts the repository is consistent: check passes
// (running repair index only if it must), and every snapshot restores exactly.
func verifyAfterCrash(t *testing.T, dir string, want map[string][]byte) (*Repository, bool) {
	t.Helper()
	ctx := context.Background()
	r := openLC(t, dir)
	r.life.staleAfter = time.Nanosecond // the dead child's lock
	repaired := false
	rep, err := r.Check(ctx, CheckOptions{ReadData: true})
	if err != nil {
		t.Fatalf("check: %v", err)
	}
	if !rep.OK() {
		for _, p := range rep.Problems {
			t.Log(p)
		}
		if _, err := r.RepairIndex(ctx); err != nil {
			t.Fatalf("repair index: %v", err)
		}
		repaired = true
		mustCheck(t, r, CheckOptions{ReadData: true})
	}
	snaps, err := r.Snapshots(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range snaps {
		data, ok := want[s.Name]
		if !ok {
			t.Fatalf("unexpected snapshot %q", s.Name)
		}
		checkRestore(t, r, s.ID, data)
	}
	return r, repaired
}

type killPoint struct {
	at     int64
	before bool
}

// killPoints returns every mutation 1..n, killed just before and just after, in a seeded
// order; -short keeps a seeded random 6 of them.
func killPoints(n int64, seed uint64) []killPoint {
	var out []killPoint
	for at := int64(1); at <= n; at++ {
		out = append(out, killPoint{at, true}, killPoint{at, false})
	}
	rnd := rand.New(rand.NewPCG(seed, 7))
	rnd.Shuffle(len(out), func(i, j int) { out[i], out[j] = out[j], out[i] })
	if testing.Short() && len(out) > 6 {
		out = out[:6]
	}
	return out
}

func TestCrashDuringBackup(t *testing.T) {
	ctx := context.Background()
	base, _ := newLCRepo(t)
	vA, vB := crashVolA(), crashVolB()
	backupBytes(t, base, vA, "A")
	baseIdx := countObjects(t, base, backend.Index)
	n := calibrate(t, "backup", base.Location())
	// The full cost of B on top of A, for the reuse assertion.
	full := func() int64 {
		dir := filepath.Join(t.TempDir(), "full")
		copyDir(t, base.Location(), dir)
		return backupBytes(t, openLC(t, dir), vB, "B").Stats.NewBytes
	}()
	want := map[string][]byte{"A": vA, "B": vB}
	reused, flushedSeeds := 0, 0
	for _, kp := range killPoints(n, 1) {
		killAt, before := kp.at, kp.before
		t.Run(fmt.Sprintf("at%d-before%v", killAt, before), func(t *testing.T) {
			dir := filepath.Join(t.TempDir(), "repo")
			copyDir(t, base.Location(), dir)
			killed := runChild(t, "backup", dir, killAt, before)
			r, repaired := verifyAfterCrash(t, dir, want)
			if repaired {
				t.Errorf("check needed repair index after a killed backup")
			}
			flushed := countObjects(t, r, backend.Index) > baseIdx
			hasB := false
			if all, _ := r.Snapshots(ctx); len(all) == 2 {
				hasB = true
			}
			if !killed && !hasB {
				t.Fatal("child finished but recorded no snapshot")
			}
			// Re-run the interrupted backup.
			s := backupBytes(t, r, vB, "B")
			checkRestore(t, r, s.ID, vB)
			if flushed && !hasB {
				flushedSeeds++
				if s.Stats.NewBytes < full {
					reused++
				}
			}
			// Prune removes what the dead backup left (its lock is stale to this handle).
			r.life.staleAfter = time.Nanosecond
			mustPrune(t, r, noGrace)
			rep := mustCheck(t, r, CheckOptions{ReadData: true})
			if rep.UnindexedPacks != 0 {
				t.Fatalf("%d unindexed packs after prune", rep.UnindexedPacks)
			}
			checkRestore(t, r, s.ID, vB)
		})
	}
	t.Logf("%d mutations per backup; %d seeds killed after an index flush, %d of them reused packs on re-run", n, flushedSeeds, reused)
	if flushedSeeds > 0 && reused == 0 {
		t.Fatal("no re-run reused the packs of an interrupted backup")
	}
}

func TestCrashDuringPrune(t *testing.T) {
	ctx := context.Background()
	base, _ := newLCRepo(t)
	base.life.indexFlush = 64 // index objects that mix packs, so the sweep rewrites some
	// M = X‖Y, B ≈ Y, C unrelated: forgetting M and C leaves unused packs, packs with
	// some unused blobs (repacked), and index objects naming both kinds.
	x, y := randomVolume(3<<20, 600), randomVolume(2<<20+12345, 601)
	vB := editVolume(y, 602, 2)
	sM := backupBytes(t, base, append(append([]byte{}, x...), y...), "M")
	backupBytes(t, base, vB, "B")
	sC := backupBytes(t, base, crashVolC(), "C")
	if err := base.RemoveSnapshots(ctx, []ID{sM.ID, sC.ID}); err != nil {
		t.Fatal(err)
	}
	// An interrupted backup's unindexed pack.
	w := base.newBlobWriter()
	if err := w.addPlain(ctx, 0, ID(base.key.NewChunkHasher().Sum([]byte("orphan"))), []byte("orphan")); err != nil {
		t.Fatal(err)
	}
	if err := w.flushPack(ctx); err != nil {
		t.Fatal(err)
	}
	n := calibrate(t, "prune", base.Location())
	want := map[string][]byte{"B": vB}
	repairs := 0
	for _, kp := range killPoints(n, 2) {
		killAt, before := kp.at, kp.before
		t.Run(fmt.Sprintf("at%d-before%v", killAt, before), func(t *testing.T) {
			dir := filepath.Join(t.TempDir(), "repo")
			copyDir(t, base.Location(), dir)
			runChild(t, "prune", dir, killAt, before)
			r, repaired := verifyAfterCrash(t, dir, want)
			if repaired {
				repairs++
			}
			// The next prune finishes the job.
			r.life.staleAfter = time.Nanosecond
			res := mustPrune(t, r, crashPrune)
			if res.PendingRecords != 0 {
				t.Fatalf("records left after a full prune: %+v", res)
			}
			if res := mustPrune(t, r, crashPrune); res.MarkedPacks != 0 || res.DeletedPacks != 0 {
				t.Fatalf("a third prune still found work: %+v", res)
			}
			rep := mustCheck(t, r, CheckOptions{ReadData: true})
			if rep.UnindexedPacks != 0 || rep.Infos != 0 {
				t.Fatalf("leftovers after prune: %+v", rep.Problems)
			}
			if n := countObjects(t, r, backend.Lock); n != 0 {
				t.Fatalf("%d objects left under locks/", n)
			}
			verifyAfterCrash(t, dir, want)
		})
	}
	t.Logf("%d mutations per prune; %d seeds needed repair index", n, repairs)
	if repairs > 0 {
		t.Errorf("a killed prune needed repair index in %d seeds", repairs)
	}
}
