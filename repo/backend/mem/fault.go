package mem

import (
	"context"
	"errors"
	"fmt"
	"sync"

	"github.com/cairnbackup/cairn/repo/backend"
)

// Op names a backend operation a fault can be attached to.
type Op int

// Operations.
const (
	OpSave Op = iota
	OpSaveNew
	OpLoad
	OpStat
	OpList
	OpRemove
	numOps
)

// String returns the operation's method name.
func (op Op) String() string {
	switch op {
	case OpSave:
		return "Save"
	case OpSaveNew:
		return "SaveNew"
	case OpLoad:
		return "Load"
	case OpStat:
		return "Stat"
	case OpList:
		return "List"
	case OpRemove:
		return "Remove"
	}
	return fmt.Sprintf("Op(%d)", int(op))
}

// ErrInjected marks every error produced by a Fault, so tests can tell injected failures
// from real ones with errors.Is. The Fault's own Err is wrapped as well.
var ErrInjected = errors.New("injected fault")

// Fault describes what happens to matching calls of one operation. The zero Fault (with only
// Err set) fails every matching call with Err.
//
// Fields are read when the fault fires and must not be changed after AddFault.
type Fault struct {
	// Match selects the calls the fault applies to; nil matches all. For OpList the handle
	// has the listed Type and an empty Name.
	Match func(h backend.Handle) bool
	// Times is how often the fault fires before it is used up; 0 means forever.
	Times int
	// Gate, if non-nil, holds the call until the channel is closed or the context is done
	// (then the call fails with the context's error). With Gate and no Err/Do the call then
	// proceeds normally.
	Gate <-chan struct{}
	// Block holds the call until its context is done, then fails it with the context's error.
	Block bool
	// Do runs when the fault fires (after Gate); a non-nil result fails the call.
	Do func(ctx context.Context, h backend.Handle) error
	// Err fails the call with Err (wrapped together with ErrInjected).
	Err error
	// After makes Err apply after the operation took effect: the object is saved or removed,
	// yet the caller sees the error (a lost acknowledgement). Only Save, SaveNew and Remove.
	After bool

	mu   sync.Mutex
	hits int
}

// Hits returns how often the fault fired.
func (f *Fault) Hits() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.hits
}

// take reports whether the fault fires for h and records the hit.
func (f *Fault) take(h backend.Handle) bool {
	if f.Match != nil && !f.Match(h) {
		return false
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.Times > 0 && f.hits >= f.Times {
		return false
	}
	f.hits++
	return true
}

// exhausted reports whether a bounded fault has fired all its Times.
func (f *Fault) exhausted() bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.Times > 0 && f.hits >= f.Times
}

// before runs the part of the fault that precedes the operation. It returns the error to
// fail the call with now, and the error to return after the operation (After faults).
func (f *Fault) before(ctx context.Context, op Op, h backend.Handle) (now, after error) {
	if f.Gate != nil {
		select {
		case <-f.Gate:
		case <-ctx.Done():
			return fmt.Errorf("mem: %s %s: blocked: %w", op, h, ctx.Err()), nil
		}
	}
	if f.Block {
		<-ctx.Done()
		return fmt.Errorf("mem: %s %s: blocked: %w", op, h, ctx.Err()), nil
	}
	if f.Do != nil {
		if err := f.Do(ctx, h); err != nil {
			return fmt.Errorf("mem: %s %s: %w: %w", op, h, ErrInjected, err), nil
		}
	}
	if f.Err == nil {
		return nil, nil
	}
	err := fmt.Errorf("mem: %s %s: %w: %w", op, h, ErrInjected, f.Err)
	if f.After && (op == OpSave || op == OpSaveNew || op == OpRemove) {
		return nil, err
	}
	return err, nil
}

// faults is the per-operation fault table of a Backend.
type faults struct {
	mu   sync.Mutex
	byOp [numOps][]*Fault
}

// AddFault attaches f to op. Faults of one operation are tried in the order they were
// added; the first one that matches and is not used up fires. It returns f for chaining.
func (b *Backend) AddFault(op Op, f *Fault) *Fault {
	b.faults.mu.Lock()
	defer b.faults.mu.Unlock()
	b.faults.byOp[op] = append(b.faults.byOp[op], f)
	return f
}

// ClearFaults removes every fault.
func (b *Backend) ClearFaults() {
	b.faults.mu.Lock()
	defer b.faults.mu.Unlock()
	b.faults.byOp = [numOps][]*Fault{}
}

// Unused returns a description of each bounded fault (Times > 0) that has not fired all its
// times, so a test can assert that every planned fault was exercised.
func (b *Backend) Unused() []string {
	b.faults.mu.Lock()
	defer b.faults.mu.Unlock()
	var out []string
	for op, fs := range b.faults.byOp {
		for i, f := range fs {
			if f.Times > 0 && !f.exhausted() {
				out = append(out, fmt.Sprintf("%s fault #%d: fired %d of %d times", Op(op), i, f.Hits(), f.Times))
			}
		}
	}
	return out
}

// inject finds the fault for this call, if any, and runs its pre-operation part.
func (b *Backend) inject(ctx context.Context, op Op, h backend.Handle) (now, after error) {
	b.faults.mu.Lock()
	var fired *Fault
	for _, f := range b.faults.byOp[op] {
		if f.take(h) {
			fired = f
			break
		}
	}
	b.faults.mu.Unlock()
	if fired == nil {
		return nil, nil
	}
	return fired.before(ctx, op, h)
}
