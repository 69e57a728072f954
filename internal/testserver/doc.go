// Package testserver holds what the real-server test harnesses (internal/miniotest,
// internal/kubetest) share: finding the project's build scripts and the binaries they
// print, skipping or failing a test that cannot get its server (CI=true fails), picking
// free loopback ports, and keeping the tail of a server's log for failure messages.
package testserver
