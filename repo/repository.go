package repo

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/cairnbackup/cairn/chunk"
	"github.com/cairnbackup/cairn/crypto"
	"github.com/cairnbackup/cairn/index"
	"github.com/cairnbackup/cairn/internal/ids"
	"github.com/cairnbackup/cairn/repo/backend"
)

// DefaultPackSize is the target size of a pack.
const DefaultPackSize = 16 << 20

// Config is the repository configuration stored (sealed) in the config object.
type Config struct {
	Version     int          `json:"version"`
	ID          string       `json:"id"`
	Created     time.Time    `json:"created"`
	Chunker     chunk.Params `json:"chunker"`
	PackSize    int          `json:"pack_size"`
	Compression string       `json:"compression"`
}

// decodeConfig parses and validates the plaintext of the config object.
func decodeConfig(b []byte) (Config, error) {
	var c Config
	if err := json.Unmarshal(b, &c); err != nil {
		return Config{}, fmt.Errorf("%w: config: %v", ErrCorrupt, err)
	}
	if err := c.validate(); err != nil {
		return Config{}, err
	}
	return c, nil
}

func (c *Config) validate() error {
	if c.Version != FormatVersion {
		return fmt.Errorf("%w: config says version %d", ErrUnsupportedVersion, c.Version)
	}
	if len(c.ID) != 64 {
		return fmt.Errorf("%w: config: bad repository id", ErrCorrupt)
	}
	if err := c.Chunker.Validate(); err != nil {
		return fmt.Errorf("%w: config: chunker: %v", ErrCorrupt, err)
	}
	if c.PackSize < 1<<20 || c.PackSize > 1<<30 {
		return fmt.Errorf("%w: config: pack size %d out of range", ErrCorrupt, c.PackSize)
	}
	if _, _, err := compressionLevel(c.Compression); err != nil {
		return fmt.Errorf("%w: config: %v", ErrCorrupt, err)
	}
	return nil
}

// Repository is an open repository. Its methods are safe for concurrent use.
type Repository struct {
	be    backend.Backend
	key   *crypto.Key
	keyID string
	cfg   Config
	comp  *compressor
	log   *slog.Logger

	cacheDir string // "" means a private temporary cache
	spool    string // SpoolDir option; "": see spoolDir
	cacheMu  sync.Mutex
	cache    *index.Cache

	openers openerCache

	life lifecycle // lock/prune tunables (lock.go); zero value: defaults
}

// DefaultCacheDir returns $CAIRN_CACHE_DIR, else the user cache directory + "/cairn".
func DefaultCacheDir() string {
	if d := os.Getenv("CAIRN_CACHE_DIR"); d != "" {
		return d
	}
	if d, err := os.UserCacheDir(); err == nil {
		return filepath.Join(d, "cairn")
	}
	return filepath.Join(os.TempDir(), "cairn-cache")
}

func logger(l *slog.Logger) *slog.Logger {
	if l == nil {
		return slog.Default()
	}
	return l
}

// Init creates a repository at location and returns it opened.
func Init(ctx context.Context, location string, opts InitOptions) (*Repository, error) {
	cfg, err := newConfig(opts)
	if err != nil {
		return nil, err
	}
	be, err := createBackend(ctx, location)
	if err != nil {
		return nil, fmt.Errorf("init %s: %w", location, err)
	}
	r, err := initWith(ctx, be, cfg, opts)
	if err != nil {
		be.Close()
		return nil, err
	}
	return r, nil
}

// InitWith creates a repository on an existing backend (for custom backends and tests).
func InitWith(ctx context.Context, be backend.Backend, opts InitOptions) (*Repository, error) {
	cfg, err := newConfig(opts)
	if err != nil {
		return nil, err
	}
	return initWith(ctx, be, cfg, opts)
}

func initWith(ctx context.Context, be backend.Backend, cfg Config, opts InitOptions) (*Repository, error) {
	if _, err := be.Stat(ctx, backend.Handle{Type: backend.Config}); err == nil {
		return nil, fmt.Errorf("init %s: %w", be.Location(), ErrRepositoryExists)
	} else if !errors.Is(err, backend.ErrNotFound) {
		return nil, fmt.Errorf("init %s: %w", be.Location(), err)
	}
	key, err := crypto.NewRandomKey()
	if err != nil {
		return nil, fmt.Errorf("init: %w", err)
	}
	comp, err := newCompressor(cfg.Compression)
	if err != nil {
		return nil, fmt.Errorf("init: %w", err)
	}
	r := &Repository{be: be, key: key, cfg: cfg, comp: comp, log: logger(opts.Logger), cacheDir: cacheDirOpt(opts.CacheDir), spool: opts.SpoolDir}
	kdf := crypto.DefaultKDFParams()
	if opts.KDF != nil {
		kdf = *opts.KDF
	}
	ki, err := r.addKey(ctx, opts.Password, kdf)
	if err != nil {
		return nil, fmt.Errorf("init: %w", err)
	}
	r.keyID = ki.ID
	payload, err := json.Marshal(&cfg)
	if err != nil {
		return nil, fmt.Errorf("init: %w", err)
	}
	sealed, err := r.sealObject(typeConfig, payload)
	if err != nil {
		return nil, fmt.Errorf("init: %w", err)
	}
	// The config is written last and only if absent: its presence marks an initialised repository.
	if err := be.SaveNew(ctx, backend.Handle{Type: backend.Config}, sealed); err != nil {
		if errors.Is(err, backend.ErrExists) {
			return nil, fmt.Errorf("init %s: %w", be.Location(), ErrRepositoryExists)
		}
		return nil, fmt.Errorf("init %s: %w", be.Location(), err)
	}
	r.log.Debug("repository created", "location", be.Location(), "id", cfg.ID[:8])
	return r, nil
}

func newConfig(opts InitOptions) (Config, error) {
	if len(opts.Password) == 0 {
		return Config{}, errors.New("init: an empty password is not allowed")
	}
	cfg := Config{Version: FormatVersion, Created: time.Now().UTC(), PackSize: opts.PackSize, Compression: opts.Compression}
	if cfg.PackSize == 0 {
		cfg.PackSize = DefaultPackSize
	}
	if cfg.Compression == "" {
		cfg.Compression = "fastest"
	}
	if opts.Chunker != nil {
		cfg.Chunker = *opts.Chunker
	} else {
		p, err := chunk.DefaultParams()
		if err != nil {
			return Config{}, fmt.Errorf("init: chunker: %w", err)
		}
		cfg.Chunker = p
	}
	var rid [32]byte
	if _, err := rand.Read(rid[:]); err != nil {
		return Config{}, fmt.Errorf("init: %w", err)
	}
	cfg.ID = hex.EncodeToString(rid[:])
	if err := cfg.validate(); err != nil {
		return Config{}, fmt.Errorf("init: %w", err)
	}
	return cfg, nil
}

func cacheDirOpt(d string) string {
	switch d {
	case "":
		return DefaultCacheDir()
	case "off":
		return ""
	}
	return d
}

// Open opens the repository at location with opts.Password.
func Open(ctx context.Context, location string, opts OpenOptions) (*Repository, error) {
	be, err := openBackend(ctx, location)
	if err != nil {
		if errors.Is(err, backend.ErrNotFound) {
			return nil, fmt.Errorf("open %s: %w", location, ErrNoRepository)
		}
		return nil, fmt.Errorf("open %s: %w", location, err)
	}
	r, err := open(ctx, be, opts)
	if err != nil {
		be.Close()
		return nil, err
	}
	return r, nil
}

// OpenWith opens the repository stored on be (for custom backends and tests). Close closes be.
func OpenWith(ctx context.Context, be backend.Backend, opts OpenOptions) (*Repository, error) {
	return open(ctx, be, opts)
}

func open(ctx context.Context, be backend.Backend, opts OpenOptions) (*Repository, error) {
	loc := be.Location()
	sealedCfg, err := be.Load(ctx, backend.Handle{Type: backend.Config}, 0, 0)
	if errors.Is(err, backend.ErrNotFound) {
		return nil, fmt.Errorf("open %s: %w", loc, ErrNoRepository)
	}
	if err != nil {
		return nil, fmt.Errorf("open %s: read config: %w", loc, err)
	}
	// Refuse an unknown format before asking for any password work.
	if err := checkHeader(sealedCfg, typeConfig, "config"); err != nil {
		return nil, fmt.Errorf("open %s: %w", loc, err)
	}
	key, keyID, err := unlock(ctx, be, opts.Password)
	if err != nil {
		return nil, fmt.Errorf("open %s: %w", loc, err)
	}
	r := &Repository{be: be, key: key, keyID: keyID, log: logger(opts.Logger), cacheDir: cacheDirOpt(opts.CacheDir), spool: opts.SpoolDir}
	r.comp, err = newCompressor("off")
	if err != nil {
		return nil, err
	}
	b, err := r.openObject(typeConfig, sealedCfg, "config")
	if err != nil {
		return nil, fmt.Errorf("open %s: %w", loc, err)
	}
	if r.cfg, err = decodeConfig(b); err != nil {
		return nil, fmt.Errorf("open %s: %w", loc, err)
	}
	if r.comp, err = newCompressor(r.cfg.Compression); err != nil {
		return nil, err
	}
	return r, nil
}

// unlock tries every key slot with password.
func unlock(ctx context.Context, be backend.Backend, password []byte) (*crypto.Key, string, error) {
	var names []string
	err := be.List(ctx, backend.Key, func(name string, _ int64) error {
		names = append(names, name)
		return nil
	})
	if err != nil {
		return nil, "", fmt.Errorf("list keys: %w", err)
	}
	if len(names) == 0 {
		return nil, "", fmt.Errorf("%w: the repository has no key slots", ErrCorrupt)
	}
	var lastErr error = ErrWrongPassword
	for _, name := range names {
		b, err := be.Load(ctx, backend.Handle{Type: backend.Key, Name: name}, 0, 0)
		if err != nil {
			lastErr = err
			continue
		}
		slot, err := crypto.ParseKeySlot(b)
		if err != nil {
			if errors.Is(err, crypto.ErrUnsupported) {
				lastErr = fmt.Errorf("%w: key %s: %v", ErrUnsupportedVersion, name[:8], err)
			}
			continue
		}
		key, err := slot.Unlock(password)
		collectGarbage() // give the key derivation's memory back before anything else allocates
		if err == nil {
			return key, name, nil
		}
		if ctx.Err() != nil {
			return nil, "", ctx.Err()
		}
	}
	if errors.Is(lastErr, ErrUnsupportedVersion) {
		return nil, "", lastErr
	}
	return nil, "", ErrWrongPassword
}

// Close releases the repository and its cache.
func (r *Repository) Close() error {
	r.cacheMu.Lock()
	defer r.cacheMu.Unlock()
	var err error
	if r.cache != nil {
		err = r.cache.Close()
		r.cache = nil
	}
	if cerr := r.be.Close(); err == nil {
		err = cerr
	}
	return err
}

// Location returns the backend's location (without credentials).
func (r *Repository) Location() string { return r.be.Location() }

// Config returns the repository configuration.
func (r *Repository) Config() Config { return r.cfg }

// Backend returns the storage backend (for tools and tests).
func (r *Repository) Backend() backend.Backend { return r.be }

// indexCache returns the local index cache, synchronised with the repository's index objects.
func (r *Repository) indexCache(ctx context.Context) (*index.Cache, error) {
	r.cacheMu.Lock()
	defer r.cacheMu.Unlock()
	if r.cache == nil {
		c, err := r.openCache()
		if err != nil {
			return nil, err
		}
		r.cache = c
	}
	if err := r.syncCache(ctx, r.cache); err != nil {
		return nil, err
	}
	return r.cache, nil
}

func (r *Repository) openCache() (*index.Cache, error) {
	opts := index.CacheOptions{Logger: r.log}
	if r.cacheDir != "" {
		path := filepath.Join(r.cacheDir, r.cfg.ID, "index.db")
		c, err := index.OpenCache(path, r.cfg.ID, opts)
		if err == nil {
			return c, nil
		}
		r.log.Info("index cache unavailable, using a private temporary cache", "path", path, "err", err)
	}
	c, err := index.OpenTempCache("", r.cfg.ID, opts)
	if err != nil {
		return nil, fmt.Errorf("temporary index cache: %w", err)
	}
	return c, nil
}

func (r *Repository) syncCache(ctx context.Context, c *index.Cache) error {
	// A concurrent prune may remove an index object between List and load (it wrote a
	// superseding one first): list again.
	for attempt := 0; ; attempt++ {
		err := r.syncCacheOnce(ctx, c)
		if err == nil || attempt == 4 || !errors.Is(err, backend.ErrNotFound) {
			return err
		}
	}
}

func (r *Repository) syncCacheOnce(ctx context.Context, c *index.Cache) error {
	var present []ids.ID
	err := r.be.List(ctx, backend.Index, func(name string, _ int64) error {
		id, err := ids.Parse(name)
		if err != nil {
			r.log.Warn("ignoring index object with a malformed name", "name", name)
			return nil
		}
		present = append(present, id)
		return nil
	})
	if err != nil {
		return fmt.Errorf("list index objects: %w", err)
	}
	_, err = c.Sync(ctx, present, r.loadIndex)
	if err != nil {
		return fmt.Errorf("sync index cache: %w", err)
	}
	return nil
}

func (r *Repository) loadIndex(ctx context.Context, id ids.ID) (*index.Object, error) {
	b, err := r.loadObject(ctx, backend.Index, typeIndex, id)
	if err != nil {
		return nil, err
	}
	o, err := index.Decode(b)
	if err != nil {
		return nil, fmt.Errorf("%w: index/%s: %v", ErrCorrupt, id, err)
	}
	return o, nil
}

// saveIndex writes an index object for entries and records it in the cache.
func (r *Repository) saveIndex(ctx context.Context, c *index.Cache, o *index.Object) (ids.ID, error) {
	id, err := r.saveObject(ctx, backend.Index, typeIndex, index.Encode(o))
	if err != nil {
		return ids.ID{}, fmt.Errorf("save index: %w", err)
	}
	if c != nil {
		if err := c.Add(id, o); err != nil {
			return id, fmt.Errorf("index cache: %w", err)
		}
	}
	return id, nil
}
