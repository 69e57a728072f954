package repo

import (
	"context"
	"encoding/json"
	"fmt"

	"github.com/cairnbackup/cairn/crypto"
	"github.com/cairnbackup/cairn/index"
	"github.com/cairnbackup/cairn/repo/backend"
)

// ListObjects calls fn for every stored object of type t.
func (r *Repository) ListObjects(ctx context.Context, t backend.Type, fn func(name string, size int64) error) error {
	if err := r.be.List(ctx, t, fn); err != nil {
		return fmt.Errorf("list %s: %w", t, err)
	}
	return nil
}

// indexJSON is the debugging view of an index object.
type indexJSON struct {
	Supersedes []ID       `json:"supersedes,omitempty"`
	Packs      []packJSON `json:"packs"`
}

type packJSON struct {
	ID    ID         `json:"id"`
	Blobs []blobJSON `json:"blobs"`
}

type blobJSON struct {
	ID         ID     `json:"id"`
	Type       string `json:"type"`
	Offset     uint64 `json:"offset"`
	Length     uint32 `json:"length"`
	RawLength  uint32 `json:"raw_length"`
	Seq        uint32 `json:"seq"`
	Compressed bool   `json:"compressed,omitempty"`
}

// Cat returns the decoded content of an object as indented JSON. For config the name is
// ignored; for snapshots, index objects and keys it is a full ID or a unique prefix.
func (r *Repository) Cat(ctx context.Context, t backend.Type, name string) ([]byte, error) {
	var v any
	switch t {
	case backend.Config:
		v = r.cfg
	case backend.Snapshot:
		s, err := r.FindSnapshot(ctx, name, "")
		if err != nil {
			return nil, err
		}
		v = struct {
			ID ID `json:"id"`
			*Snapshot
		}{s.ID, s}
	case backend.Index:
		id, err := r.resolve(ctx, backend.Index, name)
		if err != nil {
			return nil, err
		}
		o, err := r.loadIndex(ctx, id)
		if err != nil {
			return nil, err
		}
		v = indexView(o)
	case backend.Key:
		id, err := r.resolve(ctx, backend.Key, name)
		if err != nil {
			return nil, err
		}
		b, err := r.be.Load(ctx, backend.Handle{Type: backend.Key, Name: id.String()}, 0, 0)
		if err != nil {
			return nil, err
		}
		s, err := crypto.ParseKeySlot(b)
		if err != nil {
			return nil, fmt.Errorf("%w: key %s: %v", ErrCorrupt, id.Short(), err)
		}
		v = s
	default:
		return nil, fmt.Errorf("cat: objects of type %s cannot be shown", t)
	}
	return json.MarshalIndent(v, "", "  ")
}

func indexView(o *index.Object) indexJSON {
	out := indexJSON{Supersedes: o.Supersedes, Packs: []packJSON{}}
	pos := map[ID]int{}
	for _, e := range o.Entries {
		i, ok := pos[e.Pack]
		if !ok {
			i = len(out.Packs)
			pos[e.Pack] = i
			out.Packs = append(out.Packs, packJSON{ID: e.Pack})
		}
		t := "data"
		if e.Type == index.ListBlob {
			t = "list"
		}
		out.Packs[i].Blobs = append(out.Packs[i].Blobs, blobJSON{ID: e.ID, Type: t, Offset: e.Offset,
			Length: e.Length, RawLength: e.RawLength, Seq: e.Seq, Compressed: e.Compressed})
	}
	return out
}
