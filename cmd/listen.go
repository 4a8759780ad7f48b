package cmd

import (
	"context"
	"errors"
	"net"
	"sync"
	"time"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/nodenet/nodenet/netcore"
)

// ServerFlags are the server options that listen and echo share: Node's
// createServer and server.listen options.
type ServerFlags struct {
	Host string
	Port int
	Path string // -U
	FD   string // --fd N or --fd systemd

	Backlog        int
	Exclusive      bool
	IPv6Only       bool
	ReusePort      bool
	MaxConnections int // < 0: no limit
	AllowHalfOpen  bool
	KeepAlive      keepAliveFlag
	NoDelay        bool
	Timeout        time.Duration
	BlockRules     []string
	BlockListFile  string
	ReadableAll    bool
	WritableAll    bool
	TLS            TLSFlags
}

// addServerFlags registers the shared server flags on fl.
func addServerFlags(fl *pflag.FlagSet, o *ServerFlags) {
	fl.StringVarP(&o.Path, "unix", "U", "", "listen on a Unix socket `PATH` (@name: abstract; \\\\.\\pipe\\NAME: named pipe)")
	fl.StringVar(&o.FD, "fd", "", "serve the listening socket inherited as fd `N`, or systemd's first (--fd systemd)")
	fl.IntVar(&o.Backlog, "backlog", netcore.DefaultBacklog, "listen queue length `N`")
	fl.BoolVar(&o.Exclusive, "exclusive", false, "never share the port (conflicts with --reuse-port)")
	fl.BoolVar(&o.IPv6Only, "ipv6-only", false, "an IPv6 listener refuses IPv4 clients")
	fl.BoolVar(&o.ReusePort, "reuse-port", false, "share the port with other listeners (SO_REUSEPORT)")
	fl.IntVar(&o.MaxConnections, "max-connections", -1, "close connections beyond `N` at once, with a drop event (0: all; -1: no limit)")
	fl.BoolVar(&o.AllowHalfOpen, "allow-half-open", false, "after a client ends, keep sending to it (default: true unless stdin is a terminal)")
	fl.Var(&o.KeepAlive, "keep-alive", "TCP keep-alive, probing after DUR idle (default: the system's)")
	fl.Lookup("keep-alive").NoOptDefVal = "true"
	fl.BoolVar(&o.NoDelay, "no-delay", false, "turn Nagle's algorithm off (TCP_NODELAY)")
	fl.DurationVar(&o.Timeout, "timeout", 0, "after `DUR` idle: the timeout event, then end the connection")
	fl.StringArrayVar(&o.BlockRules, "block", nil, "close connections from `RULE` (address, A-B, NET/PREFIX or a Node rule); repeatable")
	fl.StringVar(&o.BlockListFile, "blocklist", "", "close connections from the addresses of rule `FILE`")
	fl.BoolVar(&o.ReadableAll, "readable-all", false, "IPC: make the socket file readable by all users")
	fl.BoolVar(&o.WritableAll, "writable-all", false, "IPC: make the socket file writable by all users")
	addTLSFlags(fl, &o.TLS, true)
}

// parse fills the endpoint from the arguments and checks the flags.
func (o *ServerFlags) parse(args []string) error {
	switch {
	case o.Path != "" && o.FD != "":
		return usageErrorf("-U PATH and --fd cannot be used together")
	case o.Path != "" || o.FD != "":
		if len(args) > 0 {
			return usageErrorf("-U PATH and --fd take no PORT or HOST argument")
		}
	default:
		host, port, _, err := netcore.ParseListenEndpointArgs(args)
		if err != nil {
			return err
		}
		o.Host, o.Port = host, port
		if o.ReadableAll || o.WritableAll {
			return usageErrorf("--readable-all and --writable-all apply to -U PATH only")
		}
	}
	if o.Backlog < 0 {
		return usageErrorf("--backlog %d: want 0 or more", o.Backlog)
	}
	if o.FD != "" && (o.ReadableAll || o.WritableAll) {
		return usageErrorf("--readable-all and --writable-all apply to -U PATH only")
	}
	if o.Exclusive && o.ReusePort {
		return usageErrorf("--exclusive and --reuse-port cannot be used together")
	}
	if o.Timeout < 0 {
		return usageErrorf("--timeout %v: a duration cannot be negative", o.Timeout)
	}
	return nil
}

// serverOptions turns the flags into netcore's options.
func (o *ServerFlags) serverOptions() (netcore.ServerOptions, error) {
	so := netcore.ServerOptions{
		AllowHalfOpen:         o.AllowHalfOpen,
		NoDelay:               o.NoDelay,
		KeepAlive:             o.KeepAlive.On,
		KeepAliveInitialDelay: o.KeepAlive.Delay,
		Timeout:               o.Timeout,
	}
	bl, err := loadBlockList(o.BlockRules, o.BlockListFile)
	if err != nil {
		return so, err
	}
	if bl != nil {
		so.BlockList = bl
	}
	return so, nil
}

// listenOptions turns the flags into netcore's listen options; --fd
// takes over the inherited socket here.
// listenAs is listenOptions for this process's part: nothing to listen
// on in a worker (wl, its master's hand-offs, is what it serves), one
// accept loop in the master of --processes, and workers accept loops
// otherwise.
func (o *ServerFlags) listenAs(wl net.Listener, processes bool, workers int) (netcore.ListenOptions, error) {
	if wl != nil {
		return netcore.ListenOptions{}, nil
	}
	lo, err := o.listenOptions()
	if err != nil {
		return lo, err
	}
	lo.Workers = workers
	if processes {
		lo.Workers = 1 // one accept loop in the master
	}
	return lo, nil
}

func (o *ServerFlags) listenOptions() (netcore.ListenOptions, error) {
	var ln net.Listener
	if o.FD != "" {
		var err error
		if ln, err = netcore.InheritedListener(o.FD); err != nil {
			return netcore.ListenOptions{}, err
		}
	}
	return netcore.ListenOptions{
		Listener:    ln,
		Host:        o.Host,
		Port:        o.Port,
		Path:        o.Path,
		Backlog:     o.Backlog,
		Exclusive:   o.Exclusive,
		IPv6Only:    o.IPv6Only,
		ReusePort:   o.ReusePort,
		ReadableAll: o.ReadableAll,
		WritableAll: o.WritableAll,
	}, nil
}

// ListenOptions are what `nodenet listen` was asked to do.
type ListenOptions struct {
	IO     *IOStreams
	Events *EventLog
	// Factory gives the listening line and the ready file.
	Factory *Factory

	ServerFlags
	StreamFlags
	KeepOpen   bool
	NoShutdown bool
	ExecFlags
	Broker bool // --broker: every client's data to every other client
	Chat   bool // --chat: --broker with ncat's user names
	// Workers is the number of accept loops (--workers), or of worker
	// processes with Processes (-k --exec only).
	Workers   int
	Processes bool
}

// NewCmdListen builds `nodenet listen`.
func NewCmdListen(f *Factory, runF func(*ListenOptions) error) *cobra.Command {
	opts := &ListenOptions{}
	cmd := &cobra.Command{
		Use:   "listen [PORT [HOST]] | HOST PORT | HOST:PORT | -U PATH",
		Short: "Accept a connection and relay stdin and stdout (nc -l)",
		Long: `Listen, accept a connection, and relay it to stdin and stdout exactly as
connect does, with the same half-close rules; exit when it is over. With
no PORT the system picks one; the bound address is printed on stderr
("listening on [::]:41234"). HOST defaults to "::" (IPv4 and IPv6), or
0.0.0.0 where IPv6 is unavailable, as in Node's server.listen.

-k keeps accepting: what every client sends goes to stdout, and stdin goes
to every client. -e CMD (or --sh-exec CMD, run by sh -c) runs CMD for each
connection with its stdin and stdout on the socket instead, one child per
connection; without -k, listen exits with the child's status. --broker
relays each client's data to every other client (and stdin to all);
--chat is --broker with ncat's <userN> names and notices. With -k and an
--exec command, --processes runs the commands from --workers worker
processes (default: one per CPU) that this process hands the connections
to, round-robin, as echo --processes does. The first SIGINT stops
accepting and lets connections end; a second one closes them at once.

Over -U PATH, descriptors a client sends (connect --send-fd, SCM_RIGHTS) are
closed: with -v, each is an fd event first. With --pass-fds, the --exec command starts
at the client's first bytes and gets the descriptors that came with them as
fds 3, 4, ..., with LISTEN_FDS and LISTEN_PID as systemd sets them. Later
ones cannot join a running command: they are closed, and said so.`,
		Example: `  # Receive a file
  nodenet listen 9000 > file < /dev/null

  # The server end of the Node docs' example, by hand
  nodenet listen 8124

  # A chat hub: every client sees what you type
  nodenet listen -k 9000

  # A command per connection, its stdin and stdout on the socket
  nodenet listen -k 9000 --sh-exec 'echo "hello $NODENET_REMOTE_ADDRESS"; cat'

  # A chat room for nc, ncat and telnet clients (ncat --chat)
  nodenet listen --chat 9000`,
		Args: cobra.MaximumNArgs(2),
		RunE: func(cmd *cobra.Command, args []string) error {
			opts.IO, opts.Events, opts.Factory = f.IO, f.EventLog(), f
			if err := emptyFlags(cmd, "unix", "fd"); err != nil {
				return err
			}
			if err := opts.ServerFlags.parse(args); err != nil {
				return err
			}
			if err := opts.TLS.check(cmd); err != nil {
				return err
			}
			if err := opts.ExecFlags.parse(cmd.Flags().Changed); err != nil {
				return err
			}
			if opts.Chat {
				opts.Broker = true
			}
			if opts.Broker && opts.ExecFlags.On() {
				return usageErrorf("--broker and --chat cannot be used with --exec or --sh-exec: a command answers one client, the broker relays between clients")
			}
			if opts.Broker {
				opts.KeepOpen = true // as ncat --broker
			}
			if err := opts.passFDsArgs(); err != nil {
				return err
			}
			if err := opts.StreamFlags.check(); err != nil {
				return err
			}
			if opts.StreamFlags.on() && (opts.ExecFlags.On() || opts.Broker) {
				return usageErrorf("--crlf, --hex, --send-only, --recv-only and --progress apply to the relay, not to --exec, --sh-exec, --broker or --chat")
			}
			if opts.Workers < 1 {
				return usageErrorf("--workers %d: want 1 or more", opts.Workers)
			}
			if opts.Processes && (!opts.KeepOpen || !opts.ExecFlags.On() || opts.Broker) {
				return usageErrorf("--processes applies to -k with --exec or --sh-exec: each worker process runs the command for the connections it is handed")
			}
			if err := checkProcesses(cmd, opts.Processes, &opts.Workers, &opts.ServerFlags); err != nil {
				return err
			}
			if !cmd.Flags().Changed("allow-half-open") {
				// A child or the broker ends each connection itself, once
				// what is owed to it is sent.
				opts.AllowHalfOpen = !f.IO.StdinIsTTY() || opts.ExecFlags.On() || opts.Broker
			}
			if runF != nil {
				return runF(opts)
			}
			return listenRun(cmd.Context(), opts)
		},
	}
	addServerFlags(cmd.Flags(), &opts.ServerFlags)
	cmd.Flags().BoolVarP(&opts.KeepOpen, "keep-open", "k", false, "keep accepting: all clients to stdout, stdin to all clients")
	cmd.Flags().BoolVar(&opts.NoShutdown, "no-shutdown", false, "never half-close on stdin's end; end when the client ends")
	addExecFlags(cmd.Flags(), &opts.ExecFlags)
	cmd.Flags().BoolVar(&opts.PassFDs, "pass-fds", false, "-U with --exec: start the command at the client's first bytes, with the descriptors sent along as its fds 3, 4, ... (LISTEN_FDS)")
	cmd.Flags().BoolVar(&opts.Broker, "broker", false, "relay every client's data to every other client (ncat --broker; implies -k)")
	cmd.Flags().BoolVar(&opts.Chat, "chat", false, "--broker with <userN> names and join and leave notices (ncat --chat)")
	addStreamFlags(cmd.Flags(), &opts.StreamFlags)
	cmd.Flags().IntVar(&opts.Workers, "workers", 1, "run `N` accept loops; with --processes, N worker processes (default: one per CPU)")
	addProcessesFlag(cmd.Flags(), &opts.Processes)
	return cmd
}

// listenRun listens and relays until the connection (or, with -k, the
// server) is over.
func listenRun(ctx context.Context, opts *ListenOptions) (err error) {
	so, err := opts.serverOptions()
	if err != nil {
		return err
	}
	ss, err := opts.StreamFlags.open(opts.IO, opts.IO.In, false)
	if err != nil {
		return err
	}
	defer func() {
		if cerr := ss.close(); err == nil {
			err = cerr
		}
	}()
	so.Hooks, so.SocketHooks = serverEvents(opts.Factory, opts.Events, false)
	wl, err := processRole(opts.Factory, opts.Events, opts.Processes, opts.Workers, &so)
	if err != nil {
		return err
	}
	if err := opts.withTLS(opts.Factory, opts.Events, &so); err != nil {
		return err
	}
	var ex *netcore.Exec
	if opts.ExecFlags.On() {
		if ex, err = opts.ExecFlags.newExec(opts.IO, opts.Events, so.SocketHooks); err != nil {
			return err
		}
	}
	// Descriptors are seen only where they are asked for: as fd events,
	// or for a --pass-fds command. Otherwise the stream is spliced, and
	// the kernel closes the descriptors it carried, as it does for nc's
	// read(2): receiving them costs a copy of every byte (a Unix upload
	// went from 9.3 to 3.3 GB/s).
	if (opts.Path != "" || opts.FD != "") && (opts.Events.On(1) || opts.PassFDs) {
		so.SocketHooks = fdHooks(opts.Factory, opts.Events, so.SocketHooks, ex)
	}
	var srv *netcore.Server
	var handlers sync.WaitGroup // the exec handlers that started
	result := make(chan error, 1)
	switch {
	case ex != nil:
		srv = netcore.NewServer(so, func(s *netcore.Socket) {
			handlers.Add(1)
			defer handlers.Done()
			if !opts.KeepOpen {
				srv.Close() //nolint:errcheck // it was listening
			}
			st, err := ex.Serve(s)
			if errors.Is(err, net.ErrClosed) {
				err = nil // destroyed by a signal or by --timeout, as asked
			}
			if !opts.KeepOpen {
				result <- execExit(st, err)
			}
		})
	case opts.Broker:
		b := newBroker(opts.Chat, opts.Events)
		go b.ReadFrom(opts.IO.In) //nolint:errcheck // stdin's end or failure ends only its part
		srv = netcore.NewServer(so, b.Serve)
	case opts.KeepOpen:
		hub := netcore.NewHub(ss.out, opts.NoShutdown)
		go hub.Broadcast(ss.inOrEmpty())
		srv = netcore.NewServer(so, func(s *netcore.Socket) {
			ss.connected(s)
			hub.Serve(s)
		})
	default:
		srv = netcore.NewServer(so, func(s *netcore.Socket) {
			// The first connection is the one: stop accepting, and relay it.
			srv.Close() //nolint:errcheck // it was listening
			ss.connected(s)
			err := netcore.Relay(s, ss.in, ss.out, netcore.RelayOptions{NoShutdown: opts.NoShutdown})
			if errors.Is(err, net.ErrClosed) {
				err = nil // destroyed by a signal or by --timeout, as asked
			}
			result <- outputClosed(err)
		})
	}
	if opts.KeepOpen {
		srv.SetMaxConnections(opts.MaxConnections)
	} else {
		srv.SetMaxConnections(1)
	}
	lo, err := opts.listenAs(wl, opts.Processes, opts.Workers)
	if err != nil {
		return err
	}
	serr := serve(ctx, srv, lo, serveOptions{f: opts.Factory, l: opts.Events, worker: wl, processes: opts.Processes})
	if ex != nil {
		if serr != nil {
			ex.Kill() // a second signal: no more waiting
		}
		handlers.Wait() // the child's status, once it is reaped
		ex.Wait()
	}
	if serr != nil {
		return serr
	}
	select {
	case err := <-result:
		return err
	default:
		return nil
	}
}
