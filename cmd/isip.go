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
soon as its line has been read.

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
	isipInBuffer  = 1 << 20  // first read buffer; it grows for longer lines
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
	a.out = append(out, '\n')
	if len(a.out) >= isipOutBuffer {
		return a.flush()
	}
	return nil
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
// waits for the next line. Lines may be of any length: the buffer grows to
// hold the longest.
func (a *isipAnswerer) stream(r io.Reader) error {
	buf := make([]byte, isipInBuffer)
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
		if end == len(buf) {
			bigger := make([]byte, 2*len(buf))
			copy(bigger, buf)
			buf = bigger
		}
		fresh = end
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
// the common case, kept tight: tens of millions of lines a second go
// through it.
func plainAnswers(out, c []byte) ([]byte, bool) {
	misses := 0
	for len(c) > 0 {
		i := bytes.IndexByte(c, '\n')
		line := c[:i]
		c = c[i+1:]
		if n := len(line); n > 0 && line[n-1] == '\r' {
			line = line[:n-1]
		}
		ip := netcore.IsIPBytes(line)
		misses += 1 - (ip+7)>>3 // 1 for 0, 0 for 4 and 6
		out = append(out, byte('0'+ip), '\n')
	}
	return out, misses == 0
}

// appendJSONString appends s as a JSON string: quotes, backslashes and
// control characters are escaped, and bytes that are not UTF-8 become
// U+FFFD, as encoding/json does; the rest is copied as it is.
func appendJSONString(out, s []byte) []byte {
	const hex = "0123456789abcdef"
	out = append(out, '"')
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
	out = append(out, s[start:]...)
	return append(out, '"')
}
