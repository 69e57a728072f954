package s3

import (
	"context"
	"errors"
	"sync/atomic"
	"time"
)

// errStalled is the cancellation cause of a request that made no progress for Timeout.
var errStalled = errors.New("no progress")

// watchdog cancels a request context when no progress has been reported for idle time.
// Progress is reported with kick, from any goroutine.
type watchdog struct {
	ctx    context.Context
	cancel context.CancelCauseFunc
	idle   time.Duration
	start  time.Time
	last   atomic.Int64 // nanoseconds since start of the last kick (monotonic)
	timer  *time.Timer
	onKick func() // test hook, may be nil
}

// watch returns a watchdog whose ctx is a child of ctx. Call stop when the request is done.
func (b *Backend) watch(ctx context.Context) *watchdog {
	wctx, cancel := context.WithCancelCause(ctx)
	w := &watchdog{ctx: wctx, cancel: cancel, idle: b.cfg.Timeout, start: time.Now(), onKick: b.onProgress}
	w.timer = time.AfterFunc(w.idle, w.check)
	return w
}

func (w *watchdog) check() {
	if w.ctx.Err() != nil {
		return
	}
	quiet := time.Since(w.start) - time.Duration(w.last.Load())
	if quiet >= w.idle {
		w.cancel(errStalled)
		return
	}
	w.timer.Reset(w.idle - quiet)
}

// kick records progress.
func (w *watchdog) kick() {
	w.last.Store(int64(time.Since(w.start)))
	if w.onKick != nil {
		w.onKick()
	}
}

// stalled reports whether the watchdog canceled the request.
func (w *watchdog) stalled() bool { return errors.Is(context.Cause(w.ctx), errStalled) }

func (w *watchdog) stop() {
	w.timer.Stop()
	w.cancel(nil)
}

// Read makes the watchdog an io.Reader for minio-go's upload progress hook: every chunk
// handed to the connection counts as progress.
func (w *watchdog) Read(p []byte) (int, error) {
	w.kick()
	return len(p), nil
}

// progressReader reports every successful read of r to w.
type progressReader struct {
	r interface{ Read([]byte) (int, error) }
	w *watchdog
}

func (p progressReader) Read(b []byte) (int, error) {
	n, err := p.r.Read(b)
	if n > 0 {
		p.w.kick()
	}
	return n, err
}
