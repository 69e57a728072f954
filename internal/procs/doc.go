// Package procs lets pipelines that block in file system calls run with a few more Go
// processors (GOMAXPROCS) than their compute needs, without undoing each other.
//
// A goroutine blocked in a read or write of a regular file or block device keeps its
// processor until the runtime's monitor takes it back, which can take milliseconds; with
// GOMAXPROCS equal to the cores, the backup pipeline's three read-ahead goroutines and its
// pack writer left about a third of two cores idle (iowait) while compression goroutines
// waited for a processor. Extra adds processors for the blocked goroutines only: callers size
// their compute (worker counts) from GOMAXPROCS before holding.
package procs
