package main

import (
	"encoding/json"
	"fmt"
	"io"
	"sync"
	"sync/atomic"
	"time"

	"github.com/vbauerster/mpb/v8"
	"github.com/vbauerster/mpb/v8/decor"

	"github.com/cairnbackup/cairn/repo"
)

// progressSink receives repo.Progress reports of one backup or restore.
type progressSink interface {
	// update is called with each report (from one goroutine at a time).
	update(p repo.Progress)
	// finish ends the display; ok is false when the operation failed.
	finish(ok bool)
	// interval is how often the engine should report.
	interval() time.Duration
}

// newProgress picks the display for op ("backup", "restore") of total bytes (0: unknown):
// nothing when quiet, JSON lines on stderr with --json, a progress bar when stderr is a
// terminal, and nothing otherwise.
func (a *app) newProgress(op string, total int64) progressSink {
	switch {
	case a.Quiet:
		return nopProgress{}
	case a.JSON:
		return &jsonProgress{w: a.Stderr, op: op}
	case a.IsTerminal(a.Stderr):
		return newBarProgress(a.Stderr, op, total)
	}
	return nopProgress{}
}

// dedupRatio is the share of the bytes done that did not have to be stored as new data.
func dedupRatio(done, newBytes int64) float64 {
	if done <= 0 {
		return 0
	}
	r := float64(done-newBytes) / float64(done)
	return max(0, min(1, r))
}

// rate is bytes per second over d (0 when d is 0).
func rate(n int64, d time.Duration) float64 {
	if d <= 0 {
		return 0
	}
	return float64(n) / d.Seconds()
}

type nopProgress struct{}

func (nopProgress) update(repo.Progress)    {}
func (nopProgress) finish(bool)             {}
func (nopProgress) interval() time.Duration { return time.Second }

// progressLine is the JSON shape of one progress report.
type progressLine struct {
	Type string `json:"type"` // "progress"
	Op   string `json:"op"`   // "backup" or "restore"
	repo.Progress
	DedupRatio     float64 `json:"dedup_ratio"`
	BytesPerSecond float64 `json:"bytes_per_second"`
}

// jsonProgress writes one JSON line per report.
type jsonProgress struct {
	mu sync.Mutex
	w  io.Writer
	op string
}

func (j *jsonProgress) update(p repo.Progress) {
	line := progressLine{Type: "progress", Op: j.op, Progress: p,
		DedupRatio: dedupRatio(p.BytesDone, p.NewBytes), BytesPerSecond: rate(p.BytesDone, p.Elapsed)}
	if j.op != "backup" {
		line.DedupRatio = 0
	}
	b, err := json.Marshal(line)
	if err != nil {
		return
	}
	j.mu.Lock()
	defer j.mu.Unlock()
	_, _ = j.w.Write(append(b, '\n'))
}

func (j *jsonProgress) finish(bool)             {}
func (j *jsonProgress) interval() time.Duration { return time.Second }

// barProgress draws an mpb progress bar: bytes, rate, ETA and (for backups) the dedup ratio.
type barProgress struct {
	p      *mpb.Progress
	bar    *mpb.Bar
	known  bool
	newB   atomic.Int64
	doneB  atomic.Int64
	closed sync.Once
}

func newBarProgress(w io.Writer, op string, total int64) *barProgress {
	b := &barProgress{known: total > 0}
	b.p = mpb.New(mpb.WithOutput(w), mpb.WithWidth(100), mpb.WithRefreshRate(200*time.Millisecond))
	name := decor.Name(fmt.Sprintf("%-8s", op), decor.WC{W: 9, C: decor.DindentRight})
	dedup := decor.Any(func(decor.Statistics) string {
		if op != "backup" {
			return ""
		}
		return fmt.Sprintf("dedup %3.0f%%", 100*dedupRatio(b.doneB.Load(), b.newB.Load()))
	}, decor.WC{W: 11})
	speed := decor.AverageSpeed(decor.SizeB1024(0), "% .1f", decor.WC{W: 12})
	if b.known {
		b.bar = b.p.New(total, mpb.BarStyle().Lbound("[").Filler("=").Tip(">").Padding(" ").Rbound("]"),
			mpb.PrependDecorators(name, decor.CountersKibiByte("% .1f / % .1f", decor.WC{W: 22})),
			mpb.AppendDecorators(speed, decor.OnComplete(decor.AverageETA(decor.ET_STYLE_GO, decor.WC{W: 8}), "done"), dedup),
		)
	} else {
		b.bar = b.p.New(0, mpb.SpinnerStyle(),
			mpb.PrependDecorators(name, decor.CurrentKibiByte("% .1f", decor.WC{W: 12})),
			mpb.AppendDecorators(speed, dedup),
		)
	}
	return b
}

func (b *barProgress) update(p repo.Progress) {
	b.newB.Store(p.NewBytes)
	b.doneB.Store(p.BytesDone)
	if b.known && p.BytesDone >= p.BytesTotal && p.BytesTotal > 0 {
		// Leave completion to finish, so the final values are drawn once.
		b.bar.SetCurrent(p.BytesTotal - 1)
		return
	}
	b.bar.SetCurrent(p.BytesDone)
}

func (b *barProgress) finish(ok bool) {
	b.closed.Do(func() {
		if ok {
			if b.known {
				b.bar.SetCurrent(max(b.doneB.Load(), 0))
			}
			b.bar.SetTotal(-1, true)
		} else {
			b.bar.Abort(false)
		}
		b.p.Wait()
	})
}

func (b *barProgress) interval() time.Duration { return 250 * time.Millisecond }
