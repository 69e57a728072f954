package zones

import (
	"bytes"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/cairnbackup/cairn/erasure"
	"github.com/cairnbackup/cairn/internal/miniotest"
	"github.com/cairnbackup/cairn/repo/backend/backendtest"
	"github.com/cairnbackup/cairn/repo/backend/s3"
)

// s3.Backend uploads shard objects of SaveFile straight from the spool file.
var (
	_ readerAtSaver = (*s3.Backend)(nil)
	_ partsLoader   = (*s3.Backend)(nil)
)

// TestSaveFileMinIO: over six MinIO zones, SaveFile uploads every shard object straight
// from the spool file (s3.Backend is a readerAtSaver; large shards go multipart) and
// stores exactly the objects Save stores; with one zone killed it still succeeds and
// records the save.
func TestSaveFileMinIO(t *testing.T) {
	srvs := miniotest.Start(t, 6)
	prefix := "t-" + backendtest.RandomName(t)[:12]
	var zs []ZoneBackend
	var s3s []*s3.Backend
	for i, srv := range srvs {
		be, err := s3.Open(t.Context(), s3.Config{
			Endpoint: srv.Endpoint(), Bucket: srv.Bucket(), Prefix: prefix,
			AccessKey: srv.AccessKey(), SecretKey: srv.SecretKey(), Lookup: "path",
			PartSize: s3.MinPartSize, MaxRetries: 1, Timeout: 10 * time.Second,
		})
		if err != nil {
			t.Fatal(err)
		}
		s3s = append(s3s, be)
		zs = append(zs, ZoneBackend{Name: fmt.Sprintf("z%d", i), Backend: be})
	}
	b, err := New(zs, erasure.Layout{Data: 4, Parity: 2}, Options{DownFor: -1, HedgeAfter: -1})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { b.Close() })

	// shardObjects reads every stored shard object of pack name from its zone.
	shardObjects := func(t *testing.T, name string) [][]byte {
		src := b.source(name)
		out := make([][]byte, len(src.place))
		for i := range src.place {
			data, err := s3s[src.place[i]].Load(t.Context(), src.handle(i), 0, 0)
			if err != nil {
				t.Fatalf("shard %d: %v", i, err)
			}
			out[i] = data
		}
		return out
	}
	big := 4*s3.MinPartSize + 12345 // shard objects above the part size: multipart uploads
	for _, n := range []int{0, 100_003, big} {
		t.Run(fmt.Sprint(n), func(t *testing.T) {
			h := packHandle(t)
			data := backendtest.RandomData(t, n)
			if err := b.SaveFile(t.Context(), h, spoolPack(t, data, 999), int64(n)); err != nil {
				t.Fatal(err)
			}
			if got, err := b.Load(t.Context(), h, 0, 0); err != nil || !bytes.Equal(got, data) {
				t.Fatalf("Load: %d bytes, %v", len(got), err)
			}
			fromFile := shardObjects(t, h.Name)
			if n == big && len(fromFile[0]) <= s3.MinPartSize {
				t.Fatalf("shard objects of %d bytes: not multipart", len(fromFile[0]))
			}
			if err := b.Save(t.Context(), h, data); err != nil { // overwrites the same objects
				t.Fatal(err)
			}
			for i, want := range shardObjects(t, h.Name) {
				if !bytes.Equal(fromFile[i], want) {
					t.Errorf("shard %d: SaveFile stored %d bytes, Save %d; equal %v", i, len(fromFile[i]), len(want), bytes.Equal(fromFile[i], want))
				}
			}
		})
	}

	t.Run("zone killed", func(t *testing.T) {
		h := packHandle(t)
		data := backendtest.RandomData(t, 300_001)
		place := erasure.Placement(PackID(h.Name), 4, 2, 6)
		srvs[place[1]].Kill() // the zone of data shard 1
		if err := b.SaveFile(t.Context(), h, spoolPack(t, data, 0), int64(len(data))); err != nil {
			t.Fatalf("SaveFile with one zone killed: %v", err)
		}
		if got, err := b.Load(t.Context(), h, 0, 0); err != nil || !bytes.Equal(got, data) {
			t.Fatalf("Load with one zone killed: %v", err)
		}
		recs, err := b.Records(t.Context())
		if err != nil {
			t.Fatal(err)
		}
		zone := fmt.Sprintf("z%d", place[1])
		found := false
		for _, r := range recs {
			if r.Op == OpSave && r.Name == h.Name && slices.Equal(r.Zones, []string{zone}) && slices.Equal(r.Shards, []int{1}) {
				found = true
			}
		}
		if !found {
			t.Fatalf("Records = %v; want a save record of %s missing shard 1 in %s", recs, h.Name, zone)
		}
	})
}
