package index

import (
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
)

// bootIDPath names the Linux kernel's per-boot random UUID.
const bootIDPath = "/proc/sys/kernel/random/boot_id"

// markerPath is the dirty marker beside the cache file at path.
func markerPath(path string) string { return path + ".dirty" }

// bootID returns the current boot's ID, or nil if it cannot be read.
func bootID() []byte {
	b, err := os.ReadFile(bootIDPath)
	if err != nil {
		return nil
	}
	return bytes.TrimSpace(b)
}

// staleMarker reports whether a dirty marker from an earlier boot (or of
// unknown boot) sits beside the cache file: its unsynced writes may be torn.
func staleMarker(path string) (bool, error) {
	b, err := os.ReadFile(markerPath(path))
	if errors.Is(err, fs.ErrNotExist) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("read dirty marker: %w", err)
	}
	cur := bootID()
	return cur == nil || !bytes.Equal(bytes.TrimSpace(b), cur), nil
}

// writeMarker durably records that the cache at path is about to receive
// unsynced writes during this boot.
func writeMarker(path string) error {
	mp := markerPath(path)
	f, err := os.OpenFile(mp, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o600)
	if err != nil {
		return fmt.Errorf("write dirty marker: %w", err)
	}
	_, err = f.Write(append(bootID(), '\n'))
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = syncDir(filepath.Dir(mp))
	}
	if err != nil {
		return fmt.Errorf("write dirty marker: %w", err)
	}
	return nil
}

// syncDir fsyncs a directory so a newly created entry in it is durable.
func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	err = d.Sync()
	if cerr := d.Close(); err == nil {
		err = cerr
	}
	return err
}
