package spool

import (
	"fmt"
	"os"
)

// File is an anonymous scratch file, open for reading and writing.
type File struct {
	*os.File
	path string // set when the name could not be removed at once: removed by Close
}

// anonymous is createAnonymous; a variable so that tests can force the fallback.
var anonymous = createAnonymous

// Create returns a new anonymous file in dir.
func Create(dir string) (*File, error) {
	if f, ok := anonymous(dir); ok {
		return &File{File: f}, nil
	}
	f, err := os.CreateTemp(dir, ".cairn-spool-")
	if err != nil {
		return nil, fmt.Errorf("spool: %w", err)
	}
	if err := os.Remove(f.Name()); err != nil { // e.g. Windows: an open file keeps its name
		return &File{File: f, path: f.Name()}, nil
	}
	return &File{File: f}, nil
}

// Close closes the file, which frees its space (and removes its name, if it still had one).
func (f *File) Close() error {
	err := f.File.Close()
	if f.path != "" {
		if rerr := os.Remove(f.path); err == nil && rerr != nil && !os.IsNotExist(rerr) {
			err = rerr
		}
	}
	return err
}
