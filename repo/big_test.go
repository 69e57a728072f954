package repo

import (
	"context"
	"encoding/binary"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/cairnbackup/cairn/index"
	"github.com/cairnbackup/cairn/repo/backend"
)

// TestBigRepository builds a synthetic repository of over a million blobs and measures
// prune and check in child processes (time and peak RSS). It is slow: run it with
//
//	CAIRN_BIG=1 go test -run TestBigRepository -v ./repo/
func TestBigRepository(t *testing.T) {
	if os.Getenv("CAIRN_BIG") == "" {
		t.Skip("set CAIRN_BIG=1 to run the million-blob test")
	}
	ctx := context.Background()
	const blobs, snaps, per = 1_000_000, 10, 150_000
	r, dir := newLCRepo(t)
	r.life.indexFlush = 0 // the engine's default (65,536 entries per index object)
	start := time.Now()
	h := r.key.NewChunkHasher()
	idOf := make([]ID, blobs)
	w := r.newBlobWriter()
	buf := make([]byte, 64)
	for i := range blobs {
		binary.LittleEndian.PutUint64(buf, uint64(i))
		binary.LittleEndian.PutUint64(buf[8:], uint64(i)*0x9E3779B97F4A7C15)
		idOf[i] = h.Sum(buf)
		if err := w.add(ctx, index.DataBlob, idOf[i], len(buf), false, buf); err != nil {
			t.Fatal(err)
		}
	}
	// Snapshot k references blobs [k*100k, k*100k+150k): neighbours overlap.
	for k := range snaps {
		var lb listBuilder
		s := &Snapshot{Version: FormatVersion, Time: start.Add(time.Duration(k) * time.Minute), Hostname: "big", Name: "big", Lists: []ID{}}
		emit := func() error {
			pt := lb.take()
			id := ID(h.Sum(pt))
			s.Lists = append(s.Lists, id)
			return w.addPlain(ctx, index.ListBlob, id, pt)
		}
		for i := k * 100_000; i < min(blobs, k*100_000+per); i++ {
			s.Size += int64(len(buf))
			if lb.add(Extent{Length: int64(len(buf)), Blob: idOf[i]}) {
				if err := emit(); err != nil {
					t.Fatal(err)
				}
			}
		}
		if lb.records > 0 {
			if err := emit(); err != nil {
				t.Fatal(err)
			}
		}
		if err := w.finish(ctx); err != nil {
			t.Fatal(err)
		}
		payload, _ := marshalSnapshot(s)
		if _, err := r.saveObject(ctx, backend.Snapshot, typeSnapshot, payload); err != nil {
			t.Fatal(err)
		}
	}
	idOf = nil
	t.Logf("built %d blobs in %d packs, %d index objects, %.0f MiB, in %s", blobs, w.packs, len(w.indexes),
		float64(dirSize(t, dir))/(1<<20), time.Since(start).Round(time.Millisecond))

	for _, role := range []string{"big-check", "big-forget", "big-prune", "big-check", "big-checkdata"} {
		cmd := exec.Command(os.Args[0], "-test.run=^TestHelperProcess$")
		cmd.Env = append(os.Environ(), envHelper+"="+role, envRepo+"="+dir, envCache+"="+filepath.Join(t.TempDir(), "cache"))
		out, err := cmd.CombinedOutput()
		if err != nil {
			t.Fatalf("%s: %v\n%s", role, err, out)
		}
		for _, line := range strings.Split(string(out), "\n") {
			if strings.HasPrefix(line, "BIG ") {
				t.Log(line)
			}
		}
	}
}

// runBig runs one measured step of TestBigRepository in the child.
func runBig(ctx context.Context, role string, r *Repository) error {
	start := time.Now()
	var summary string
	switch role {
	case "big-check", "big-checkdata":
		rep, err := r.Check(ctx, CheckOptions{ReadData: role == "big-checkdata"})
		if err != nil {
			return err
		}
		if !rep.OK() {
			return fmt.Errorf("check: %d errors: %v", rep.Errors, rep.Problems[:min(5, len(rep.Problems))])
		}
		summary = fmt.Sprintf("indexed blobs %d, refs %d, packs %d, blobs read %d", rep.IndexedBlobs, rep.BlobRefs, rep.StoredPacks, rep.BlobsRead)
	case "big-forget":
		res, err := r.Forget(ctx, ForgetPolicy{Last: 5}, false)
		if err != nil {
			return err
		}
		summary = fmt.Sprintf("removed %d snapshots", res.Removed)
	case "big-prune":
		res, err := r.Prune(ctx, PruneOptions{Grace: -1, ClockSkew: -1})
		if err != nil {
			return err
		}
		summary = fmt.Sprintf("used blobs %d, packs %d, repacked %d (%d blobs), deleted %d packs / %.1f MiB, indexes written %d",
			res.UsedBlobs, res.Packs, res.RepackPacks, res.RepackedBlobs, res.DeletedPacks, float64(res.DeletedBytes)/(1<<20), res.IndexesWritten)
	}
	status, _ := os.ReadFile("/proc/self/status")
	var hwm, anon string
	for _, l := range strings.Split(string(status), "\n") {
		if f := strings.Fields(l); len(f) >= 2 && f[0] == "VmHWM:" {
			hwm = f[1] + " kB"
		} else if len(f) >= 2 && f[0] == "RssAnon:" {
			anon = f[1] + " kB"
		}
	}
	fmt.Printf("BIG %-13s %8s  peak RSS (VmHWM) %s, RssAnon at end %s; %s\n", role, time.Since(start).Round(time.Millisecond), hwm, anon, summary)
	return nil
}
