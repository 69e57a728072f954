package erasure

import (
	"bytes"
	"errors"
	"io"
	"testing"
)

// memFile is an in-memory File that grows on WriteAt.
type memFile struct{ b []byte }

func (m *memFile) ReadAt(p []byte, off int64) (int, error) {
	if off >= int64(len(m.b)) {
		return 0, io.EOF
	}
	n := copy(p, m.b[off:])
	if n < len(p) {
		return n, io.EOF
	}
	return n, nil
}

func (m *memFile) WriteAt(p []byte, off int64) (int, error) {
	if end := off + int64(len(p)); end > int64(len(m.b)) {
		m.b = append(m.b, make([]byte, end-int64(len(m.b)))...)
	}
	return copy(m.b[off:], p), nil
}

// readAll reads a whole sections.Reader through ReadAt.
func readAll(t *testing.T, r interface {
	io.ReaderAt
	Size() int64
}) []byte {
	t.Helper()
	out := make([]byte, r.Size())
	if n, err := r.ReadAt(out, 0); n != len(out) || (err != nil && err != io.EOF) {
		t.Fatalf("ReadAt: %d of %d bytes, %v", n, len(out), err)
	}
	return out
}

// TestEncodeFile checks that the shard objects EncodeFile describes are exactly Encode's,
// across layouts, pack sizes around shard, stripe and block boundaries, and block sizes
// smaller and larger than a stripe.
func TestEncodeFile(t *testing.T) {
	sizes := []int{0, 1, 5, 64*3 + 1, 1000, 4099, 70_001, FileStripe*4 - 1, FileStripe*4 + 64, 3<<20 + 12345}
	for _, bs := range []int{64, 4096, 1 << 20} {
		for _, l := range []Layout{{4, 2}, {3, 1}, {2, 0}, {1, 2}} {
			c := mustCoder(t, l, WithBlockSize(bs))
			for _, n := range sizes {
				pack, id := testPack(n, uint64(n)+3), testID(uint64(n))
				want := mustEncode(t, c, id, pack)
				f := &memFile{b: bytes.Clone(pack)}
				objs, err := c.EncodeFile(id, f, int64(n))
				if err != nil {
					t.Fatalf("%v, block %d, %d bytes: %v", l, bs, n, err)
				}
				if len(objs) != len(want) {
					t.Fatalf("%v: %d objects, want %d", l, len(objs), len(want))
				}
				for i := range want {
					if got := readAll(t, objs[i]); !bytes.Equal(got, want[i]) {
						t.Fatalf("%v, block %d, %d bytes: shard %d differs from Encode", l, bs, n, i)
					}
				}
				if !bytes.Equal(f.b[:n], pack) {
					t.Fatalf("%v, %d bytes: the pack in the file changed", l, n)
				}
			}
		}
	}
}

// TestEncodeFileOSFile codes a pack in a real file, as the zones backend does with a
// spooled pack: the shard objects equal Encode's.
func TestEncodeFileOSFile(t *testing.T) {
	c := mustCoder(t, Layout{4, 2})
	pack, id := testPack(5<<20+777, 9), testID(9)
	f := packFile(t, pack)
	objs, err := c.EncodeFile(id, f, int64(len(pack)))
	if err != nil {
		t.Fatal(err)
	}
	shards := make([][]byte, len(objs))
	for i, o := range objs {
		shards[i] = readAll(t, o)
	}
	want := mustEncode(t, c, id, pack)
	for i := range want {
		if !bytes.Equal(shards[i], want[i]) {
			t.Fatalf("shard %d differs from Encode", i)
		}
	}
}

// errFile fails its reads or writes.
type errFile struct {
	memFile
	readErr, writeErr error
}

func (e *errFile) ReadAt(p []byte, off int64) (int, error) {
	if e.readErr != nil {
		return 0, e.readErr
	}
	return e.memFile.ReadAt(p, off)
}

func (e *errFile) WriteAt(p []byte, off int64) (int, error) {
	if e.writeErr != nil {
		return 0, e.writeErr
	}
	return e.memFile.WriteAt(p, off)
}

func TestEncodeFileErrors(t *testing.T) {
	c := mustCoder(t, Layout{4, 2})
	pack, id := testPack(100_000, 1), testID(1)
	boom := errors.New("disk on fire")
	tests := []struct {
		name string
		f    File
		n    int64
		id   []byte
		want error
	}{
		{"read fails", &errFile{memFile: memFile{pack}, readErr: boom}, int64(len(pack)), id, boom},
		{"write fails", &errFile{memFile: memFile{pack}, writeErr: boom}, int64(len(pack)), id, boom},
		{"file shorter than n", &memFile{pack[:500]}, int64(len(pack)), id, io.ErrUnexpectedEOF},
		{"negative length", &memFile{pack}, -1, id, nil},
		{"bad pack ID", &memFile{pack}, int64(len(pack)), id[:5], nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := c.EncodeFile(tt.id, tt.f, tt.n)
			if err == nil {
				t.Fatal("EncodeFile succeeded")
			}
			if tt.want != nil && !errors.Is(err, tt.want) {
				t.Fatalf("error %v, want %v", err, tt.want)
			}
		})
	}
}
