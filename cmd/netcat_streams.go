package cmd

import (
	"io"
	"os"
	"strings"
	"sync"

	"github.com/spf13/pflag"

	"github.com/nodenet/nodenet/netcore"
)

// StreamFlags are the netcat flags that listen and connect share: how the
// bytes between stdin/stdout and the socket are changed or watched.
// With all of them off, the relay gets the bare streams (and keeps its
// splice and sendfile).
type StreamFlags struct {
	CRLF     bool   // --crlf: send LF as CRLF
	Hex      string // --hex[=FILE]: "" off, "-" stderr, else a file
	SendOnly bool   // --send-only
	RecvOnly bool   // --recv-only
	Progress bool   // --progress
}

// addStreamFlags registers the shared netcat flags on fl.
func addStreamFlags(fl *pflag.FlagSet, o *StreamFlags) {
	fl.BoolVar(&o.CRLF, "crlf", false, "send LF as CRLF (a CRLF stays as it is)")
	fl.StringVar(&o.Hex, "hex", "", "hex dump of both directions ('>' sent, '<' received) on stderr; --hex=`FILE` writes it to FILE")
	fl.Lookup("hex").NoOptDefVal = "-"
	fl.BoolVar(&o.SendOnly, "send-only", false, "only send stdin: what the peer sends is read and thrown away")
	fl.BoolVar(&o.RecvOnly, "recv-only", false, "only receive: stdin is not read, and our side ends (FIN) at once")
	fl.BoolVar(&o.Progress, "progress", false, "show bytes, rate and, for a file on stdin, percent and ETA on stderr")
}

// check refuses contradictory flags.
func (o *StreamFlags) check() error {
	if o.SendOnly && o.RecvOnly {
		return usageErrorf("--send-only and --recv-only cannot be used together")
	}
	return nil
}

// streams are the relay's two ends for one run, wrapped as the flags
// ask: stdin → --crlf → telnet escaping → --hex '>' → --progress →
// socket, and socket → --progress → --hex '<' → telnet filter → stdout.
type streams struct {
	in  io.Reader // nil with --recv-only: the relay ends our side at once
	out io.Writer

	hex      *netcore.HexDumper
	hexFile  *os.File
	progress *progress
	reply    *replyTo // the telnet filter's answers go to the socket
}

// open builds the streams for input in (stdin, or --send's string) and
// ios.Out. telnet adds the telnet client (connect --telnet). Nothing is
// wrapped when every flag is off: in and out are then the very readers
// and writers given.
func (o *StreamFlags) open(ios *IOStreams, in io.Reader, telnet bool) (*streams, error) {
	s := &streams{in: in, out: ios.Out}
	switch o.Hex {
	case "":
	case "-":
		s.hex = netcore.NewHexDumper(ios.ErrOut)
	default:
		f, err := os.OpenFile(o.Hex, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o666)
		if err != nil {
			return nil, usageErrorf("--hex=%s: %v", o.Hex, unwrapPath(err))
		}
		s.hexFile = f
		s.hex = netcore.NewHexDumper(f)
	}
	if o.Progress {
		s.progress = newProgress(ios.ErrOut, ios.StderrIsTTY(), stdinRemaining(in))
	}

	if o.RecvOnly {
		s.in = nil
	} else {
		if o.CRLF {
			s.in = netcore.CRLFReader(s.in)
		}
		if telnet {
			s.in = netcore.TelnetEscape(s.in)
		}
		if s.hex != nil {
			s.in = s.hex.Sent(s.in)
		}
		if s.progress != nil {
			s.in = s.progress.sentReader(s.in)
		}
	}

	if o.SendOnly {
		s.out = io.Discard
	}
	if telnet {
		s.reply = &replyTo{}
		var reply io.Writer = s.reply
		if s.hex != nil {
			reply = s.hex.SentTo(reply)
		}
		s.out = netcore.NewTelnetFilter(s.out, reply)
	}
	if s.hex != nil {
		s.out = s.hex.Received(s.out)
	}
	if s.progress != nil {
		s.out = s.progress.receivedWriter(s.out)
	}
	return s, nil
}

// connected starts what needs the connection: the telnet answers go to
// sock, and the progress clock starts.
func (s *streams) connected(sock *netcore.Socket) {
	if s.reply != nil {
		s.reply.set(sock)
	}
	if s.progress != nil {
		s.progress.start()
	}
}

// inOrEmpty is in, or an empty reader with --recv-only.
func (s *streams) inOrEmpty() io.Reader {
	if s.in == nil {
		return strings.NewReader("")
	}
	return s.in
}

// close prints the progress summary and closes the hex file. It returns
// the first error writing the dump to a file, which is the user's
// record of the conversation.
func (s *streams) close() error {
	if s.progress != nil {
		s.progress.stop()
	}
	var err error
	if s.hex != nil && s.hexFile != nil {
		err = s.hex.Err()
	}
	if s.hexFile != nil {
		if cerr := s.hexFile.Close(); err == nil {
			err = cerr
		}
	}
	if err != nil {
		return &ExitError{Code: exitFailure, Err: &hexError{err}}
	}
	return nil
}

type hexError struct{ err error }

func (e *hexError) Error() string { return "--hex: " + e.err.Error() }
func (e *hexError) Unwrap() error { return e.err }

// replyTo is a writer whose target, the socket, is known only once
// connected. An answer that cannot be sent (our side has ended, and
// TCP cannot send after its FIN) is dropped: the relay reports the
// socket's own failures.
type replyTo struct {
	mu sync.Mutex
	w  io.Writer
}

func (r *replyTo) set(w io.Writer) {
	r.mu.Lock()
	r.w = w
	r.mu.Unlock()
}

func (r *replyTo) Write(p []byte) (int, error) {
	r.mu.Lock()
	w := r.w
	r.mu.Unlock()
	if w != nil {
		w.Write(p) //nolint:errcheck // see above
	}
	return len(p), nil
}

// unwrapPath drops os.PathError's "open FILE:" when the caller names the
// file itself.
func unwrapPath(err error) error {
	if pe, ok := err.(*os.PathError); ok {
		return pe.Err
	}
	return err
}

// stdinRemaining is how many bytes a regular-file stdin has left to
// give, for --progress's percent and ETA; 0 when unknown.
func stdinRemaining(in io.Reader) int64 {
	f, ok := in.(*os.File)
	if !ok {
		return 0
	}
	st, err := f.Stat()
	if err != nil || !st.Mode().IsRegular() {
		return 0
	}
	pos, err := f.Seek(0, io.SeekCurrent)
	if err != nil || pos > st.Size() {
		return 0
	}
	return st.Size() - pos
}

// on reports whether any of the flags is set.
func (o *StreamFlags) on() bool { return *o != StreamFlags{} }
