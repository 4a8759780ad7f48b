package netcore

import (
	"bytes"
	"io"
)

// Telnet's commands (RFC 854) and the option negotiation verbs (RFC 855).
const (
	telnetSE   = 240 // end of subnegotiation
	telnetSB   = 250 // subnegotiation begins
	telnetWILL = 251
	telnetWONT = 252
	telnetDO   = 253
	telnetDONT = 254
	telnetIAC  = 255 // interpret as command
)

// TelnetFilter is the receiving half of a telnet client that wants no
// options: Write takes what the server sent, strips every telnet command
// from it (IAC sequences, subnegotiations), writes the data that is left
// to out, and answers each offer by refusing it: IAC DONT for IAC WILL,
// IAC WONT for IAC DO (RFC 854's and RFC 1143's rule for a side that
// keeps every option off; WONT and DONT need no answer then). IAC IAC is
// a data byte 255, and the NUL of a CR NUL is dropped (RFC 854: a bare
// CR). A command split across writes is handled.
//
// A TelnetFilter is for one goroutine's writes; reply must be safe to
// call while the other direction writes to the same socket (a Socket
// is).
type TelnetFilter struct {
	out, reply io.Writer
	state      uint8
	verb       byte
	data       []byte
}

const (
	tnData  uint8 = iota
	tnCR          // a CR was the last data byte
	tnIAC         // IAC seen
	tnVerb        // IAC WILL/WONT/DO/DONT seen: the option comes next
	tnSB          // inside a subnegotiation
	tnSBIAC       // IAC seen inside a subnegotiation
)

// NewTelnetFilter returns a filter writing data to out and answers to
// reply.
func NewTelnetFilter(out, reply io.Writer) *TelnetFilter {
	return &TelnetFilter{out: out, reply: reply}
}

// Write filters p; it returns len(p) unless out or reply fails.
func (f *TelnetFilter) Write(p []byte) (int, error) {
	data := f.data[:0]
	var answers []byte
	for _, b := range p {
		switch f.state {
		case tnData, tnCR:
			switch {
			case b == telnetIAC:
				f.state = tnIAC
			case b == 0 && f.state == tnCR:
				f.state = tnData
			default:
				data = append(data, b)
				f.state = tnData
				if b == '\r' {
					f.state = tnCR
				}
			}
		case tnIAC:
			switch b {
			case telnetIAC:
				data = append(data, b)
				f.state = tnData
			case telnetWILL, telnetWONT, telnetDO, telnetDONT:
				f.verb, f.state = b, tnVerb
			case telnetSB:
				f.state = tnSB
			default: // NOP, DM, BRK, IP, AO, AYT, EC, EL, GA, a stray SE
				f.state = tnData
			}
		case tnVerb:
			switch f.verb {
			case telnetWILL:
				answers = append(answers, telnetIAC, telnetDONT, b)
			case telnetDO:
				answers = append(answers, telnetIAC, telnetWONT, b)
			}
			f.state = tnData
		case tnSB:
			if b == telnetIAC {
				f.state = tnSBIAC
			}
		case tnSBIAC:
			if b == telnetSE {
				f.state = tnData
			} else {
				f.state = tnSB // IAC IAC: a 255 inside the subnegotiation
			}
		}
	}
	f.data = data[:0]
	if len(answers) > 0 {
		if _, err := f.reply.Write(answers); err != nil {
			return 0, err
		}
	}
	if len(data) > 0 {
		if _, err := f.out.Write(data); err != nil {
			return 0, err
		}
	}
	return len(p), nil
}

// TelnetEscape returns a reader that gives r's bytes with each 255 (IAC)
// doubled, as a telnet client sends a data byte 255.
func TelnetEscape(r io.Reader) io.Reader { return &telnetEscaper{r: r} }

type telnetEscaper struct {
	r       io.Reader
	pending []byte
	buf     []byte
}

func (t *telnetEscaper) Read(p []byte) (int, error) {
	if len(p) == 0 {
		return 0, nil
	}
	if len(t.pending) == 0 {
		if t.buf == nil {
			t.buf = make([]byte, 16<<10)
		}
		n, err := t.r.Read(t.buf[:min(len(t.buf), max(len(p)/2, 1))])
		if n == 0 {
			return 0, err
		}
		chunk := t.buf[:n]
		if bytes.IndexByte(chunk, telnetIAC) < 0 {
			return copy(p, chunk), nil // fits: at most len(p) bytes were read
		}
		esc := make([]byte, 0, 2*n)
		for _, b := range chunk {
			esc = append(esc, b)
			if b == telnetIAC {
				esc = append(esc, telnetIAC)
			}
		}
		t.pending = esc
	}
	n := copy(p, t.pending)
	t.pending = t.pending[n:]
	return n, nil
}
