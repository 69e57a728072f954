package spool

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"testing"

	"golang.org/x/sys/unix"
)

// checkAnonymous checks that f has no name (link count 0) and, unless fallback, that it was
// opened with O_TMPFILE: only such a file may be given a name again with linkat through
// /proc/self/fd; linking an unlinked ordinary file fails with ENOENT.
func checkAnonymous(t *testing.T, f *File, fallback bool) {
	t.Helper()
	var st unix.Stat_t
	if err := unix.Fstat(int(f.Fd()), &st); err != nil {
		t.Fatal(err)
	}
	if st.Nlink != 0 {
		t.Fatalf("Nlink = %d, want 0", st.Nlink)
	}
	if !fallback {
		probe, ok := createAnonymous(t.TempDir())
		if !ok {
			t.Log("O_TMPFILE unsupported on the test filesystem: Create fell back")
			fallback = true
		} else {
			probe.Close()
		}
	}
	proc := fmt.Sprintf("/proc/self/fd/%d", f.Fd())
	if _, err := os.Lstat(proc); err != nil {
		t.Logf("no %s (%v): O_TMPFILE not verified", proc, err)
		return
	}
	name := filepath.Join(t.TempDir(), "relinked") // same filesystem as f's t.TempDir()
	err := unix.Linkat(unix.AT_FDCWD, proc, unix.AT_FDCWD, name, unix.AT_SYMLINK_FOLLOW)
	switch {
	case fallback && !errors.Is(err, unix.ENOENT):
		t.Fatalf("linkat of the fallback file: %v, want ENOENT", err)
	case !fallback && err != nil:
		t.Fatalf("linkat: %v: not an O_TMPFILE file", err)
	case !fallback:
		fi, err := os.Stat(name)
		if err != nil || fi.Size() != mustSize(t, f) {
			t.Fatalf("relinked file: %v, %v", fi, err)
		}
	}
}

func mustSize(t *testing.T, f *File) int64 {
	t.Helper()
	fi, err := f.Stat()
	if err != nil {
		t.Fatal(err)
	}
	return fi.Size()
}
