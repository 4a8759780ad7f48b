package netcore

import (
	"io"
	"sync"
)

// HexDumper writes a hex dump of a conversation, both directions on one
// writer, in the layout of `hexdump -C` with a direction mark in front:
// '>' for bytes sent, '<' for bytes received. Each direction keeps its own
// offset; each chunk starts a new line:
//
//	> 00000000  47 45 54 20 2f 20 48 54  54 50 2f 31 2e 30 0d 0a  |GET / HTTP/1.0..|
//	< 00000000  48 54 54 50 2f 31 2e 30  20 32 30 30 20 4f 4b 0d  |HTTP/1.0 200 OK.|
//	< 00000010  0a                                                |.|
//
// A HexDumper is safe for concurrent use; a chunk's lines are never split
// by the other direction's.
type HexDumper struct {
	mu   sync.Mutex
	w    io.Writer
	sent int64
	recv int64
	line []byte
	err  error
}

// NewHexDumper returns a HexDumper writing to w.
func NewHexDumper(w io.Writer) *HexDumper { return &HexDumper{w: w} }

// Err is the first error writing the dump, if any. A failing dump never
// stops the conversation it shows.
func (d *HexDumper) Err() error {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.err
}

// dump writes the lines of one chunk: dir is '>' (sent) or '<'
// (received).
func (d *HexDumper) dump(dir byte, p []byte) {
	if len(p) == 0 {
		return
	}
	const hexdigits = "0123456789abcdef"
	d.mu.Lock()
	defer d.mu.Unlock()
	off := &d.recv
	if dir == '>' {
		off = &d.sent
	}
	out := d.line[:0]
	for len(p) > 0 {
		n := min(16, len(p))
		row := p[:n]
		p = p[n:]
		out = append(out, dir, ' ')
		for shift := 28; shift >= 0; shift -= 4 {
			out = append(out, hexdigits[(*off>>uint(shift))&0xf])
		}
		out = append(out, ' ', ' ')
		for i := 0; i < 16; i++ {
			if i < n {
				out = append(out, hexdigits[row[i]>>4], hexdigits[row[i]&0xf], ' ')
			} else {
				out = append(out, ' ', ' ', ' ')
			}
			if i == 7 {
				out = append(out, ' ')
			}
		}
		out = append(out, ' ', '|')
		for _, b := range row {
			if b < 0x20 || b > 0x7e {
				b = '.'
			}
			out = append(out, b)
		}
		out = append(out, '|', '\n')
		*off += int64(n)
	}
	d.line = out[:0]
	if d.err == nil {
		_, d.err = d.w.Write(out)
	}
}

// Sent returns a reader that dumps what it reads from r as sent ('>'):
// wrap the input that goes to the socket.
func (d *HexDumper) Sent(r io.Reader) io.Reader { return &hexReader{d: d, r: r} }

// SentTo returns a writer that dumps what it writes to w as sent: wrap
// the socket for bytes written to it directly.
func (d *HexDumper) SentTo(w io.Writer) io.Writer { return &hexWriter{d: d, w: w, dir: '>'} }

// Received returns a writer that dumps what it writes to w as received
// ('<'): wrap the output the socket's bytes go to.
func (d *HexDumper) Received(w io.Writer) io.Writer { return &hexWriter{d: d, w: w, dir: '<'} }

type hexReader struct {
	d *HexDumper
	r io.Reader
}

func (h *hexReader) Read(p []byte) (int, error) {
	n, err := h.r.Read(p)
	h.d.dump('>', p[:n])
	return n, err
}

type hexWriter struct {
	d   *HexDumper
	w   io.Writer
	dir byte
}

func (h *hexWriter) Write(p []byte) (int, error) {
	h.d.dump(h.dir, p)
	return h.w.Write(p)
}
