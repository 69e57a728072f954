//go:build !linux

package miniotest

import "syscall"

func sysProcAttr() *syscall.SysProcAttr { return nil }

// waitStopped cannot observe the process state portably; SIGSTOP is usually effective at once.
func waitStopped(int) error { return nil }
