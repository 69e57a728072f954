package local

import (
	"testing"

	"github.com/cairnbackup/cairn/repo/backend"
)

// TestDurable pins which object types are fsynced: everything a later command relies on, and
// not locks (they die with their process).
func TestDurable(t *testing.T) {
	for _, typ := range backend.Types {
		want := typ != backend.Lock
		if got := durable(typ); got != want {
			t.Errorf("durable(%v) = %v, want %v", typ, got, want)
		}
	}
}
