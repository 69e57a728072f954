//go:build !linux

package chunk

import "os"

// adviseSequential gives no kernel hint outside Linux.
func adviseSequential(*os.File, int64) {}
