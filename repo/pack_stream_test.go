package repo

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"testing"

	"github.com/cairnbackup/cairn/chunk"
	"github.com/cairnbackup/cairn/crypto"
	"github.com/cairnbackup/cairn/index"
	"github.com/cairnbackup/cairn/internal/ids"
	"github.com/cairnbackup/cairn/repo/backend"
	"github.com/cairnbackup/cairn/repo/backend/local"
	"github.com/cairnbackup/cairn/repo/backend/mem"
)

// CreatePack makes the crash tests' backend stream packs like the local backend it wraps,
// and counts each Commit as a mutation, so a child is also killed just before or after a
// streamed pack is renamed into place.
func (k *killBackend) CreatePack(ctx context.Context) (packWriter, error) {
	ps := streamerFor(k.Backend)
	if ps == nil {
		return nil, errors.New("killBackend: inner backend does not stream packs")
	}
	w, err := ps.CreatePack(ctx)
	if err != nil {
		return nil, err
	}
	return &killPackWriter{packWriter: w, k: k}, nil
}

type killPackWriter struct {
	packWriter
	k *killBackend
}

func (w *killPackWriter) Commit(ctx context.Context, h backend.Handle) error {
	return w.k.mutate(func() error { return w.packWriter.Commit(ctx, h) })
}

// memPackWriter collects a pack in memory (for the packBuilder tests).
type memPackWriter struct {
	bytes.Buffer
	committed, aborted bool
	failAfter          int // fail the write that takes the pack past failAfter bytes (0: never)
}

var errInjected = errors.New("injected write failure")

func (w *memPackWriter) Write(b []byte) (int, error) {
	if w.failAfter > 0 && w.Len()+len(b) > w.failAfter {
		return 0, errInjected
	}
	return w.Buffer.Write(b)
}

func (w *memPackWriter) Commit(context.Context, backend.Handle) error { w.committed = true; return nil }
func (w *memPackWriter) Abort() error                                 { w.aborted = true; return nil }

// faultStreamer is a backend that streams packs into memPackWriters.
type faultStreamer struct {
	backend.Backend
	failAfter int
	mu        sync.Mutex
	writers   []*memPackWriter
}

func (f *faultStreamer) CreatePack(context.Context) (packWriter, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	w := &memPackWriter{failAfter: f.failAfter}
	f.writers = append(f.writers, w)
	return w, nil
}

// TestPackStreamMatchesBuffered: a streamed pack is a valid pack with the same entries as a
// buffered one of the same blobs, whether blobs are sealed in place or through a scratch
// buffer.
func TestPackStreamMatchesBuffered(t *testing.T) {
	r, _ := newLCRepo(t)
	type in struct {
		t       index.BlobType
		payload []byte
		room    int // spare capacity after the payload
	}
	blobs := []in{
		{index.DataBlob, bytes.Repeat([]byte("a"), 1000), crypto.Overhead},
		{index.DataBlob, bytes.Repeat([]byte("b"), 70000), 0},
		{index.ListBlob, []byte("list"), 100},
		{index.DataBlob, []byte{1}, crypto.Overhead - 1},
	}
	for _, inPlace := range []bool{false, true} {
		buffered, err := r.newPackBuilder(nil)
		if err != nil {
			t.Fatal(err)
		}
		fs := &faultStreamer{}
		streamed, err := r.newPackStream(context.Background(), fs)
		if err != nil {
			t.Fatal(err)
		}
		w := fs.writers[0]
		var scratch []byte
		for i, b := range blobs {
			id := ids.Hash([]byte{byte(i)})
			buffered.add(b.t, id, len(b.payload), false, b.payload)
			p := append(make([]byte, 0, len(b.payload)+b.room), b.payload...)
			dst := scratch
			if inPlace && b.room >= crypto.Overhead {
				dst = p[:0]
			}
			if scratch, err = streamed.addVia(b.t, id, len(b.payload), false, p, dst); err != nil {
				t.Fatal(err)
			}
		}
		if buffered.size() != streamed.size() {
			t.Fatalf("sizes differ: buffered %d, streamed %d", buffered.size(), streamed.size())
		}
		bid, bdata, bents := buffered.finish()
		sid, sdata, sents, err := streamed.end()
		if err != nil || sdata != nil {
			t.Fatalf("end: %v, %d bytes of data", err, len(sdata))
		}
		if sid != ids.Hash(w.Bytes()) {
			t.Fatal("streamed pack's name is not the hash of its bytes")
		}
		if len(w.Bytes()) != len(bdata) {
			t.Fatalf("streamed pack has %d bytes, buffered %d", len(w.Bytes()), len(bdata))
		}
		got, err := r.parsePack(sid, w.Bytes())
		if err != nil {
			t.Fatalf("parse streamed pack: %v", err)
		}
		want, err := r.parsePack(bid, bdata)
		if err != nil {
			t.Fatal(err)
		}
		strip := func(es []index.Entry) []index.Entry {
			out := slices.Clone(es)
			for i := range out {
				out[i].Pack = ids.ID{}
			}
			return out
		}
		if !slices.Equal(strip(got), strip(want)) || !slices.Equal(strip(sents), strip(got)) || !slices.Equal(strip(bents), strip(want)) {
			t.Fatalf("entries differ:\nstreamed %v\nbuffered %v", got, want)
		}
		for _, e := range got {
			if _, err := r.openBlob(mustOpener(t, r, w.Bytes()), e, w.Bytes()[e.Offset:e.Offset+uint64(e.Length)], nil); err != nil {
				t.Fatalf("open streamed blob (in place %v): %v", inPlace, err)
			}
		}
	}
}

func mustOpener(t *testing.T, r *Repository, pack []byte) *crypto.PackOpener {
	t.Helper()
	op, err := r.key.NewPackOpener(pack[packHeaderSize:packDataStart])
	if err != nil {
		t.Fatal(err)
	}
	return op
}

// TestBackupStreamedAndBuffered backs the same volume up through a streaming backend (local)
// and a buffering one (mem): both restore exactly, pass a full check, and report what they
// stored. (Pack sizes are not compared: the workers' order of blobs varies from run to run.)
func TestBackupStreamedAndBuffered(t *testing.T) {
	ctx := context.Background()
	p, err := chunk.DefaultParams()
	if err != nil {
		t.Fatal(err)
	}
	p.MinSize, p.AverageBits, p.MaxSize = 16<<10, 16, 256<<10
	vol := mixedVolume(12<<20, 41)
	kdf := crypto.TestKDFParams()
	opts := InitOptions{Password: testPassword, KDF: &kdf, Chunker: &p, PackSize: 1 << 20, CacheDir: "off"}
	lb, err := local.Create(filepath.Join(t.TempDir(), "repo"))
	if err != nil {
		t.Fatal(err)
	}
	zb, _ := zonesOnMem(t)
	tests := []struct {
		name string
		be   backend.Backend
		want string // how packs travel: "stream", "spool" or "buffer"
	}{
		{"local streams", lb, "stream"},
		{"zones spools", zb, "spool"},
		{"mem buffers", mem.New("m"), "buffer"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			spoolDir := t.TempDir()
			opts := opts
			opts.SpoolDir = spoolDir
			r, err := InitWith(ctx, tc.be, opts)
			if err != nil {
				t.Fatal(err)
			}
			defer r.Close()
			got := "buffer"
			switch r.streamer().(type) {
			case localStreamer:
				got = "stream"
			case spoolStreamer:
				got = "spool"
			}
			if got != tc.want {
				t.Fatalf("packs %s, want %s", got, tc.want)
			}
			snap, err := r.Backup(ctx, bytes.NewReader(vol), BackupOptions{})
			if err != nil {
				t.Fatal(err)
			}
			if snap.Stats.Packs < 3 {
				t.Fatalf("only %d packs: the test needs several", snap.Stats.Packs)
			}
			var out bytes.Buffer
			if err := r.RestoreStream(ctx, snap.ID, &out, RestoreOptions{}); err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(out.Bytes(), vol) {
				t.Fatal("restore differs")
			}
			rep, err := r.Check(ctx, CheckOptions{ReadData: true})
			if err != nil || !rep.OK() {
				t.Fatalf("check: %v %v", err, rep)
			}
			var packs, total int64
			if err := tc.be.List(ctx, backend.Pack, func(_ string, n int64) error {
				packs++
				total += n
				return nil
			}); err != nil {
				t.Fatal(err)
			}
			if total != snap.Stats.StoredBytes || packs != snap.Stats.Packs {
				t.Errorf("stats: %d packs, %d bytes stored; backend has %d packs, %d bytes",
					snap.Stats.Packs, snap.Stats.StoredBytes, packs, total)
			}
			if left, err := os.ReadDir(spoolDir); err != nil || len(left) > 0 {
				t.Errorf("spool directory after the backup: %v %v", left, err)
			}
		})
	}
}

// TestBackupStreamFailureAborts: when writing a streamed pack fails, the backup fails and
// every pack file it did not commit is aborted.
func TestBackupStreamFailureAborts(t *testing.T) {
	ctx := context.Background()
	for _, failAfter := range []int{100, 300 << 10, 900 << 10} {
		fs := &faultStreamer{Backend: mem.New("m"), failAfter: failAfter}
		kdf := crypto.TestKDFParams()
		p, err := chunk.DefaultParams()
		if err != nil {
			t.Fatal(err)
		}
		p.MinSize, p.AverageBits, p.MaxSize = 16<<10, 16, 256<<10
		r, err := InitWith(ctx, fs, InitOptions{Password: testPassword, KDF: &kdf, Chunker: &p, PackSize: 1 << 20, CacheDir: "off"})
		if err != nil {
			t.Fatal(err)
		}
		_, err = r.Backup(ctx, bytes.NewReader(randomVolume(4<<20, 42)), BackupOptions{})
		r.Close()
		if !errors.Is(err, errInjected) {
			t.Fatalf("failAfter %d: backup error %v, want the injected one", failAfter, err)
		}
		if len(fs.writers) == 0 {
			t.Fatal("no pack was streamed")
		}
		for i, w := range fs.writers {
			if w.committed == w.aborted {
				t.Errorf("failAfter %d: pack file %d: committed %v, aborted %v", failAfter, i, w.committed, w.aborted)
			}
		}
	}
}
