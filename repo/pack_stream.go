package repo

import (
	"context"
	"io"

	"github.com/cairnbackup/cairn/repo/backend"
	"github.com/cairnbackup/cairn/repo/backend/local"
)

// packWriter is one pack being written to its backend as it is built. Its name, the hash of
// its bytes, is known only once it is complete, so it is given to Commit.
type packWriter interface {
	io.Writer
	// Commit stores what was written under h, as durably and atomically as Backend.Save.
	// On error nothing is stored and the partial pack is discarded.
	Commit(ctx context.Context, h backend.Handle) error
	// Abort discards the pack; after Commit it does nothing.
	Abort() error
}

// packStreamer is implemented by backends that can take a pack as a stream, so a backup holds
// no pack in memory. Object stores and zones are streamed through a spool file (spool.go);
// other backends (mem) get whole packs through Save.
type packStreamer interface {
	CreatePack(ctx context.Context) (packWriter, error)
}

// localStreamer adapts the local backend's pack files.
type localStreamer struct{ b *local.Backend }

func (l localStreamer) CreatePack(ctx context.Context) (packWriter, error) {
	f, err := l.b.CreatePack(ctx)
	if err != nil {
		return nil, err // not a typed nil in the interface
	}
	return f, nil
}

// streamerFor returns how to stream packs straight into be, or nil.
func streamerFor(be backend.Backend) packStreamer {
	switch b := be.(type) {
	case packStreamer:
		return b
	case *local.Backend:
		return localStreamer{b}
	}
	return nil
}

// streamer returns how this repository's backups stream packs, or nil to buffer them:
// straight into the backend (streamerFor), or through a spool file for a fileSaver.
func (r *Repository) streamer() packStreamer {
	if ps := streamerFor(r.be); ps != nil {
		return ps
	}
	if fs, ok := r.be.(fileSaver); ok {
		if dir, ok := r.spoolDir(); ok {
			return spoolStreamer{be: fs, dir: dir}
		}
	}
	return nil
}
