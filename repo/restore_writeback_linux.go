package repo

import (
	"io"
	"sync"
	"syscall"

	"golang.org/x/sys/unix"
)

// writeBehindStep is how far the written frontier must move before more of it is handed to
// the kernel's writeback; writeBehindLag keeps clear of ranges workers may still be filling:
// a restore writes each restoreWindow out of order, and jobs of the previous window may
// still be in flight.
const (
	writeBehindStep = 32 << 20
	writeBehindLag  = 2 * restoreWindow
)

// writeBehind starts writeback of a restore target's dirty pages while the restore runs
// (sync_file_range SYNC_FILE_RANGE_WRITE, asynchronous, not a durability barrier), so the
// caller's final fsync has little left to write. It only applies to regular files and
// block devices that expose their descriptor (syscall.Conn, as *os.File does); for anything
// else it does nothing.
type writeBehind struct {
	rc    syscall.RawConn
	kick  chan int64 // the new frontier; buffered 1, a pending value is replaced
	wg    sync.WaitGroup
	mu    sync.Mutex
	ahead int64 // largest frontier seen
	sent  int64 // frontier last handed to the flusher
}

func newWriteBehind(dst io.WriterAt) *writeBehind {
	c, ok := dst.(syscall.Conn)
	if !ok {
		return nil
	}
	rc, err := c.SyscallConn()
	if err != nil {
		return nil
	}
	var st unix.Stat_t
	serr := rc.Control(func(fd uintptr) { err = unix.Fstat(int(fd), &st) })
	if serr != nil || err != nil {
		return nil
	}
	if m := st.Mode & unix.S_IFMT; m != unix.S_IFREG && m != unix.S_IFBLK {
		return nil
	}
	w := &writeBehind{rc: rc, kick: make(chan int64, 1)}
	w.wg.Add(1)
	go w.flush()
	return w
}

// wrote records that [off, end) of the target was written.
func (w *writeBehind) wrote(end int64) {
	if w == nil {
		return
	}
	w.mu.Lock()
	w.ahead = max(w.ahead, end)
	front := w.ahead - writeBehindLag
	if front-w.sent < writeBehindStep {
		w.mu.Unlock()
		return
	}
	w.sent = front
	defer w.mu.Unlock()
	select {
	case <-w.kick: // replace a frontier the flusher has not taken yet
	default:
	}
	select {
	case w.kick <- front:
	default:
	}
}

func (w *writeBehind) flush() {
	defer w.wg.Done()
	var done int64
	for front := range w.kick {
		if front > done {
			// Best effort: errors surface in the caller's fsync.
			_ = w.rc.Control(func(fd uintptr) {
				_ = unix.SyncFileRange(int(fd), done, front-done, unix.SYNC_FILE_RANGE_WRITE)
			})
			done = front
		}
	}
}

// stop waits for the flusher; call once, after the last write.
func (w *writeBehind) stop() {
	if w == nil {
		return
	}
	close(w.kick)
	w.wg.Wait()
}
