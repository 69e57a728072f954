// Package gcpct lets parts of one process tighten the garbage collector for a while (a lower
// GOGC, a soft memory limit) without undoing each other.
//
// debug.SetGCPercent and debug.SetMemoryLimit are process-wide and return only the previous
// value, so two callers that each save and restore them can leave the process with the
// other's temporary setting (or with the collector off) once their spans overlap. Hold and
// HoldMemory keep every active request and apply the strongest: for GOGC, off (-1) if any
// holder asked for it, else the lowest percent; for the memory limit, the Go memory in use
// when the first holder arrived plus every holder's allowance, never above the limit the
// process had. When the last holder releases, the setting from before the first comes back.
package gcpct
