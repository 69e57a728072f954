package s3

import (
	"bytes"
	"errors"
	"io"
	"testing"
	"testing/iotest"

	"github.com/cairnbackup/cairn/internal/miniotest"
	"github.com/cairnbackup/cairn/repo/backend"
	"github.com/cairnbackup/cairn/repo/backend/backendtest"
)

func TestPartsReader(t *testing.T) {
	tests := []struct {
		name  string
		parts [][]byte
	}{
		{"none", nil},
		{"one", [][]byte{[]byte("hello")}},
		{"empty parts", [][]byte{{}, []byte("ab"), {}, []byte("cde"), {}}},
		{"many", [][]byte{[]byte("0123456789"), []byte("x"), bytes.Repeat([]byte("y"), 1000)}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			want := bytes.Join(tc.parts, nil)
			r := newPartsReader(tc.parts)
			if r.Size() != int64(len(want)) {
				t.Fatalf("Size %d, want %d", r.Size(), len(want))
			}
			// Reader and ReaderAt contracts (iotest also seeks).
			if err := iotest.TestReader(r, want); err != nil {
				t.Fatal(err)
			}
			for off := range int64(len(want)) + 1 {
				buf := make([]byte, 7)
				n, err := r.ReadAt(buf, off)
				end := min(off+7, int64(len(want)))
				if !bytes.Equal(buf[:n], want[off:end]) || (end-off < 7) != (err == io.EOF) {
					t.Fatalf("ReadAt(7, %d) = %q, %v", off, buf[:n], err)
				}
			}
			if _, err := r.Seek(0, io.SeekStart); err != nil {
				t.Fatal(err)
			}
			r.Close()
			if _, err := r.Read(make([]byte, 1)); !errors.Is(err, errBodyClosed) {
				t.Fatalf("Read after Close: %v", err)
			}
			if _, err := r.ReadAt(make([]byte, 1), 0); !errors.Is(err, errBodyClosed) {
				t.Fatalf("ReadAt after Close: %v", err)
			}
		})
	}
}

func TestPartsReaderBadSeek(t *testing.T) {
	r := newPartsReader([][]byte{[]byte("abc")})
	if _, err := r.Seek(-1, io.SeekStart); err == nil {
		t.Error("seek to -1 accepted")
	}
	if _, err := r.Seek(0, 42); err == nil {
		t.Error("bad whence accepted")
	}
	if _, err := r.ReadAt(make([]byte, 1), -1); err == nil {
		t.Error("ReadAt(-1) accepted")
	}
}

// TestSaveParts: an object saved as parts (single PUT and multipart) reads back as their
// concatenation.
func TestSaveParts(t *testing.T) {
	srv := miniotest.Start(t, 1)[0]
	cfg := testConfig(t, srv)
	cfg.PartSize = MinPartSize
	b := open(t, cfg)
	big := backendtest.RandomData(t, 2*MinPartSize+777)
	tests := []struct {
		name  string
		parts [][]byte
	}{
		{"empty", [][]byte{{}, {}}},
		{"small", [][]byte{[]byte("payload"), {}, []byte("footer")}},
		{"multipart", [][]byte{big[:MinPartSize-3], big[MinPartSize-3 : MinPartSize+5], big[MinPartSize+5:]}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			h := backend.Handle{Type: backend.Pack, Name: backendtest.RandomName(t)}
			if err := b.SaveParts(t.Context(), h, tc.parts); err != nil {
				t.Fatal(err)
			}
			want := bytes.Join(tc.parts, nil)
			got, err := b.Load(t.Context(), h, 0, 0)
			if err != nil || !bytes.Equal(got, want) {
				t.Fatalf("Load: %d bytes (want %d), %v", len(got), len(want), err)
			}
		})
	}
}
