package cmd

import (
	"errors"
	"fmt"
	"strconv"

	"github.com/spf13/cobra"

	"github.com/nodenet/nodenet/internal/fdpass"
	"github.com/nodenet/nodenet/netcore"
)

// fdArgs checks connect's --send-fd and --fd (given as fd, unparsed)
// against the other flags. Both need a Unix system: Windows named pipes
// carry no descriptors, and nothing is inherited by number there.
func (o *ConnectOptions) fdArgs(cmd *cobra.Command, fd string) error {
	changed := cmd.Flags().Changed
	if changed("send-fd") {
		if !netcore.FDPassingSupported {
			return usageErrorf("--send-fd is not supported on Windows: named pipes cannot carry descriptors")
		}
		switch {
		case o.Path == "":
			return usageErrorf("--send-fd needs -U PATH: descriptors travel over Unix sockets only")
		case o.Zero:
			return usageErrorf("--send-fd sends descriptors with data: it cannot be used with -z")
		case o.ExecFlags.On():
			return usageErrorf("--send-fd sends descriptors with stdin's first bytes: it cannot be used with --exec or --sh-exec")
		case o.TLS.On:
			return usageErrorf("--send-fd cannot be used with --tls: TLS records carry no descriptors")
		case o.RecvOnly:
			return usageErrorf("--send-fd sends descriptors with stdin's first bytes: it cannot be used with --recv-only")
		case o.Send != nil && *o.Send == "":
			return usageErrorf("--send-fd needs at least one byte to ride with: --send '' sends none")
		case len(o.SendFDs) > fdpass.MaxFDs:
			return usageErrorf("--send-fd: %d descriptors, at most %d in one message", len(o.SendFDs), fdpass.MaxFDs)
		}
		for _, n := range o.SendFDs {
			if err := fdpass.Inherited(n); err != nil {
				return usageErrorf("--send-fd %d: %v", n, err)
			}
		}
	}
	if !changed("fd") {
		return nil
	}
	if !netcore.FDPassingSupported {
		return usageErrorf("--fd is not supported on Windows: sockets are not inherited by number, and named pipes cannot carry descriptors")
	}
	n, err := strconv.Atoi(fd)
	if err != nil || n < 0 {
		return usageErrorf("--fd %q: want a file descriptor number", fd)
	}
	o.FD = &n
	for _, c := range []struct {
		set  bool
		name string
	}{
		{o.Path != "", "-U PATH"}, {o.Zero, "-z"}, {o.Wait > 0, "--wait"}, {o.Proxy != nil, "--proxy"},
		{o.LocalAddress != "" || o.LocalPort != 0, "--local-address and --local-port"},
		{o.Family != 0, "-4 and -6"}, {o.ConnectTimeout > 0, "--connect-timeout"}, {o.TLS.On, "--tls"},
		{o.BlockRules != nil || o.BlockListFile != "", "--block and --blocklist"},
		{changed("send-fd"), "--send-fd"},
	} {
		if c.set {
			return usageErrorf("--fd relays a socket that is already connected: it cannot be used with %s", c.name)
		}
	}
	if err := fdpass.Inherited(n); errors.Is(err, fdpass.ErrNotInherited) {
		// One of nodenet's own (the runtime's epoll): not what was meant.
		// A descriptor that is not open is SocketFromFD's to name.
		return usageErrorf("--fd %d: %v", n, err)
	}
	return nil
}

// passFDsArgs checks listen's --pass-fds.
func (o *ListenOptions) passFDsArgs() error {
	if !o.PassFDs {
		return nil
	}
	switch {
	case !netcore.FDPassingSupported:
		return usageErrorf("--pass-fds is not supported on Windows: named pipes cannot carry descriptors")
	case !o.ExecFlags.On():
		return usageErrorf("--pass-fds hands descriptors to a command: it needs --exec or --sh-exec")
	case o.Path == "" && o.FD == "":
		return usageErrorf("--pass-fds needs -U PATH (or --fd with a Unix socket): descriptors travel over Unix sockets only")
	case o.TLS.On:
		return usageErrorf("--pass-fds cannot be used with --tls: TLS records carry no descriptors")
	}
	return nil
}

// fdHooks adds listen's handling of received descriptors to hooks (which
// may be nil), for -v and --pass-fds: each one is the fd event (fd, its
// type, and childFd when it went to a --pass-fds command) and, unless a
// command took it, is closed; without events (--pass-fds), a closed one
// is said on stderr unless -q.
func fdHooks(f *Factory, l *EventLog, hooks *netcore.SocketHooks, ex *netcore.Exec) *netcore.SocketHooks {
	if hooks == nil {
		hooks = &netcore.SocketHooks{}
	}
	hooks.OnFD = func(s *netcore.Socket, fd int) bool {
		kind := fdKind(fd)
		childFD, taken := 0, false
		if ex != nil {
			childFD, taken = ex.TakeFD(s, fd)
		}
		fields := []Field{{"id", s.ID()}, {"fd", fd}, {"type", kind}}
		if taken {
			fields = append(fields, Field{"childFd", childFD})
		}
		switch {
		case l.On(1):
			l.Emit("fd", fields...)
		case f.Quiet || taken:
		case ex != nil && ex.PassesFDs():
			fmt.Fprintf(f.IO.ErrOut, "nodenet: connection %d sent fd %d (%s) after its command started: closed (a running command cannot be given descriptors)\n", s.ID(), fd, kind)
		default:
			fmt.Fprintf(f.IO.ErrOut, "nodenet: connection %d sent fd %d (%s): closed, nobody takes it (listen -U PATH --pass-fds --exec CMD hands descriptors to CMD)\n", s.ID(), fd, kind)
		}
		return taken
	}
	return hooks
}

// fdEvents adds the fd event to a client's hooks (which may be nil): a
// descriptor the server sent is reported, then closed.
func fdEvents(l *EventLog, hooks *netcore.SocketHooks) *netcore.SocketHooks {
	if hooks == nil {
		hooks = &netcore.SocketHooks{}
	}
	hooks.OnFD = func(s *netcore.Socket, fd int) bool {
		l.Emit("fd", Field{"id", s.ID()}, Field{"fd", fd}, Field{"type", fdKind(fd)})
		return false
	}
	return hooks
}

// fdKind is the type of a received descriptor as the fd event names it.
func fdKind(fd int) string {
	kind, err := fdpass.Kind(fd)
	if err != nil {
		return "file" // cannot happen for an open descriptor
	}
	return kind
}
