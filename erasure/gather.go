package erasure

import (
	"context"
	"time"
)

// gather runs fetch for candidates, in order and at most parallel at once, until need
// results were accepted; it then cancels the fetches still running and returns without
// waiting for them (their results are dropped). If widen > 0 and need is not met after
// widen, the rest of the candidates are started at once (a hedge against a slow one).
// accept, if not nil, runs on the caller's goroutine for each successful fetch and may
// reject it. It returns the accepted results, the failures seen, and ctx.Err() if ctx
// ended first.
func gather[T any](ctx context.Context, parallel int, widen time.Duration, candidates []int, need int,
	fetch func(ctx context.Context, index int) (T, error),
	accept func(index int, v T) error,
) (good map[int]T, failed map[int]error, err error) {
	good, failed = make(map[int]T, need), map[int]error{}
	if need <= 0 {
		return good, failed, nil
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	type result struct {
		index int
		v     T
		err   error
	}
	results := make(chan result, len(candidates)) // never blocks a fetch goroutine
	next, inflight := 0, 0
	launch := func() {
		i := candidates[next]
		next++
		inflight++
		go func() {
			v, err := fetch(ctx, i)
			results <- result{i, v, err}
		}()
	}
	for inflight < max(parallel, 1) && next < len(candidates) {
		launch()
	}
	var widened <-chan time.Time
	if widen > 0 && next < len(candidates) {
		t := time.NewTimer(widen)
		defer t.Stop()
		widened = t.C
	}
	for len(good) < need && inflight > 0 {
		select {
		case <-widened:
			for next < len(candidates) {
				launch()
			}
		case r := <-results:
			inflight--
			if r.err == nil && accept != nil {
				r.err = accept(r.index, r.v)
			}
			if r.err != nil {
				failed[r.index] = r.err
			} else {
				good[r.index] = r.v
			}
			if len(good) < need && next < len(candidates) {
				launch()
			}
		case <-ctx.Done():
			return good, failed, ctx.Err()
		}
	}
	return good, failed, nil
}
