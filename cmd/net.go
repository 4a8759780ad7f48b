package cmd

import (
	"errors"
	"fmt"
	"os"
	"os/signal"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/nodenet/nodenet/blocklist"
	"github.com/nodenet/nodenet/netcore"
)

// keepAliveFlag is --keep-alive[=DUR]: on with the system's delay, on
// with a delay, or off (--keep-alive=false).
type keepAliveFlag struct {
	On    bool
	Delay time.Duration
}

func (k *keepAliveFlag) String() string {
	switch {
	case !k.On:
		return "false"
	case k.Delay > 0:
		return k.Delay.String()
	}
	return "true"
}

func (k *keepAliveFlag) Set(s string) error {
	switch s {
	case "true":
		*k = keepAliveFlag{On: true}
	case "false":
		*k = keepAliveFlag{}
	default:
		d, err := time.ParseDuration(s)
		if err != nil || d <= 0 {
			return fmt.Errorf("want true, false or a positive duration such as 30s, got %q", s)
		}
		*k = keepAliveFlag{On: true, Delay: d}
	}
	return nil
}

func (k *keepAliveFlag) Type() string { return "[DUR]" }

// unescape turns the escapes of --send into bytes: \r \n \t \0 \\ and
// \xHH. An unknown escape is an error rather than a guess.
func unescape(s string) (string, error) {
	if !strings.Contains(s, `\`) {
		return s, nil
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c != '\\' {
			b.WriteByte(c)
			continue
		}
		if i+1 == len(s) {
			return "", errors.New(`a lone \ at the end`)
		}
		i++
		switch s[i] {
		case 'r':
			b.WriteByte('\r')
		case 'n':
			b.WriteByte('\n')
		case 't':
			b.WriteByte('\t')
		case '0':
			b.WriteByte(0)
		case '\\':
			b.WriteByte('\\')
		case 'x':
			if i+2 >= len(s) {
				return "", errors.New(`\x needs two hex digits`)
			}
			v, err := strconv.ParseUint(s[i+1:i+3], 16, 8)
			if err != nil {
				return "", fmt.Errorf(`\x%s: not two hex digits`, s[i+1:i+3])
			}
			b.WriteByte(byte(v))
			i += 2
		default:
			return "", fmt.Errorf(`unknown escape \%c (want \r \n \t \0 \\ \xHH)`, s[i])
		}
	}
	return b.String(), nil
}

// loadBlockList builds the block list of --block RULE... and --blocklist
// FILE; nil when neither is given.
func loadBlockList(rules []string, file string) (*blocklist.BlockList, error) {
	if len(rules) == 0 && file == "" {
		return nil, nil
	}
	bl := blocklist.New()
	if file != "" {
		loaded, err := blocklist.LoadFile(file)
		if err != nil {
			return nil, err
		}
		bl = loaded
	}
	for _, r := range rules {
		rule, err := blocklist.ParseRule(r)
		if err != nil {
			return nil, err
		}
		if err := bl.Add(rule); err != nil {
			return nil, err
		}
	}
	return bl, nil
}

// signals delivers SIGINT, SIGTERM and SIGHUP (a closed terminal), which
// all end a command the same way: a server closes and unlinks its socket
// file; stop undoes it.
func signals() (ch <-chan os.Signal, stop func()) {
	c := make(chan os.Signal, 2)
	signal.Notify(c, os.Interrupt, syscall.SIGTERM, syscall.SIGHUP)
	return c, func() { signal.Stop(c) }
}

// exitSignal is the status of a command ended by a second signal: 128 +
// the signal number, as a shell reports it.
func exitSignal(sig os.Signal) error {
	code := 130
	if s, ok := sig.(syscall.Signal); ok {
		code = 128 + int(s)
	}
	return &ExitError{Code: code}
}

// addrFields are Node's fields for an endpoint, with a prefix: address,
// family and port for TCP, path for IPC.
func addrFields(prefix string, a netcore.Addr) []Field {
	if a.Address == "" {
		// An IPC endpoint: Node's server.address() is the path itself,
		// and a socket on it has no address of its own; every event
		// names it "path".
		return []Field{{"path", a.Path}}
	}
	if prefix == "" {
		return []Field{{"address", a.Address}, {"family", a.Family}, {"port", a.Port}}
	}
	return []Field{{prefix + "Address", a.Address}, {prefix + "Port", a.Port}, {prefix + "Family", a.Family}}
}

// socketFields are a connection's Node fields: remote then local.
func socketFields(s *netcore.Socket) []Field {
	fields := []Field{{"id", s.ID()}}
	remote, local := s.RemoteAddr(), s.LocalAddr()
	if remote.Address == "" && local.Address == "" {
		path := local.Path
		if path == "" {
			path = remote.Path
		}
		return append(fields, Field{"path", path})
	}
	fields = append(fields, Field{"remoteAddress", remote.Address}, Field{"remotePort", remote.Port}, Field{"remoteFamily", remote.Family})
	return append(fields, Field{"localAddress", local.Address}, Field{"localPort", local.Port})
}

// errorFields are an error's Node fields: code, syscall, address, port
// and message.
func errorFields(err error) []Field {
	var ne *netcore.Error
	if !errors.As(err, &ne) {
		return []Field{{"message", err.Error()}}
	}
	fields := []Field{{"code", ne.Code}}
	if ne.Syscall != "" {
		fields = append(fields, Field{"syscall", ne.Syscall})
	}
	if ne.Hostname != "" {
		fields = append(fields, Field{"hostname", ne.Hostname})
	}
	if ne.Address != "" {
		fields = append(fields, Field{"address", ne.Address})
	}
	if ne.Port != 0 {
		fields = append(fields, Field{"port", ne.Port})
	}
	return append(fields, Field{"message", ne.Message})
}

// socketHooks renders a socket's events through the event log. onTimeout,
// when not nil, is what the command does when the socket has been idle.
// It returns nil when events are off and there is no timeout action, so
// that the socket pays for nothing.
func socketHooks(l *EventLog, onTimeout func(*netcore.Socket)) *netcore.SocketHooks {
	if !l.On(1) {
		if onTimeout == nil {
			return nil
		}
		return &netcore.SocketHooks{OnTimeout: onTimeout}
	}
	h := &netcore.SocketHooks{
		OnLookup: func(e netcore.LookupEvent) {
			if e.Err != nil {
				l.Emit("lookup", append([]Field{{"host", e.Host}}, errorFields(e.Err)...)...)
				return
			}
			l.Emit("lookup", Field{"address", e.Address}, Field{"family", e.Family}, Field{"host", e.Host})
		},
		OnConnectionAttempt: func(a netcore.Attempt) {
			l.Emit("connectionAttempt", Field{"address", a.Address}, Field{"port", a.Port}, Field{"family", a.Family})
		},
		OnConnectionAttemptFailed: func(a netcore.Attempt, err error) {
			l.Emit("connectionAttemptFailed", append([]Field{{"address", a.Address}, {"port", a.Port}, {"family", a.Family}}, Field{"error", err.Error()})...)
		},
		OnConnectionAttemptTimeout: func(a netcore.Attempt) {
			l.Emit("connectionAttemptTimeout", Field{"address", a.Address}, Field{"port", a.Port}, Field{"family", a.Family})
		},
		OnConnect: func(s *netcore.Socket) {
			l.Emit("connect", socketFields(s)...)
			l.Emit("ready", Field{"id", s.ID()})
		},
		OnEnd:    func(s *netcore.Socket) { l.Emit("end", Field{"id", s.ID()}) },
		OnFinish: func(s *netcore.Socket) { l.Emit("finish", Field{"id", s.ID()}) },
		OnDrain:  func(s *netcore.Socket) { l.Emit("drain", Field{"id", s.ID()}) },
		OnTimeout: func(s *netcore.Socket) {
			l.Emit("timeout", Field{"id", s.ID()})
			if onTimeout != nil {
				onTimeout(s)
			}
		},
		OnError: func(s *netcore.Socket, err error) {
			l.Emit("error", append([]Field{{"id", s.ID()}}, errorFields(err)...)...)
		},
		OnClose: func(s *netcore.Socket, hadError bool) {
			l.Emit("close", Field{"id", s.ID()}, Field{"hadError", hadError},
				Field{"bytesRead", s.BytesRead()}, Field{"bytesWritten", s.BytesWritten()})
		},
	}
	if l.On(2) {
		h.OnData = func(s *netcore.Socket, p []byte) {
			l.EmitData("data", Field{"id", s.ID()}, Field{"length", len(p)})
		}
	}
	return h
}
