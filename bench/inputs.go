package main

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strconv"
	"time"
)

// Input is one benchmark input: two generations of a volume image.
type Input struct {
	Name       string  `json:"name"`
	Kind       string  `json:"kind"` // a Kind, or "image" for --image
	Size       int64   `json:"size"`
	Seed       uint64  `json:"seed"`
	MutatePct  float64 `json:"mutate_pct"`
	Gen1       string  `json:"gen1"`
	Gen2       string  `json:"gen2"`
	SHA1       string  `json:"sha256_gen1"`
	SHA2       string  `json:"sha256_gen2"`
	Changed    int64   `json:"changed_bytes,omitempty"` // in-place mutation only
	AllocGen1  int64   `json:"allocated_gen1"`          // bytes allocated on disk (holes excluded)
	PrepareSec float64 `json:"prepare_seconds"`
}

// inputSpec says how to produce an Input.
type inputSpec struct {
	kind   Kind   // generator, or "" for an image file
	image  string // --image path
	size   int64
	seed   uint64
	pct    float64
	maxRun int
}

func (s inputSpec) name() string {
	if s.image != "" {
		return "image-" + filepath.Base(s.image)
	}
	return fmt.Sprintf("%s-%s", s.kind, compactSize(s.size))
}

// compactSize renders sizes for names: 256MiB, 8GiB, 1536KiB.
func compactSize(n int64) string {
	for _, u := range []struct {
		s string
		v int64
	}{{"TiB", 1 << 40}, {"GiB", 1 << 30}, {"MiB", 1 << 20}, {"KiB", 1 << 10}} {
		if n >= u.v && n%u.v == 0 {
			return strconv.FormatInt(n/u.v, 10) + u.s
		}
	}
	return strconv.FormatInt(n, 10) + "B"
}

// prepareInput creates (or reuses, when its metadata file matches) the two generations
// of an input under dir/inputs.
func prepareInput(ctx context.Context, dir string, s inputSpec) (*Input, error) {
	key := s.name()
	if s.image == "" {
		key = fmt.Sprintf("%s-s%d-m%g-r%d", key, s.seed, s.pct, s.maxRun)
	}
	idir := filepath.Join(dir, "inputs", key)
	meta := filepath.Join(idir, "input.json")
	if in, err := loadInput(meta); err == nil && s.image == "" {
		slog.Info("reusing input", "name", in.Name, "dir", idir)
		return in, nil
	}
	if err := os.MkdirAll(idir, 0o755); err != nil {
		return nil, fmt.Errorf("input %s: %w", key, err)
	}
	start := time.Now()
	in := &Input{Name: s.name(), Kind: string(s.kind), Size: s.size, Seed: s.seed, MutatePct: s.pct,
		Gen1: filepath.Join(idir, "gen1.img"), Gen2: filepath.Join(idir, "gen2.img")}
	slog.Info("preparing input", "name", in.Name, "dir", idir)
	var err error
	switch {
	case s.image != "":
		in.Kind = "image"
		err = copyFile(s.image, in.Gen1)
		if err == nil {
			err = copyFile(s.image, in.Gen2)
		}
		if err == nil {
			in.Changed, err = mutateInPlace(ctx, in.Gen2, s.pct, s.maxRun, s.seed)
		}
	case s.kind == KindExt4:
		err = writeExt4Pair(ctx, idir, in.Gen1, in.Gen2, s.size, s.pct, s.seed)
	default:
		// gen2 is generated afresh (not copied) so that holes stay holes, then mutated.
		err = writeSynthetic(ctx, in.Gen1, s.kind, s.size, s.seed)
		if err == nil {
			err = writeSynthetic(ctx, in.Gen2, s.kind, s.size, s.seed)
		}
		if err == nil {
			in.Changed, err = mutateInPlace(ctx, in.Gen2, s.pct, s.maxRun, s.seed)
		}
	}
	if err != nil {
		return nil, fmt.Errorf("input %s: %w", key, err)
	}
	if in.SHA1, err = sha256File(in.Gen1); err != nil {
		return nil, err
	}
	if in.SHA2, err = sha256File(in.Gen2); err != nil {
		return nil, err
	}
	st, err := os.Stat(in.Gen1)
	if err != nil {
		return nil, fmt.Errorf("input %s: %w", key, err)
	}
	in.Size = st.Size()
	in.AllocGen1 = allocated(st)
	in.PrepareSec = time.Since(start).Seconds()
	b, _ := json.MarshalIndent(in, "", "  ")
	if err := os.WriteFile(meta, b, 0o644); err != nil {
		return nil, fmt.Errorf("input %s: %w", key, err)
	}
	return in, nil
}

func loadInput(meta string) (*Input, error) {
	b, err := os.ReadFile(meta)
	if err != nil {
		return nil, err
	}
	var in Input
	if err := json.Unmarshal(b, &in); err != nil {
		return nil, fmt.Errorf("load %s: %w", meta, err)
	}
	for _, p := range []string{in.Gen1, in.Gen2} {
		if _, err := os.Stat(p); err != nil {
			return nil, err
		}
	}
	if in.SHA1 == "" || in.SHA2 == "" {
		return nil, errors.New("incomplete input metadata")
	}
	return &in, nil
}

// sha256File returns the hex SHA-256 of a file's contents.
func sha256File(path string) (string, error) {
	f, err := os.Open(path)
	if err != nil {
		return "", fmt.Errorf("hash: %w", err)
	}
	defer f.Close()
	h := sha256.New()
	if _, err := io.CopyBuffer(h, f, make([]byte, 1<<20)); err != nil {
		return "", fmt.Errorf("hash %s: %w", path, err)
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}
