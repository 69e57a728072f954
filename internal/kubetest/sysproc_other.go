//go:build !linux

package kubetest

import "syscall"

// sysProcAttr has no parent-death signal outside Linux; Cleanup stops the servers.
func sysProcAttr() *syscall.SysProcAttr { return nil }
