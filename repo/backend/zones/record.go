package zones

import (
	"bytes"
	"context"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"

	"github.com/zeebo/blake3"

	"github.com/cairnbackup/cairn/repo/backend"
)

// Record ops.
const (
	OpSave   = "save"   // the object was stored without copies/shards in Zones
	OpRemove = "remove" // the object was removed, except possibly from Zones
)

// recordPrefix starts the names of degraded records; they live among the pack objects
// (data/<xx>/zones-degraded.<hex>) and are hidden from List.
const recordPrefix = "zones-degraded."

// ErrBadRecord marks a degraded record that does not decode or validate.
var ErrBadRecord = errors.New("zones: bad degraded record")

// Record is a degraded record: a write or removal that reached its quorum but not every
// zone. Records are small JSON objects, replicated like metadata, named by a hash of their
// content, and removed by Heal once the object is whole again (or fully removed).
type Record struct {
	Version int       `json:"v"`    // 1
	Op      string    `json:"op"`   // OpSave or OpRemove
	Type    string    `json:"type"` // backend.Type.String(): "data", "index", ...
	Name    string    `json:"name"` // object name ("config" for the config)
	Zones   []string  `json:"zones"`
	Shards  []int     `json:"shards,omitempty"` // packs: shard index per entry of Zones
	Time    time.Time `json:"time"`
}

// Handle returns the handle of the object the record is about.
func (r *Record) Handle() backend.Handle {
	t, _ := parseType(r.Type)
	if t == backend.Config {
		return backend.Handle{Type: backend.Config}
	}
	return backend.Handle{Type: t, Name: r.Name}
}

func parseType(s string) (backend.Type, bool) {
	for _, t := range backend.Types {
		if t.String() == s {
			return t, true
		}
	}
	return 0, false
}

func newRecord(op string, h backend.Handle, zones []string, shards []int) *Record {
	name := h.Name
	if h.Type == backend.Config {
		name = "config"
	}
	return &Record{Version: 1, Op: op, Type: h.Type.String(), Name: name, Zones: zones, Shards: shards,
		Time: time.Now().UTC().Truncate(time.Millisecond)}
}

// Marshal encodes the record and returns its object name.
func (r *Record) Marshal() (name string, data []byte, err error) {
	data, err = json.Marshal(r)
	if err != nil {
		return "", nil, fmt.Errorf("zones: encode record: %w", err)
	}
	sum := blake3.Sum256(data)
	return recordPrefix + hex.EncodeToString(sum[:16]), data, nil
}

// ParseRecord decodes and validates a record.
func ParseRecord(data []byte) (*Record, error) {
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	var r Record
	if err := dec.Decode(&r); err != nil {
		return nil, fmt.Errorf("%w: %v", ErrBadRecord, err)
	}
	if dec.More() {
		return nil, fmt.Errorf("%w: trailing data", ErrBadRecord)
	}
	t, ok := parseType(r.Type)
	switch {
	case r.Version != 1:
		return nil, fmt.Errorf("%w: version %d", ErrBadRecord, r.Version)
	case r.Op != OpSave && r.Op != OpRemove:
		return nil, fmt.Errorf("%w: op %q", ErrBadRecord, r.Op)
	case !ok:
		return nil, fmt.Errorf("%w: type %q", ErrBadRecord, r.Type)
	case t == backend.Config && r.Name != "config":
		return nil, fmt.Errorf("%w: config record named %q", ErrBadRecord, r.Name)
	case r.Handle().Validate() != nil || (t == backend.Pack && isInternal(r.Name)):
		return nil, fmt.Errorf("%w: object name %q", ErrBadRecord, r.Name)
	case len(r.Zones) == 0 || len(r.Zones) > 256:
		return nil, fmt.Errorf("%w: %d zones", ErrBadRecord, len(r.Zones))
	case t == backend.Pack && len(r.Shards) != len(r.Zones):
		return nil, fmt.Errorf("%w: %d shards for %d zones", ErrBadRecord, len(r.Shards), len(r.Zones))
	case t != backend.Pack && len(r.Shards) != 0:
		return nil, fmt.Errorf("%w: shards on a %s record", ErrBadRecord, r.Type)
	}
	for _, z := range r.Zones {
		if checkZoneName(z) != nil {
			return nil, fmt.Errorf("%w: zone name %q", ErrBadRecord, z)
		}
	}
	for _, s := range r.Shards {
		if s < 0 || s >= 256 {
			return nil, fmt.Errorf("%w: shard index %d", ErrBadRecord, s)
		}
	}
	return &r, nil
}

func isInternal(name string) bool { return strings.HasPrefix(name, "zones-") }

// writeRecord stores rec in every reachable zone; it needs the metadata quorum.
func (b *Backend) writeRecord(ctx context.Context, rec *Record) error {
	name, data, err := rec.Marshal()
	if err != nil {
		return err
	}
	h := backend.Handle{Type: backend.Pack, Name: name}
	_, err = b.replicate(ctx, h, SealCopy(h, data), b.meta)
	if err != nil {
		return fmt.Errorf("record degraded %s %s/%s: %w", rec.Op, rec.Type, rec.Name, err)
	}
	b.log.Info("degraded write recorded", "op", rec.Op, "object", rec.Type+"/"+rec.Name, "zones", rec.Zones)
	return nil
}

// Records returns the degraded records found in any reachable zone, by record name.
func (b *Backend) Records(ctx context.Context) (map[string]*Record, error) {
	names := map[string]bool{}
	_, err := b.listZones(ctx, backend.Pack, b.meta, func(_ int, name string, _ int64) {
		if strings.HasPrefix(name, recordPrefix) {
			names[name] = true
		}
	})
	if err != nil {
		return nil, err
	}
	out := map[string]*Record{}
	for _, name := range slices.Sorted(maps.Keys(names)) {
		h := backend.Handle{Type: backend.Pack, Name: name}
		data, err := b.fetchMeta(ctx, h)
		if errors.Is(err, backend.ErrNotFound) {
			continue
		}
		if err != nil {
			return nil, fmt.Errorf("zones: load record %s: %w", name, err)
		}
		rec, err := ParseRecord(data)
		if err != nil {
			b.log.Warn("ignoring bad degraded record", "name", name, "err", err)
			continue
		}
		out[name] = rec
	}
	return out, nil
}
