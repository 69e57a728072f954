package chunk

import "io"

// maxEmptyReads bounds consecutive (0, nil) reads before readFull gives up
// with io.ErrNoProgress, so a misbehaving reader cannot spin forever.
const maxEmptyReads = 100

// readFull reads into p until it is full, the reader reports io.EOF, or an
// error occurs. Unlike io.ReadFull it returns io.EOF (not
// io.ErrUnexpectedEOF) whenever the stream ended, with the count read.
func readFull(r io.Reader, p []byte) (int, error) {
	n, empty := 0, 0
	for n < len(p) {
		m, err := r.Read(p[n:])
		n += m
		if err != nil {
			return n, err
		}
		if m > 0 {
			empty = 0
			continue
		}
		if empty++; empty >= maxEmptyReads {
			return n, io.ErrNoProgress
		}
	}
	return n, nil
}

// SeekSize returns the size of a seekable source, such as a block device, whose Stat does
// not tell it: it seeks to the end and back to the start.
func SeekSize(s io.Seeker) (int64, error) {
	end, err := s.Seek(0, io.SeekEnd)
	if err != nil {
		return 0, err
	}
	if _, err := s.Seek(0, io.SeekStart); err != nil {
		return 0, err
	}
	return end, nil
}
