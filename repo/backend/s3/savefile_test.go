package s3

import (
	"bytes"
	"context"
	"errors"
	"io"
	"os"
	"testing"
	"testing/iotest"

	"github.com/cairnbackup/cairn/internal/miniotest"
	"github.com/cairnbackup/cairn/repo/backend"
	"github.com/cairnbackup/cairn/repo/backend/backendtest"
)

// TestSaveFile: SaveReaderAt and SaveFile store exactly the first size bytes of their
// source, in a single PUT and in a multipart upload.
func TestSaveFile(t *testing.T) {
	srv := miniotest.Start(t, 1)[0]
	cfg := testConfig(t, srv)
	cfg.PartSize = MinPartSize
	b := open(t, cfg)
	big := 2*MinPartSize + 777
	tests := []struct {
		name       string
		file, size int // bytes in the source, bytes to store
	}{
		{"empty", 0, 0},
		{"empty of a non-empty file", 100, 0},
		{"small", 1000, 1000},
		{"prefix", 5000, 1234},
		{"one byte", 1, 1},
		{"multipart", big, big},
		{"multipart prefix", big + 4321, big},
		{"one part prefix", MinPartSize + 10, MinPartSize}, // exactly one part's worth
	}
	saves := []struct {
		name string
		save func(ctx context.Context, h backend.Handle, f *os.File, size int64) error
	}{
		{"SaveFile", b.SaveFile},
		{"SaveReaderAt", func(ctx context.Context, h backend.Handle, f *os.File, size int64) error {
			return b.SaveReaderAt(ctx, h, f, size)
		}},
		{"SaveReaderAt bytes", func(ctx context.Context, h backend.Handle, f *os.File, size int64) error {
			data, err := os.ReadFile(f.Name())
			if err != nil {
				return err
			}
			return b.SaveReaderAt(ctx, h, bytes.NewReader(data), size)
		}},
	}
	for _, tc := range tests {
		data := backendtest.RandomData(t, tc.file)
		for _, s := range saves {
			t.Run(tc.name+"/"+s.name, func(t *testing.T) {
				f := backendtest.TempFile(t, data)
				h := backend.Handle{Type: backend.Pack, Name: backendtest.RandomName(t)}
				if err := s.save(t.Context(), h, f, int64(tc.size)); err != nil {
					t.Fatal(err)
				}
				want := data[:tc.size]
				got, err := b.Load(t.Context(), h, 0, 0)
				if err != nil || !bytes.Equal(got, want) {
					t.Fatalf("Load: %d bytes (want %d), equal %v, %v", len(got), len(want), bytes.Equal(got, want), err)
				}
				if n, err := b.Stat(t.Context(), h); err != nil || n != int64(tc.size) {
					t.Fatalf("Stat = %d, %v; want %d", n, err, tc.size)
				}
				if after, err := os.ReadFile(f.Name()); err != nil || !bytes.Equal(after, data) {
					t.Fatalf("the source file changed: %v", err)
				}
			})
		}
	}
}

// TestSaveFileErrors: a source shorter than size, a negative size and a cancelled
// context fail, and store nothing (not a short object).
func TestSaveFileErrors(t *testing.T) {
	srv := miniotest.Start(t, 1)[0]
	cfg := testConfig(t, srv)
	cfg.PartSize = MinPartSize
	cfg.MaxRetries = 1
	b := open(t, cfg)
	cancelled, cancel := context.WithCancel(t.Context())
	cancel()
	tests := []struct {
		name       string
		ctx        context.Context
		file, size int
		wantErr    error
	}{
		{"short source", t.Context(), 1000, 1001, nil},
		{"short source, empty file", t.Context(), 0, 10, nil},
		{"short source, multipart", t.Context(), MinPartSize + 100, 2*MinPartSize + 1, nil},
		{"negative size", t.Context(), 10, -1, nil},
		{"cancelled", cancelled, 10, 10, context.Canceled},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			f := backendtest.TempFile(t, backendtest.RandomData(t, tc.file))
			h := backend.Handle{Type: backend.Pack, Name: backendtest.RandomName(t)}
			err := b.SaveFile(tc.ctx, h, f, int64(tc.size))
			if err == nil {
				t.Fatal("SaveFile succeeded")
			}
			if tc.wantErr != nil && !errors.Is(err, tc.wantErr) {
				t.Fatalf("SaveFile: %v, want %v", err, tc.wantErr)
			}
			t.Logf("SaveFile error: %v", err)
			if _, err := b.Stat(t.Context(), h); !errors.Is(err, backend.ErrNotFound) {
				t.Fatalf("Stat after a failed SaveFile: %v, want ErrNotFound", err)
			}
		})
	}
	if err := b.SaveReaderAt(t.Context(), backend.Handle{Type: backend.Pack, Name: "../x"}, bytes.NewReader(nil), 0); err == nil {
		t.Error("SaveReaderAt with an invalid handle succeeded")
	}
}

// eofReaderAt is a bytes.Reader whose ReadAt also returns io.EOF when it fills p with the
// last bytes of the data, as the io.ReaderAt contract allows.
type eofReaderAt struct{ *bytes.Reader }

func (r eofReaderAt) ReadAt(p []byte, off int64) (int, error) {
	n, err := r.Reader.ReadAt(p, off)
	if err == nil && off+int64(n) == r.Size() {
		err = io.EOF
	}
	return n, err
}

// failingReaderAt fails every read with err.
type failingReaderAt struct{ err error }

func (r failingReaderAt) ReadAt([]byte, int64) (int, error) { return 0, r.err }

// TestBodyReader: a body over an io.ReaderAt serves exactly its first size bytes, fails
// once closed, and turns a source shorter than size into an error, never a short body.
func TestBodyReader(t *testing.T) {
	data := []byte("0123456789abcdefghijklmnopqrstuvwxyz")
	tests := []struct {
		name string
		src  io.ReaderAt
		size int64
	}{
		{"whole", bytes.NewReader(data), int64(len(data))},
		{"prefix", bytes.NewReader(data), 17},
		{"empty", bytes.NewReader(data), 0},
		{"empty source", bytes.NewReader(nil), 0},
		{"source with EOF at end", eofReaderAt{bytes.NewReader(data)}, int64(len(data))},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			want := data[:tc.size]
			r := newBodyReader(tc.src, tc.size)
			if r.Size() != tc.size {
				t.Fatalf("Size %d, want %d", r.Size(), tc.size)
			}
			if err := iotest.TestReader(r, want); err != nil {
				t.Fatal(err)
			}
			for off := range tc.size + 1 {
				buf := make([]byte, 5)
				n, err := r.ReadAt(buf, off)
				end := min(off+5, tc.size)
				if !bytes.Equal(buf[:n], want[off:end]) || (end-off < 5) != (err == io.EOF) {
					t.Fatalf("ReadAt(5, %d) = %q, %v", off, buf[:n], err)
				}
			}
			if _, err := r.Seek(0, io.SeekStart); err != nil {
				t.Fatal(err)
			}
			if err := r.Close(); err != nil {
				t.Fatal(err)
			}
			if _, err := r.Read(make([]byte, 1)); !errors.Is(err, errBodyClosed) {
				t.Fatalf("Read after Close: %v", err)
			}
			if _, err := r.ReadAt(make([]byte, 1), 0); !errors.Is(err, errBodyClosed) {
				t.Fatalf("ReadAt after Close: %v", err)
			}
		})
	}
}

// TestBodyReaderShortSource: a source shorter than size (or failing) makes reads of the
// missing part fail; the bytes the source has still read.
func TestBodyReaderShortSource(t *testing.T) {
	boom := errors.New("boom")
	data := []byte("0123456789")
	tests := []struct {
		name    string
		src     io.ReaderAt
		have    int // bytes the source serves
		size    int64
		wantErr error
	}{
		{"shorter", bytes.NewReader(data), len(data), 11, io.ErrUnexpectedEOF},
		{"empty source", bytes.NewReader(nil), 0, 3, io.ErrUnexpectedEOF},
		{"shorter, EOF at end", eofReaderAt{bytes.NewReader(data)}, len(data), 20, io.ErrUnexpectedEOF},
		{"failing source", failingReaderAt{boom}, 0, 4, boom},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := newBodyReader(tc.src, tc.size)
			got, err := io.ReadAll(r)
			if !errors.Is(err, tc.wantErr) {
				t.Fatalf("ReadAll = %d bytes, %v; want %v", len(got), err, tc.wantErr)
			}
			if !bytes.Equal(got, data[:len(got)]) || len(got) > tc.have {
				t.Fatalf("ReadAll returned %d bytes (%q) before failing; the source has %d", len(got), got, tc.have)
			}
			buf := make([]byte, tc.size)
			if n, err := r.ReadAt(buf, 0); !errors.Is(err, tc.wantErr) {
				t.Fatalf("ReadAt(all) = %d, %v; want %v", n, err, tc.wantErr)
			}
			if tc.have == 0 {
				return
			}
			if n, err := r.ReadAt(buf[:tc.have], 0); err != nil || n != tc.have || !bytes.Equal(buf[:n], data[:n]) {
				t.Fatalf("ReadAt of the %d bytes the source has = %d, %v", tc.have, n, err)
			}
		})
	}
}
