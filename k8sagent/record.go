package k8sagent

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"regexp"
	"sort"
	"time"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	utiljson "k8s.io/apimachinery/pkg/util/json"
)

// RecordVersion is the format version of AppBackup records this package writes.
const RecordVersion = 1

// maxRecordSize bounds what DecodeRecord reads (manifests of one namespace).
const maxRecordSize = 256 << 20

// Tag keys on repository snapshots written by the agent.
const (
	TagAppBackup = "cairn.k8s/app-backup" // =<backup id>, on the record and every volume
	TagKind      = "cairn.k8s/kind"       // =app on the record, =volume on volumes
	TagNamespace = "cairn.k8s/namespace"  // =<namespace>
	TagPVC       = "cairn.k8s/pvc"        // =<claim name>, on volumes
)

// AppBackup is the record of one application backup: every captured manifest and the
// repository snapshot of each volume.
type AppBackup struct {
	Version   int       `json:"version"`
	ID        string    `json:"id"` // random, lower-case hex; links the record and its volumes
	Namespace string    `json:"namespace"`
	Selector  string    `json:"selector,omitempty"`
	Time      time.Time `json:"time"`
	Objects   []Object  `json:"objects,omitempty"`
	Volumes   []Volume  `json:"volumes"`
}

// Object is one captured manifest as the API server returned it (status included; restore
// strips what it must).
type Object struct {
	unstructured.Unstructured
}

// MarshalJSON encodes the object's content (canonical: map keys sorted).
func (o Object) MarshalJSON() ([]byte, error) { return json.Marshal(o.Object) }

// UnmarshalJSON decodes an object; it must have apiVersion, kind and metadata.name.
func (o *Object) UnmarshalJSON(b []byte) error {
	var m map[string]any
	// utiljson keeps integers as int64, as the API machinery expects.
	if err := utiljson.Unmarshal(b, &m); err != nil {
		return err
	}
	o.Object = m
	if o.GetAPIVersion() == "" || o.GetKind() == "" || o.GetName() == "" {
		return fmt.Errorf("object without apiVersion, kind or metadata.name")
	}
	return nil
}

// Volume is the data of one captured claim.
type Volume struct {
	Claim        string `json:"claim"`
	Snapshot     string `json:"snapshot"` // repository snapshot ID (64 hex digits)
	Size         int64  `json:"size"`     // bytes of the raw device
	VolumeMode   string `json:"volume_mode"`
	StorageClass string `json:"storage_class,omitempty"`
}

var (
	backupIDPattern = regexp.MustCompile(`^[0-9a-f]{8,64}$`)
	snapIDPattern   = regexp.MustCompile(`^[0-9a-f]{64}$`)
)

// Validate checks the record's invariants.
func (b *AppBackup) Validate() error {
	if b.Version != RecordVersion {
		return fmt.Errorf("%w: version %d", ErrBadRecord, b.Version)
	}
	if !backupIDPattern.MatchString(b.ID) {
		return fmt.Errorf("%w: bad backup id %q", ErrBadRecord, b.ID)
	}
	if b.Namespace == "" {
		return fmt.Errorf("%w: no namespace", ErrBadRecord)
	}
	seen := map[string]bool{}
	for _, v := range b.Volumes {
		if v.Claim == "" || seen[v.Claim] {
			return fmt.Errorf("%w: empty or duplicate claim %q", ErrBadRecord, v.Claim)
		}
		seen[v.Claim] = true
		if !snapIDPattern.MatchString(v.Snapshot) || v.Size < 0 {
			return fmt.Errorf("%w: claim %q: bad snapshot id or size", ErrBadRecord, v.Claim)
		}
		if v.VolumeMode != "Block" && v.VolumeMode != "Filesystem" {
			return fmt.Errorf("%w: claim %q: volume mode %q", ErrBadRecord, v.Claim, v.VolumeMode)
		}
	}
	return nil
}

// Volume returns the volume record of claim, if any.
func (b *AppBackup) Volume(claim string) (Volume, bool) {
	for _, v := range b.Volumes {
		if v.Claim == claim {
			return v, true
		}
	}
	return Volume{}, false
}

// sortObjects orders objects canonically (API version, kind, namespace, name) so equal
// captures encode to equal bytes.
func sortObjects(objs []Object) {
	sort.SliceStable(objs, func(i, j int) bool {
		a, b := &objs[i], &objs[j]
		for _, p := range [][2]string{{a.GetAPIVersion(), b.GetAPIVersion()}, {a.GetKind(), b.GetKind()},
			{a.GetNamespace(), b.GetNamespace()}, {a.GetName(), b.GetName()}} {
			if p[0] != p[1] {
				return p[0] < p[1]
			}
		}
		return false
	})
}

// EncodeRecord returns the canonical JSON of b (objects sorted, one per line for readable
// diffs and good chunk reuse between backups).
func EncodeRecord(b *AppBackup) ([]byte, error) {
	if err := b.Validate(); err != nil {
		return nil, err
	}
	objs := append([]Object(nil), b.Objects...)
	sortObjects(objs)
	vols := append([]Volume(nil), b.Volumes...)
	sort.Slice(vols, func(i, j int) bool { return vols[i].Claim < vols[j].Claim })
	head := *b
	head.Objects, head.Volumes = nil, vols
	var buf bytes.Buffer
	buf.WriteString("{\"record\":")
	hb, err := json.Marshal(head)
	if err != nil {
		return nil, fmt.Errorf("encode record: %w", err)
	}
	buf.Write(hb)
	buf.WriteString(",\"objects\":[")
	for i, o := range objs {
		ob, err := json.Marshal(o)
		if err != nil {
			return nil, fmt.Errorf("encode %s %s: %w", o.GetKind(), o.GetName(), err)
		}
		if i > 0 {
			buf.WriteByte(',')
		}
		buf.WriteByte('\n')
		buf.Write(ob)
	}
	buf.WriteString("\n]}\n")
	return buf.Bytes(), nil
}

// recordFile is the on-repository shape written by EncodeRecord.
type recordFile struct {
	Record  *AppBackup `json:"record"`
	Objects []Object   `json:"objects"`
}

// DecodeRecord parses and validates a record written by EncodeRecord.
func DecodeRecord(r io.Reader) (*AppBackup, error) {
	data, err := io.ReadAll(io.LimitReader(r, maxRecordSize+1))
	if err != nil {
		return nil, fmt.Errorf("read record: %w", err)
	}
	if len(data) > maxRecordSize {
		return nil, fmt.Errorf("%w: larger than %d bytes", ErrBadRecord, maxRecordSize)
	}
	var f recordFile
	if err := json.Unmarshal(data, &f); err != nil {
		return nil, fmt.Errorf("%w: %v", ErrBadRecord, err)
	}
	if f.Record == nil {
		return nil, fmt.Errorf("%w: no record header", ErrBadRecord)
	}
	f.Record.Objects = f.Objects
	if err := f.Record.Validate(); err != nil {
		return nil, err
	}
	return f.Record, nil
}
