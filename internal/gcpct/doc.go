// Package gcpct lets parts of one process lower the garbage collector's GOGC for a while
// without undoing each other.
//
// debug.SetGCPercent is process-wide and returns only the previous value, so two callers that
// each save and restore it can leave the process with the other's temporary setting (or with
// the collector off) once their spans overlap. Hold keeps every active request and applies
// the strongest one: off (-1) if any holder asked for it, else the lowest percent; when the
// last holder releases, the setting from before the first hold comes back.
package gcpct
