package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"math"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"time"
)

// ErrNoMkfs is returned when mkfs.ext4 or debugfs (beside it) cannot be found.
var ErrNoMkfs = errors.New("mkfs.ext4 and debugfs not found (install e2fsprogs)")

// mkfsPath locates mkfs.ext4 on PATH or in /usr/sbin and /sbin, with debugfs beside it.
func mkfsPath() (string, error) {
	cands := []string{"/usr/sbin/mkfs.ext4", "/sbin/mkfs.ext4"}
	if p, err := exec.LookPath("mkfs.ext4"); err == nil {
		cands = append([]string{p}, cands...)
	}
	for _, p := range cands {
		if _, err := os.Stat(p); err != nil {
			continue
		}
		if _, err := os.Stat(filepath.Join(filepath.Dir(p), "debugfs")); err == nil {
			return p, nil
		}
	}
	return "", ErrNoMkfs
}

// treeFile is one generated file of the ext4 input tree.
type treeFile struct {
	rel  string
	size int64
}

// fileClass is a family of files in the tree: where they live, how big, what they hold.
type fileClass struct {
	dir          string
	ext          string
	minSz, maxSz int64
	text         bool // text content, else random (binary, media)
	zeroPages    bool // database-like: random pages with zero pages between
	weight       int
}

var fileClasses = []fileClass{
	{dir: "etc", ext: ".conf", minSz: 200, maxSz: 16 << 10, text: true, weight: 20},
	{dir: "usr/lib", ext: ".so", minSz: 16 << 10, maxSz: 2 << 20, weight: 15},
	{dir: "var/log", ext: ".log", minSz: 64 << 10, maxSz: 8 << 20, text: true, weight: 10},
	{dir: "home/user/docs", ext: ".txt", minSz: 4 << 10, maxSz: 1 << 20, text: true, weight: 25},
	{dir: "srv/db", ext: ".db", minSz: 1 << 20, maxSz: 32 << 20, zeroPages: true, weight: 5},
	{dir: "home/user/media", ext: ".jpg", minSz: 256 << 10, maxSz: 16 << 20, weight: 10},
	{dir: "opt/app/bin", ext: "", minSz: 1 << 20, maxSz: 24 << 20, weight: 5},
}

// ext4Tree generates and evolves the directory tree behind the ext4 input.
type ext4Tree struct {
	root  string
	r     *rand.Rand
	rnd   *randomStream
	txt   *textStream
	files []treeFile
	seq   int
	mtime time.Time
}

func newExt4Tree(root string, seed uint64) *ext4Tree {
	return &ext4Tree{
		root: root, r: newRand(seed, "tree"),
		rnd: newRandomStream(seed, "tree-random"), txt: newTextStream(seed, "tree-text"),
		mtime: time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC),
	}
}

// fill adds files until their total size reaches budget bytes; about 5% of files are
// duplicates of an earlier file (dedup inside one image).
func (t *ext4Tree) fill(ctx context.Context, budget int64) error {
	var total int64
	weights := 0
	for _, c := range fileClasses {
		weights += c.weight
	}
	for total < budget {
		if err := ctx.Err(); err != nil {
			return err
		}
		if len(t.files) > 10 && t.r.IntN(20) == 0 {
			src := t.files[t.r.IntN(len(t.files))]
			if src.size > budget-total {
				continue
			}
			dst := filepath.Join(filepath.Dir(src.rel), "copy-"+strconv.Itoa(t.seq)+"-"+filepath.Base(src.rel))
			t.seq++
			if err := copyFile(filepath.Join(t.root, src.rel), filepath.Join(t.root, dst)); err != nil {
				return err
			}
			t.files = append(t.files, treeFile{rel: dst, size: src.size})
			total += src.size
			continue
		}
		w := t.r.IntN(weights)
		var c fileClass
		for _, c = range fileClasses {
			if w < c.weight {
				break
			}
			w -= c.weight
		}
		// log-uniform size within the class, capped by the remaining budget.
		lo, hi := float64(c.minSz), float64(c.maxSz)
		sz := int64(lo * math.Pow(hi/lo, t.r.Float64()))
		sz = max(1, min(sz, budget-total))
		sub := filepath.Join(c.dir, "d"+strconv.Itoa(t.r.IntN(8)))
		rel := filepath.Join(sub, "f"+strconv.Itoa(t.seq)+c.ext)
		t.seq++
		if err := t.writeNew(rel, sz, c); err != nil {
			return err
		}
		t.files = append(t.files, treeFile{rel: rel, size: sz})
		total += sz
	}
	return nil
}

// writeNew creates rel with sz bytes of content of class c.
func (t *ext4Tree) writeNew(rel string, sz int64, c fileClass) error {
	p := filepath.Join(t.root, rel)
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		return fmt.Errorf("tree: %w", err)
	}
	f, err := os.Create(p)
	if err != nil {
		return fmt.Errorf("tree: %w", err)
	}
	if err := t.writeContent(f, sz, c.text, c.zeroPages); err != nil {
		f.Close()
		return err
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("tree: %w", err)
	}
	return t.touch(p)
}

// writeContent writes sz bytes of text, random or database-like content to w.
func (t *ext4Tree) writeContent(w io.Writer, sz int64, text, zeroPages bool) error {
	buf := make([]byte, min(sz, 1<<20))
	for left := sz; left > 0; {
		b := buf[:min(left, int64(len(buf)))]
		switch {
		case text:
			t.txt.fill(b)
		case zeroPages:
			t.rnd.fill(b)
			for off := 0; off+blockSize <= len(b); off += blockSize {
				if t.r.IntN(3) == 0 {
					clear(b[off : off+blockSize])
				}
			}
		default:
			t.rnd.fill(b)
		}
		if _, err := w.Write(b); err != nil {
			return fmt.Errorf("tree: %w", err)
		}
		left -= int64(len(b))
	}
	return nil
}

// touch sets a deterministic, advancing modification time.
func (t *ext4Tree) touch(p string) error {
	t.mtime = t.mtime.Add(time.Minute)
	if err := os.Chtimes(p, t.mtime, t.mtime); err != nil {
		return fmt.Errorf("tree: %w", err)
	}
	return nil
}

// evolve applies a second generation's changes to about pct percent of the files:
// in-place rewrites of a region, appends (logs grow), moves to another directory,
// deletions, and a few new files.
func (t *ext4Tree) evolve(ctx context.Context, pct float64) error {
	n := max(1, int(float64(len(t.files))*pct/100))
	for range n {
		if err := ctx.Err(); err != nil {
			return err
		}
		i := t.r.IntN(len(t.files))
		f := &t.files[i]
		p := filepath.Join(t.root, f.rel)
		switch op := t.r.IntN(10); {
		case op < 4: // rewrite a region in place
			fh, err := os.OpenFile(p, os.O_WRONLY, 0)
			if err != nil {
				return fmt.Errorf("tree: %w", err)
			}
			off := t.r.Int64N(f.size)
			ln := min(f.size-off, 1+t.r.Int64N(256<<10))
			_, err = fh.Seek(off, 0)
			if err == nil {
				err = t.writeContent(fh, ln, filepath.Ext(f.rel) != ".so", false)
			}
			if cerr := fh.Close(); err == nil {
				err = cerr
			}
			if err != nil {
				return fmt.Errorf("tree: rewrite: %w", err)
			}
		case op < 7: // grow
			fh, err := os.OpenFile(p, os.O_WRONLY|os.O_APPEND, 0)
			if err != nil {
				return fmt.Errorf("tree: %w", err)
			}
			ln := 1 + t.r.Int64N(512<<10)
			err = t.writeContent(fh, ln, true, false)
			if cerr := fh.Close(); err == nil {
				err = cerr
			}
			if err != nil {
				return fmt.Errorf("tree: grow: %w", err)
			}
			f.size += ln
		case op < 8: // move
			rel := filepath.Join("moved", "d"+strconv.Itoa(t.r.IntN(4)), filepath.Base(f.rel))
			if err := os.MkdirAll(filepath.Join(t.root, filepath.Dir(rel)), 0o755); err != nil {
				return fmt.Errorf("tree: %w", err)
			}
			if err := os.Rename(p, filepath.Join(t.root, rel)); err != nil {
				return fmt.Errorf("tree: move: %w", err)
			}
			f.rel = rel
			p = filepath.Join(t.root, rel)
		case op < 9: // delete
			if err := os.Remove(p); err != nil {
				return fmt.Errorf("tree: delete: %w", err)
			}
			t.files = slices.Delete(t.files, i, i+1)
			continue
		default: // a new file
			c := fileClasses[t.r.IntN(len(fileClasses))]
			rel := filepath.Join(c.dir, "new", "f"+strconv.Itoa(t.seq)+c.ext)
			t.seq++
			sz := c.minSz + t.r.Int64N(min(c.maxSz, 4<<20)-c.minSz+1)
			if err := t.writeNew(rel, sz, c); err != nil {
				return err
			}
			t.files = append(t.files, treeFile{rel: rel, size: sz})
			continue
		}
		if err := t.touch(p); err != nil {
			return err
		}
	}
	return nil
}

// copyFile copies src to dst, creating dst's directory.
func copyFile(src, dst string) error {
	if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
		return fmt.Errorf("copy: %w", err)
	}
	in, err := os.Open(src)
	if err != nil {
		return fmt.Errorf("copy: %w", err)
	}
	defer in.Close()
	out, err := os.Create(dst)
	if err != nil {
		return fmt.Errorf("copy: %w", err)
	}
	if _, err := io.Copy(out, in); err != nil {
		out.Close()
		return fmt.Errorf("copy %s: %w", src, err)
	}
	return out.Close()
}

// mkfsArgs builds the mkfs.ext4 command line that turns dir into image of size bytes.
// UUID, hash seed, and (through E2FSPROGS_FAKE_TIME, see mkfsEnv) the timestamps are
// pinned so the same tree gives the same image.
func mkfsArgs(mkfs, dir, image string, size int64, seed uint64) []string {
	s := seedFor(seed, "mkfs")
	s[6] = s[6]&0x0f | 0x40 // version 4
	s[8] = s[8]&0x3f | 0x80 // RFC 4122 variant
	u := fmt.Sprintf("%x-%x-%x-%x-%x", s[0:4], s[4:6], s[6:8], s[8:10], s[10:16])
	return []string{mkfs, "-F", "-q", "-b", "4096", "-U", u,
		"-E", "hash_seed=" + u + ",root_owner=0:0,lazy_itable_init=0,lazy_journal_init=0",
		"-d", dir, image, strconv.FormatInt(size/1024, 10) + "k"}
}

// mkfsEnv pins mke2fs's notion of "now".
var mkfsEnv = []string{"E2FSPROGS_FAKE_TIME=1735689600"}

// runMkfs runs mkfs.ext4 over dir into image, then pins the inode times mke2fs copies
// from the host (ctime and atime cannot be set on the host files) so that the same tree
// gives the same image.
func runMkfs(ctx context.Context, dir, image string, size int64, seed uint64) error {
	mkfs, err := mkfsPath()
	if err != nil {
		return err
	}
	if err := mkfsOnly(ctx, mkfs, dir, image, size, seed); err != nil {
		return err
	}
	return pinInodeTimes(ctx, filepath.Join(filepath.Dir(mkfs), "debugfs"), dir, image)
}

// pinInodeTimes sets ctime, atime and crtime (and mtime of directories) of every inode copied from dir to a fixed
// instant with debugfs (one process, a command file).
func pinInodeTimes(ctx context.Context, debugfs, dir, image string) error {
	var cmds bytes.Buffer
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, err := filepath.Rel(dir, p)
		if err != nil {
			return err
		}
		rel = "/" + filepath.ToSlash(rel)
		if rel == "/." {
			rel = "/"
		}
		fields := []string{"ctime", "atime", "crtime"}
		if d.IsDir() { // file mtimes are set on the host; directory mtimes are "now"
			fields = append(fields, "mtime")
		}
		for _, f := range fields {
			fmt.Fprintf(&cmds, "sif \"%s\" %s 20250101000000\n", rel, f)
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("pin inode times: %w", err)
	}
	cf := image + ".debugfs"
	if err := os.WriteFile(cf, cmds.Bytes(), 0o644); err != nil {
		return fmt.Errorf("pin inode times: %w", err)
	}
	defer os.Remove(cf)
	cmd := exec.CommandContext(ctx, debugfs, "-w", "-f", cf, image)
	cmd.Env = append(os.Environ(), mkfsEnv...)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("debugfs %s: %w: %s", image, err, bytes.TrimSpace(out.Bytes()))
	}
	return nil
}

// mkfsOnly runs mkfs.ext4 itself.
func mkfsOnly(ctx context.Context, mkfs, dir, image string, size int64, seed uint64) error {
	if err := os.Remove(image); err != nil && !errors.Is(err, os.ErrNotExist) {
		return fmt.Errorf("mkfs: %w", err)
	}
	args := mkfsArgs(mkfs, dir, image, size, seed)
	cmd := exec.CommandContext(ctx, args[0], args[1:]...)
	cmd.Env = append(os.Environ(), mkfsEnv...)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("mkfs.ext4 %s: %w: %s", image, err, bytes.TrimSpace(out.Bytes()))
	}
	return nil
}

// writeExt4Pair builds the ext4 input: a tree filling about 55% of size, mkfs'd into
// gen1; then the tree evolved (pct percent of files) and mkfs'd afresh into gen2. The
// tree is built under tmp and removed afterwards.
func writeExt4Pair(ctx context.Context, tmp, gen1, gen2 string, size int64, pct float64, seed uint64) error {
	root := filepath.Join(tmp, "tree")
	if err := os.RemoveAll(root); err != nil {
		return fmt.Errorf("ext4: %w", err)
	}
	defer os.RemoveAll(root)
	t := newExt4Tree(root, seed)
	if err := t.fill(ctx, size*55/100); err != nil {
		return err
	}
	if err := runMkfs(ctx, root, gen1, size, seed); err != nil {
		return err
	}
	if err := t.evolve(ctx, pct); err != nil {
		return err
	}
	return runMkfs(ctx, root, gen2, size, seed)
}
