package repo

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"testing"

	"golang.org/x/sys/unix"
)

// TestWriteBehindHandsOnWholePages: finished writes are handed to writeback once a batch is
// full, as whole pages only (a page a write covers in part is left to the final fsync),
// sorted and with touching ranges joined, whatever order the writes finished in.
func TestWriteBehindHandsOnWholePages(t *testing.T) {
	const page, mib = 4096, 1 << 20
	var mu sync.Mutex
	var got [][2]int64
	w := startWriteBehind(page, func(off, n int64) {
		mu.Lock()
		got = append(got, [2]int64{off, n})
		mu.Unlock()
	}, nil)
	w.wrote(9*mib, 10*mib)      // C: aligned, touches B's last page
	w.wrote(3*mib+10, 3*mib+20) // inside one page: nothing to hand on
	w.wrote(5*mib+100, 9*mib)   // B: starts inside a page B shares with A
	w.wrote(100, 5*mib+100)     // A: the batch is now full
	w.stop()
	want := [][2]int64{{page, 5*mib - page}, {5*mib + page, 10*mib - 5*mib - page}}
	if !slices.Equal(got, want) {
		t.Fatalf("handed on %v, want %v", got, want)
	}
	got = nil
	w = startWriteBehind(page, func(off, n int64) { got = append(got, [2]int64{off, n}) }, nil)
	w.wrote(0, mib) // less than a batch: left to the final fsync
	w.stop()
	if len(got) != 0 {
		t.Fatalf("a part batch was handed on: %v", got)
	}
	var nilW *writeBehind // targets without a descriptor
	nilW.wrote(0, mib)
	nilW.stop()
}

// TestWriteBehindDropsBehind: each batch is dropped once the batch after it has been handed
// on (so its writeback had a batch's time to run), every dropped range was handed on before,
// and the last batch is not dropped.
func TestWriteBehindDropsBehind(t *testing.T) {
	const page, mib = 4096, 1 << 20
	var events []string // only the flusher appends; read after stop
	synced := make(chan struct{}, 1)
	w := startWriteBehind(page,
		func(off, n int64) {
			events = append(events, fmt.Sprintf("sync %d+%d", off/mib, n/mib))
			synced <- struct{}{}
		},
		func(off, n int64) { events = append(events, fmt.Sprintf("drop %d+%d", off/mib, n/mib)) })
	for b := range int64(3) { // three batches of writeBehindStep, one range each
		w.wrote(b*writeBehindStep, (b+1)*writeBehindStep)
		<-synced // the flusher took this batch alone
	}
	w.stop()
	step := int64(writeBehindStep / mib)
	want := []string{
		fmt.Sprintf("sync 0+%d", step),
		fmt.Sprintf("sync %d+%d", step, step), fmt.Sprintf("drop 0+%d", step),
		fmt.Sprintf("sync %d+%d", 2*step, step), fmt.Sprintf("drop %d+%d", step, step),
	}
	if !slices.Equal(events, want) {
		t.Fatalf("events %q, want %q", events, want)
	}
}

// TestWriteBehindLeavesNoCache: a real file's writeBehind leaves the written data out of the
// page cache but for the last batch; the data reads back intact.
func TestWriteBehindLeavesNoCache(t *testing.T) {
	path := filepath.Join(t.TempDir(), "vol.img")
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var fs unix.Statfs_t
	if err := unix.Fstatfs(int(f.Fd()), &fs); err != nil {
		t.Fatal(err)
	}
	if fs.Type == unix.TMPFS_MAGIC {
		t.Skip("tmpfs keeps every page in memory")
	}
	cached := func(off, n int64) int64 {
		var st unix.Cachestat_t
		err := unix.Cachestat(uint(f.Fd()), &unix.CachestatRange{Off: uint64(off), Len: uint64(n)}, &st, 0)
		if errors.Is(err, unix.ENOSYS) {
			t.Skip("cachestat(2) needs Linux 6.5")
		}
		if err != nil {
			t.Fatal(err)
		}
		return int64(st.Cache) * int64(os.Getpagesize())
	}
	sync, drop, ok := fileWriteback(f)
	if !ok {
		t.Fatal("no writeback for a regular file")
	}
	synced := make(chan struct{}, 1)
	w := startWriteBehind(int64(os.Getpagesize()), func(off, n int64) { sync(off, n); synced <- struct{}{} }, drop)
	const batches = 6
	chunk := bytes.Repeat([]byte("cairn restores "), 1<<17)[:1<<20]
	for off := int64(0); off < batches*writeBehindStep; off += int64(len(chunk)) {
		if _, err := f.WriteAt(chunk, off); err != nil {
			t.Fatal(err)
		}
		w.wrote(off, off+int64(len(chunk)))
		if (off+int64(len(chunk)))%writeBehindStep == 0 {
			<-synced // one batch at a time, as when the disk keeps up
		}
	}
	w.stop()
	if err := f.Sync(); err != nil {
		t.Fatal(err)
	}
	if c := cached(0, (batches-1)*writeBehindStep); c > 0 {
		t.Errorf("%d KiB of the first %d batches still cached, want none", c>>10, batches-1)
	}
	if c := cached((batches-1)*writeBehindStep, writeBehindStep); c != writeBehindStep {
		t.Errorf("%d KiB of the last batch cached, want all of it (%d KiB)", c>>10, writeBehindStep>>10)
	}
	got := make([]byte, len(chunk))
	for _, off := range []int64{0, batches*writeBehindStep - int64(len(chunk))} {
		if _, err := f.ReadAt(got, off); err != nil || !bytes.Equal(got, chunk) {
			t.Fatalf("read back at %d: %v, equal %v", off, err, bytes.Equal(got, chunk))
		}
	}
}
