package netcore

import "io"

// CRLFReader returns a reader that gives r's bytes with every LF that is
// not already preceded by a CR turned into CR LF, as telnet and ncat
// --crlf send line ends. A CR LF that r already has is left alone, also
// when a read splits it.
func CRLFReader(r io.Reader) io.Reader { return &crlfReader{r: r} }

type crlfReader struct {
	r      io.Reader
	buf    []byte // read from r, not yet converted
	lastCR bool   // the last byte given out was a CR
	lfDue  bool   // a CR was given for an LF; the LF is owed
}

func (c *crlfReader) Read(p []byte) (int, error) {
	if len(p) == 0 {
		return 0, nil
	}
	n := 0
	if c.lfDue {
		p[0] = '\n'
		n, c.lfDue, c.lastCR = 1, false, false
	}
	if len(c.buf) == 0 && n == 0 {
		if cap(c.buf) == 0 {
			c.buf = make([]byte, 0, 32<<10)
		}
		m, err := c.r.Read(c.buf[:min(cap(c.buf), len(p))])
		c.buf = c.buf[:m]
		if m == 0 {
			return 0, err
		}
	}
	i := 0
	for ; i < len(c.buf) && n < len(p); i++ {
		b := c.buf[i]
		if b == '\n' && !c.lastCR {
			p[n] = '\r'
			n++
			if n == len(p) {
				c.lfDue = true
				i++
				break
			}
			p[n] = '\n'
			n++
			c.lastCR = false
			continue
		}
		p[n] = b
		n++
		c.lastCR = b == '\r'
	}
	c.buf = c.buf[:copy(c.buf, c.buf[i:])]
	return n, nil
}
