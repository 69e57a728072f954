package mem_test

import (
	"context"
	"errors"
	"testing"

	"github.com/cairnbackup/cairn/repo/backend"
	"github.com/cairnbackup/cairn/repo/backend/mem"
)

var (
	errBoom = errors.New("boom")
	h1      = backend.Handle{Type: backend.Pack, Name: "aa01"}
	h2      = backend.Handle{Type: backend.Pack, Name: "bb02"}
)

func TestFaultTimes(t *testing.T) {
	b := mem.New("t")
	f := b.AddFault(mem.OpSave, &mem.Fault{Err: errBoom, Times: 2})
	for i, wantErr := range []bool{true, true, false, false} {
		err := b.Save(t.Context(), h1, []byte("x"))
		if got := err != nil; got != wantErr {
			t.Fatalf("call %d: err = %v, want error %v", i, err, wantErr)
		}
		if err != nil && (!errors.Is(err, errBoom) || !errors.Is(err, mem.ErrInjected)) {
			t.Fatalf("call %d: %v does not wrap errBoom and ErrInjected", i, err)
		}
	}
	if f.Hits() != 2 || b.Calls(mem.OpSave) != 4 {
		t.Fatalf("hits %d calls %d, want 2 and 4", f.Hits(), b.Calls(mem.OpSave))
	}
	if u := b.Unused(); len(u) != 0 {
		t.Fatalf("Unused() = %v after the fault fired fully", u)
	}
}

func TestFaultForeverAndMatch(t *testing.T) {
	b := mem.New("t")
	b.Put(h1, []byte("one"))
	b.Put(h2, []byte("two"))
	b.AddFault(mem.OpLoad, &mem.Fault{Err: backend.ErrUnavailable, Match: func(h backend.Handle) bool { return h == h1 }})
	for range 3 {
		if _, err := b.Load(t.Context(), h1, 0, 0); !errors.Is(err, backend.ErrUnavailable) {
			t.Fatalf("Load(h1) = %v, want ErrUnavailable", err)
		}
	}
	if _, err := b.Load(t.Context(), h2, 0, 0); err != nil {
		t.Fatalf("Load(h2) not matched by the fault: %v", err)
	}
	b.ClearFaults()
	if _, err := b.Load(t.Context(), h1, 0, 0); err != nil {
		t.Fatalf("Load(h1) after ClearFaults: %v", err)
	}
}

func TestFaultAfter(t *testing.T) {
	b := mem.New("t")
	b.AddFault(mem.OpSave, &mem.Fault{Err: errBoom, After: true, Times: 1})
	if err := b.Save(t.Context(), h1, []byte("x")); !errors.Is(err, errBoom) {
		t.Fatalf("Save = %v, want errBoom", err)
	}
	if got, ok := b.Get(h1); !ok || string(got) != "x" {
		t.Fatalf("object after a lost-ack Save: %q %v, want stored", got, ok)
	}
	b.AddFault(mem.OpRemove, &mem.Fault{Err: errBoom, After: true, Times: 1})
	if err := b.Remove(t.Context(), h1); !errors.Is(err, errBoom) {
		t.Fatalf("Remove = %v, want errBoom", err)
	}
	if _, ok := b.Get(h1); ok {
		t.Fatal("object still present after a lost-ack Remove")
	}
}

func TestFaultBlock(t *testing.T) {
	b := mem.New("t")
	b.Put(h1, []byte("x"))
	entered := make(chan struct{})
	b.AddFault(mem.OpStat, &mem.Fault{Block: true, Match: func(backend.Handle) bool { close(entered); return true }, Times: 1})
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan error, 1)
	go func() {
		_, err := b.Stat(ctx, h1)
		done <- err
	}()
	<-entered
	cancel()
	if err := <-done; !errors.Is(err, context.Canceled) {
		t.Fatalf("blocked Stat = %v, want context.Canceled", err)
	}
}

func TestFaultGate(t *testing.T) {
	b := mem.New("t")
	gate := make(chan struct{})
	entered := make(chan struct{})
	b.AddFault(mem.OpSaveNew, &mem.Fault{Gate: gate, Times: 1, Match: func(backend.Handle) bool { close(entered); return true }})
	done := make(chan error, 1)
	go func() { done <- b.SaveNew(t.Context(), h1, []byte("x")) }()
	<-entered
	// The gated SaveNew must not have stored anything before the gate opens.
	if _, ok := b.Get(h1); ok {
		t.Fatal("gated SaveNew stored before the gate opened")
	}
	close(gate)
	if err := <-done; err != nil {
		t.Fatalf("SaveNew after the gate opened: %v", err)
	}
	if _, ok := b.Get(h1); !ok {
		t.Fatal("gated SaveNew did not store")
	}
}

func TestFaultDo(t *testing.T) {
	b := mem.New("t")
	var seen []backend.Handle
	b.AddFault(mem.OpList, &mem.Fault{Do: func(_ context.Context, h backend.Handle) error {
		seen = append(seen, h)
		return errBoom
	}})
	err := b.List(t.Context(), backend.Index, func(string, int64) error { return nil })
	if !errors.Is(err, errBoom) || len(seen) != 1 || seen[0].Type != backend.Index {
		t.Fatalf("List = %v, seen %v; want errBoom and one index handle", err, seen)
	}
}

func TestUnused(t *testing.T) {
	b := mem.New("t")
	b.AddFault(mem.OpRemove, &mem.Fault{Err: errBoom, Times: 1})
	if u := b.Unused(); len(u) != 1 {
		t.Fatalf("Unused() = %v, want one entry", u)
	}
}
