package repo

import (
	"context"
	"os"
	"strings"
	"testing"

	"github.com/cairnbackup/cairn/crypto"
	"github.com/cairnbackup/cairn/internal/ids"
	"github.com/cairnbackup/cairn/repo/backend"
	"github.com/cairnbackup/cairn/repo/backend/local"
)

func TestParseSubset(t *testing.T) {
	var packs []ids.ID
	for i := range 100 {
		packs = append(packs, ids.Hash([]byte{byte(i)}))
	}
	total := 0
	for n := 1; n <= 3; n++ {
		sel, err := parseSubset(strings.Join([]string{string(rune('0' + n)), "3"}, "/"), packs)
		if err != nil {
			t.Fatal(err)
		}
		total += len(sel)
	}
	if total != len(packs) {
		t.Fatalf("1/3..3/3 cover %d packs, want %d", total, len(packs))
	}
	for _, tc := range []struct {
		s    string
		want int
	}{{"", 100}, {"10%", 10}, {"100%", 100}, {"0.5%", 1}, {"1/1", 100}} {
		sel, err := parseSubset(tc.s, packs)
		if err != nil || len(sel) != tc.want {
			t.Errorf("subset %q: %d packs, %v; want %d", tc.s, len(sel), err, tc.want)
		}
	}
	for _, bad := range []string{"0/3", "4/3", "x", "1/0", "0%", "101%", "-5%", "1/", "NaN%"} {
		if _, err := parseSubset(bad, packs); err == nil {
			t.Errorf("subset %q accepted", bad)
		}
	}
}

// damage applies fn to the stored bytes of one object of a local repository.
func damage(t *testing.T, r *Repository, h backend.Handle, fn func([]byte) []byte) {
	t.Helper()
	p := r.be.(*local.Backend).Path(h)
	b, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(p, fn(b), 0o600); err != nil {
		t.Fatal(err)
	}
}

func firstName(t *testing.T, r *Repository, typ backend.Type) string {
	t.Helper()
	var name string
	_ = r.be.List(context.Background(), typ, func(n string, _ int64) error {
		if name == "" || n < name {
			name = n
		}
		return nil
	})
	if name == "" {
		t.Fatalf("no %s objects", typ)
	}
	return name
}

func errorsMention(rep *CheckReport, s string) bool {
	for _, p := range rep.Problems {
		if p.Level == LevelError && strings.Contains(p.String(), s) {
			return true
		}
	}
	return false
}

func TestCheckFindsDamage(t *testing.T) {
	cases := []struct {
		name     string
		readData bool
		harm     func(t *testing.T, r *Repository)
		mention  string
	}{
		{"pack removed", false, func(t *testing.T, r *Repository) {
			if err := r.be.Remove(context.Background(), backend.Handle{Type: backend.Pack, Name: firstName(t, r, backend.Pack)}); err != nil {
				t.Fatal(err)
			}
		}, "not stored"},
		{"pack bit flip", true, func(t *testing.T, r *Repository) {
			damage(t, r, backend.Handle{Type: backend.Pack, Name: firstName(t, r, backend.Pack)}, func(b []byte) []byte { b[100] ^= 1; return b })
		}, "does not match its name"},
		{"pack truncated", false, func(t *testing.T, r *Repository) {
			damage(t, r, backend.Handle{Type: backend.Pack, Name: firstName(t, r, backend.Pack)}, func(b []byte) []byte { return b[:len(b)/2] })
		}, "index places blobs"},
		{"index object corrupt", false, func(t *testing.T, r *Repository) {
			damage(t, r, backend.Handle{Type: backend.Index, Name: firstName(t, r, backend.Index)}, func(b []byte) []byte { b[len(b)-1] ^= 1; return b })
		}, "index/"},
		{"index object removed", false, func(t *testing.T, r *Repository) {
			if err := r.be.Remove(context.Background(), backend.Handle{Type: backend.Index, Name: firstName(t, r, backend.Index)}); err != nil {
				t.Fatal(err)
			}
		}, "not in the index"},
		{"snapshot corrupt", false, func(t *testing.T, r *Repository) {
			damage(t, r, backend.Handle{Type: backend.Snapshot, Name: firstName(t, r, backend.Snapshot)}, func(b []byte) []byte { b[20] ^= 1; return b })
		}, "snapshots/"},
		{"key slot corrupt", false, func(t *testing.T, r *Repository) {
			kdf := crypto.TestKDFParams()
			ki, err := r.AddKey(context.Background(), []byte("second"), &kdf)
			if err != nil {
				t.Fatal(err)
			}
			damage(t, r, backend.Handle{Type: backend.Key, Name: ki.ID}, func(b []byte) []byte { return append(b, 'x') })
		}, "keys/"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			r, _ := newLCRepo(t)
			backupBytes(t, r, randomVolume(3<<20, 51), "a")
			backupBytes(t, r, randomVolume(1<<20, 52), "b")
			mustCheck(t, r, CheckOptions{ReadData: true})
			tc.harm(t, r)
			// A fresh handle: the damage must be found from storage, not from the cache.
			r2 := openLC(t, r.Location())
			rep, err := r2.Check(context.Background(), CheckOptions{ReadData: tc.readData})
			if err != nil {
				t.Fatalf("Check: %v", err)
			}
			if rep.OK() || !errorsMention(rep, tc.mention) {
				t.Fatalf("damage not reported (want %q): %+v", tc.mention, rep.Problems)
			}
		})
	}
}

func TestCheckReadDataSubsets(t *testing.T) {
	r, _ := newLCRepo(t)
	backupBytes(t, r, randomVolume(4<<20, 61), "a")
	full := mustCheck(t, r, CheckOptions{ReadData: true})
	if full.PacksRead != full.StoredPacks || full.BlobsRead < int64(full.IndexedBlobs) || full.BlobRefs == 0 {
		t.Fatalf("full read: %+v", full)
	}
	read := 0
	for _, s := range []string{"1/2", "2/2"} {
		rep := mustCheck(t, r, CheckOptions{ReadData: true, Subset: s})
		read += rep.PacksRead
	}
	if read != full.PacksRead {
		t.Fatalf("1/2 + 2/2 read %d packs, want %d", read, full.PacksRead)
	}
	if rep := mustCheck(t, r, CheckOptions{ReadData: true, Subset: "1%"}); rep.PacksRead != 1 {
		t.Fatalf("1%% read %d packs", rep.PacksRead)
	}
	if _, err := r.Check(context.Background(), CheckOptions{ReadData: true, Subset: "7/3"}); err == nil {
		t.Fatal("bad subset accepted")
	}
}
