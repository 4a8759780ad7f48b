package cmd

import (
	"io"
	"os"

	"github.com/mattn/go-isatty"
)

// IOStreams are the standard streams a command reads and writes. Commands
// never touch os.Stdin, os.Stdout or os.Stderr directly, so every command
// runs in tests against buffers.
//
// In and Out are kept as the bare *os.File when they are the process's
// streams: the relay hands them to io.Copy untouched so that the kernel can
// splice or sendfile between a file and a socket.
type IOStreams struct {
	In     io.Reader
	Out    io.Writer
	ErrOut io.Writer

	// stdinTTY and stderrTTY are the terminal answers for In and ErrOut;
	// nil means "ask the file", which System does lazily so that commands
	// that never ask pay nothing at start-up.
	stdinTTY  *bool
	stderrTTY *bool
}

// System returns the process's own streams.
func System() *IOStreams {
	return &IOStreams{In: os.Stdin, Out: os.Stdout, ErrOut: os.Stderr}
}

// Test returns streams backed by the given reader and writers, none of
// them a terminal.
func Test(in io.Reader, out, errOut io.Writer) *IOStreams {
	no := false
	return &IOStreams{In: in, Out: out, ErrOut: errOut, stdinTTY: &no, stderrTTY: &no}
}

// SetTTY overrides terminal detection, for tests.
func (s *IOStreams) SetTTY(stdin, stderr bool) {
	s.stdinTTY, s.stderrTTY = &stdin, &stderr
}

// StdinIsTTY reports whether In is a terminal.
func (s *IOStreams) StdinIsTTY() bool {
	if s.stdinTTY == nil {
		v := isTerminal(s.In)
		s.stdinTTY = &v
	}
	return *s.stdinTTY
}

// StderrIsTTY reports whether ErrOut is a terminal. Colour follows it:
// stdout is data and never decides anything.
func (s *IOStreams) StderrIsTTY() bool {
	if s.stderrTTY == nil {
		v := isTerminal(s.ErrOut)
		s.stderrTTY = &v
	}
	return *s.stderrTTY
}

func isTerminal(v any) bool {
	f, ok := v.(*os.File)
	if !ok {
		return false
	}
	fd := f.Fd()
	return isatty.IsTerminal(fd) || isatty.IsCygwinTerminal(fd)
}
