package cmd

import (
	"errors"
	"fmt"
	"strings"

	"github.com/spf13/pflag"

	"github.com/nodenet/nodenet/netcore"
)

// ExecFlags are --exec and --sh-exec, which listen and connect share: a
// command per connection, with its stdin and stdout on the socket.
type ExecFlags struct {
	Exec   string // -e CMD: split into words as a shell would, run without one
	ShExec string // --sh-exec CMD: run by sh -c
	// Argv is the command to run, from either flag; nil when neither.
	Argv []string
	// PassFDs (listen --pass-fds) starts each command at its client's
	// first bytes, with the descriptors that came with them.
	PassFDs bool
}

// addExecFlags registers -e/--exec and --sh-exec on fl.
func addExecFlags(fl *pflag.FlagSet, o *ExecFlags) {
	fl.StringVarP(&o.Exec, "exec", "e", "", "run `CMD` per connection with its stdin and stdout on the socket (split into words with shell quoting, no shell)")
	fl.StringVar(&o.ShExec, "sh-exec", "", "run `CMD` with sh -c per connection, its stdin and stdout on the socket")
}

// parse turns the flags into Argv; changed tells which were given.
func (o *ExecFlags) parse(changed func(string) bool) error {
	e, sh := changed("exec"), changed("sh-exec")
	switch {
	case e && sh:
		return usageErrorf("--exec and --sh-exec cannot be used together")
	case e:
		argv, err := splitCommand(o.Exec)
		if err != nil {
			return usageErrorf("--exec %q: %v", o.Exec, err)
		}
		o.Argv = argv
	case sh:
		if strings.TrimSpace(o.ShExec) == "" {
			return usageErrorf("--sh-exec: the command is empty")
		}
		o.Argv = []string{"/bin/sh", "-c", o.ShExec}
	}
	return nil
}

// On reports whether a command is to run.
func (o *ExecFlags) On() bool { return o.Argv != nil }

// newExec finds the command (a missing one is a usage error that names
// it, before anything listens or connects) and renders its children's
// exits: the status of a child that ends its connection is in that
// connection's close event (exitCode, or signalCode when a signal ended
// it, as Node's ChildProcess names them); a child that outlives its
// connection reports in an exit event of its own. hooks is the
// connection's, changed in place to render that; it may be nil.
func (o *ExecFlags) newExec(ios *IOStreams, l *EventLog, hooks *netcore.SocketHooks) (*netcore.Exec, error) {
	var ex *netcore.Exec
	opts := netcore.ExecOptions{Argv: o.Argv, Stderr: ios.ErrOut, PassFDs: o.PassFDs}
	if l.On(1) {
		opts.OnExit = func(s *netcore.Socket, st netcore.ExitStatus, closed bool) {
			if closed {
				l.Emit("exit", append([]Field{{"id", s.ID()}}, exitFields(st)...)...)
			}
		}
		if hooks != nil && hooks.OnClose != nil {
			hooks.OnClose = func(s *netcore.Socket, hadError bool) {
				fields := []Field{{"id", s.ID()}, {"hadError", hadError}, {"bytesRead", s.BytesRead()}, {"bytesWritten", s.BytesWritten()}}
				if st, ok := ex.Status(s); ok {
					fields = append(fields, exitFields(st)...)
				}
				l.Emit("close", fields...)
			}
		}
	}
	ex, err := netcore.NewExec(opts)
	if err != nil {
		flag := "--exec"
		if o.Exec == "" {
			flag = "--sh-exec"
		}
		var ne *netcore.Error
		if errors.As(err, &ne) && ne.Code == "ENOENT" {
			return nil, usageErrorf("%s: %s: command not found (%v)", flag, o.Argv[0], err)
		}
		return nil, usageErrorf("%s: %v", flag, err)
	}
	return ex, nil
}

// exitFields are a child's status as Node's ChildProcess has it.
func exitFields(st netcore.ExitStatus) []Field {
	if st.Signal != "" {
		return []Field{{"signalCode", st.Signal}}
	}
	return []Field{{"exitCode", st.ExitCode}}
}

// execExit is the exit status of a command that ran one child: the
// relay's failure first (it is printed), else the child's status as a
// shell gives it (128 + N for signal N).
func execExit(st netcore.ExitStatus, err error) error {
	if err != nil {
		return err
	}
	if code := st.Code(); code != 0 {
		return &ExitError{Code: code}
	}
	return nil
}

// splitCommand splits -e's command line into words with a POSIX shell's
// quoting and nothing else: blanks separate words; '...' keeps everything
// inside; "..." keeps everything but lets \ escape " \ $ ` and a newline;
// outside quotes \ escapes any character (and \ newline disappears). No
// variable, glob, tilde or operator means anything: `$HOME`, `*` and `|`
// are words as written. An unclosed quote, a trailing \ and an empty
// command are errors.
func splitCommand(s string) ([]string, error) {
	var words []string
	var w strings.Builder
	inWord := false
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c == ' ' || c == '\t' || c == '\n':
			if inWord {
				words = append(words, w.String())
				w.Reset()
				inWord = false
			}
		case c == '\\':
			if i+1 == len(s) {
				return nil, errors.New(`a \ at the end escapes nothing`)
			}
			i++
			if s[i] != '\n' {
				w.WriteByte(s[i])
				inWord = true
			}
		case c == '\'':
			j := strings.IndexByte(s[i+1:], '\'')
			if j < 0 {
				return nil, fmt.Errorf("the ' at byte %d is not closed", i+1)
			}
			w.WriteString(s[i+1 : i+1+j])
			i += j + 1
			inWord = true
		case c == '"':
			start := i
			closed := false
			for i++; i < len(s); i++ {
				if s[i] == '"' {
					closed = true
					break
				}
				if s[i] == '\\' && i+1 < len(s) && strings.IndexByte("\"\\$`\n", s[i+1]) >= 0 {
					i++
					if s[i] != '\n' {
						w.WriteByte(s[i])
					}
					continue
				}
				w.WriteByte(s[i])
			}
			if !closed {
				return nil, fmt.Errorf(`the " at byte %d is not closed`, start+1)
			}
			inWord = true
		default:
			w.WriteByte(c)
			inWord = true
		}
	}
	if inWord {
		words = append(words, w.String())
	}
	if len(words) == 0 {
		return nil, errors.New("the command is empty")
	}
	return words, nil
}
