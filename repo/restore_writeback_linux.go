package repo

import (
	"cmp"
	"io"
	"slices"
	"sync"
	"syscall"

	"golang.org/x/sys/unix"
)

// writeBehindStep is how many bytes of finished writes a restore collects before it hands
// them to the kernel's writeback in one batch.
const writeBehindStep = 8 << 20

// writeBehind starts writeback of a restore target's dirty pages while the restore runs
// (sync_file_range SYNC_FILE_RANGE_WRITE, asynchronous, not a durability barrier), so the
// caller's final fsync has little left to write, and drops them from the page cache once
// written. It only applies to regular files and block devices that expose their descriptor
// (syscall.Conn, as *os.File does); for anything else it does nothing.
//
// Only the whole pages inside each finished write are handed on: a page a write covers only
// in part may still be filled by a neighbouring write, and writing it back now would write
// it twice. Workers write in pack order, not volume order, so there is no written frontier
// to follow: a range is handed on as soon as it is written, whatever lies before it. The
// pages left over (two per write at most) are written by the final fsync.
//
// Drop-behind: once a batch has been handed on, the batch before it is waited for
// (sync_file_range with SYNC_FILE_RANGE_WAIT_AFTER; it has usually been written by then) and
// dropped (POSIX_FADV_DONTNEED). A restore then recycles about two batches' worth of page
// cache instead of filling it with the volume, which would evict the cache of whatever else
// runs on the node. It is also faster where fresh pages are dear: on the benchmark VMs the
// system time of writing a volume into fresh pages varied 2–3× from run to run, and 8 GiB
// restores took 7.6–8.7 s instead of 8.8–11.9 s (DECISIONS §30). The last batch and the
// partial pages stay cached.
type writeBehind struct {
	sync func(off, n int64) // sync_file_range; replaced in tests
	drop func(off, n int64) // wait for the range's writeback, then drop it; nil: keep cached
	page int64
	kick chan struct{} // buffered 1: a batch is ready
	wg   sync.WaitGroup

	mu      sync.Mutex
	pending []span // finished, page-aligned ranges not yet handed on
	bytes   int64  // their total length
}

// span is a byte range [off, end) of the restore target.
type span struct{ off, end int64 }

func newWriteBehind(dst io.WriterAt) *writeBehind {
	sync, drop, ok := fileWriteback(dst)
	if !ok {
		return nil
	}
	return startWriteBehind(int64(unix.Getpagesize()), sync, drop)
}

// fileWriteback returns writeBehind's sync and drop for dst, a regular file or block device
// exposing its descriptor; ok is false for anything else.
func fileWriteback(dst io.WriterAt) (sync, drop func(off, n int64), ok bool) {
	c, ok := dst.(syscall.Conn)
	if !ok {
		return nil, nil, false
	}
	rc, err := c.SyscallConn()
	if err != nil {
		return nil, nil, false
	}
	var st unix.Stat_t
	serr := rc.Control(func(fd uintptr) { err = unix.Fstat(int(fd), &st) })
	if serr != nil || err != nil {
		return nil, nil, false
	}
	if m := st.Mode & unix.S_IFMT; m != unix.S_IFREG && m != unix.S_IFBLK {
		return nil, nil, false
	}
	// Best effort, both: errors surface in the caller's fsync.
	sync = func(off, n int64) {
		_ = rc.Control(func(fd uintptr) {
			_ = unix.SyncFileRange(int(fd), off, n, unix.SYNC_FILE_RANGE_WRITE)
		})
	}
	drop = func(off, n int64) {
		_ = rc.Control(func(fd uintptr) {
			const wait = unix.SYNC_FILE_RANGE_WAIT_BEFORE | unix.SYNC_FILE_RANGE_WRITE | unix.SYNC_FILE_RANGE_WAIT_AFTER
			if unix.SyncFileRange(int(fd), off, n, wait) == nil {
				_ = unix.Fadvise(int(fd), off, n, unix.FADV_DONTNEED)
			}
		})
	}
	return sync, drop, true
}

func startWriteBehind(page int64, sync, drop func(off, n int64)) *writeBehind {
	w := &writeBehind{sync: sync, drop: drop, page: page, kick: make(chan struct{}, 1)}
	w.wg.Add(1)
	go w.flush()
	return w
}

// wrote records that [off, end) of the target was written.
func (w *writeBehind) wrote(off, end int64) {
	if w == nil {
		return
	}
	off = (off + w.page - 1) / w.page * w.page
	end = end / w.page * w.page
	if end <= off {
		return
	}
	w.mu.Lock()
	w.pending = append(w.pending, span{off, end})
	w.bytes += end - off
	ready := w.bytes >= writeBehindStep
	w.mu.Unlock()
	if ready {
		select {
		case w.kick <- struct{}{}:
		default: // a batch is signalled already
		}
	}
}

// flush hands each batch to the kernel, adjacent ranges joined, in file order, then drops
// the batch before it.
func (w *writeBehind) flush() {
	defer w.wg.Done()
	var batch, cur, prev []span
	for range w.kick {
		w.mu.Lock()
		batch, w.pending = w.pending, batch[:0]
		w.bytes = 0
		w.mu.Unlock()
		slices.SortFunc(batch, func(a, b span) int { return cmp.Compare(a.off, b.off) })
		cur = cur[:0]
		for i := 0; i < len(batch); {
			s := batch[i]
			for i++; i < len(batch) && batch[i].off <= s.end; i++ {
				s.end = max(s.end, batch[i].end)
			}
			w.sync(s.off, s.end-s.off)
			cur = append(cur, s)
		}
		if w.drop != nil {
			for _, s := range prev {
				w.drop(s.off, s.end-s.off)
			}
		}
		prev, cur = cur, prev
	}
}

// stop waits for the flusher; call once, after the last write. Ranges not handed on yet are
// left to the caller's fsync.
func (w *writeBehind) stop() {
	if w == nil {
		return
	}
	close(w.kick)
	w.wg.Wait()
}
