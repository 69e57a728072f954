package repo

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/cairnbackup/cairn/erasure"
	"github.com/cairnbackup/cairn/internal/miniotest"
	"github.com/cairnbackup/cairn/repo/backend"
	"github.com/cairnbackup/cairn/repo/backend/mem"
	"github.com/cairnbackup/cairn/repo/backend/zones"
	"github.com/minio/minio-go/v7"
	"github.com/minio/minio-go/v7/pkg/credentials"
)

// writeZonesFile writes a zones.yaml for the servers (k+m erasure) and sets the credential
// variables it names; it returns the file's path.
func writeZonesFile(t testing.TB, srvs []*miniotest.Server, k, m int) string {
	t.Helper()
	var b strings.Builder
	fmt.Fprintf(&b, "erasure: {data: %d, parity: %d}\nzones:\n", k, m)
	for i, s := range srvs {
		fmt.Fprintf(&b, "  - {name: zone%d, endpoint: %q, bucket: %s, prefix: repo, access_key_env: CAIRN_TEST_AK, secret_key_env: CAIRN_TEST_SK, tls: false, max_retries: 3, timeout: 10s}\n",
			i, s.Endpoint(), s.Bucket())
	}
	t.Setenv("CAIRN_TEST_AK", srvs[0].AccessKey())
	t.Setenv("CAIRN_TEST_SK", srvs[0].SecretKey())
	p := filepath.Join(t.TempDir(), "zones.yaml")
	if err := os.WriteFile(p, []byte(b.String()), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

// initZonesMinIO starts k+m MinIO servers and creates a k+m zones repository over them with
// the test options; the repository is closed when t ends.
func initZonesMinIO(t testing.TB, k, m int) ([]*miniotest.Server, string, *Repository) {
	t.Helper()
	srvs := miniotest.Start(t, k+m)
	loc := writeZonesFile(t, srvs, k, m)
	r, err := Init(context.Background(), loc, testInitOptions(t))
	if err != nil {
		t.Fatalf("Init(%s): %v", loc, err)
	}
	t.Cleanup(func() { r.Close() })
	return srvs, loc, r
}

func openZones(t testing.TB, loc string) *Repository {
	t.Helper()
	r, err := Open(context.Background(), loc, OpenOptions{Password: testPassword, CacheDir: "off"})
	if err != nil {
		t.Fatalf("Open(%s): %v", loc, err)
	}
	t.Cleanup(func() { r.Close() })
	return r
}

// killingReader calls kill once after n bytes were read.
type killingReader struct {
	r    io.Reader
	n    int64
	once sync.Once
	kill func()
}

func (k *killingReader) Read(p []byte) (int, error) {
	n, err := k.r.Read(p)
	if k.n -= int64(n); k.n <= 0 {
		k.once.Do(k.kill)
	}
	return n, err
}

// killingWriterAt is an in-memory io.WriterAt that calls kill once after the first write.
type killingWriterAt struct {
	mu   sync.Mutex
	buf  []byte
	once sync.Once
	kill func()
}

func (w *killingWriterAt) WriteAt(p []byte, off int64) (int, error) {
	w.once.Do(w.kill)
	w.mu.Lock()
	defer w.mu.Unlock()
	if end := off + int64(len(p)); end > int64(len(w.buf)) {
		w.buf = append(w.buf, make([]byte, end-int64(len(w.buf)))...)
	}
	copy(w.buf[off:], p)
	return len(p), nil
}

func countSnapshots(t testing.TB, r *Repository) int {
	t.Helper()
	n := 0
	if err := r.be.List(context.Background(), backend.Snapshot, func(string, int64) error { n++; return nil }); err != nil {
		t.Fatal(err)
	}
	return n
}

// corruptShards damages every shard MinIO keeps for the zone's repository packs: it
// flips bytes in the middle of each part.1 data file, and deletes the objects MinIO
// inlined into xl.meta (corrupting those makes MinIO itself refuse to overwrite them). It
// returns how many objects it damaged.
func corruptShards(t testing.TB, srv *miniotest.Server) int {
	t.Helper()
	root := filepath.Join(srv.DataDir(), srv.Bucket(), "repo", "data")
	n := 0
	var inlined []string
	err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() || !strings.Contains(p, ".s") {
			return err
		}
		switch d.Name() {
		case "xl.meta":
			if !hasPartFile(filepath.Dir(p)) {
				inlined = append(inlined, filepath.Dir(p))
			}
			return nil
		case "part.1":
		default:
			return nil
		}
		b, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		for i := len(b) / 2; i < len(b)/2+64 && i < len(b); i++ {
			b[i] ^= 0x5a
		}
		n++
		return os.WriteFile(p, b, 0o644)
	})
	if err != nil {
		t.Fatal(err)
	}
	for _, dir := range inlined {
		if err := os.RemoveAll(dir); err != nil {
			t.Fatal(err)
		}
		n++
	}
	return n
}

func hasPartFile(objDir string) bool {
	found := false
	_ = filepath.WalkDir(objDir, func(_ string, d fs.DirEntry, err error) error {
		if err == nil && d.Name() == "part.1" {
			found = true
		}
		return nil
	})
	return found
}

// TestZonesMinIO drives a 4+2 repository over six real MinIO servers through zone loss
// at rest and mid-operation, corruption on disk, and repair.
func TestZonesMinIO(t *testing.T) {
	srvs, loc, r := initZonesMinIO(t, 4, 2)
	ctx := context.Background()
	if _, err := Init(ctx, loc, testInitOptions(t)); !errors.Is(err, ErrRepositoryExists) {
		t.Fatalf("second Init: %v", err)
	}
	vol1 := mixedVolume(5<<20+333, 11)
	s1 := backupBytes(t, r, vol1, "vol")
	if rep, err := r.Check(ctx, CheckOptions{}); err != nil || !rep.OK() || rep.Shards == nil || !rep.Shards.Healthy() {
		t.Fatalf("check of a healthy zones repository: %+v, %v", rep, err)
	}

	// Two zones dead at rest: restore byte for byte; a backup cannot reach the write
	// quorum (5 of 6 shards) and records nothing.
	srvs[1].Kill()
	srvs[4].Kill()
	r2 := openZones(t, loc)
	if !bytes.Equal(restoreBytes(t, r2, s1.ID), vol1) {
		t.Fatal("restore with two zones down differs")
	}
	before := countSnapshots(t, r2)
	if _, err := r2.Backup(ctx, bytes.NewReader(mixedVolume(2<<20, 12)), BackupOptions{Name: "vol"}); !errors.Is(err, backend.ErrUnavailable) {
		t.Fatalf("backup below write quorum: %v, want ErrUnavailable", err)
	}
	if n := countSnapshots(t, r2); n != before {
		t.Fatalf("failed backup left a snapshot: %d snapshots, want %d", n, before)
	}
	srvs[1].Restart(t)
	srvs[4].Restart(t)

	// A zone dies in the middle of a backup: still quorate, so the backup succeeds.
	r3 := openZones(t, loc)
	vol2 := mixedVolume(4<<20+5, 13)
	kr := &killingReader{r: bytes.NewReader(vol2), n: int64(len(vol2) / 2), kill: srvs[2].Kill}
	s2, err := r3.Backup(ctx, kr, BackupOptions{Name: "vol2"})
	if err != nil {
		t.Fatalf("backup with a zone killed midway: %v", err)
	}
	// Another zone dies in the middle of the restore: two down, still restores.
	w := &killingWriterAt{kill: srvs[3].Kill}
	if err := r3.Restore(ctx, s2.ID, w, RestoreOptions{}); err != nil {
		t.Fatalf("restore with a zone killed midway: %v", err)
	}
	if !bytes.Equal(w.buf, vol2) {
		t.Fatal("restore with a zone killed midway differs")
	}
	if rep, err := r3.Check(ctx, CheckOptions{}); err != nil || rep.OK() {
		t.Fatalf("check with zones down should report errors: %v", err)
	}
	srvs[2].Restart(t)
	srvs[3].Restart(t)

	// Corrupt every shard one zone holds on disk; restores still verify and succeed.
	if n := corruptShards(t, srvs[0]); n == 0 {
		t.Fatal("found no shard files to corrupt")
	}
	r4 := openZones(t, loc)
	if !bytes.Equal(restoreBytes(t, r4, s1.ID), vol1) {
		t.Fatal("restore over corrupt shards differs")
	}
	rep, err := r4.Check(ctx, CheckOptions{})
	if err != nil || rep.OK() || rep.Shards.MissingShards == 0 {
		t.Fatalf("check before repair: ok=%v missing=%d, %v", rep.OK(), rep.Shards.MissingShards, err)
	}
	hr, err := r4.RepairShards(ctx, RepairShardsOptions{Verify: true})
	if err != nil || !hr.Healed() || hr.ShardsRebuilt == 0 {
		t.Fatalf("repair: %+v, %v", hr, err)
	}
	rep, err = r4.Check(ctx, CheckOptions{ReadData: true})
	if err != nil || !rep.OK() || !rep.Shards.Healthy() || rep.Shards.Records != 0 {
		t.Fatalf("check after repair: %v %+v", err, rep.Problems)
	}
	// Full redundancy again: any two zones may go.
	srvs[0].Kill()
	srvs[5].Kill()
	r5 := openZones(t, loc)
	if !bytes.Equal(restoreBytes(t, r5, s2.ID), vol2) {
		t.Fatal("restore after repair with two other zones down differs")
	}
}

// TestZonesCreateErrors: bad zones are reported by name before anything is written.
func TestZonesCreateErrors(t *testing.T) {
	srvs := miniotest.Start(t, 2)
	loc := writeZonesFile(t, srvs, 1, 1)
	srvs[1].Kill()
	_, err := Init(context.Background(), loc, testInitOptions(t))
	if err == nil || !strings.Contains(err.Error(), "zone1") || !errors.Is(err, backend.ErrUnavailable) {
		t.Fatalf("Init with a dead zone: %v", err)
	}
	if entries, _ := os.ReadDir(filepath.Join(srvs[0].DataDir(), srvs[0].Bucket(), "repo")); len(entries) != 0 {
		t.Fatalf("Init with a dead zone wrote %d entries to the live one", len(entries))
	}
	t.Setenv("CAIRN_TEST_SK", "wrong-secret")
	srvs[1].Restart(t)
	if _, err := Init(context.Background(), loc, testInitOptions(t)); err == nil || !strings.Contains(err.Error(), "zone0") {
		t.Fatalf("Init with wrong credentials: %v", err)
	}
}

// zonesOnMem returns a 4+2 zones backend over six counting in-memory zones.
func zonesOnMem(t testing.TB) (*zones.Backend, []*mem.Backend) {
	t.Helper()
	var zs []zones.ZoneBackend
	var mems []*mem.Backend
	for i := range 6 {
		mb := mem.New(fmt.Sprint("z", i))
		mems = append(mems, mb)
		zs = append(zs, zones.ZoneBackend{Name: fmt.Sprint("z", i), Backend: mb})
	}
	be, err := zones.New(zs, erasure.Layout{Data: 4, Parity: 2}, zones.Options{})
	if err != nil {
		t.Fatal(err)
	}
	return be, mems
}

func sumCalls(mems []*mem.Backend, op mem.Op) int64 {
	var n int64
	for _, mb := range mems {
		n += mb.Calls(op)
	}
	return n
}

// TestZonesRequestCost counts the object-store requests of a backup and a restore of a
// 4+2 repository with default pack size (16 MiB) and chunker, and reports them per GiB
// (docs/ZONES.md quotes these figures).
func TestZonesRequestCost(t *testing.T) {
	be, mems := zonesOnMem(t)
	opts := testInitOptions(t)
	opts.Chunker, opts.PackSize, opts.CacheDir = nil, 0, "off"
	r, err := InitWith(context.Background(), be, opts)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	const size = 64 << 20
	vol := mixedVolume(size, 21)
	ops := []mem.Op{mem.OpSave, mem.OpSaveNew, mem.OpLoad, mem.OpStat, mem.OpList, mem.OpRemove}
	snapshot := func() map[mem.Op]int64 {
		out := map[mem.Op]int64{}
		for _, op := range ops {
			out[op] = sumCalls(mems, op)
		}
		return out
	}
	perGiB := func(before map[mem.Op]int64) (string, int64) {
		var parts []string
		var total int64
		for _, op := range ops {
			d := (sumCalls(mems, op) - before[op]) * (1 << 30) / size
			total += d
			parts = append(parts, fmt.Sprintf("%s=%d", op, d))
		}
		return strings.Join(parts, " "), total
	}
	b0 := snapshot()
	s := backupBytes(t, r, vol, "cost")
	backupCost, backupTotal := perGiB(b0)
	r0 := snapshot()
	if !bytes.Equal(restoreBytes(t, r, s.ID), vol) {
		t.Fatal("restore differs")
	}
	restoreCost, restoreTotal := perGiB(r0)
	t.Logf("requests per GiB backed up (all six zones): %s; total %d", backupCost, backupTotal)
	t.Logf("requests per GiB restored (all six zones): %s; total %d", restoreCost, restoreTotal)
	// 16 MiB packs: 64 packs per GiB of new data, 6 shard PUTs each, plus metadata.
	if backupTotal > 2000 {
		t.Errorf("backup made %d requests per GiB, want < 2000", backupTotal)
	}
}

// TestZonesThroughput measures backup and restore of 256 MiB (CAIRN_BENCH_ZONES_MIB to
// change) with 4+2 over six local MinIO servers, healthy and with two zones killed.
// Run with CAIRN_BENCH_ZONES=1 go test -run TestZonesThroughput -v ./repo/
func TestZonesThroughput(t *testing.T) {
	if os.Getenv("CAIRN_BENCH_ZONES") != "1" {
		t.Skip("set CAIRN_BENCH_ZONES=1 to run")
	}
	mib := 256
	if v := os.Getenv("CAIRN_BENCH_ZONES_MIB"); v != "" {
		fmt.Sscan(v, &mib)
	}
	srvs := miniotest.Start(t, 6)
	loc := writeZonesFile(t, srvs, 4, 2)
	ctx := context.Background()
	opts := testInitOptions(t)
	opts.Chunker, opts.PackSize, opts.CacheDir = nil, 0, "off"
	r, err := Init(ctx, loc, opts)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	vol := mixedVolume(mib<<20, 31)
	rate := func(d time.Duration) string { return fmt.Sprintf("%.1f MiB/s", float64(mib)/d.Seconds()) }
	start := time.Now()
	s := backupBytes(t, r, vol, "bench")
	t.Logf("backup %d MiB, healthy: %s (%s)", mib, time.Since(start).Round(time.Millisecond), rate(time.Since(start)))
	start = time.Now()
	if !bytes.Equal(restoreBytes(t, r, s.ID), vol) {
		t.Fatal("restore differs")
	}
	t.Logf("restore %d MiB, healthy: %s (%s)", mib, time.Since(start).Round(time.Millisecond), rate(time.Since(start)))
	srvs[0].Kill()
	srvs[3].Kill()
	r2 := openZones(t, loc)
	start = time.Now()
	if !bytes.Equal(restoreBytes(t, r2, s.ID), vol) {
		t.Fatal("degraded restore differs")
	}
	t.Logf("restore %d MiB, two zones down: %s (%s)", mib, time.Since(start).Round(time.Millisecond), rate(time.Since(start)))
	// With two of six zones down a 4+2 write cannot reach its quorum of 5 shards; measure
	// a backup with one zone down (degraded but quorate) instead.
	srvs[0].Restart(t)
	r3 := openZones(t, loc)
	vol2 := mixedVolume(mib<<20, 32)
	start = time.Now()
	backupBytes(t, r3, vol2, "bench2")
	t.Logf("backup %d MiB, one zone down: %s (%s)", mib, time.Since(start).Round(time.Millisecond), rate(time.Since(start)))
}

// TestZonesLifecycleMinIO: forget, prune and check work on a zones repository over real
// MinIO servers: prune deletes every shard of the packs it frees, and what is kept restores.
func TestZonesLifecycleMinIO(t *testing.T) {
	srvs, loc, r := initZonesMinIO(t, 4, 2)
	ctx := context.Background()
	vols := [][]byte{mixedVolume(3<<20+1, 21), mixedVolume(3<<20+2, 22), mixedVolume(3<<20+3, 23)}
	snaps := make([]*Snapshot, len(vols))
	for i, v := range vols {
		snaps[i] = backupBytes(t, r, v, fmt.Sprintf("vol%d", i))
	}
	shardsBefore := countShardObjects(t, srvs)
	if err := r.RemoveSnapshots(ctx, []ID{snaps[1].ID}); err != nil {
		t.Fatal(err)
	}
	res, err := r.Prune(ctx, PruneOptions{Grace: -1, RepackThreshold: 0.5})
	if err != nil {
		t.Fatalf("prune: %v", err)
	}
	if res.DeletedPacks == 0 {
		t.Fatalf("prune freed nothing: %+v", res)
	}
	if after := countShardObjects(t, srvs); after >= shardsBefore {
		t.Fatalf("shard objects: %d before prune, %d after", shardsBefore, after)
	}
	rep, err := r.Check(ctx, CheckOptions{ReadData: true})
	if err != nil || !rep.OK() || !rep.Shards.Healthy() {
		t.Fatalf("check after prune: %v %+v", err, rep)
	}
	r2 := openZones(t, loc)
	for _, i := range []int{0, 2} {
		if !bytes.Equal(restoreBytes(t, r2, snaps[i].ID), vols[i]) {
			t.Fatalf("snapshot %d differs after prune", i)
		}
	}
}

// countShardObjects counts the erasure shard objects stored in all servers' buckets.
func countShardObjects(t testing.TB, srvs []*miniotest.Server) int {
	t.Helper()
	n := 0
	for _, s := range srvs {
		c, err := minio.New(s.Endpoint(), &minio.Options{Creds: credentials.NewStaticV4(s.AccessKey(), s.SecretKey(), "")})
		if err != nil {
			t.Fatal(err)
		}
		for obj := range c.ListObjects(context.Background(), s.Bucket(), minio.ListObjectsOptions{Prefix: "repo/data/", Recursive: true}) {
			if obj.Err != nil {
				t.Fatal(obj.Err)
			}
			if _, _, ok := zones.ParseShardName(path.Base(obj.Key)); ok {
				n++
			}
		}
	}
	return n
}

// TestZonesTLS: a zones repository over three HTTPS MinIO servers whose certificates come
// from a private CA named by ca_file in zones.yaml.
func TestZonesTLS(t *testing.T) {
	srvs := miniotest.StartTLS(t, 3)
	var b strings.Builder
	b.WriteString("erasure: {data: 2, parity: 1}\nzones:\n")
	for i, s := range srvs {
		fmt.Fprintf(&b, "  - {name: tls%d, endpoint: %q, bucket: %s, access_key_env: CAIRN_TEST_AK, secret_key_env: CAIRN_TEST_SK, ca_file: %q}\n",
			i, s.Endpoint(), s.Bucket(), s.CAFile())
	}
	t.Setenv("CAIRN_TEST_AK", srvs[0].AccessKey())
	t.Setenv("CAIRN_TEST_SK", srvs[0].SecretKey())
	loc := filepath.Join(t.TempDir(), "zones.yaml")
	if err := os.WriteFile(loc, []byte(b.String()), 0o600); err != nil {
		t.Fatal(err)
	}
	r, err := Init(context.Background(), loc, testInitOptions(t))
	if err != nil {
		t.Fatalf("Init over TLS zones: %v", err)
	}
	defer r.Close()
	vol := mixedVolume(2<<20+7, 31)
	s := backupBytes(t, r, vol, "tls")
	if !bytes.Equal(restoreBytes(t, openZones(t, loc), s.ID), vol) {
		t.Fatal("restore over TLS zones differs")
	}
}
