package backendtest

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"sync"
	"testing"

	"github.com/cairnbackup/cairn/repo/backend"
)

// Run runs the conformance suite. newBackend must return a fresh, empty backend for each
// call and arrange its own cleanup (t.Cleanup); Run does not call Close.
func Run(t *testing.T, newBackend func(t *testing.T) backend.Backend) {
	tests := []struct {
		name string
		fn   func(t *testing.T, b backend.Backend)
	}{
		{"Location", testLocation},
		{"RoundTrip", testRoundTrip},
		{"LoadRanges", testLoadRanges},
		{"Stat", testStat},
		{"List", testList},
		{"ListError", testListError},
		{"Remove", testRemove},
		{"Missing", testMissing},
		{"SaveNew", testSaveNew},
		{"SaveNewRace", testSaveNewRace},
		{"Overwrite", testOverwrite},
		{"ZeroLength", testZeroLength},
		{"HexNames", testHexNames},
		{"InvalidNames", testInvalidNames},
		{"BuffersNotRetained", testBuffersNotRetained},
		{"CanceledContext", testCanceledContext},
		{"Concurrent", testConcurrent},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			tc.fn(t, newBackend(t))
		})
	}
}

// RandomName returns a random 64-digit hex name, like a content address.
func RandomName(t testing.TB) string {
	var b [32]byte
	if _, err := rand.Read(b[:]); err != nil {
		t.Fatal(err)
	}
	return hex.EncodeToString(b[:])
}

// RandomData returns n random bytes.
func RandomData(t testing.TB, n int) []byte {
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		t.Fatal(err)
	}
	return b
}

// TempFile returns a file in a fresh temporary directory holding the concatenation of parts,
// closed when the test ends: a spooled pack for Backend.SaveFile tests.
func TempFile(t testing.TB, parts ...[]byte) *os.File {
	t.Helper()
	f, err := os.Create(filepath.Join(t.TempDir(), "spool"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { f.Close() })
	for _, p := range parts {
		if _, err := f.Write(p); err != nil {
			t.Fatal(err)
		}
	}
	return f
}

func handle(t testing.TB, typ backend.Type) backend.Handle {
	if typ == backend.Config {
		return backend.Handle{Type: backend.Config}
	}
	return backend.Handle{Type: typ, Name: RandomName(t)}
}

func mustSave(t testing.TB, b backend.Backend, h backend.Handle, data []byte) {
	t.Helper()
	if err := b.Save(t.Context(), h, data); err != nil {
		t.Fatalf("Save(%s, %d bytes): %v", h, len(data), err)
	}
}

func mustLoad(t testing.TB, b backend.Backend, h backend.Handle, want []byte) {
	t.Helper()
	got, err := b.Load(t.Context(), h, 0, 0)
	if err != nil {
		t.Fatalf("Load(%s): %v", h, err)
	}
	if !bytes.Equal(got, want) {
		t.Fatalf("Load(%s): got %d bytes, want %d (content differs: %v)", h, len(got), len(want), len(got) == len(want))
	}
}

func listAll(t testing.TB, b backend.Backend, typ backend.Type) map[string]int64 {
	t.Helper()
	out := map[string]int64{}
	err := b.List(t.Context(), typ, func(name string, size int64) error {
		if _, dup := out[name]; dup {
			return fmt.Errorf("name %q listed twice", name)
		}
		out[name] = size
		return nil
	})
	if err != nil {
		t.Fatalf("List(%s): %v", typ, err)
	}
	return out
}

func testLocation(t *testing.T, b backend.Backend) {
	if b.Location() == "" {
		t.Fatal("Location() is empty")
	}
}

func testRoundTrip(t *testing.T, b backend.Backend) {
	for _, typ := range backend.Types {
		for _, n := range []int{1, 1000, 1<<20 + 3} {
			t.Run(fmt.Sprintf("%s/%d", typ, n), func(t *testing.T) {
				h := handle(t, typ)
				data := RandomData(t, n)
				mustSave(t, b, h, data)
				mustLoad(t, b, h, data)
			})
		}
	}
}

func testLoadRanges(t *testing.T, b backend.Backend) {
	const size = 1000
	data := RandomData(t, size)
	h := handle(t, backend.Pack)
	mustSave(t, b, h, data)
	tests := []struct {
		name           string
		offset, length int64
		wantErr        bool
	}{
		{"whole", 0, 0, false},
		{"whole explicit", 0, size, false},
		{"head", 0, 1, false},
		{"middle", 100, 200, false},
		{"to the end", 10, 0, false},
		{"last byte", size - 1, 1, false},
		{"last byte to end", size - 1, 0, false},
		{"exact end", 990, 10, false},
		{"empty at end", size, 0, false},
		{"one past end", 990, 11, true},
		{"start past end", size, 1, true},
		{"offset beyond size", size + 1, 0, true},
		{"far past end", size + 100, 10, true},
		{"negative offset", -1, 0, true},
		{"negative length", 0, -1, true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := b.Load(t.Context(), h, tc.offset, tc.length)
			if tc.wantErr {
				if err == nil {
					t.Fatalf("Load(%d, %d) = %d bytes, want an error", tc.offset, tc.length, len(got))
				}
				if errors.Is(err, backend.ErrNotFound) {
					t.Fatalf("Load(%d, %d) of an existing object: %v, must not wrap ErrNotFound", tc.offset, tc.length, err)
				}
				return
			}
			if err != nil {
				t.Fatalf("Load(%d, %d): %v", tc.offset, tc.length, err)
			}
			end := size
			if tc.length > 0 {
				end = int(tc.offset + tc.length)
			}
			if want := data[tc.offset:end]; !bytes.Equal(got, want) {
				t.Fatalf("Load(%d, %d): got %d bytes, want %d", tc.offset, tc.length, len(got), len(want))
			}
		})
	}
}

func testStat(t *testing.T, b backend.Backend) {
	for _, typ := range backend.Types {
		h := handle(t, typ)
		mustSave(t, b, h, RandomData(t, 1234))
		size, err := b.Stat(t.Context(), h)
		if err != nil {
			t.Fatalf("Stat(%s): %v", h, err)
		}
		if size != 1234 {
			t.Fatalf("Stat(%s) = %d, want 1234", h, size)
		}
	}
}

func testList(t *testing.T, b backend.Backend) {
	want := map[backend.Type]map[string]int64{}
	for i, typ := range backend.Types {
		want[typ] = map[string]int64{}
		n := 3
		if typ == backend.Config {
			n = 1
		}
		for j := range n {
			h := handle(t, typ)
			size := 10*i + j
			mustSave(t, b, h, RandomData(t, size))
			name := h.Name
			if typ == backend.Config {
				name = "config"
			}
			want[typ][name] = int64(size)
		}
	}
	for _, typ := range backend.Types {
		got := listAll(t, b, typ)
		if fmt.Sprint(sorted(got)) != fmt.Sprint(sorted(want[typ])) {
			t.Errorf("List(%s) = %v, want %v", typ, sorted(got), sorted(want[typ]))
		}
	}
}

func testListError(t *testing.T, b backend.Backend) {
	for range 3 {
		mustSave(t, b, handle(t, backend.Index), []byte("x"))
	}
	stop := errors.New("stop")
	calls := 0
	err := b.List(t.Context(), backend.Index, func(string, int64) error {
		calls++
		return stop
	})
	if !errors.Is(err, stop) {
		t.Fatalf("List with failing callback: %v, want the callback's error", err)
	}
	if calls != 1 {
		t.Fatalf("List called fn %d times after it failed, want 1", calls)
	}
	if got := listAll(t, b, backend.Snapshot); len(got) != 0 {
		t.Fatalf("List(snapshots) of an empty type = %v, want nothing", got)
	}
}

func testRemove(t *testing.T, b backend.Backend) {
	for _, typ := range backend.Types {
		h := handle(t, typ)
		keep := handle(t, typ)
		mustSave(t, b, h, []byte("gone"))
		if typ != backend.Config {
			mustSave(t, b, keep, []byte("kept"))
		}
		if err := b.Remove(t.Context(), h); err != nil {
			t.Fatalf("Remove(%s): %v", h, err)
		}
		if _, err := b.Load(t.Context(), h, 0, 0); !errors.Is(err, backend.ErrNotFound) {
			t.Fatalf("Load(%s) after Remove: %v, want ErrNotFound", h, err)
		}
		if err := b.Remove(t.Context(), h); !errors.Is(err, backend.ErrNotFound) {
			t.Fatalf("second Remove(%s): %v, want ErrNotFound", h, err)
		}
		got := listAll(t, b, typ)
		if _, ok := got[h.Name]; ok && typ != backend.Config {
			t.Fatalf("List(%s) still shows removed %s", typ, h.Name)
		}
		if typ == backend.Config {
			if len(got) != 0 {
				t.Fatalf("List(config) after Remove = %v, want nothing", got)
			}
			continue
		}
		mustLoad(t, b, keep, []byte("kept"))
	}
}

func testMissing(t *testing.T, b backend.Backend) {
	ctx := t.Context()
	for _, typ := range backend.Types {
		h := handle(t, typ)
		if _, err := b.Load(ctx, h, 0, 0); !errors.Is(err, backend.ErrNotFound) {
			t.Errorf("Load(missing %s): %v, want ErrNotFound", h, err)
		}
		if _, err := b.Load(ctx, h, 5, 10); !errors.Is(err, backend.ErrNotFound) {
			t.Errorf("Load(missing %s, 5, 10): %v, want ErrNotFound", h, err)
		}
		if _, err := b.Stat(ctx, h); !errors.Is(err, backend.ErrNotFound) {
			t.Errorf("Stat(missing %s): %v, want ErrNotFound", h, err)
		}
		if err := b.Remove(ctx, h); !errors.Is(err, backend.ErrNotFound) {
			t.Errorf("Remove(missing %s): %v, want ErrNotFound", h, err)
		}
		if got := listAll(t, b, typ); len(got) != 0 {
			t.Errorf("List(%s) of an empty backend = %v", typ, got)
		}
	}
}

func testSaveNew(t *testing.T, b backend.Backend) {
	for _, typ := range []backend.Type{backend.Lock, backend.Config, backend.Key} {
		h := handle(t, typ)
		first, second := RandomData(t, 100), RandomData(t, 100)
		if err := b.SaveNew(t.Context(), h, first); err != nil {
			t.Fatalf("SaveNew(%s) of a new object: %v", h, err)
		}
		err := b.SaveNew(t.Context(), h, second)
		if !errors.Is(err, backend.ErrExists) {
			t.Fatalf("SaveNew(%s) of an existing object: %v, want ErrExists", h, err)
		}
		mustLoad(t, b, h, first)
		if err := b.Remove(t.Context(), h); err != nil {
			t.Fatalf("Remove(%s): %v", h, err)
		}
		if err := b.SaveNew(t.Context(), h, second); err != nil {
			t.Fatalf("SaveNew(%s) after Remove: %v", h, err)
		}
		mustLoad(t, b, h, second)
		// An object made by Save counts as existing too.
		h2 := handle(t, backend.Lock)
		mustSave(t, b, h2, first)
		if err := b.SaveNew(t.Context(), h2, second); !errors.Is(err, backend.ErrExists) {
			t.Fatalf("SaveNew over a Save: %v, want ErrExists", err)
		}
	}
}

func testSaveNewRace(t *testing.T, b backend.Backend) {
	const n = 8
	h := handle(t, backend.Lock)
	var (
		wg   sync.WaitGroup
		errs [n]error
		data [n][]byte
	)
	for i := range n {
		data[i] = RandomData(t, 64)
		wg.Go(func() { errs[i] = b.SaveNew(t.Context(), h, data[i]) })
	}
	wg.Wait()
	winner := -1
	for i, err := range errs {
		switch {
		case err == nil:
			if winner >= 0 {
				t.Fatalf("SaveNew succeeded for both writer %d and %d", winner, i)
			}
			winner = i
		case !errors.Is(err, backend.ErrExists):
			t.Fatalf("writer %d: %v, want nil or ErrExists", i, err)
		}
	}
	if winner < 0 {
		t.Fatal("no concurrent SaveNew succeeded")
	}
	mustLoad(t, b, h, data[winner])
}

func testOverwrite(t *testing.T, b backend.Backend) {
	h := handle(t, backend.Pack)
	data := RandomData(t, 5000)
	mustSave(t, b, h, data)
	mustSave(t, b, h, data)
	mustLoad(t, b, h, data)
	other := RandomData(t, 300)
	mustSave(t, b, h, other)
	mustLoad(t, b, h, other)
	if got := listAll(t, b, backend.Pack); len(got) != 1 || got[h.Name] != 300 {
		t.Fatalf("List after overwrites = %v, want one object of 300 bytes", got)
	}
}

func testZeroLength(t *testing.T, b backend.Backend) {
	for _, typ := range backend.Types {
		h := handle(t, typ)
		mustSave(t, b, h, nil)
		got, err := b.Load(t.Context(), h, 0, 0)
		if err != nil || len(got) != 0 {
			t.Fatalf("Load(empty %s) = %d bytes, %v; want 0, nil", h, len(got), err)
		}
		if _, err := b.Load(t.Context(), h, 0, 1); err == nil {
			t.Fatalf("Load(empty %s, 0, 1) succeeded, want an error", h)
		}
		if size, err := b.Stat(t.Context(), h); err != nil || size != 0 {
			t.Fatalf("Stat(empty %s) = %d, %v; want 0, nil", h, size, err)
		}
		name := h.Name
		if typ == backend.Config {
			name = "config"
		}
		if size, ok := listAll(t, b, typ)[name]; !ok || size != 0 {
			t.Fatalf("List(%s) = %d, %v for the empty object; want 0, true", typ, size, ok)
		}
	}
}

func testHexNames(t *testing.T, b backend.Backend) {
	// Names spread over many pack directories, including the extremes.
	names := []string{
		"0000000000000000000000000000000000000000000000000000000000000000",
		"ffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff",
		"0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef",
	}
	for i := range 16 {
		names = append(names, fmt.Sprintf("%x%x", i, 15-i)+RandomName(t)[2:])
	}
	for _, typ := range []backend.Type{backend.Pack, backend.Snapshot} {
		want := map[string]int64{}
		for i, name := range names {
			h := backend.Handle{Type: typ, Name: name}
			data := RandomData(t, i)
			mustSave(t, b, h, data)
			mustLoad(t, b, h, data)
			want[name] = int64(i)
		}
		if got := listAll(t, b, typ); fmt.Sprint(sorted(got)) != fmt.Sprint(sorted(want)) {
			t.Fatalf("List(%s) = %v, want %v", typ, sorted(got), sorted(want))
		}
	}
}

func testInvalidNames(t *testing.T, b backend.Backend) {
	for _, name := range []string{"", "a/b", "../escape", `a\b`, ".hidden"} {
		h := backend.Handle{Type: backend.Snapshot, Name: name}
		if err := b.Save(t.Context(), h, []byte("x")); err == nil {
			t.Errorf("Save(%q) succeeded, want an error", name)
		}
		if err := b.SaveNew(t.Context(), h, []byte("x")); err == nil {
			t.Errorf("SaveNew(%q) succeeded, want an error", name)
		}
		if _, err := b.Load(t.Context(), h, 0, 0); err == nil {
			t.Errorf("Load(%q) succeeded, want an error", name)
		}
		if _, err := b.Stat(t.Context(), h); err == nil {
			t.Errorf("Stat(%q) succeeded, want an error", name)
		}
		if err := b.Remove(t.Context(), h); err == nil {
			t.Errorf("Remove(%q) succeeded, want an error", name)
		}
	}
	for _, typ := range backend.Types {
		if got := listAll(t, b, typ); len(got) != 0 {
			t.Errorf("List(%s) after invalid saves = %v, want nothing", typ, got)
		}
	}
}

func testBuffersNotRetained(t *testing.T, b backend.Backend) {
	h := handle(t, backend.Index)
	data := RandomData(t, 100)
	want := bytes.Clone(data)
	mustSave(t, b, h, data)
	data[0] ^= 0xff // the caller may reuse its buffer after Save
	got, err := b.Load(t.Context(), h, 0, 0)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, want) {
		t.Fatal("Save retained the caller's buffer")
	}
	got[1] ^= 0xff // and own what Load returned
	mustLoad(t, b, h, want)
}

func testCanceledContext(t *testing.T, b backend.Backend) {
	h := handle(t, backend.Pack)
	mustSave(t, b, h, []byte("data"))
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	if err := b.Save(ctx, handle(t, backend.Pack), []byte("x")); err == nil {
		t.Error("Save with a canceled context succeeded")
	}
	if _, err := b.Load(ctx, h, 0, 0); err == nil {
		t.Error("Load with a canceled context succeeded")
	}
}

func testConcurrent(t *testing.T, b backend.Backend) {
	const workers, perWorker = 8, 6
	shared := handle(t, backend.Pack)
	sharedData := RandomData(t, 4096)
	mustSave(t, b, shared, sharedData)
	var wg sync.WaitGroup
	errc := make(chan error, workers)
	for range workers {
		wg.Go(func() {
			for range perWorker {
				h := handle(t, backend.Pack)
				data := RandomData(t, 2000)
				if err := b.Save(t.Context(), h, data); err != nil {
					errc <- err
					return
				}
				// Identical-content overwrite of a shared object, racing readers.
				if err := b.Save(t.Context(), shared, sharedData); err != nil {
					errc <- err
					return
				}
				for _, c := range []struct {
					h    backend.Handle
					want []byte
				}{{h, data[100:600]}, {shared, sharedData[100:600]}} {
					got, err := b.Load(t.Context(), c.h, 100, 500)
					if err != nil {
						errc <- err
						return
					}
					if !bytes.Equal(got, c.want) {
						errc <- fmt.Errorf("concurrent Load(%s) returned wrong bytes", c.h)
						return
					}
				}
				if _, err := b.Stat(t.Context(), h); err != nil {
					errc <- err
					return
				}
			}
		})
	}
	wg.Wait()
	close(errc)
	for err := range errc {
		t.Error(err)
	}
	if got := listAll(t, b, backend.Pack); len(got) != workers*perWorker+1 {
		t.Fatalf("List after concurrent saves: %d objects, want %d", len(got), workers*perWorker+1)
	}
}

func sorted(m map[string]int64) []string {
	out := make([]string, 0, len(m))
	for k, v := range m {
		out = append(out, fmt.Sprintf("%s=%d", k, v))
	}
	sort.Strings(out)
	return out
}
