package main

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"path/filepath"
	"time"

	"github.com/spf13/cobra"

	"github.com/cairnbackup/cairn/crypto"
	"github.com/cairnbackup/cairn/internal/cli"
	"github.com/cairnbackup/cairn/repo"
)

// quickstartPassword is the demo repository's password.
const quickstartPassword = "quickstart"

// quickstartSummary is the JSON summary of "cairn quickstart".
type quickstartSummary struct {
	Type         string          `json:"type"` // "summary"
	Op           string          `json:"op"`   // "quickstart"
	Dir          string          `json:"dir"`
	Repository   string          `json:"repository"`
	Password     string          `json:"password"`
	Volume       string          `json:"volume"`
	VolumeSize   int64           `json:"volume_size"`
	ChangedBytes int64           `json:"changed_bytes"`
	Backups      []backupSummary `json:"backups"`
	Restore      restoreSummary  `json:"restore"`
	SHA256       string          `json:"sha256"`
	Verified     bool            `json:"verified"`
}

func (a *app) quickstartCmd() *cobra.Command {
	var dir, size string
	cmd := &cobra.Command{
		Use:   "quickstart [--dir D] [--size 64MiB]",
		Short: "Run a self-contained demo on a temporary local repository",
		Long: `A guided first contact with cairn that needs no server and no setup:

  1. create a local repository in a new temporary directory (or --dir), with the
     password "quickstart" and cheap key derivation so it starts instantly
  2. generate a demo volume image (--size, default 64 MiB): a sparse file mixing
     random data, compressible text and zero regions
  3. back it up
  4. change about 1% of it, and back it up again: the second backup stores
     only the chunks around the change
  5. restore the latest snapshot to a new file and verify its SHA-256 equals
     the source's

It ends with the commands to explore the demo repository yourself. The
directory is kept; remove it when done. Exits non-zero if verification fails.`,
		Example: `  cairn quickstart
  go run ./cmd/cairn quickstart --size 256MiB
  cairn quickstart --dir /tmp/cairn-demo --json`,
		Args: cli.ExactArgs(),
		RunE: func(cmd *cobra.Command, _ []string) error {
			n, err := parseSize(size)
			if err != nil {
				return cli.Usage(err)
			}
			if n < 1<<20 {
				return cli.Usagef("--size must be at least 1MiB, not %s", size)
			}
			return a.runQuickstart(cmd.Context(), dir, n)
		},
	}
	cmd.Flags().StringVar(&dir, "dir", "", "work in this directory (must be empty or not exist; default: a new temporary directory)")
	cmd.Flags().StringVar(&size, "size", "64MiB", "size of the demo volume")
	return cmd
}

// say prints a narration line of the quickstart (text mode only).
func (a *app) say(format string, args ...any) {
	if a.Quiet || a.JSON {
		return
	}
	fmt.Fprintf(a.Stdout, format+"\n", args...)
}

func (a *app) runQuickstart(ctx context.Context, dir string, size int64) error {
	dir, err := quickstartDir(dir)
	if err != nil {
		return err
	}
	sum := quickstartSummary{Type: "summary", Op: "quickstart", Dir: dir, Repository: filepath.Join(dir, "repo"),
		Password: quickstartPassword, Volume: filepath.Join(dir, "volume.img"), VolumeSize: size}
	restored := filepath.Join(dir, "restored.img")

	a.say("cairn quickstart: a tour on a throwaway local repository (no server needed)\n")
	a.say("  workspace   %s", dir)
	a.say("  repository  %s  (password %q)", sum.Repository, quickstartPassword)
	a.say("              the demo uses cheap key derivation so it starts instantly; repositories")
	a.say("              made with 'cairn init' use Argon2id (3 passes, 32 MiB; --kdf strong: 64 MiB)\n")

	kdf := crypto.TestKDFParams()
	r, err := repo.Init(ctx, sum.Repository, repo.InitOptions{Password: []byte(quickstartPassword), KDF: &kdf,
		CacheDir: filepath.Join(dir, "cache"), Logger: a.Log})
	if err != nil {
		return err
	}
	defer r.Close()
	a.say("1. init        created repository %s", short(r.Config().ID))

	mix, err := writeDemoVolume(sum.Volume, size)
	if err != nil {
		return err
	}
	a.say("2. volume      %s: %s (%s random, %s text-like, %s zeros as holes)", filepath.Base(sum.Volume),
		formatBytes(size), formatBytes(mix.random), formatBytes(mix.text), formatBytes(mix.zero))

	b1, err := a.quickstartBackup(ctx, r, sum.Volume)
	if err != nil {
		return err
	}
	st := b1.Snapshot.Stats
	a.say("3. backup #1   snapshot %s: %s read in %s (%s), %s new, %s stored after compression",
		b1.Snapshot.ShortID, formatBytes(b1.Snapshot.Size), formatDuration(st.Duration), formatRate(b1.BytesPerSecond),
		formatBytes(st.NewBytes), formatBytes(st.StoredBytes))

	sum.ChangedBytes, err = changeVolume(sum.Volume, size)
	if err != nil {
		return err
	}
	a.say("4. change      overwrote %s (%s of the volume) with new data", formatBytes(sum.ChangedBytes),
		percent(float64(sum.ChangedBytes)/float64(size)))

	b2, err := a.quickstartBackup(ctx, r, sum.Volume)
	if err != nil {
		return err
	}
	st = b2.Snapshot.Stats
	a.say("5. backup #2   snapshot %s: %s read in %s (%s), only %s new (%s of the volume), dedup %s",
		b2.Snapshot.ShortID, formatBytes(b2.Snapshot.Size), formatDuration(st.Duration), formatRate(b2.BytesPerSecond),
		formatBytes(st.NewBytes), percent(float64(st.NewBytes)/float64(size)), percent(b2.DedupRatio))
	a.say("               (content-defined chunks of ~1 MiB: only the chunks touched by the change are new)")
	sum.Backups = []backupSummary{b1, b2}

	snap, err := r.FindSnapshot(ctx, "latest", "demo-volume")
	if err != nil {
		return err
	}
	sum.Restore, err = a.restore(ctx, r, snap, restored, targetNewFile)
	if err != nil {
		return err
	}
	a.say("6. restore     latest -> %s in %s (%s)", filepath.Base(restored), formatDuration(sum.Restore.Duration),
		formatRate(sum.Restore.BytesPerSecond))

	want, err := fileSHA256(sum.Volume)
	if err != nil {
		return err
	}
	got, err := fileSHA256(restored)
	if err != nil {
		return err
	}
	sum.SHA256, sum.Verified = got, got == want
	if !sum.Verified {
		if a.JSON {
			_ = cli.PrintJSON(a.Stdout, sum)
		}
		return fmt.Errorf("verification FAILED: SHA-256 of %s is %s, of %s is %s", restored, got, sum.Volume, want)
	}
	a.say("7. verify      SHA-256 of the restored volume equals the source: %s…\n", got[:16])

	if a.JSON {
		return cli.PrintJSON(a.Stdout, sum)
	}
	a.say("Everything worked. Explore the demo repository yourself:\n")
	a.say("  export CAIRN_REPO=%s", sum.Repository)
	a.say("  export CAIRN_PASSWORD=%s\n", quickstartPassword)
	a.say("  cairn snapshots                          # the two backups")
	a.say("  cairn ls latest | head                   # extents: offset, length, blob or zero")
	a.say("  cairn cat snapshot latest                # the snapshot object, decoded")
	a.say("  cairn restore latest %s", filepath.Join(dir, "again.img"))
	a.say("  cairn backup --name demo-volume %s      # a third backup: nothing new", sum.Volume)
	a.say("\n(from a source checkout: 'go install ./cmd/cairn', or use 'go run ./cmd/cairn' for 'cairn')")
	a.say("When done: rm -rf %s", dir)
	return nil
}

// quickstartDir returns dir (created; it must be empty) or a new temporary directory.
func quickstartDir(dir string) (string, error) {
	if dir == "" {
		d, err := os.MkdirTemp("", "cairn-quickstart-")
		if err != nil {
			return "", fmt.Errorf("quickstart: %w", err)
		}
		return d, nil
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return "", fmt.Errorf("quickstart: %w", err)
	}
	ents, err := os.ReadDir(dir)
	if err != nil {
		return "", fmt.Errorf("quickstart: %w", err)
	}
	if len(ents) > 0 {
		return "", cli.Usagef("quickstart --dir %s is not empty; give a new or empty directory", dir)
	}
	return filepath.Abs(dir)
}

func (a *app) quickstartBackup(ctx context.Context, r *repo.Repository, path string) (backupSummary, error) {
	src, err := openSource(path, nil)
	if err != nil {
		return backupSummary{}, err
	}
	defer src.close()
	snap, err := a.backup(ctx, r, src, repo.BackupOptions{Name: "demo-volume", Tags: []string{"demo=quickstart"}})
	if err != nil {
		return backupSummary{}, err
	}
	return newBackupSummary(path, snap), nil
}

// volumeMix reports how a demo volume was composed.
type volumeMix struct{ random, text, zero int64 }

// demoPattern is the repeating layout of the demo volume's regions: 3/8 random data,
// 3/8 text-like, 2/8 zeros left as holes.
var demoPattern = []byte("rtzrtrtz")

// demoRegionSize is the size of one region: 1 MiB, smaller for volumes under 8 MiB so
// every kind of region appears.
func demoRegionSize(size int64) int64 {
	if size >= 8<<20 {
		return 1 << 20
	}
	return max(4096, size/8/4096*4096)
}

// writeDemoVolume writes a sparse demo volume of size bytes, regions of random data, text-like
// log lines and zeros (holes) following demoPattern. It is seeded, so every run builds the
// same volume.
func writeDemoVolume(path string, size int64) (volumeMix, error) {
	var mix volumeMix
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return mix, fmt.Errorf("demo volume: %w", err)
	}
	rng := rand.New(rand.NewChaCha8([32]byte{'c', 'a', 'i', 'r', 'n'}))
	data := rand.NewChaCha8([32]byte{'d', 'a', 't', 'a'})
	region := demoRegionSize(size)
	buf := make([]byte, region)
	err = f.Truncate(size)
	for i, off := 0, int64(0); err == nil && off < size; i, off = i+1, off+region {
		n := min(region, size-off)
		switch demoPattern[i%len(demoPattern)] {
		case 'r':
			_, _ = data.Read(buf[:n])
			mix.random += n
		case 't':
			fillText(rng, buf[:n], off)
			mix.text += n
		default:
			mix.zero += n
			continue
		}
		_, err = f.WriteAt(buf[:n], off)
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return mix, fmt.Errorf("demo volume: %w", err)
	}
	return mix, nil
}

var demoWords = []string{"INFO", "WARN", "DEBUG", "request", "served", "volume", "snapshot", "backup",
	"chunk", "pack", "index", "worker", "replica", "zone-a", "zone-b", "latency", "status=200", "status=404"}

// fillText fills b with log-like lines: compressible, but not trivially so.
func fillText(rng *rand.Rand, b []byte, base int64) {
	line := make([]byte, 0, 160)
	t := time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC).Add(time.Duration(base) * time.Millisecond)
	for i := 0; i < len(b); {
		t = t.Add(time.Duration(rng.IntN(5000)) * time.Millisecond)
		line = t.AppendFormat(line[:0], time.RFC3339Nano)
		for range 4 + rng.IntN(6) {
			line = append(line, ' ')
			line = append(line, demoWords[rng.IntN(len(demoWords))]...)
		}
		line = fmt.Appendf(line, " id=%d bytes=%d\n", rng.IntN(1_000_000), rng.IntN(65536))
		i += copy(b[i:], line)
	}
}

// changeVolume overwrites about 1% of the volume, in one run of 4 KiB blocks inside a data
// region (as a file system rewriting a file would), and returns the number of bytes changed.
func changeVolume(path string, size int64) (int64, error) {
	n := max(4096, size/100/4096*4096)
	rng := rand.New(rand.NewPCG(uint64(time.Now().UnixNano()), 1))
	region := demoRegionSize(size)
	var data []int64 // offsets of random and text regions
	for i, off := 0, int64(0); off < size; i, off = i+1, off+region {
		if demoPattern[i%len(demoPattern)] != 'z' {
			data = append(data, off)
		}
	}
	off := data[rng.IntN(len(data))] + rng.Int64N(region/4096)*4096
	off = min(off, (size-n)/4096*4096)
	buf := make([]byte, n)
	_, _ = rand.NewChaCha8([32]byte{byte(rng.Uint32())}).Read(buf)
	f, err := os.OpenFile(path, os.O_WRONLY, 0)
	if err != nil {
		return 0, fmt.Errorf("change demo volume: %w", err)
	}
	_, err = f.WriteAt(buf, off)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return 0, fmt.Errorf("change demo volume: %w", err)
	}
	return n, nil
}

// fileSHA256 returns the hex SHA-256 of a file's content.
func fileSHA256(path string) (string, error) {
	f, err := os.Open(path)
	if err != nil {
		return "", fmt.Errorf("verify: %w", err)
	}
	defer f.Close()
	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		return "", fmt.Errorf("verify %s: %w", path, err)
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}
