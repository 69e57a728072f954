// Package zones is the multi-zone backend: one repository spread over several S3/MinIO
// deployments ("zones"), surviving the loss of whole zones with Reed-Solomon erasure
// coding instead of replication. It owns the zones file (config.go), the placement of
// shards and copies, the read and write quorums, degraded records, and the health and
// heal API (Status, CheckShards, Heal) that the repository and the CLI use. The coding
// itself is package erasure; each zone is a repo/backend/s3 bucket (or, in tests, any
// backend.Backend).
//
// # Objects
//
// Packs: Save encodes a pack of N bytes into k data + m parity shards (erasure.Coder) and
// stores shard i as its own object "<pack>.s<i>" (pack type, so data/<xx>/<pack>.s<i> in
// the bucket) in zone erasure.Placement(PackID(pack))[i]; k+m <= zones, so no zone holds
// two shards of a pack. The pack ID in the shard footers is the 32 bytes a 64-hex pack name
// encodes. Shards are uploaded in parallel, without copies (erasure.Coder.EncodeParts): data
// shards are slices of the pack, parity payloads come from a free list of shard buffers
// reused across saves, and a zone store with SaveParts (s3.Backend) uploads payload and
// footer as separate parts of one object. A pack save in flight thus holds m shard-sized
// buffers (4+2, 16 MiB packs: 8 MiB) and allocates a few hundred KiB. Load(offset, length) goes through an
// erasure.PackReader (an LRU of them, one per pack, so footers are read once per pack):
// while the data shards are healthy a range is read from one data shard with no decoding,
// its whole blocks straight into the caller's buffer (erasure.ShardReaderInto over the zone
// store's LoadParts);
// a failed, corrupt or slow (after HedgeAfter) shard is replaced by a reconstruction from
// the first k shards that verify. Stat returns N; List(Pack) returns the union of packs
// found in any zone with N from this process's cache or from one shard footer (a small
// ranged GET per pack). LoadInto is Load into the caller's buffer: the reader copies the
// verified (or reconstructed) blocks straight into it, so a restore that reuses its buffer
// allocates no range-sized memory for the result.
//
// Metadata (config, keys, snapshots, index, locks) is replicated: every zone holds a copy
// "data || BLAKE3-256(domain, handle, data) || "cairnZM1"", so a copy that rotted or sits
// under the wrong name is detected and skipped. Load asks one zone at a time (zones that
// failed recently last), moving on at once on failure and after HedgeAfter when a zone is
// slow, and returns the first copy that verifies. List is the union over zones.
//
// # Quorums
//
//   - Pack Save: at least WriteQuorum shards stored (default k+1 when m > 0, k when m = 0;
//     configurable k..k+m). Below it, the shards written are removed again and the error
//     wraps backend.ErrUnavailable (or the most common cause, e.g. ErrNoSpace) and names
//     every failed zone. So 4+2 over six zones writes with one zone down but not two.
//   - Metadata Save: a majority of zones (Z/2+1). Below it the error wraps ErrUnavailable;
//     new snapshot and index copies written are removed again, so a failed backup records
//     nothing.
//   - SaveNew (locks, config, keys): SaveNew in the first zone that answers (the arbiter:
//     of concurrent writers exactly one wins there), then in the others in parallel;
//     ErrExists anywhere rolls back this call's copies. Needs a majority.
//   - A quorate write that missed zones writes a degraded record (below) naming them.
//   - Remove: metadata needs a majority of zones to confirm the object is gone; a pack
//     needs so many shards confirmed gone that fewer than k can remain. Leftovers in
//     unreachable zones are recorded, so Heal deletes them instead of copying them back.
//   - Reads: a pack needs k good shards; metadata one good copy. Open needs k zones and
//     enough zones (Z - majority + 1) to see every quorate metadata object. A missing
//     object wraps ErrNotFound only when so many zones say "absent" that no quorate copy
//     can exist; otherwise the error wraps ErrUnavailable.
//
// A zone that fails with ErrUnavailable is marked down for DownFor (15 s): writes skip it
// (counting it as failed at once instead of waiting for retries) and reads try it last.
//
// # Degraded records
//
// A record is a replicated metadata copy (same trailer) stored among the packs as
// "zones-degraded.<32 hex>" (BLAKE3-128 of its content) and hidden from List. Its payload
// is JSON: {"v":1,"op":"save"|"remove","type":"data"|"index"|...,"name":...,
// "zones":[...],"shards":[...] (packs only, one per zone),"time":...}. Heal removes a
// record once every zone is reachable and its object is whole (or fully removed).
//
// # Heal
//
// CheckShards lists every zone (no data read) and reports, per pack and metadata object,
// what reachable zones lack; with Verify it also reads every shard (erasure Check,
// including parity consistency) and every copy. Heal rebuilds missing/corrupt shards with
// erasure.Heal from any k good ones, copies metadata from a verified copy when a majority
// (or a save record) vouches for it, deletes leftovers of recorded removals, and clears
// records. Locks are neither recorded nor healed.
//
// # Caveats
//
//   - The free list retains, until Close, the shard buffers of the most pack saves that
//     ran at once (m each: 4+2 with 16 MiB packs, 2 x ~4.5 MiB per concurrent save; at
//     most 4(k+m) buffers), so a long-lived process that backed up once keeps them.
//   - Zone stores without SaveParts (tests' in-memory zones) get each shard joined into a
//     pooled buffer: one copy per shard.
//   - List(Pack) costs one small GET per pack whose length this process does not know yet;
//     Stat of a pack costs a HEAD and a footer GET.
//   - A metadata object present in fewer than a majority of zones with no record (only
//     possible after manual deletion or a crash between a write and its rollback) is
//     reported, not copied back and not removed.
//   - A removal record followed by a re-save of the same name (never done by the
//     repository, whose names are content addresses) is resolved in favour of the object
//     if a majority holds it.
//   - Zones that are unreachable when the backend is opened stay unreachable for the
//     backend's lifetime; reopen to use them again.
//   - Shard placement depends on the order of zones in the file: do not reorder, insert or
//     remove zones of an existing repository (renaming is fine).
//   - Zone buckets must exist; Create does not create them (it checks every zone before
//     writing anything).
package zones
