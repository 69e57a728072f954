package erasure

import (
	"fmt"
	"io"
	"sync"

	"github.com/cairnbackup/cairn/internal/sections"
	"github.com/zeebo/blake3"
)

// FileStripe is how many bytes of each shard EncodeFile reads, codes and writes at a time: it
// holds (Data+Parity)*FileStripe bytes of buffers whatever the pack size (1.5 MiB for 4+2).
const FileStripe = 256 << 10

// File is what EncodeFile codes: a pack in a file, which also takes the parity payloads.
type File interface {
	io.ReaderAt
	io.WriterAt
}

// stripeBufs recycles EncodeFile's stripe buffers between packs.
var stripeBufs sync.Pool

// EncodeFile is EncodeParts for a pack held in a file: f holds the pack in [0, n).
// EncodeFile writes the payload of parity shard j to f at [n+j*S, n+(j+1)*S) and returns
// every shard object (payload || footer, exactly the bytes Encode returns) as a
// sections.Reader over f, its zero padding and its footer, in index order. It works
// through the shards FileStripe bytes at a time, so it holds no pack-sized buffer; f must
// not change while the readers are in use.
func (c *Coder) EncodeFile(packID []byte, f File, n int64) ([]*sections.Reader, error) {
	if n < 0 || n > maxPackLen {
		return nil, fmt.Errorf("erasure: encode: pack of %d bytes out of range", n)
	}
	info, err := c.info(packID, int(n))
	if err != nil {
		return nil, err
	}
	k, total := c.layout.Data, c.layout.Total()
	s, bs := info.ShardSize, info.BlockSize
	nb := numBlocks(s, bs)
	bufs, _ := stripeBufs.Get().(*[][]byte)
	if bufs == nil || len(*bufs) < total {
		b := make([][]byte, total)
		bufs = &b
	}
	defer stripeBufs.Put(bufs)
	stripe := make([][]byte, total)
	hashers := make([]*blake3.Hasher, total)
	sums := make([][][BlockSumSize]byte, total)
	for i := range total {
		if cap((*bufs)[i]) < FileStripe {
			(*bufs)[i] = make([]byte, FileStripe)
		}
		hashers[i] = blake3.New()
		sums[i] = make([][BlockSumSize]byte, nb)
	}
	for pos := int64(0); pos < s; {
		blk := pos / bs
		end := min((blk+1)*bs, s)
		step := min(FileStripe, end-pos)
		for i := range total {
			stripe[i] = (*bufs)[i][:step]
		}
		for i := range k {
			at := int64(i)*s + pos
			have := min(step, max(0, n-at))
			if have > 0 {
				if got, err := f.ReadAt(stripe[i][:have], at); int64(got) < have {
					if err == nil || err == io.EOF {
						err = io.ErrUnexpectedEOF
					}
					return nil, fmt.Errorf("erasure: encode: read pack at %d: %w", at, err)
				}
			}
			clear(stripe[i][have:])
		}
		if c.layout.Parity > 0 {
			if err := c.enc.Encode(stripe); err != nil {
				return nil, fmt.Errorf("erasure: encode %v: %w", c.layout, err)
			}
			for j := range c.layout.Parity {
				at := n + int64(j)*s + pos
				if _, err := f.WriteAt(stripe[k+j], at); err != nil {
					return nil, fmt.Errorf("erasure: encode: write parity at %d: %w", at, err)
				}
			}
		}
		pos += step
		forEach(total, func(i int) {
			_, _ = hashers[i].Write(stripe[i]) // never fails
			if pos == end {
				var sum [32]byte
				copy(sums[i][blk][:], hashers[i].Sum(sum[:0]))
				hashers[i].Reset()
			}
		})
	}
	objs := make([]*sections.Reader, total)
	for i := range total {
		fi := *info
		fi.Index = i
		fi.BlockSums = sums[i]
		footer := sections.Bytes(fi.appendFooter(make([]byte, 0, fi.FooterLen())))
		if i >= k {
			objs[i] = sections.New(sections.Section(f, n+int64(i-k)*s, s), footer)
			continue
		}
		have := min(s, max(0, n-int64(i)*s))
		objs[i] = sections.New(sections.Section(f, int64(i)*s, have), sections.Zeros(s-have), footer)
	}
	return objs, nil
}
