package chunk

import (
	"bytes"
	"io"
	"os"
	"path/filepath"
	"testing"
)

// TestSeekSize: the size comes from the end, and the source is left at its start.
func TestSeekSize(t *testing.T) {
	path := filepath.Join(t.TempDir(), "img")
	if err := os.WriteFile(path, make([]byte, 12345), 0o600); err != nil {
		t.Fatal(err)
	}
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	for _, tc := range []struct {
		name string
		s    io.ReadSeeker
		want int64
	}{
		{"file", f, 12345},
		{"empty", bytes.NewReader(nil), 0},
		{"reader moved", func() io.ReadSeeker { r := bytes.NewReader([]byte("abcdef")); _, _ = r.Seek(4, io.SeekStart); return r }(), 6},
	} {
		got, err := SeekSize(tc.s)
		if err != nil || got != tc.want {
			t.Errorf("%s: SeekSize = %d, %v; want %d", tc.name, got, err, tc.want)
		}
		if pos, _ := tc.s.Seek(0, io.SeekCurrent); pos != 0 {
			t.Errorf("%s: left at %d, want 0", tc.name, pos)
		}
	}
}
