package cmd

import (
	"context"
	"errors"
	"io"
	"net"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/spf13/cobra"

	"github.com/nodenet/nodenet/netcore"
)

// ConnectOptions are what `nodenet connect` was asked to do.
type ConnectOptions struct {
	IO     *IOStreams
	Events *EventLog

	Host string
	Port int
	Path string // -U: a Unix socket, abstract name or named pipe

	Family         int // 0, 4 or 6
	LocalAddress   string
	LocalPort      int
	ConnectTimeout time.Duration
	Timeout        time.Duration
	KeepAlive      keepAliveFlag
	NoDelay        bool
	TOS            int
	AllowHalfOpen  bool
	NoShutdown     bool
	NoAutoSelect   bool
	AttemptTimeout time.Duration
	Zero           bool
	Wait           time.Duration
	Send           *string // --send, with escapes already turned into bytes
	RST            bool
	BlockRules     []string
	BlockListFile  string
	TLS            TLSFlags
	ExecFlags

	StreamFlags
	Telnet bool // --telnet

	// Ports is -z's port list ("20-25,80,443"): a scan.
	Ports []int

	// SendFDs are --send-fd's descriptors, sent with the first bytes over
	// -U PATH; FD is --fd: relay the connected socket inherited as it.
	SendFDs []int
	FD      *int

	// ProxyURL is --proxy (or NODENET_PROXY); Proxy is it parsed.
	ProxyURL string
	Proxy    *netcore.Proxy
}

// NewCmdConnect builds `nodenet connect`.
func NewCmdConnect(f *Factory, runF func(*ConnectOptions) error) *cobra.Command {
	opts := &ConnectOptions{}
	var v4, v6 bool
	var send, fd string
	cmd := &cobra.Command{
		Use:   "connect PORT [HOST] | HOST PORT | HOST:PORT | -U PATH",
		Short: "Connect and relay stdin and stdout (telnet, nc)",
		Long: `Connect to a TCP port or a Unix socket and relay: stdin goes to the socket,
what the socket sends goes to stdout, byte for byte. HOST defaults to
localhost, as in Node's net.connect.

When stdin ends, nodenet half-closes (sends FIN) and goes on printing until
the peer ends. Servers such as nginx, ncat -l and nc -N -l stop their answer
when they see the FIN, so it waits while the peer may still be answering: it
goes once the peer has ended, or has been quiet for 100ms after a request it
has not begun to answer, or for 500ms once it is answering (stdin /dev/null:
only receiving). After an upload (64 KiB or more) or an empty stdin other than
/dev/null it goes at once; --no-shutdown never sends it.

When the peer ends first, the connection ends too if stdin is a terminal;
otherwise nodenet goes on sending stdin until its end, so that nothing is
truncated (--allow-half-open=true|false forces either). When stdout's reader
goes away (| head), nodenet exits quietly with status 141, as cat and nc do.

Over -U PATH, --send-fd N sends inherited descriptor N with the first bytes
(SCM_RIGHTS, Node v0.4's write(data, encoding, fd)); an input that ends
before its first byte is an error, since nothing would carry it. --fd N
relays a connected socket inherited as fd N instead of connecting (inetd,
systemd Accept=yes, a listen --pass-fds command).`,
		Example: `  # The Node docs' "telnet localhost 8124" step
  nodenet connect 8124

  # Send a request, print the whole reply
  nodenet connect 80 example.com --send 'HEAD / HTTP/1.0\r\n\r\n'

  # Wait until a server accepts (wait-for-it), then exit
  nodenet connect -z --wait 30s 127.0.0.1:5432

  # Which of these ports accept (nc -z)
  nodenet connect -z 20-25,80,443 example.com

  # ssh through a SOCKS proxy that looks names up
  ssh -o ProxyCommand='nodenet connect --proxy socks5h://127.0.0.1:1080 %h %p' host`,
		Args: cobra.MaximumNArgs(2),
		RunE: func(cmd *cobra.Command, args []string) error {
			opts.IO = f.IO
			opts.Events = f.EventLog()
			if err := emptyFlags(cmd, "unix"); err != nil {
				return err
			}
			if v4 && v6 {
				return usageErrorf("-4 and -6 cannot be used together")
			}
			if v4 {
				opts.Family = 4
			} else if v6 {
				opts.Family = 6
			}
			if ports, host, ok, err := portListArgs(opts.Zero, args); ok || err != nil {
				if err != nil {
					return err
				}
				opts.Ports, opts.Host = ports, host
			} else if opts.Path != "" {
				if len(args) > 0 {
					return usageErrorf("-U PATH takes no PORT or HOST argument")
				}
			} else if cmd.Flags().Changed("fd") {
				if len(args) > 0 {
					return usageErrorf("--fd N takes no PORT or HOST argument: the socket is already connected")
				}
			} else {
				host, port, hasPort, err := netcore.ParseEndpointArgs(args)
				if err != nil {
					return err
				}
				if !hasPort {
					return usageErrorf("connect needs a PORT (PORT [HOST], HOST:PORT or -U PATH)")
				}
				opts.Host, opts.Port = host, port
			}
			if err := opts.ExecFlags.parse(cmd.Flags().Changed); err != nil {
				return err
			}
			if opts.ExecFlags.On() && (opts.Zero || cmd.Flags().Changed("send")) {
				return usageErrorf("--exec and --sh-exec cannot be used with -z or --send: the command does the talking")
			}
			if !cmd.Flags().Changed("allow-half-open") {
				// Never truncate what we are sending, unless a person at a
				// terminal would expect the session to end with the server;
				// a child ends the connection itself.
				opts.AllowHalfOpen = !f.IO.StdinIsTTY() || opts.ExecFlags.On()
			}
			if cmd.Flags().Changed("send") {
				s, err := unescape(send)
				if err != nil {
					return usageErrorf("--send: %v", err)
				}
				opts.Send = &s
			}
			if err := opts.TLS.check(cmd); err != nil {
				return err
			}
			if opts.TOS < 0 || opts.TOS > 255 {
				return usageErrorf("--tos %d: want 0 to 255", opts.TOS)
			}
			for _, d := range []struct {
				name string
				v    time.Duration
			}{{"connect-timeout", opts.ConnectTimeout}, {"timeout", opts.Timeout}, {"attempt-timeout", opts.AttemptTimeout}, {"wait", opts.Wait}} {
				if d.v < 0 {
					return usageErrorf("--%s %v: a duration cannot be negative", d.name, d.v)
				}
			}
			if err := opts.netcatArgs(cmd, f); err != nil {
				return err
			}
			if err := opts.fdArgs(cmd, fd); err != nil {
				return err
			}
			if runF != nil {
				return runF(opts)
			}
			return connectRun(cmd.Context(), opts)
		},
	}
	fl := cmd.Flags()
	fl.StringVarP(&opts.Path, "unix", "U", "", "connect to a Unix socket `PATH` (@name: abstract; \\\\.\\pipe\\NAME: named pipe)")
	fl.BoolVarP(&v4, "ipv4", "4", false, "IPv4 only")
	fl.BoolVarP(&v6, "ipv6", "6", false, "IPv6 only")
	fl.StringVar(&opts.LocalAddress, "local-address", "", "bind to this local `IP` before connecting")
	fl.IntVar(&opts.LocalPort, "local-port", 0, "bind to this local `PORT` before connecting")
	fl.DurationVar(&opts.ConnectTimeout, "connect-timeout", 0, "give up connecting after `DUR` (0: the system's limit)")
	fl.DurationVar(&opts.Timeout, "timeout", 0, "after `DUR` idle: the timeout event, then end")
	fl.Var(&opts.KeepAlive, "keep-alive", "TCP keep-alive, probing after DUR idle (default: the system's)")
	fl.Lookup("keep-alive").NoOptDefVal = "true"
	fl.BoolVar(&opts.NoDelay, "no-delay", false, "turn Nagle's algorithm off (TCP_NODELAY)")
	fl.IntVar(&opts.TOS, "tos", 0, "IP type of service `N` (0-255)")
	fl.BoolVar(&opts.AllowHalfOpen, "allow-half-open", false, "after the peer ends, keep sending stdin (default: true unless stdin is a terminal)")
	fl.BoolVar(&opts.NoShutdown, "no-shutdown", false, "never half-close on stdin's end; exit when the peer ends")
	fl.BoolVar(&opts.NoAutoSelect, "no-autoselect-family", false, "try only the first address of a host name (no happy eyeballs)")
	fl.DurationVar(&opts.AttemptTimeout, "attempt-timeout", netcore.DefaultAttemptTimeout, "happy eyeballs: try the next address after `DUR` (at least 10ms)")
	fl.BoolVarP(&opts.Zero, "zero", "z", false, "connect, close, and exit 0 if the endpoint accepted")
	fl.DurationVar(&opts.Wait, "wait", 0, "retry until the endpoint accepts or `DUR` passes")
	fl.StringVar(&send, "send", "", "send `STRING` (\\r \\n \\t \\0 \\\\ \\xHH escapes) instead of stdin, then end")
	fl.BoolVar(&opts.RST, "rst", false, "close with a TCP RST instead of a FIN (resetAndDestroy)")
	fl.StringArrayVar(&opts.BlockRules, "block", nil, "refuse to connect to `RULE` (address, A-B, NET/PREFIX or a Node rule); repeatable")
	fl.StringVar(&opts.BlockListFile, "blocklist", "", "refuse to connect to the addresses of rule `FILE`")
	addTLSFlags(fl, &opts.TLS, false)
	addExecFlags(fl, &opts.ExecFlags)
	addStreamFlags(fl, &opts.StreamFlags)
	fl.BoolVar(&opts.Telnet, "telnet", false, "answer telnet option negotiation by refusing it, and strip it from the output")
	fl.IntSliceVar(&opts.SendFDs, "send-fd", nil, "-U: send inherited descriptor `N` with the first bytes (SCM_RIGHTS); repeatable")
	fl.StringVar(&fd, "fd", "", "relay the connected socket inherited as fd `N` (inetd, systemd Accept=yes)")
	fl.StringVar(&opts.ProxyURL, "proxy", "", "connect through `URL`: socks5://, socks5h:// or http://[user:pass@]host:port (default: $NODENET_PROXY)")
	cmd.MarkFlagsMutuallyExclusive("zero", "send")
	return cmd
}

// connectRun connects and relays until the conversation is over.
func connectRun(ctx context.Context, opts *ConnectOptions) (err error) {
	if ctx == nil {
		ctx = context.Background()
	}
	bl, err := loadBlockList(opts.BlockRules, opts.BlockListFile)
	if err != nil {
		return err
	}
	tc, err := opts.TLS.clientContext(opts.IO.ErrOut)
	if err != nil {
		return err
	}
	l := opts.Events
	var timedOut bool
	hooks := withSecureConnect(l, socketHooks(l, nil), tc)
	if opts.Timeout > 0 {
		onTimeout := func(s *netcore.Socket) {
			// First idle period: end our side; second: give up.
			if timedOut {
				s.Destroy(nil)
				return
			}
			timedOut = true
			s.End() //nolint:errcheck // reported through the hooks
		}
		if hooks == nil {
			hooks = &netcore.SocketHooks{}
		}
		inner := hooks.OnTimeout
		hooks.OnTimeout = func(s *netcore.Socket) {
			if inner != nil {
				inner(s)
			}
			onTimeout(s)
		}
	}
	if (opts.Path != "" || opts.FD != nil) && l.On(1) {
		hooks = fdEvents(l, hooks)
	}
	copts := netcore.ConnectOptions{
		Host:                           opts.Host,
		Port:                           opts.Port,
		Path:                           opts.Path,
		Family:                         opts.Family,
		LocalAddress:                   opts.LocalAddress,
		LocalPort:                      opts.LocalPort,
		NoAutoSelectFamily:             opts.NoAutoSelect,
		AutoSelectFamilyAttemptTimeout: opts.AttemptTimeout,
		AllowHalfOpen:                  opts.AllowHalfOpen,
		NoDelay:                        opts.NoDelay,
		KeepAlive:                      opts.KeepAlive.On,
		KeepAliveInitialDelay:          opts.KeepAlive.Delay,
		TypeOfService:                  opts.TOS,
		Hooks:                          hooks,
		TLS:                            tc,
	}
	if bl != nil {
		copts.BlockList = bl
	}
	copts.Proxy = opts.Proxy
	if opts.Ports != nil {
		return scanRun(ctx, opts, copts)
	}
	var in io.Reader = opts.IO.In
	if opts.Send != nil {
		in = strings.NewReader(*opts.Send)
	}
	var ss *streams
	if !opts.Zero {
		if ss, err = opts.StreamFlags.open(opts.IO, in, opts.Telnet); err != nil {
			return err
		}
		defer func() {
			if cerr := ss.close(); err == nil {
				err = cerr
			}
		}()
	}
	var ex *netcore.Exec
	if opts.ExecFlags.On() {
		if ex, err = opts.ExecFlags.newExec(opts.IO, l, hooks); err != nil {
			return err
		}
	}
	sigs, stopSignals := signals()
	defer stopSignals()
	// A write to a closed stdout then fails with EPIPE, which the relay
	// reports (status 141, quietly), on every copy path: otherwise Go's
	// runtime kills the process with SIGPIPE when the copy goes through
	// os.Stdout.Write, and a splice(2) gets EPIPE. A caught signal, unlike
	// an ignored one, is not passed on to programs we start.
	pipe := make(chan os.Signal, 1)
	signal.Notify(pipe, syscall.SIGPIPE)
	defer signal.Stop(pipe)

	var sock *netcore.Socket
	if opts.FD != nil {
		sock, err = netcore.SocketFromFD(*opts.FD, copts)
	} else {
		sock, err = dialWithRetry(ctx, opts, copts, sigs)
	}
	if err != nil {
		if l.On(1) {
			l.Emit("error", errorFields(err)...)
		}
		return err
	}
	if opts.Timeout > 0 {
		sock.SetTimeout(opts.Timeout)
	}
	if opts.Zero {
		if opts.RST {
			return sock.ResetAndDestroy()
		}
		sock.Destroy(nil)
		return nil
	}

	ss.connected(sock)
	done := make(chan error, 1)
	go func() {
		if ex != nil {
			done <- execExit(ex.Serve(sock))
			return
		}
		// EndOut: the peer's end closes stdout at once, as socat passes an
		// EOF on, even while stdin is still being sent (allowHalfOpen):
		// whoever reads our stdout (ssh's ProxyCommand, a pipeline) sees
		// that the server is done.
		done <- netcore.Relay(sock, ss.in, ss.out, netcore.RelayOptions{NoShutdown: opts.NoShutdown, EndGrace: opts.endGrace(), EndOut: true, FDs: opts.SendFDs})
	}()
	select {
	case err = <-done:
	case sig := <-sigs:
		sock.Destroy(nil)
		<-done
		return exitSignal(sig)
	}
	if opts.RST {
		sock.ResetAndDestroy() //nolint:errcheck // the relay is over; RST is best effort
	}
	if err != nil && timedOut && (errors.Is(err, net.ErrClosed) || isErrno(err, "EPIPE")) {
		return nil // we ended an idle connection, as asked
	}
	return outputClosed(err)
}

// outputClosed turns a relay's "write EPIPE" on stdout (the reader of a
// pipe has gone, as in `nodenet connect ... | head -c 100`) into what cat
// and nc show: nothing, and the status a shell reports for a process
// ended by SIGPIPE, 141. Other errors are returned as they are.
func outputClosed(err error) error {
	var oe *netcore.OutputError
	if errors.As(err, &oe) && oe.Err.Code == "EPIPE" {
		return exitSignal(syscall.SIGPIPE)
	}
	return err
}

// dialWithRetry connects, retrying until --wait passes when it is set;
// --connect-timeout bounds each attempt. A signal gives up at once.
func dialWithRetry(ctx context.Context, opts *ConnectOptions, copts netcore.ConnectOptions, sigs <-chan os.Signal) (*netcore.Socket, error) {
	// The signal travels as the context's cause: the goroutine that reads
	// it and the loop share nothing else.
	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	go func() {
		select {
		case sig := <-sigs:
			cancel(signalCause{sig})
		case <-ctx.Done():
		}
	}()
	deadline := time.Now().Add(opts.Wait)
	pause := 50 * time.Millisecond
	for {
		actx, acancel := ctx, context.CancelFunc(func() {})
		if opts.ConnectTimeout > 0 {
			actx, acancel = context.WithTimeout(ctx, opts.ConnectTimeout)
		}
		sock, err := netcore.Connect(actx, copts)
		acancel()
		if err == nil {
			return sock, nil
		}
		if ctx.Err() != nil {
			return nil, exitSignal(signalOf(ctx))
		}
		if opts.Wait == 0 || time.Now().Add(pause).After(deadline) || !retryable(err) {
			return nil, err
		}
		t := time.NewTimer(pause)
		select {
		case <-t.C:
		case <-ctx.Done():
			t.Stop()
			return nil, exitSignal(signalOf(ctx))
		}
		pause = min(2*pause, time.Second)
	}
}

// signalCause cancels a context because a signal came.
type signalCause struct{ sig os.Signal }

func (c signalCause) Error() string { return "signal: " + c.sig.String() }

// signalOf is the signal that cancelled ctx, or nil.
func signalOf(ctx context.Context) os.Signal {
	var c signalCause
	if errors.As(context.Cause(ctx), &c) {
		return c.sig
	}
	return nil
}

// retryable reports whether --wait should try again after err: the
// endpoint is not there yet, as opposed to a bad argument.
func retryable(err error) bool {
	var ne *netcore.Error
	if !errors.As(err, &ne) {
		return false
	}
	switch ne.Code {
	case "ECONNREFUSED", "ETIMEDOUT", "ENOENT", "ECONNRESET", "EHOSTUNREACH", "ENETUNREACH", "EAI_AGAIN", "ENOTFOUND", "EAGAIN":
		return true
	}
	return false
}

// isErrno reports whether err carries Node's code.
func isErrno(err error, code string) bool {
	var ne *netcore.Error
	return errors.As(err, &ne) && ne.Code == code
}
