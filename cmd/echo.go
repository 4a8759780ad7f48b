package cmd

import (
	"context"
	"fmt"
	"math"
	"net"
	"net/netip"
	"os"
	"runtime"
	"strconv"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/spf13/cobra"

	"github.com/nodenet/nodenet/netcore"
)

// EchoOptions are what `nodenet echo` was asked to do.
type EchoOptions struct {
	IO     *IOStreams
	Events *EventLog
	// Factory gives the listening line, the ready file and -q.
	Factory *Factory

	ServerFlags
	// Greeting is written to each client before anything is echoed
	// (--greeting, its escapes already turned into bytes); empty for none.
	Greeting []byte
	// Workers is the number of accept loops (--workers); 0 means one per
	// CPU, or one where the system has no SO_REUSEPORT.
	Workers int
	// Stats is how often the --stats line is printed; 0 for never.
	Stats time.Duration

	// noReactor serves with a netcore.Server even where the EchoReactor
	// could, so that tests cover both paths.
	noReactor bool
	// signals, when not nil, stands in for SIGINT and SIGTERM (tests).
	signals <-chan os.Signal
}

// minStatsInterval is the shortest --stats interval: anything shorter is
// a flood, not a status line.
const minStatsInterval = 10 * time.Millisecond

// NewCmdEcho builds `nodenet echo`.
func NewCmdEcho(f *Factory, runF func(*EchoOptions) error) *cobra.Command {
	opts := &EchoOptions{}
	var greeting string
	cmd := &cobra.Command{
		Use:   "echo [PORT [HOST]] | HOST:PORT | -U PATH | --fd N",
		Short: "The Node docs' echo server: greet each client, then echo what it sends",
		Long: `Serve the echo server of the Node docs' net.createServer() example: each
client is greeted with "hello\r\n" (--greeting STR, with \r \n \t \0 \\ \xHH
escapes; '' for none), then everything it sends comes back. When the client
ends, the connection ends too, once everything it sent has been echoed. With
no PORT the system picks one; the bound address is printed on stderr
("listening on [::]:41234"). HOST defaults to "::" (IPv4 and IPv6), or
0.0.0.0 where IPv6 is unavailable, as in Node's server.listen.

-v prints "client connected" and "client disconnected" as the docs' example
logs them, with drops, blocked clients and errors as events (-vv: data
events too); --events json prints every event. --stats prints the open
connections, those accepted and dropped, and the bytes in and out with their
rates, every second (--stats=DUR) and once more at exit.

A client that sends and does not read is not read from until it reads
again: at most one read is held per client. --workers N runs N accept loops
on the port (SO_REUSEPORT), one per CPU by default. --allow-half-open
changes nothing for echo: after the client's end there is nothing left to
send, so the connection ends either way, as c.pipe(c) ends it in Node.

The first SIGINT or SIGTERM stops accepting and lets clients finish; a
second one closes them at once.`,
		Example: `  # The Node docs' example; then "nodenet connect 8124" in another terminal
  nodenet echo 8124

  # On a Unix socket, logging as the docs' example does
  nodenet echo -v -U /tmp/echo.sock

  # No greeting, at most 1000 clients, a status line every 5 seconds
  nodenet echo 9000 --greeting '' --max-connections 1000 --stats=5s`,
		Args: cobra.MaximumNArgs(2),
		RunE: func(cmd *cobra.Command, args []string) error {
			opts.IO, opts.Events, opts.Factory = f.IO, f.EventLog(), f
			if err := opts.ServerFlags.parse(args); err != nil {
				return err
			}
			if err := opts.TLS.check(cmd); err != nil {
				return err
			}
			g, err := unescape(greeting)
			if err != nil {
				return usageErrorf("--greeting: %v", err)
			}
			opts.Greeting = []byte(g)
			switch {
			case opts.Workers < 0:
				return usageErrorf("--workers %d: want 1 or more (0: one per CPU)", opts.Workers)
			case opts.Workers > 1 && !haveReusePort && opts.Path == "" && opts.FD == "":
				return usageErrorf("--workers %d: this system has no SO_REUSEPORT to share a port among accept loops", opts.Workers)
			case opts.Stats < 0:
				return usageErrorf("--stats %v: a duration cannot be negative", opts.Stats)
			case opts.Stats > 0 && opts.Stats < minStatsInterval:
				return usageErrorf("--stats %v: want %v or more", opts.Stats, minStatsInterval)
			}
			if runF != nil {
				return runF(opts)
			}
			return echoRun(cmd.Context(), opts)
		},
	}
	fl := cmd.Flags()
	addServerFlags(fl, &opts.ServerFlags)
	fl.Lookup("allow-half-open").Usage = "accepted as for listen; changes nothing here: echo has nothing to send after a client's end"
	greeting = `hello\r\n`
	fl.Var((*escapedFlag)(&greeting), "greeting", "write `STR` to each client first (\\r \\n \\t \\0 \\\\ \\xHH escapes; '' for none)")
	fl.IntVar(&opts.Workers, "workers", 0, "run `N` accept loops on the port, via SO_REUSEPORT (0: one per CPU)")
	fl.DurationVar(&opts.Stats, "stats", 0, "print connections, bytes and rates on stderr every `DUR` (--stats: 1s), and at exit")
	fl.Lookup("stats").NoOptDefVal = "1s"
	return cmd
}

// escapedFlag is a string flag written with --send's escapes; its
// default is shown as typed, not quoted again.
type escapedFlag string

func (e *escapedFlag) String() string     { return string(*e) }
func (e *escapedFlag) Set(s string) error { *e = escapedFlag(s); return nil }
func (e *escapedFlag) Type() string       { return "STR" }

// haveReusePort tells whether several sockets can share a port here:
// Windows has no SO_REUSEPORT.
const haveReusePort = runtime.GOOS != "windows"

// loops is the number of accept loops: --workers, or one per CPU.
func (o *EchoOptions) loops() int {
	switch {
	case o.Workers > 0:
		return o.Workers
	case !haveReusePort && o.Path == "" && o.FD == "":
		return 1
	}
	return runtime.NumCPU()
}

// listeners is the number of sockets to bind: one per accept loop on a
// TCP port, which the kernel spreads connections over (SO_REUSEPORT);
// one for an exclusive port, a Unix socket or an inherited socket, which
// the loops then share.
func (o *EchoOptions) listeners() int {
	if o.Path != "" || o.FD != "" || o.Exclusive || !haveReusePort {
		return 1
	}
	return o.loops()
}

// useReactor tells whether the EchoReactor can serve lns with these
// options: it needs Linux, sockets it can take over, and no feature that
// needs a Socket per connection (--timeout's idle timer).
func (o *EchoOptions) useReactor(lns []net.Listener) bool {
	if !netcore.EchoReactorSupported || o.noReactor || o.Timeout > 0 || o.TLS.On {
		return false
	}
	for _, ln := range lns {
		if _, ok := ln.(syscall.Conn); !ok {
			// ipc.Listener (-U) hides its socket for now.
			return false
		}
	}
	return true
}

// signalName names a signal as a shell user knows it.
func signalName(sig os.Signal) string {
	switch sig {
	case os.Interrupt:
		return "SIGINT"
	case syscall.SIGTERM:
		return "SIGTERM"
	}
	return sig.String()
}

// echoServer is a running `nodenet echo`: the state its events, its
// --max-connections count and its --stats line share, whichever path
// serves the connections.
type echoServer struct {
	opts  *EchoOptions
	f     *Factory
	l     *EventLog
	bl    netcore.Blocker     // nil without --block or --blocklist
	stats *netcore.EchoStats  // nil without --stats
	start time.Time           // for the final --stats line
	ids   atomic.Uint64       // connection ids on the reactor path
	open  atomic.Int64        // connections counted against --max-connections (reactor)
	limit atomic.Bool         // an accept limit error was reported
	tls   *netcore.TLSContext // nil without --tls
	last  echoSample          // the previous --stats line's figures

	// The path that serves: set by serveReactor or serveServer.
	close, destroy func()
	done           <-chan struct{}
	openNow        func() int
	unlink         func()
}

// echoSample is what a --stats line saw, for the next line's rates.
type echoSample struct {
	t                       time.Time
	accepted, read, written int64
}

// echoRun binds, serves until a signal, and prints the final --stats line.
func echoRun(ctx context.Context, opts *EchoOptions) error {
	if ctx == nil {
		ctx = context.Background()
	}
	s := &echoServer{opts: opts, f: opts.Factory, l: opts.Events, start: time.Now()}
	if opts.Stats > 0 {
		s.stats = new(netcore.EchoStats)
	}
	s.last.t = s.start
	sigs := opts.signals
	if sigs == nil {
		c, stop := signals()
		defer stop()
		sigs = c
	}
	s.raiseFileLimit()
	so, err := opts.serverOptions()
	if err != nil {
		return err
	}
	s.bl = so.BlockList
	if s.tls, err = opts.TLS.serverContext(opts.Factory, opts.Host); err != nil {
		return err
	}
	lo, err := opts.listenOptions()
	if err == nil {
		lo.Workers = opts.listeners()
		var lns []net.Listener
		lns, err = netcore.Bind(ctx, lo, s.staleRemoved)
		if err == nil {
			if opts.useReactor(lns) {
				err = s.serveReactor(lns)
			} else {
				err = s.serveServer(so, lns)
			}
		}
	}
	if err != nil {
		if s.l.On(1) {
			s.l.Emit("error", errorFields(err)...)
		}
		return err
	}

	var tick <-chan time.Time
	if opts.Stats > 0 {
		t := time.NewTicker(opts.Stats)
		defer t.Stop()
		tick = t.C
	}
	var second os.Signal
	interrupted := false
wait:
	for {
		select {
		case <-s.done:
			break wait
		case sig := <-sigs:
			if interrupted {
				if second == nil {
					second = sig
					s.destroy()
				}
				continue
			}
			interrupted = true
			s.close()
			s.unlink()
			if n := s.openNow(); n > 0 && !s.f.Quiet && !s.l.JSON() {
				fmt.Fprintf(s.opts.IO.ErrOut, "nodenet: not accepting any more; waiting for %d open connection(s) to end (a second %s closes them)\n", n, signalName(sig))
			}
		case <-tick:
			s.printStats(false)
		}
	}
	s.unlink()
	if opts.Stats > 0 {
		s.printStats(true)
	}
	if s.l.JSON() {
		s.l.Emit("close")
	}
	if second != nil {
		return exitSignal(second)
	}
	return nil
}

// serveReactor serves lns with epoll loops (Linux): a connection costs a
// descriptor and a slot in a table, not a goroutine.
func (s *echoServer) serveReactor(lns []net.Listener) error {
	o := s.opts
	r := &netcore.EchoReactor{
		Greeting:      o.Greeting,
		Loops:         o.loops(),
		NoDelay:       o.NoDelay,
		KeepAlive:     o.KeepAlive.On,
		KeepAliveIdle: o.KeepAlive.Delay,
		Stats:         s.stats,
		Hooks:         s.reactorHooks(),
	}
	// A socket file that nodenet bound outlives the listener the reactor
	// takes over; it is unlinked when the server closes, if it is still
	// the one bound. An inherited socket's file is its binder's.
	var files []socketFile
	for _, ln := range lns {
		if sf, ok := ln.(socketFile); ok {
			files = append(files, sf)
		}
	}
	if err := r.Serve(lns...); err != nil {
		for _, ln := range lns {
			ln.Close()
		}
		return err
	}
	s.close = func() { r.Close() }     //nolint:errcheck // it is serving
	s.destroy = func() { r.Destroy() } //nolint:errcheck // it is serving
	s.done = r.Done()
	s.openNow = r.Open
	s.unlink = func() {
		for _, sf := range files {
			sf.SetUnlinkOnClose(true)
			sf.Unlink() //nolint:errcheck // best effort, as on close
		}
	}
	s.listening(r.Address())
	return nil
}

// socketFile is a listener that owns a socket file (ipc.Listener).
type socketFile interface {
	SetUnlinkOnClose(bool)
	Unlink() error
}

// reactorHooks are the reactor's hooks for what was asked: none at all
// when nothing watches the connections, so that they cost nothing.
func (s *echoServer) reactorHooks() netcore.EchoHooks {
	h := netcore.EchoHooks{OnError: s.acceptError}
	events := s.l.On(1)
	maxConns := int64(s.opts.MaxConnections)
	if !events && maxConns < 0 && s.bl == nil {
		return h
	}
	h.OnConnection = func(c *netcore.EchoConn) bool {
		// Node's order: maxConnections first, then the block list.
		if maxConns >= 0 && s.open.Add(1) > maxConns {
			s.open.Add(-1)
			s.drop(c.LocalAddr(), c.RemoteAddr())
			return false
		}
		if s.bl != nil && blockedAddr(s.bl, c.Remote) {
			if maxConns >= 0 {
				s.open.Add(-1)
			}
			s.blocked(c.RemoteAddr())
			return false
		}
		if events {
			id := s.ids.Add(1)
			c.Value = id
			s.connection(id, c.RemoteAddr(), c.LocalAddr())
		}
		return true
	}
	h.OnClose = func(c *netcore.EchoConn, err error) {
		if maxConns >= 0 {
			s.open.Add(-1)
		}
		if events {
			id, _ := c.Value.(uint64)
			if err != nil {
				s.l.Emit("error", append([]Field{{"id", id}}, errorFields(err)...)...)
			}
			s.closed(id, err != nil, c.BytesRead, c.BytesWritten)
		}
	}
	if events {
		h.OnDrain = func(c *netcore.EchoConn) {
			id, _ := c.Value.(uint64)
			s.l.Emit("drain", Field{"id", id})
		}
	}
	if s.l.On(2) {
		h.OnData = func(c *netcore.EchoConn, p []byte) {
			id, _ := c.Value.(uint64)
			s.l.EmitData("data", Field{"id", id}, Field{"length", len(p)})
		}
	}
	return h
}

// blockedAddr checks a TCP client's address against the block list; a
// Unix socket client has none.
func blockedAddr(bl netcore.Blocker, a net.Addr) bool {
	ta, ok := a.(*net.TCPAddr)
	if !ok {
		return false
	}
	ip, ok := netip.AddrFromSlice(ta.IP)
	return ok && bl.CheckAddr(ip)
}

// serveServer serves lns with a netcore.Server: a goroutine and a Socket
// per connection, for what the reactor cannot do (--timeout, systems
// other than Linux, listeners it cannot take over).
func (s *echoServer) serveServer(so netcore.ServerOptions, lns []net.Listener) error {
	o, l := s.opts, s.l
	st := s.stats
	so.Hooks = netcore.ServerHooks{
		OnError: s.acceptError,
		OnDrop: func(d netcore.DropInfo) {
			if st != nil {
				st.Dropped.Add(1)
			}
			s.drop(d.Local, d.Remote)
		},
		OnBlocked: func(d netcore.DropInfo) {
			if st != nil {
				st.Dropped.Add(1)
			}
			s.blocked(d.Remote)
		},
	}
	if l.On(1) || st != nil {
		so.Hooks.OnConnection = func(sock *netcore.Socket) {
			if st != nil {
				st.Accepted.Add(1)
			}
			if l.On(1) {
				s.connection(sock.ID(), sock.RemoteAddr(), sock.LocalAddr())
			}
		}
	}
	var onTimeout func(*netcore.Socket)
	if o.Timeout > 0 {
		onTimeout = timeoutAction()
	}
	if l.On(1) || st != nil || onTimeout != nil {
		sh := &netcore.SocketHooks{}
		if l.On(1) || st != nil {
			sh.OnClose = func(sock *netcore.Socket, hadError bool) {
				if st != nil {
					st.Closed.Add(1)
				}
				if l.On(1) {
					s.closed(sock.ID(), hadError, sock.BytesRead(), sock.BytesWritten())
				}
			}
		}
		if l.On(1) {
			sh.OnError = func(sock *netcore.Socket, err error) {
				l.Emit("error", append([]Field{{"id", sock.ID()}}, errorFields(err)...)...)
			}
			sh.OnDrain = func(sock *netcore.Socket) { l.Emit("drain", Field{"id", sock.ID()}) }
		}
		if onTimeout != nil {
			sh.OnTimeout = func(sock *netcore.Socket) {
				l.Emit("timeout", Field{"id", sock.ID()})
				onTimeout(sock)
			}
		}
		if l.On(2) {
			sh.OnData = func(sock *netcore.Socket, p []byte) {
				l.EmitData("data", Field{"id", sock.ID()}, Field{"length", len(p)})
			}
		}
		so.SocketHooks = sh
	}
	so.Hooks.OnListening = s.listening
	eo := &netcore.EchoOptions{Greeting: o.Greeting, Stats: st}
	handler := func(sock *netcore.Socket) {
		if o.Timeout > 0 {
			sock.SetTimeout(o.Timeout)
		}
		netcore.EchoSocket(sock, eo) //nolint:errcheck // reported through the hooks
	}
	if s.tls != nil {
		handler = secureHandler(s.f, l, s.tls, handler)
	}
	srv := netcore.NewServer(so, handler)
	srv.SetMaxConnections(o.MaxConnections)
	s.close = func() { srv.Close() } //nolint:errcheck // it is serving
	s.destroy = srv.Destroy
	s.done = srv.Done()
	s.openNow = srv.Connections
	s.unlink = func() {} // closing the listener unlinks its socket file
	return srv.Serve(lns...)
}

// listening reports the bound address: the listening event, or the plain
// line unless -q; and the --ready-file.
func (s *echoServer) listening(a netcore.Addr) {
	if s.l.JSON() {
		s.l.Emit("listening", addrFields("", a)...)
	} else if !s.f.Quiet {
		fmt.Fprintf(s.opts.IO.ErrOut, "listening on %s\n", a)
	}
	s.f.Ready(a.String()) //nolint:errcheck // tests only; they time out without it
}

// connection reports an accepted client: the docs' "client connected",
// or the connection event with Node's fields.
func (s *echoServer) connection(id uint64, remote, local netcore.Addr) {
	if !s.l.JSON() {
		s.l.Line("client connected")
		return
	}
	fields := []Field{{"id", id}}
	if remote.Address == "" && local.Address == "" {
		path := local.Path
		if path == "" {
			path = remote.Path
		}
		fields = append(fields, Field{"path", path})
	} else {
		fields = append(fields, Field{"remoteAddress", remote.Address}, Field{"remotePort", remote.Port}, Field{"remoteFamily", remote.Family})
		fields = append(fields, Field{"localAddress", local.Address}, Field{"localPort", local.Port})
	}
	s.l.Emit("connection", fields...)
}

// closed reports a client's connection closed: the docs' "client
// disconnected", or the close event with its byte counts.
func (s *echoServer) closed(id uint64, hadError bool, read, written int64) {
	if !s.l.JSON() {
		s.l.Line("client disconnected")
		return
	}
	s.l.Emit("close", Field{"id", id}, Field{"hadError", hadError}, Field{"bytesRead", read}, Field{"bytesWritten", written})
}

// drop is Node's drop event: a client closed at once because
// --max-connections were open.
func (s *echoServer) drop(local, remote netcore.Addr) {
	if s.l.On(1) {
		s.l.Emit("drop", append(addrFields("local", local), addrFields("remote", remote)...)...)
	}
}

// blocked reports a client closed at once because of the block list.
func (s *echoServer) blocked(remote netcore.Addr) {
	if s.l.On(1) {
		s.l.Emit("blocked", addrFields("remote", remote)...)
	}
}

// acceptError reports an accept failure. Running out of descriptors or
// memory is reported once, however many loops meet it and however often:
// the server goes on serving and retries, with a growing pause.
func (s *echoServer) acceptError(err error) {
	limit := netcore.IsAcceptLimitError(err)
	if limit && !s.limit.CompareAndSwap(false, true) {
		return
	}
	switch {
	case s.l.On(1):
		s.l.Emit("error", errorFields(err)...)
	case s.f.Quiet:
	case limit:
		fmt.Fprintf(s.opts.IO.ErrOut, "nodenet: %v (still serving open connections, retrying)\n", err)
	default:
		fmt.Fprintf(s.opts.IO.ErrOut, "nodenet: %v\n", err)
	}
}

// staleRemoved is the notice that a stale socket file was replaced.
func (s *echoServer) staleRemoved(path string) {
	if !s.f.Quiet {
		fmt.Fprintf(s.opts.IO.ErrOut, "nodenet: removed stale socket %s (nobody accepted on it)\n", path)
	}
}

// raiseFileLimit raises the open-file limit to the hard limit, so that
// as many clients as the system allows can connect, and says so with -v.
func (s *echoServer) raiseFileLimit() {
	old, now, err := netcore.RaiseFileLimit()
	switch {
	case err != nil:
		if !s.f.Quiet {
			fmt.Fprintf(s.opts.IO.ErrOut, "nodenet: cannot raise the open-file limit: %v (it stays %d)\n", err, old)
		}
	case now == 0: // no such limit here
	case now > old:
		s.l.Line("open-file limit raised from " + strconv.FormatUint(old, 10) + " to " + strconv.FormatUint(now, 10))
	default:
		s.l.Line("open-file limit: " + strconv.FormatUint(now, 10) + " (the hard limit)")
	}
}

// printStats prints the --stats line: the totals, and the rates over the
// last interval, or over the whole run for the final line.
func (s *echoServer) printStats(final bool) {
	st := s.stats
	now := time.Now()
	accepted, dropped := st.Accepted.Load(), st.Dropped.Load()
	read, written := st.BytesRead.Load(), st.BytesWritten.Load()
	open := s.openNow()
	since := s.last
	if final {
		since.t, since.accepted, since.read, since.written = s.start, 0, 0, 0
	}
	s.last.t, s.last.accepted, s.last.read, s.last.written = now, accepted, read, written
	secs := now.Sub(since.t).Seconds()
	if s.l.JSON() {
		s.l.Emit("stats", Field{"final", final}, Field{"seconds", roundTo(secs, 3)}, Field{"open", open},
			Field{"accepted", accepted}, Field{"dropped", dropped}, Field{"bytesRead", read}, Field{"bytesWritten", written})
		return
	}
	rate := func(n int64) float64 {
		if secs <= 0 {
			return 0
		}
		return float64(n) / secs
	}
	prefix := "stats: "
	if final {
		prefix = "stats: final after " + strconv.FormatFloat(roundTo(secs, 1), 'f', -1, 64) + "s: "
	}
	fmt.Fprintf(s.opts.IO.ErrOut, "%sopen %d, accepted %d (%s/s), dropped %d, in %d B (%s), out %d B (%s)\n",
		prefix, open, accepted, strconv.FormatFloat(roundTo(rate(accepted-since.accepted), 1), 'f', -1, 64),
		dropped, read, byteRate(rate(read-since.read)), written, byteRate(rate(written-since.written)))
}

// byteRate formats bytes per second with a decimal unit: "640 B/s",
// "1.2 MB/s".
func byteRate(r float64) string {
	units := []string{"B/s", "kB/s", "MB/s", "GB/s", "TB/s"}
	i := 0
	for r >= 1000 && i < len(units)-1 {
		r /= 1000
		i++
	}
	if i == 0 {
		return strconv.FormatFloat(roundTo(r, 0), 'f', -1, 64) + " " + units[0]
	}
	return strconv.FormatFloat(roundTo(r, 1), 'f', 1, 64) + " " + units[i]
}

// roundTo rounds x to n decimal places.
func roundTo(x float64, n int) float64 {
	p := math.Pow10(n)
	return math.Round(x*p) / p
}
