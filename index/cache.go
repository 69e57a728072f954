package index

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"sync"
	"time"

	bolt "go.etcd.io/bbolt"
	bolterrors "go.etcd.io/bbolt/errors"
)

// Cache errors callers branch on (test with errors.Is).
var (
	// ErrLocked is returned by OpenCache when another process (or another
	// Cache in this process) holds the cache file past the lock timeout. Use
	// OpenTempCache instead.
	ErrLocked = errors.New("index cache is locked by another process")
	// ErrCacheCorrupt is returned when the cache file turns out to be damaged
	// after it was opened. Close the cache, RemoveCache and open it again.
	ErrCacheCorrupt = errors.New("index cache is corrupt")
)

// cacheVersion is the format of the cache file's buckets and values.
const cacheVersion = 1

var (
	bucketMeta    = []byte("meta")
	bucketIndexes = []byte("indexes")
	bucketBlobs   = []byte("blobs")
	// bucketPacks maps pack ID → 4-byte pack number, bucketPackNums back.
	bucketPacks    = []byte("packs")
	bucketPackNums = []byte("packnums")

	keyVersion  = []byte("version")
	keyRepo     = []byte("repo")
	keyBlobs    = []byte("blobs")
	keyNextPack = []byte("nextpack")
)

// CacheOptions tunes OpenCache.
type CacheOptions struct {
	// Timeout is how long to wait for the file lock; 0 means 1s.
	Timeout time.Duration
	// Logger receives Info messages when the cache is recreated or rebuilt;
	// nil discards them.
	Logger *slog.Logger
}

// Cache is the local bbolt cache of blob locations for one repository. It is
// safe for concurrent use; Sync and Add are serialised.
type Cache struct {
	db      *bolt.DB
	path    string
	log     *slog.Logger
	tempDir string // removed on Close (OpenTempCache, where it could not be removed at once)
	temp    bool   // OpenTempCache: no dirty marker, nothing to sync (it dies with the process)

	wmu    sync.Mutex // serialises writers (Sync, Add) and guards dirty, closed
	dirty  bool       // this session wrote the dirty marker
	closed bool
}

// OpenCache opens or creates the cache file at path for the repository
// repoID, creating missing directories (0700) and the file (0600). A file
// that is unreadable as a bbolt database, was torn by an OS crash, belongs to
// another repository or has an unknown cache format version is recreated
// (logged at Info). If another holder keeps the file locked past
// opts.Timeout, OpenCache returns ErrLocked.
func OpenCache(path string, repoID string, opts CacheOptions) (*Cache, error) {
	if repoID == "" {
		return nil, errors.New("open index cache: empty repository ID")
	}
	if opts.Timeout <= 0 {
		opts.Timeout = time.Second
	}
	log := opts.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return nil, fmt.Errorf("open index cache: %w", err)
	}
	if stale, err := staleMarker(path); err != nil {
		return nil, fmt.Errorf("open index cache: %w", err)
	} else if stale {
		log.Info("index cache was not closed before the last reboot; recreating", "path", path)
		if err := RemoveCache(path); err != nil {
			return nil, fmt.Errorf("open index cache: %w", err)
		}
	}

	c := &Cache{path: path, log: log}
	for attempt := 0; ; attempt++ {
		err := checkTruncated(path)
		if err == nil {
			err = c.open(opts.Timeout)
		}
		if err == nil {
			err = c.prepare(repoID)
			if err == nil {
				return c, nil
			}
			_ = c.db.Close()
			c.db, c.dirty = nil, false
		}
		switch {
		case errors.Is(err, ErrLocked), errors.Is(err, fs.ErrPermission), attempt > 0:
			return nil, fmt.Errorf("open index cache %s: %w", path, err)
		}
		log.Info("index cache unreadable; recreating", "path", path, "err", err)
		if err := RemoveCache(path); err != nil {
			return nil, fmt.Errorf("open index cache: %w", err)
		}
	}
}

// OpenTempCache creates a private cache in a new directory under dir (the
// system temporary directory if dir is empty). It is the fallback when
// OpenCache returns ErrLocked. The directory is removed as soon as the cache
// is open (bbolt only uses its descriptor from then on), so a killed process
// leaves nothing behind; where an open file cannot be removed (Windows), Close
// removes it.
func OpenTempCache(dir, repoID string, opts CacheOptions) (*Cache, error) {
	tmp, err := os.MkdirTemp(dir, "cairn-index-*")
	if err != nil {
		return nil, fmt.Errorf("open temporary index cache: %w", err)
	}
	c, err := OpenCache(filepath.Join(tmp, "index.db"), repoID, opts)
	if err != nil {
		_ = os.RemoveAll(tmp)
		return nil, err
	}
	c.wmu.Lock()
	defer c.wmu.Unlock()
	// Creating the buckets wrote a dirty marker beside the file; it goes with the
	// directory, and no later write needs one.
	c.temp, c.dirty = true, false
	if os.RemoveAll(tmp) != nil {
		c.tempDir = tmp
	}
	return c, nil
}

// RemoveCache deletes the cache file at path and its dirty marker. The cache
// must not be open.
func RemoveCache(path string) error {
	for _, p := range []string{path, markerPath(path)} {
		if err := os.Remove(p); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return fmt.Errorf("remove index cache: %w", err)
		}
	}
	return nil
}

// Path returns the cache file's path.
func (c *Cache) Path() string { return c.path }

// Close flushes the cache to disk (if this session wrote to it), releases the
// file lock and, for a temporary cache, removes its directory.
func (c *Cache) Close() error {
	c.wmu.Lock()
	defer c.wmu.Unlock()
	if c.closed {
		return nil
	}
	c.closed = true
	var errs []error
	if c.dirty {
		if err := c.db.Sync(); err != nil {
			errs = append(errs, fmt.Errorf("sync: %w", err))
		}
	}
	if err := c.db.Close(); err != nil {
		errs = append(errs, err)
	}
	if c.dirty && len(errs) == 0 {
		if err := os.Remove(markerPath(c.path)); err != nil && !errors.Is(err, fs.ErrNotExist) {
			errs = append(errs, err)
		}
	}
	if c.tempDir != "" {
		if err := os.RemoveAll(c.tempDir); err != nil {
			errs = append(errs, err)
		}
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("close index cache %s: %w", c.path, err)
	}
	return nil
}

// open opens the bbolt file, turning a lock timeout into ErrLocked and a
// panic on a damaged file into an error.
func (c *Cache) open(timeout time.Duration) (err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("%w: bbolt: %v", ErrCacheCorrupt, r)
		}
	}()
	db, err := bolt.Open(c.path, 0o600, &bolt.Options{
		Timeout:        timeout,
		NoSync:         true,
		NoFreelistSync: true,
		FreelistType:   bolt.FreelistMapType,
		NoStatistics:   true,
	})
	if errors.Is(err, bolterrors.ErrTimeout) {
		return ErrLocked
	}
	if err != nil {
		return err
	}
	c.db = db
	return nil
}

// prepare checks the meta bucket and initialises or resets the file.
func (c *Cache) prepare(repoID string) (err error) {
	defer recoverCorrupt(&err)
	var reset string
	fresh := false
	err = c.db.View(func(tx *bolt.Tx) error {
		meta := tx.Bucket(bucketMeta)
		if meta == nil {
			fresh = true
			return tx.ForEach(func(name []byte, _ *bolt.Bucket) error {
				reset = "no cache metadata"
				return nil
			})
		}
		switch v := meta.Get(keyVersion); {
		case len(v) != 1 || v[0] != cacheVersion:
			reset = fmt.Sprintf("cache format version %x, want %d", v, cacheVersion)
		case string(meta.Get(keyRepo)) != repoID:
			reset = fmt.Sprintf("cache belongs to repository %q", meta.Get(keyRepo))
		case tx.Bucket(bucketIndexes) == nil || tx.Bucket(bucketBlobs) == nil ||
			tx.Bucket(bucketPacks) == nil || tx.Bucket(bucketPackNums) == nil ||
			len(meta.Get(keyBlobs)) != 8 || len(meta.Get(keyNextPack)) != 4:
			reset = "cache buckets missing"
		}
		return nil
	})
	if err != nil {
		return err
	}
	if reset == "" && !fresh {
		return nil
	}
	if reset != "" {
		c.log.Info("index cache does not match; recreating", "path", c.path, "reason", reset)
	}
	c.wmu.Lock()
	defer c.wmu.Unlock()
	return c.update(func(tx *bolt.Tx) error {
		var names [][]byte
		if err := tx.ForEach(func(name []byte, _ *bolt.Bucket) error {
			names = append(names, append([]byte(nil), name...))
			return nil
		}); err != nil {
			return err
		}
		for _, name := range names {
			if err := tx.DeleteBucket(name); err != nil {
				return err
			}
		}
		meta, err := tx.CreateBucket(bucketMeta)
		if err != nil {
			return err
		}
		if err := meta.Put(keyVersion, []byte{cacheVersion}); err != nil {
			return err
		}
		if err := meta.Put(keyRepo, []byte(repoID)); err != nil {
			return err
		}
		return resetBlobs(tx)
	})
}

// resetBlobs empties the indexes, blobs and pack buckets and zeroes the
// counters.
func resetBlobs(tx *bolt.Tx) error {
	for _, name := range [][]byte{bucketIndexes, bucketBlobs, bucketPacks, bucketPackNums} {
		if tx.Bucket(name) != nil {
			if err := tx.DeleteBucket(name); err != nil {
				return err
			}
		}
		if _, err := tx.CreateBucket(name); err != nil {
			return err
		}
	}
	meta := tx.Bucket(bucketMeta)
	if err := meta.Put(keyNextPack, binary.BigEndian.AppendUint32(nil, 0)); err != nil {
		return err
	}
	return meta.Put(keyBlobs, binary.BigEndian.AppendUint64(nil, 0))
}

// update runs fn in a write transaction after making sure the dirty marker
// exists. The caller holds c.wmu.
func (c *Cache) update(fn func(*bolt.Tx) error) error {
	if !c.dirty && !c.temp {
		if err := writeMarker(c.path); err != nil {
			return err
		}
		c.dirty = true
	}
	return c.db.Update(fn)
}

// recoverCorrupt turns a bbolt panic on a damaged page into ErrCacheCorrupt.
func recoverCorrupt(err *error) {
	if r := recover(); r != nil {
		*err = fmt.Errorf("%w: bbolt: %v", ErrCacheCorrupt, r)
	}
}
