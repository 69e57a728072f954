package s3

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"strings"

	"github.com/minio/minio-go/v7"
	"github.com/minio/minio-go/v7/pkg/credentials"

	"github.com/cairnbackup/cairn/repo/backend"
)

// Backend stores objects in one bucket. Safe for concurrent use.
type Backend struct {
	cfg       Config
	client    *minio.Client
	core      minio.Core
	transport *http.Transport
	base      string // key prefix including the trailing '/', or ""

	onProgress func() // test hook: called on every progress report of a request
}

var _ backend.Backend = (*Backend)(nil)

// Open connects to an existing bucket. One cheap listing call checks that the endpoint
// answers (else the error wraps backend.ErrUnavailable), that the credentials work (else
// ErrAccessDenied) and that the bucket exists (else backend.ErrNotFound).
func Open(ctx context.Context, cfg Config) (*Backend, error) {
	b, err := newBackend(cfg)
	if err != nil {
		return nil, err
	}
	if err := b.check(ctx); err != nil {
		b.Close()
		return nil, err
	}
	return b, nil
}

// Create is Open that also creates the bucket if it does not exist.
func Create(ctx context.Context, cfg Config) (*Backend, error) {
	b, err := newBackend(cfg)
	if err != nil {
		return nil, err
	}
	err = b.check(ctx)
	if errors.Is(err, backend.ErrNotFound) {
		err = b.makeBucket(ctx)
	}
	if err != nil {
		b.Close()
		return nil, err
	}
	return b, nil
}

func newBackend(cfg Config) (*Backend, error) {
	cfg, err := cfg.withDefaults()
	if err != nil {
		return nil, err
	}
	tr, err := newTransport(cfg)
	if err != nil {
		return nil, err
	}
	lookup := map[string]minio.BucketLookupType{
		"auto": minio.BucketLookupAuto, "path": minio.BucketLookupPath, "dns": minio.BucketLookupDNS,
	}[cfg.Lookup]
	client, err := minio.New(cfg.Endpoint, &minio.Options{
		Creds:        credentials.NewStaticV4(cfg.AccessKey, cfg.SecretKey, cfg.SessionToken),
		Secure:       cfg.TLS,
		Transport:    tr,
		Region:       cfg.Region,
		BucketLookup: lookup,
		MaxRetries:   cfg.MaxRetries,
	})
	if err != nil {
		return nil, fmt.Errorf("s3 %s: %w", cfg.Endpoint, err)
	}
	b := &Backend{cfg: cfg, client: client, core: minio.Core{Client: client}, transport: tr}
	if cfg.Prefix != "" {
		b.base = cfg.Prefix + "/"
	}
	return b, nil
}

// check lists at most one key under the prefix: the cheapest call that proves endpoint,
// credentials and bucket at once, with a specific error code for each failure.
func (b *Backend) check(ctx context.Context) error {
	w := b.watch(ctx)
	defer w.stop()
	var err error
	for obj := range b.client.ListObjectsIter(w.ctx, b.cfg.Bucket, minio.ListObjectsOptions{Prefix: b.base, MaxKeys: 1}) {
		err = obj.Err
		break // one answer is enough; stop (and cancel) the listing
	}
	if err == nil {
		return nil
	}
	ep, bucket := b.cfg.Endpoint, b.cfg.Bucket
	cls := b.explain(ctx, w, "s3 "+ep, err)
	switch {
	case errors.Is(err, context.Canceled), errors.Is(err, context.DeadlineExceeded):
	case errors.Is(cls, backend.ErrNotFound):
		return b.explain(ctx, w, fmt.Sprintf("s3 %s: bucket %q does not exist", ep, bucket), err)
	case errors.Is(cls, ErrAccessDenied):
		return b.explain(ctx, w, fmt.Sprintf("s3 %s: access key %q rejected or not allowed on bucket %q", ep, b.cfg.AccessKey, bucket), err)
	case errors.Is(cls, backend.ErrUnavailable):
		return b.explain(ctx, w, fmt.Sprintf("s3 %s: endpoint unreachable", ep), err)
	}
	return b.explain(ctx, w, fmt.Sprintf("s3 %s: open bucket %q", ep, bucket), err)
}

func (b *Backend) makeBucket(ctx context.Context) error {
	w := b.watch(ctx)
	defer w.stop()
	err := b.client.MakeBucket(w.ctx, b.cfg.Bucket, minio.MakeBucketOptions{Region: b.cfg.Region})
	if err != nil {
		code := minio.ToErrorResponse(err).Code
		if code != "BucketAlreadyOwnedByYou" && code != "BucketAlreadyExists" {
			return b.classify(ctx, w, "create bucket", err)
		}
	}
	return b.check(ctx)
}

// Location returns the repository URL (without credentials).
func (b *Backend) Location() string { return b.cfg.Location() }

// Key returns the object key of h in the bucket.
func (b *Backend) Key(h backend.Handle) string {
	switch h.Type {
	case backend.Config:
		return b.base + "config"
	case backend.Pack:
		sub := "xx"
		if len(h.Name) >= 2 {
			sub = h.Name[:2]
		}
		return b.base + "data/" + sub + "/" + h.Name
	}
	return b.base + h.Type.String() + "/" + h.Name
}

// Save stores data under h with a single PUT, or a multipart upload above PartSize. S3
// makes the object visible only when the upload completes, so Save is atomic. data is
// not read once Save has returned.
func (b *Backend) Save(ctx context.Context, h backend.Handle, data []byte) error {
	return b.put(ctx, "save", h, newPartsReader([][]byte{data}), false)
}

// SaveParts is Save of the concatenation of parts, without joining them in memory (the
// zones backend uploads a shard payload and its footer this way). The parts are not read
// once SaveParts has returned.
func (b *Backend) SaveParts(ctx context.Context, h backend.Handle, parts [][]byte) error {
	return b.put(ctx, "save", h, newPartsReader(parts), false)
}

// SaveReaderAt is Save of the size bytes of r, read in place (a spooled pack file, a
// shard object over one): nothing is buffered. r is not read once SaveReaderAt has
// returned.
func (b *Backend) SaveReaderAt(ctx context.Context, h backend.Handle, r io.ReaderAt, size int64) error {
	if size < 0 {
		return fmt.Errorf("s3 save %s: negative size %d", h, size)
	}
	return b.put(ctx, "save", h, newBodyReader(r, size), false)
}

// SaveFile stores the size bytes at the start of f under h, like Save; the repository
// calls it for a pack it spooled to a file.
func (b *Backend) SaveFile(ctx context.Context, h backend.Handle, f *os.File, size int64) error {
	return b.SaveReaderAt(ctx, h, f, size)
}

// SaveNew stores data under h with a conditional PUT (If-None-Match: *); if h exists the
// error wraps backend.ErrExists.
func (b *Backend) SaveNew(ctx context.Context, h backend.Handle, data []byte) error {
	return b.put(ctx, "save new", h, newPartsReader([][]byte{data}), true)
}

func (b *Backend) put(ctx context.Context, op string, h backend.Handle, body *partsReader, onlyNew bool) error {
	if err := h.Validate(); err != nil {
		return fmt.Errorf("s3 %s: %w", op, err)
	}
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("s3 %s %s: %w", op, h, err)
	}
	w := b.watch(ctx)
	defer w.stop()
	opts := minio.PutObjectOptions{
		ContentType: "application/octet-stream",
		PartSize:    b.cfg.PartSize,
		Progress:    w,
		// Objects are AEAD-sealed or checksummed by cairn itself; a SHA-256 of the payload
		// for the signature over plain HTTP would only cost throughput.
		DisableContentSha256: true,
	}
	if onlyNew {
		opts.SetMatchETagExcept("*")
		opts.DisableMultipart = true // the condition must hold for one atomic PUT
	}
	// The body is seekable (minio-go retries by seeking back) and an io.ReaderAt, so a
	// single PUT streams it from the caller's memory and a multipart upload reads its parts
	// in place: nothing is buffered. It is closed on return, because net/http may still
	// read a request body after the round trip failed.
	defer body.Close()
	_, err := b.client.PutObject(w.ctx, b.cfg.Bucket, b.Key(h), body, body.Size(), opts)
	if err != nil {
		if er, ok := isConditionFailed(err); ok && onlyNew && ctx.Err() == nil {
			return fmt.Errorf("s3 %s/%s: %s %s: %s: %w", b.cfg.Endpoint, b.cfg.Bucket, op, h, describe(er), backend.ErrExists)
		}
		return b.classify(ctx, w, op+" "+h.String(), err)
	}
	return nil
}

// Load reads length bytes at offset of h (length 0: to the end) with a range GET. A body
// cut short by the network is fetched again, up to MaxRetries times.
func (b *Backend) Load(ctx context.Context, h backend.Handle, offset, length int64) ([]byte, error) {
	if err := h.Validate(); err != nil {
		return nil, fmt.Errorf("s3 load: %w", err)
	}
	if offset < 0 || length < 0 {
		return nil, fmt.Errorf("s3 load %s: invalid range offset=%d length=%d", h, offset, length)
	}
	return b.load(ctx, h, offset, length, nil)
}

// LoadInto reads exactly len(dst) bytes of h at offset into dst (one range GET straight
// into the caller's buffer, retried like Load), so a caller can reuse one buffer for many
// reads. A missing object wraps backend.ErrNotFound; an object too short for the range is
// an error, not a short read. An empty dst costs a HEAD, to check the object and offset.
// On an error dst may hold part of the range.
func (b *Backend) LoadInto(ctx context.Context, h backend.Handle, offset int64, dst []byte) error {
	return b.LoadParts(ctx, h, offset, [][]byte{dst})
}

// LoadParts reads the bytes of h from offset on into parts, in order, exactly as many as
// they hold, with one range GET (retried like Load): a vectored LoadInto, so the zones
// backend reads the whole blocks of a range into the caller's buffer and only the blocks
// at its ends into buffers of its own. LoadInto's rules apply to the parts' total.
func (b *Backend) LoadParts(ctx context.Context, h backend.Handle, offset int64, parts [][]byte) error {
	if err := h.Validate(); err != nil {
		return fmt.Errorf("s3 load: %w", err)
	}
	if offset < 0 {
		return fmt.Errorf("s3 load %s: invalid offset %d", h, offset)
	}
	var n int64
	for _, p := range parts {
		n += int64(len(p))
	}
	if n == 0 {
		size, err := b.Stat(ctx, h)
		if err != nil {
			return err
		}
		if offset > size {
			return fmt.Errorf("s3 load %s: offset %d beyond size %d", h, offset, size)
		}
		return nil
	}
	_, err := b.load(ctx, h, offset, n, parts)
	return err
}

// LoadTail returns the last n bytes of h, or all of it when it is shorter, with one
// suffix-range GET (no Stat first): how the zones backend reads a shard's footer.
func (b *Backend) LoadTail(ctx context.Context, h backend.Handle, n int64) ([]byte, error) {
	if err := h.Validate(); err != nil {
		return nil, fmt.Errorf("s3 load: %w", err)
	}
	if n <= 0 {
		return nil, fmt.Errorf("s3 load %s: invalid tail length %d", h, n)
	}
	return b.load(ctx, h, -n, 0, nil)
}

// load is Load (dst nil: a new buffer), LoadInto and LoadParts (dst of total length
// length > 0): the range GET with its retries of a body cut short.
func (b *Backend) load(ctx context.Context, h backend.Handle, offset, length int64, dst [][]byte) ([]byte, error) {
	for attempt := 1; ; attempt++ {
		data, retry, err := b.loadOnce(ctx, h, offset, length, dst)
		if err == nil || !retry || attempt >= b.cfg.MaxRetries {
			return data, err
		}
	}
}

// loadOnce does one ranged GET (offset < 0: the last -offset bytes) into the parts of dst,
// in order, or into a new buffer if dst is nil; retry reports whether a failure happened
// while reading the body of an otherwise good response.
func (b *Backend) loadOnce(ctx context.Context, h backend.Handle, offset, length int64, dst [][]byte) (data []byte, retry bool, err error) {
	if err := ctx.Err(); err != nil {
		return nil, false, fmt.Errorf("s3 load %s: %w", h, err)
	}
	op := "load " + h.String()
	var opts minio.GetObjectOptions
	switch {
	case offset < 0: // LoadTail: the last -offset bytes
		err = opts.SetRange(0, offset)
	case length > 0:
		err = opts.SetRange(offset, offset+length-1)
	case offset > 0:
		err = opts.SetRange(offset, 0)
	}
	if err != nil {
		return nil, false, fmt.Errorf("s3 %s: %w", op, err)
	}
	w := b.watch(ctx)
	defer w.stop()
	body, info, _, err := b.core.GetObject(w.ctx, b.cfg.Bucket, b.Key(h), opts)
	if err != nil {
		if minio.ToErrorResponse(err).StatusCode == http.StatusRequestedRangeNotSatisfiable {
			return b.unsatisfiable(ctx, h, offset, length)
		}
		return nil, false, b.classify(ctx, w, op, err)
	}
	defer body.Close()
	want := info.Size
	if length > 0 {
		if info.Size < length {
			return nil, false, fmt.Errorf("s3 %s: short object: wanted %d bytes at %d, got %d", op, length, offset, info.Size)
		}
		want = length
	}
	if want < 0 {
		return nil, false, fmt.Errorf("s3 %s: response without a content length", op)
	}
	if dst == nil {
		data = make([]byte, want)
		dst = [][]byte{data}
	}
	for _, part := range dst {
		if _, err := io.ReadFull(progressReader{body, w}, part); err != nil {
			return nil, true, b.classify(ctx, w, op, fmt.Errorf("read body: %w", err))
		}
	}
	return data, false, nil
}

// unsatisfiable handles a 416 answer: a load of nothing at the exact end of the object is
// an empty result; anything else starts beyond the end.
func (b *Backend) unsatisfiable(ctx context.Context, h backend.Handle, offset, length int64) ([]byte, bool, error) {
	size, err := b.Stat(ctx, h)
	if err != nil {
		return nil, false, err
	}
	if length == 0 && (offset == size || (offset < 0 && size == 0)) {
		return []byte{}, false, nil // nothing at the end, or the tail of an empty object
	}
	return nil, false, fmt.Errorf("s3 load %s: range offset=%d length=%d beyond size %d", h, offset, length, size)
}

// Stat returns the size of h (a HEAD request).
func (b *Backend) Stat(ctx context.Context, h backend.Handle) (int64, error) {
	if err := h.Validate(); err != nil {
		return 0, fmt.Errorf("s3 stat: %w", err)
	}
	if err := ctx.Err(); err != nil {
		return 0, fmt.Errorf("s3 stat %s: %w", h, err)
	}
	w := b.watch(ctx)
	defer w.stop()
	info, err := b.client.StatObject(w.ctx, b.cfg.Bucket, b.Key(h), minio.StatObjectOptions{})
	if err != nil {
		return 0, b.classify(ctx, w, "stat "+h.String(), err)
	}
	return info.Size, nil
}

// List calls fn for each object of type t. Keys below the type's directory that do not fit
// the layout (nested deeper, or names starting with '.') are skipped.
func (b *Backend) List(ctx context.Context, t backend.Type, fn func(name string, size int64) error) error {
	if t == backend.Config {
		size, err := b.Stat(ctx, backend.Handle{Type: backend.Config})
		if errors.Is(err, backend.ErrNotFound) {
			return nil
		}
		if err != nil {
			return err
		}
		return fn("config", size)
	}
	if t < backend.Config || t > backend.Lock {
		return fmt.Errorf("s3 list: invalid object type %s", t)
	}
	w := b.watch(ctx)
	defer w.stop() // also ends the listing goroutine if fn stops early
	prefix := b.base + t.String() + "/"
	depth := 0
	if t == backend.Pack {
		depth = 1 // data/<xx>/<name>
	}
	for obj := range b.client.ListObjectsIter(w.ctx, b.cfg.Bucket, minio.ListObjectsOptions{Prefix: prefix, Recursive: true}) {
		if obj.Err != nil {
			return b.classify(ctx, w, "list "+t.String(), obj.Err)
		}
		w.kick()
		rel := strings.TrimPrefix(obj.Key, prefix)
		if strings.Count(rel, "/") != depth {
			continue
		}
		name := rel[strings.LastIndexByte(rel, '/')+1:]
		if name == "" || strings.HasPrefix(name, ".") {
			continue
		}
		if err := fn(name, obj.Size); err != nil {
			return err
		}
	}
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("s3 list %s: %w", t, err)
	}
	return nil
}

// Remove deletes h. S3 deletes succeed for missing keys, so a HEAD first reports a missing
// object as backend.ErrNotFound.
func (b *Backend) Remove(ctx context.Context, h backend.Handle) error {
	if _, err := b.Stat(ctx, h); err != nil {
		return err
	}
	w := b.watch(ctx)
	defer w.stop()
	if err := b.client.RemoveObject(w.ctx, b.cfg.Bucket, b.Key(h), minio.RemoveObjectOptions{}); err != nil {
		return b.classify(ctx, w, "remove "+h.String(), err)
	}
	return nil
}

// Close releases idle connections.
func (b *Backend) Close() error {
	b.transport.CloseIdleConnections()
	return nil
}
