package cmd

import (
	"bytes"
	"io"
	"runtime"
	"unicode/utf8"

	"github.com/nodenet/nodenet/netcore"
	"github.com/spf13/cobra"
)

// IsipOptions is what `nodenet isip` runs with.
type IsipOptions struct {
	IO *IOStreams

	// Inputs are the arguments to answer for. When FromStdin is set there
	// are none, and each line of stdin is an input.
	Inputs    []string
	FromStdin bool

	Family int  // 0 asks net.isIP; 4 and 6 ask isIPv4 and isIPv6 (-4, -6)
	JSON   bool // --json: one object per input
	Quiet  bool // -q: print nothing, answer with the exit status only
}

// NewCmdIsip builds `nodenet isip`. runF, when not nil, receives the
// options instead of running them (for tests).
func NewCmdIsip(f *Factory, runF func(*IsipOptions) error) *cobra.Command {
	opts := &IsipOptions{IO: f.IO}
	var v4, v6 bool
	cmd := &cobra.Command{
		Use:   "isip [INPUT...]",
		Short: "Tell IPv4 and IPv6 addresses apart, as Node's net.isIP",
		Long: `Print 4, 6 or 0 for each INPUT, one per line, by exactly Node's rules
(net.isIP): 4 for an IPv4 address in dotted decimal without leading zeros,
6 for an IPv6 address (with "::", an IPv4 tail, a %zone), 0 for anything
else. With -4 or -6, print true or false for net.isIPv4 or net.isIPv6.

With no INPUT, each line of stdin is an input; a trailing "\n", and a "\r"
before it, are not part of it. Answers are streamed: each is printed as
soon as its line has been read. A line of any length is answered in
bounded memory: past 1 MiB it streams through (only an IPv6 address with a
zone, "fe80::1%" and a long name, can be that long, as in Node).

--json prints one object per input: {"input":"::1","isIP":6}, or with -4
or -6 {"input":"::1","isIPv4":false} and {"input":"::1","isIPv6":true}.
Bytes of the input that are not UTF-8 are shown as U+FFFD.

Exit status: 0 when every input is an IP address (of the family asked, and
when there is no input at all), 1 otherwise, 2 on a usage error. Put
inputs that start with "-" after "--".`,
		Example: `  nodenet isip 127.0.0.1 ::1 example.com
  nodenet isip -q "$addr" && echo "an IP address"
  nodenet isip -6 -- "$addr"
  ip -o addr | awk '{print $4}' | cut -d/ -f1 | nodenet isip --json`,
		Args: cobra.ArbitraryArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			opts.Inputs = args
			opts.FromStdin = len(args) == 0
			opts.Quiet = f.Quiet
			switch {
			case v4:
				opts.Family = 4
			case v6:
				opts.Family = 6
			}
			if opts.FromStdin && opts.IO.StdinIsTTY() {
				// Nothing to answer and a person at the keyboard: show
				// how to use it rather than wait for lines.
				cmd.SetOut(opts.IO.ErrOut)
				cmd.Usage() //nolint:errcheck // stderr
				return &ExitError{Code: exitUsage}
			}
			if runF != nil {
				return runF(opts)
			}
			return isipRun(opts)
		},
	}
	fl := cmd.Flags()
	fl.BoolVarP(&v4, "v4", "4", false, "test net.isIPv4: print true or false")
	fl.BoolVarP(&v6, "v6", "6", false, "test net.isIPv6: print true or false")
	fl.BoolVar(&opts.JSON, "json", false, `print {"input":...,"isIP":N} per input`)
	cmd.MarkFlagsMutuallyExclusive("v4", "v6")
	return cmd
}

// isipRun answers every input and returns an ExitError with code 1 (and
// nothing to print) unless all of them were IP addresses of the family
// asked.
func isipRun(opts *IsipOptions) error {
	a := &isipAnswerer{family: opts.Family, json: opts.JSON, quiet: opts.Quiet, w: opts.IO.Out, all: true}
	var err error
	if opts.FromStdin {
		a.out = make([]byte, 0, isipOutBuffer)
		growPipe(opts.IO.In)
		growPipe(opts.IO.Out)
		err = a.stream(opts.IO.In)
		if a.work != nil {
			close(a.work)
		}
	} else {
		for _, in := range opts.Inputs {
			if err = a.answer([]byte(in)); err != nil {
				break
			}
		}
	}
	if ferr := a.flush(); err == nil {
		err = ferr
	}
	if err != nil {
		return err
	}
	if !a.all {
		return &ExitError{Code: exitFailure}
	}
	return nil
}

const (
	isipInBuffer  = 1 << 20  // the read buffer; a longer line streams through it
	isipOutBuffer = 64 << 10 // answers are written in pieces up to this
	isipSplitMin  = 32 << 10 // pieces of lines this big are answered by two goroutines
)

// isipAnswerer collects answers in out and writes them to w.
type isipAnswerer struct {
	family int
	json   bool
	quiet  bool
	w      io.Writer
	out    []byte
	half   []byte      // the helper's answers for the second half of a big piece
	work   chan []byte // second halves for the helper, started by the first
	done   chan bool   // the helper has answered; were all IP addresses?
	all    bool        // every input so far was an IP of the family asked
	inBuf  int         // the read buffer's size (isipInBuffer, less in tests)
}

// answer records the answer for one input: an argument, or a line of the
// read buffer, which is not retained.
func (a *isipAnswerer) answer(s []byte) error {
	var ip int
	var ok bool
	switch a.family {
	case 4:
		ok = netcore.IsIPv4Bytes(s)
	case 6:
		ok = netcore.IsIPv6Bytes(s)
	default:
		ip = netcore.IsIPBytes(s)
		ok = ip != 0
	}
	a.all = a.all && ok
	if a.quiet {
		return nil
	}
	out := a.out
	if a.json {
		out = append(out, `{"input":`...)
		out = appendJSONString(out, s)
	}
	a.out = a.appendAnswer(out, ip, ok)
	if len(a.out) >= isipOutBuffer {
		return a.flush()
	}
	return nil
}

// appendAnswer appends an answer, after the input when --json prints it,
// and the newline.
func (a *isipAnswerer) appendAnswer(out []byte, ip int, ok bool) []byte {
	if a.json {
		switch a.family {
		case 4:
			out = append(out, `,"isIPv4":`...)
		case 6:
			out = append(out, `,"isIPv6":`...)
		default:
			out = append(out, `,"isIP":`...)
		}
	}
	switch {
	case a.family == 0:
		out = append(out, byte('0'+ip))
	case ok:
		out = append(out, "true"...)
	default:
		out = append(out, "false"...)
	}
	if a.json {
		out = append(out, '}')
	}
	return append(out, '\n')
}

func (a *isipAnswerer) flush() error {
	if len(a.out) == 0 {
		return nil
	}
	_, err := a.w.Write(a.out)
	a.out = a.out[:0]
	return err
}

// stream answers each line of r as soon as it has been read. Answers are
// written whenever the lines read so far are all answered, before the next
// read (which may block on a pipe or a terminal): a line's answer never
// waits for the next line. Lines may be of any length: one that fills the
// buffer is answered as it streams through (see longLine), never held
// whole.
func (a *isipAnswerer) stream(r io.Reader) error {
	size := a.inBuf
	if size < isipHead {
		size = isipInBuffer
	}
	buf := make([]byte, size)
	start, end := 0, 0 // buf[start:end] is read and not yet answered
	fresh := 0         // buf[start:fresh] holds no "\n": the rest is new
	for eof := false; ; {
		// Only the bytes just read are searched, so that a long line read
		// in small pieces costs linear time.
		if last := bytes.LastIndexByte(buf[fresh:end], '\n'); last >= 0 {
			chunk := buf[start : fresh+last+1]
			start = fresh + last + 1
			if err := a.lines(chunk); err != nil {
				return err
			}
		}
		if eof {
			break
		}
		if err := a.flush(); err != nil {
			return err
		}
		// Keep the partial line at the front, and make room for more.
		if start > 0 {
			end = copy(buf, buf[start:end])
			start = 0
		}
		fresh = end
		if end == len(buf) {
			// A line as long as the buffer.
			var err error
			if end, eof, err = a.longLine(r, buf); err != nil {
				return err
			}
			fresh = 0
			continue
		}
		n, err := r.Read(buf[end:])
		end += n
		switch {
		case err == io.EOF:
			eof = true
		case err != nil:
			return err
		}
	}
	// A last line without "\n" is an input too. A "\r" at its end is
	// kept: it is before no "\n".
	if start < end {
		return a.answer(buf[start:end])
	}
	return nil
}

// isipHead is how much of a long line longLine keeps: more than an
// address before its zone can take (45 bytes), so that what decides the
// answer is in it, the rest being the zone.
const isipHead = 128

// longLine answers a line too long for the buffer, which holds its first
// bytes (buf is full, with no "\n"), reading the rest of it from r in
// buf. It returns how many bytes after the line's "\n" it leaves at the
// front of buf, and whether r has ended.
//
// Only an IPv6 address with a zone ("fe80::1%" and a name of any length
// made of [0-9A-Za-z.:-]) is that long and still an IP address, for Node
// as here: the answer is the head's, when every byte after the head may
// be in a zone. With --json the input is escaped and written as it goes.
func (a *isipAnswerer) longLine(r io.Reader, buf []byte) (int, bool, error) {
	l := &isipLong{a: a, zone: true}
	if a.json && !a.quiet {
		a.out = append(a.out, `{"input":"`...)
	}
	if err := l.feed(buf); err != nil {
		return 0, false, err
	}
	for {
		if err := a.flush(); err != nil {
			return 0, false, err
		}
		n, rerr := r.Read(buf)
		if rerr != nil && rerr != io.EOF {
			return 0, false, rerr
		}
		if i := bytes.IndexByte(buf[:n], '\n'); i >= 0 {
			if err := l.feed(buf[:i]); err != nil {
				return 0, false, err
			}
			l.cr = false // a "\r" before the "\n" is not part of the line
			if err := l.end(); err != nil {
				return 0, false, err
			}
			return copy(buf, buf[i+1:n]), rerr == io.EOF, nil
		}
		if err := l.feed(buf[:n]); err != nil {
			return 0, false, err
		}
		if rerr == io.EOF {
			return 0, true, l.end()
		}
	}
}

// isipLong is the state of a long line being answered.
type isipLong struct {
	a     *isipAnswerer
	head  [isipHead]byte // the line's first bytes
	nhead int
	pos   int64  // bytes of the line seen so far
	zone  bool   // every byte after the head may be in a zone id
	cr    bool   // the last byte seen is a "\r", held back: it may end the line
	utf   []byte // --json: the start of a character split between reads
}

// feed takes the next bytes of the line, which hold no "\n".
func (l *isipLong) feed(p []byte) error {
	if len(p) == 0 {
		return nil
	}
	if l.cr {
		l.cr = false
		if err := l.content([]byte{'\r'}); err != nil {
			return err
		}
	}
	if p[len(p)-1] == '\r' {
		l.cr = true
		p = p[:len(p)-1]
	}
	return l.content(p)
}

// content takes bytes that are part of the line.
func (l *isipLong) content(p []byte) error {
	if l.pos < isipHead {
		l.nhead += copy(l.head[l.pos:], p)
	}
	if skip := int64(isipHead) - l.pos; skip < int64(len(p)) {
		for _, c := range p[max(skip, 0):] {
			if !isipZoneByte[c] {
				l.zone = false
				break
			}
		}
	}
	l.pos += int64(len(p))
	a := l.a
	if !a.json || a.quiet {
		return nil
	}
	for len(l.utf) > 0 {
		if !utf8.FullRune(l.utf) {
			if len(p) == 0 {
				return nil
			}
			l.utf = append(l.utf, p[0])
			p = p[1:]
			continue
		}
		_, size := utf8.DecodeRune(l.utf)
		a.out = appendJSONBody(a.out, l.utf[:size])
		l.utf = append(l.utf[:0], l.utf[size:]...)
	}
	// Hold a character that the next read completes.
	for j := len(p) - 1; j >= max(len(p)-utf8.UTFMax+1, 0); j-- {
		if utf8.RuneStart(p[j]) {
			if !utf8.FullRune(p[j:]) {
				l.utf = append(l.utf, p[j:]...)
				p = p[:j]
			}
			break
		}
	}
	for len(p) > 0 {
		n := min(len(p), isipOutBuffer)
		a.out = appendJSONBody(a.out, p[:n])
		p = p[n:]
		if len(a.out) >= isipOutBuffer {
			if err := a.flush(); err != nil {
				return err
			}
		}
	}
	return nil
}

// end answers the line, whose bytes have all been fed.
func (l *isipLong) end() error {
	if l.cr { // at the end of the input: part of the line
		l.cr = false
		if err := l.content([]byte{'\r'}); err != nil {
			return err
		}
	}
	a := l.a
	if a.json && !a.quiet {
		for len(l.utf) > 0 { // an incomplete character at the very end
			_, size := utf8.DecodeRune(l.utf)
			a.out = appendJSONBody(a.out, l.utf[:size])
			l.utf = l.utf[size:]
		}
		a.out = append(a.out, '"')
	}
	ip, ok := 0, false
	if l.zone {
		switch a.family {
		case 0:
			ip = netcore.IsIPBytes(l.head[:l.nhead])
			ok = ip != 0
		case 6:
			ok = netcore.IsIPv6Bytes(l.head[:l.nhead])
		}
	}
	a.all = a.all && ok
	if a.quiet {
		return nil
	}
	a.out = a.appendAnswer(a.out, ip, ok)
	if len(a.out) >= isipOutBuffer {
		return a.flush()
	}
	return nil
}

// isipZoneByte tells the bytes a zone id is made of: [0-9A-Za-z.:-].
var isipZoneByte = func() (t [256]bool) {
	for c := range t {
		t[c] = c >= '0' && c <= '9' || c >= 'A' && c <= 'Z' || c >= 'a' && c <= 'z' || c == '.' || c == ':' || c == '-'
	}
	return t
}()

// lines answers each line of c, which ends with "\n".
func (a *isipAnswerer) lines(c []byte) error {
	if a.family == 0 && !a.json && !a.quiet {
		if len(c) < isipSplitMin || runtime.GOMAXPROCS(0) < 2 {
			var ok bool
			a.out, ok = plainAnswers(a.out, c)
			a.all = a.all && ok
			return nil
		}
		// A big piece is answered in two halves at once, the second by
		// the helper into its own buffer, then appended: the answers
		// keep their order.
		if a.work == nil {
			a.work, a.done = make(chan []byte), make(chan bool)
			a.half = make([]byte, 0, isipOutBuffer)
			go a.helper()
		}
		mid := len(c) / 2
		mid += bytes.IndexByte(c[mid:], '\n') + 1 // c ends with "\n"
		a.work <- c[mid:]
		var ok bool
		a.out, ok = plainAnswers(a.out, c[:mid])
		ok2 := <-a.done
		a.out = append(a.out, a.half...)
		a.all = a.all && ok && ok2
		return nil
	}
	for len(c) > 0 {
		i := bytes.IndexByte(c, '\n')
		line := c[:i]
		c = c[i+1:]
		if n := len(line); n > 0 && line[n-1] == '\r' {
			line = line[:n-1]
		}
		if err := a.answer(line); err != nil {
			return err
		}
	}
	return nil
}

// helper answers the second halves of big pieces into half until work is
// closed.
func (a *isipAnswerer) helper() {
	for c := range a.work {
		var ok bool
		a.half, ok = plainAnswers(a.half[:0], c)
		a.done <- ok
	}
}

// plainAnswers appends the plain isIP answer for each line of c, which
// ends with "\n", and says whether every line was an IP address. It is
// the common case: netcore answers a batch of lines tens of millions of
// lines a second.
func plainAnswers(out, c []byte) ([]byte, bool) {
	return netcore.AppendIsIPLines(out, c)
}

// appendJSONString appends s as a JSON string: quotes, backslashes and
// control characters are escaped, and bytes that are not UTF-8 become
// U+FFFD, as encoding/json does; the rest is copied as it is.
func appendJSONString(out, s []byte) []byte {
	out = append(out, '"')
	out = appendJSONBody(out, s)
	return append(out, '"')
}

// appendJSONBody appends s escaped as in a JSON string, without the
// quotes.
func appendJSONBody(out, s []byte) []byte {
	const hex = "0123456789abcdef"
	start := 0
	for i := 0; i < len(s); {
		c := s[i]
		if c >= 0x20 && c != '"' && c != '\\' && c < utf8.RuneSelf {
			i++
			continue
		}
		if c >= utf8.RuneSelf {
			if r, size := utf8.DecodeRune(s[i:]); r != utf8.RuneError || size != 1 {
				i += size
				continue
			}
			out = append(out, s[start:i]...)
			out = append(out, `\ufffd`...)
			i++
			start = i
			continue
		}
		out = append(out, s[start:i]...)
		switch c {
		case '"', '\\':
			out = append(out, '\\', c)
		case '\n':
			out = append(out, '\\', 'n')
		case '\r':
			out = append(out, '\\', 'r')
		case '\t':
			out = append(out, '\\', 't')
		default:
			out = append(out, '\\', 'u', '0', '0', hex[c>>4], hex[c&15])
		}
		i++
		start = i
	}
	return append(out, s[start:]...)
}
