package erasure

import "encoding/binary"

// Placement returns, for each shard index 0..k+m-1, the zone (0..zones-1) it is stored in:
// shard i goes to zone (i + r) mod zones, where r is the first 8 bytes of packID read as a
// big-endian integer (shorter IDs are zero-padded on the right) mod zones. The rotation
// spreads load evenly across zones for random pack IDs. With zones >= k+m every zone holds
// at most one shard of a pack; with fewer zones a zone holds at most ceil((k+m)/zones) and
// losing it loses that many shards. It returns nil for zones < 1 or k+m < 1.
func Placement(packID []byte, k, m, zones int) []int {
	n := k + m
	if zones < 1 || k < 0 || m < 0 || n < 1 {
		return nil
	}
	var head [8]byte
	copy(head[:], packID)
	r := int(binary.BigEndian.Uint64(head[:]) % uint64(zones))
	out := make([]int, n)
	for i := range out {
		out[i] = (i + r) % zones
	}
	return out
}
