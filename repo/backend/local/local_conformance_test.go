package local_test

import (
	"testing"

	"github.com/cairnbackup/cairn/repo/backend"
	"github.com/cairnbackup/cairn/repo/backend/backendtest"
	"github.com/cairnbackup/cairn/repo/backend/local"
)

func TestConformance(t *testing.T) {
	backendtest.Run(t, func(t *testing.T) backend.Backend {
		b, err := local.Create(t.TempDir())
		if err != nil {
			t.Fatalf("Create: %v", err)
		}
		t.Cleanup(func() { b.Close() })
		return b
	})
}
