package spool

import (
	"bytes"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// creators are the two ways Create can make a file: as on this platform, and the fallback
// used where O_TMPFILE is unavailable.
var creators = []struct {
	name     string
	fallback bool
}{
	{"default", false},
	{"fallback", true},
}

// useFallback makes Create skip createAnonymous for the rest of the test.
func useFallback(t *testing.T) {
	t.Helper()
	saved := anonymous
	anonymous = func(string) (*os.File, bool) { return nil, false }
	t.Cleanup(func() { anonymous = saved })
}

func assertEmpty(t *testing.T, dir, when string) {
	t.Helper()
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	if len(entries) != 0 {
		var names []string
		for _, e := range entries {
			names = append(names, e.Name())
		}
		t.Fatalf("%s: dir holds %q, want nothing", when, names)
	}
}

func TestCreate(t *testing.T) {
	for _, c := range creators {
		t.Run(c.name, func(t *testing.T) {
			if c.fallback {
				useFallback(t)
			}
			dir := t.TempDir()
			f, err := Create(dir)
			if err != nil {
				t.Fatal(err)
			}
			assertEmpty(t, dir, "after Create")

			data := []byte("a pack bound for an object store")
			if n, err := f.Write(data); n != len(data) || err != nil {
				t.Fatalf("Write = %d, %v", n, err)
			}
			got := make([]byte, len(data))
			if n, err := f.ReadAt(got, 0); n != len(data) || err != nil || !bytes.Equal(got, data) {
				t.Fatalf("ReadAt = %d, %v, %q; want %q", n, err, got, data)
			}

			const far = 1 << 20 // well past the end: leaves a hole
			if n, err := f.WriteAt(data, far); n != len(data) || err != nil {
				t.Fatalf("WriteAt(%d) = %d, %v", far, n, err)
			}
			if fi, err := f.Stat(); err != nil || fi.Size() != far+int64(len(data)) {
				t.Fatalf("Stat = %v, %v; want size %d", fi, err, far+len(data))
			}
			hole := bytes.Repeat([]byte{0xee}, 50+len(data))
			if _, err := f.ReadAt(hole, far-50); err != nil {
				t.Fatal(err)
			}
			if want := append(make([]byte, 50), data...); !bytes.Equal(hole, want) {
				t.Fatalf("ReadAt across the hole = %q, want %q", hole, want)
			}
			checkAnonymous(t, f, c.fallback)
			assertEmpty(t, dir, "while open")

			if err := f.Close(); err != nil {
				t.Fatalf("Close: %v", err)
			}
			assertEmpty(t, dir, "after Close")
			if err := f.Close(); err == nil {
				t.Fatal("second Close: nil error")
			}
		})
	}
}

func TestCreateMissingDir(t *testing.T) {
	for _, c := range creators {
		t.Run(c.name, func(t *testing.T) {
			if c.fallback {
				useFallback(t)
			}
			dir := filepath.Join(t.TempDir(), "missing")
			f, err := Create(dir)
			if err == nil {
				f.Close()
				t.Fatal("Create in a missing dir: nil error")
			}
			if !errors.Is(err, fs.ErrNotExist) || !strings.Contains(err.Error(), dir) {
				t.Fatalf("err = %v, want one wrapping fs.ErrNotExist and naming %s", err, dir)
			}
		})
	}
}

// TestCloseRemovesName covers the case where the name could not be removed at Create (an
// open file keeps its name on Windows): Close removes it, and a second Close fails cleanly.
func TestCloseRemovesName(t *testing.T) {
	dir := t.TempDir()
	tmp, err := os.CreateTemp(dir, "named-")
	if err != nil {
		t.Fatal(err)
	}
	f := &File{File: tmp, path: tmp.Name()}
	if err := f.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	assertEmpty(t, dir, "after Close")
	if err := f.Close(); err == nil {
		t.Fatal("second Close: nil error")
	}
}
