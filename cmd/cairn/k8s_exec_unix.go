//go:build unix

package main

import (
	"fmt"
	"os"
	"syscall"
)

// execK8s replaces this process with cairn-k8s, so its exit status and signal handling are
// the caller's. It returns only on failure.
func execK8s(path string, args []string) error {
	argv := append([]string{path}, args...)
	if err := syscall.Exec(path, argv, os.Environ()); err != nil {
		return fmt.Errorf("run %s: %w", path, err)
	}
	return nil
}
