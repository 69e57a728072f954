package mem_test

import (
	"testing"

	"github.com/cairnbackup/cairn/repo/backend/backendtest"
	"github.com/cairnbackup/cairn/repo/backend/mem"
)

// TestLoadInto runs the shared LoadInto checks.
func TestLoadInto(t *testing.T) {
	backendtest.RunLoadInto(t, mem.New("m"))
}

// TestLoadParts runs the shared LoadParts checks.
func TestLoadParts(t *testing.T) {
	backendtest.RunLoadParts(t, mem.New("m"))
}
