// Package holds keeps the active requests on one process-wide runtime setting (GOGC, the
// memory limit, GOMAXPROCS), so that parts of a process can change it for a while without
// undoing each other: the setting is recomputed from every active request on each change,
// and the value from before the first comes back after the last.
package holds
