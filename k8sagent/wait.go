package k8sagent

import (
	"context"
	"errors"
	"fmt"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/fields"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/watch"
)

// watched is a typed API object (a *VolumeSnapshot, *PersistentVolumeClaim, *Job).
type watched interface {
	runtime.Object
	metav1.Object
}

// waitFor gets the object called name and watches it until done reports true, done returns
// an error, or timeout passes (an error wrapping ErrTimeout naming what). No polling: the
// watch resumes from the resource version last seen.
func waitFor[T watched](ctx context.Context, timeout time.Duration, what, name string,
	get func(context.Context, string, metav1.GetOptions) (T, error),
	watchFn func(context.Context, metav1.ListOptions) (watch.Interface, error),
	done func(T) (bool, error)) (T, error) {
	var zero T
	wctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	timedOut := func(err error) error {
		if ctx.Err() == nil && errors.Is(wctx.Err(), context.DeadlineExceeded) {
			return fmt.Errorf("%s: %w after %s", what, ErrTimeout, timeout)
		}
		return err
	}
	for {
		obj, err := get(wctx, name, metav1.GetOptions{})
		if err != nil {
			return zero, timedOut(apiError(err, "%s", what))
		}
		if ok, err := done(obj); err != nil || ok {
			return obj, err
		}
		w, err := watchFn(wctx, metav1.ListOptions{
			FieldSelector:   fields.OneTermEqualSelector("metadata.name", name).String(),
			ResourceVersion: obj.GetResourceVersion(),
		})
		if err != nil {
			return zero, timedOut(apiError(err, "watch %s", what))
		}
		obj, finished, err := drain(wctx, w, done)
		w.Stop()
		if finished || err != nil {
			return obj, err
		}
		if wctx.Err() != nil {
			return zero, timedOut(wctx.Err())
		}
		// The watch ended (server timeout or compaction): get again and resume.
	}
}

// drain consumes watch events until done is satisfied or the watch or context ends.
func drain[T watched](ctx context.Context, w watch.Interface, done func(T) (bool, error)) (T, bool, error) {
	var zero T
	for {
		select {
		case <-ctx.Done():
			return zero, false, nil
		case ev, ok := <-w.ResultChan():
			if !ok {
				return zero, false, nil
			}
			switch ev.Type {
			case watch.Deleted:
				return zero, true, fmt.Errorf("object was deleted while waiting")
			case watch.Error:
				return zero, false, nil
			}
			obj, isT := ev.Object.(T)
			if !isT {
				continue
			}
			if ok, err := done(obj); err != nil || ok {
				return obj, true, err
			}
		}
	}
}
