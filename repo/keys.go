package repo

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/user"
	"sort"
	"strings"
	"time"

	"github.com/cairnbackup/cairn/crypto"
	"github.com/cairnbackup/cairn/internal/ids"
	"github.com/cairnbackup/cairn/repo/backend"
)

func (r *Repository) addKey(ctx context.Context, password []byte, kdf crypto.KDFParams) (KeyInfo, error) {
	if len(password) == 0 {
		return KeyInfo{}, errors.New("add key: an empty password is not allowed")
	}
	slot, err := crypto.NewKeySlot(r.key, password, kdf)
	if err != nil {
		return KeyInfo{}, fmt.Errorf("add key: %w", err)
	}
	slot.Hostname, _ = os.Hostname()
	if u, err := user.Current(); err == nil {
		slot.Username = u.Username
	}
	b, err := slot.Marshal()
	if err != nil {
		return KeyInfo{}, fmt.Errorf("add key: %w", err)
	}
	name := ids.Hash(b).String()
	if err := r.be.Save(ctx, backend.Handle{Type: backend.Key, Name: name}, b); err != nil {
		return KeyInfo{}, fmt.Errorf("add key: %w", err)
	}
	return KeyInfo{ID: name, Created: slot.Created, Hostname: slot.Hostname, Username: slot.Username}, nil
}

// AddKey adds a key slot for password (kdf nil: crypto.DefaultKDFParams()).
func (r *Repository) AddKey(ctx context.Context, password []byte, kdf *crypto.KDFParams) (KeyInfo, error) {
	p := crypto.DefaultKDFParams()
	if kdf != nil {
		p = *kdf
	}
	return r.addKey(ctx, password, p)
}

// Keys lists the password key slots, oldest first.
func (r *Repository) Keys(ctx context.Context) ([]KeyInfo, error) {
	var out []KeyInfo
	err := r.be.List(ctx, backend.Key, func(name string, _ int64) error {
		b, err := r.be.Load(ctx, backend.Handle{Type: backend.Key, Name: name}, 0, 0)
		if err != nil {
			return err
		}
		ki := KeyInfo{ID: name, Current: name == r.keyID}
		if s, err := crypto.ParseKeySlot(b); err == nil {
			ki.Created, ki.Hostname, ki.Username = s.Created, s.Hostname, s.Username
		}
		out = append(out, ki)
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("list keys: %w", err)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Created.Before(out[j].Created) })
	return out, nil
}

// RemoveKey removes key slot id (full or unique prefix); refuses the current and the last slot.
func (r *Repository) RemoveKey(ctx context.Context, id string) error {
	keys, err := r.Keys(ctx)
	if err != nil {
		return err
	}
	var match []KeyInfo
	for _, k := range keys {
		if id != "" && strings.HasPrefix(k.ID, strings.ToLower(id)) {
			match = append(match, k)
		}
	}
	switch {
	case len(match) == 0:
		return fmt.Errorf("remove key %q: %w", id, ErrKeyNotFound)
	case len(match) > 1:
		return fmt.Errorf("remove key %q: %w", id, ErrAmbiguousID)
	case match[0].Current:
		return fmt.Errorf("remove key %s: %w", match[0].ID[:8], ErrCurrentKey)
	case len(keys) == 1:
		return fmt.Errorf("remove key %s: %w", match[0].ID[:8], ErrLastKey)
	}
	if err := r.be.Remove(ctx, backend.Handle{Type: backend.Key, Name: match[0].ID}); err != nil {
		return fmt.Errorf("remove key %s: %w", match[0].ID[:8], err)
	}
	return nil
}

// ChangePassword adds a slot for newPassword, then removes the slot this session opened with.
func (r *Repository) ChangePassword(ctx context.Context, newPassword []byte, kdf *crypto.KDFParams) (KeyInfo, error) {
	ki, err := r.AddKey(ctx, newPassword, kdf)
	if err != nil {
		return KeyInfo{}, err
	}
	old := r.keyID
	r.keyID = ki.ID
	if err := r.be.Remove(ctx, backend.Handle{Type: backend.Key, Name: old}); err != nil && !errors.Is(err, backend.ErrNotFound) {
		return ki, fmt.Errorf("new key %s added, but removing the old key %s failed: %w", ki.ID[:8], old[:8], err)
	}
	ki.Current = true
	ki.Created = ki.Created.In(time.Local)
	return ki, nil
}
