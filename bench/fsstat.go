package main

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"syscall"
	"time"

	"golang.org/x/sys/unix"

	"github.com/cairnbackup/cairn/internal/pagecache"
)

// allocated returns the bytes a file occupies on disk (st_blocks * 512), which is less
// than its size for a sparse file.
func allocated(fi os.FileInfo) int64 {
	if st, ok := fi.Sys().(*syscall.Stat_t); ok {
		return st.Blocks * 512
	}
	return fi.Size()
}

// fileSig identifies a version of a file for "was it written during the phase".
type fileSig struct {
	size  int64
	mtime int64
	ino   uint64
	etag  string // objects only
}

// treeStat is a snapshot of a directory tree: total apparent and allocated bytes and a
// signature per regular file.
type treeStat struct {
	Bytes     int64
	DiskBytes int64
	Files     map[string]fileSig
}

// statTree walks root. A missing root is an empty tree.
func statTree(root string) (treeStat, error) {
	ts := treeStat{Files: map[string]fileSig{}}
	err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			if errors.Is(err, fs.ErrNotExist) {
				return nil
			}
			return err
		}
		if !d.Type().IsRegular() {
			return nil
		}
		fi, err := d.Info()
		if err != nil {
			if errors.Is(err, fs.ErrNotExist) {
				return nil
			}
			return err
		}
		sig := fileSig{size: fi.Size(), mtime: fi.ModTime().UnixNano()}
		if st, ok := fi.Sys().(*syscall.Stat_t); ok {
			sig.ino = st.Ino
		}
		ts.Files[p] = sig
		ts.Bytes += fi.Size()
		ts.DiskBytes += allocated(fi)
		return nil
	})
	if err != nil {
		return ts, fmt.Errorf("stat tree %s: %w", root, err)
	}
	return ts, nil
}

// written counts the files of after that are new or changed relative to before.
func written(before, after treeStat) int {
	n := 0
	for p, sig := range after.Files {
		if old, ok := before.Files[p]; !ok || old != sig {
			n++
		}
	}
	return n
}

// flushAll is the measured end of a phase: sync(2), so writes a tool left in the page cache
// (a restored file or pack it did not fsync) count in its time as they do for a tool that
// fsyncs, every phase being measured until its writes are durable. The cache was flushed
// before the phase (dropCache), so what is written here is the phase's own. It returns the
// seconds taken.
func flushAll() float64 {
	start := time.Now()
	unix.Sync()
	return time.Since(start).Seconds()
}

// dropCache flushes every dirty page of the machine (sync(2)), so writes from before the
// phase about to be measured (the harness's own, a failed phase's, another process's; a
// finished phase's writeback was flushed and measured by flushAll) do not compete with it
// for the disk, then evicts the page cache of every regular file under the given paths.
func dropCache(paths ...string) {
	unix.Sync()
	pagecache.Evict(paths...)
}
