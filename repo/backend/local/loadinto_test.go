package local_test

import (
	"testing"

	"github.com/cairnbackup/cairn/repo/backend/backendtest"
	"github.com/cairnbackup/cairn/repo/backend/local"
)

// TestLoadInto runs the shared LoadInto checks.
func TestLoadInto(t *testing.T) {
	be, err := local.Create(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	backendtest.RunLoadInto(t, be)
}
