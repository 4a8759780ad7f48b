package cmd

import (
	"context"
	"os"
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
	// Workers is the number of accept loops (--workers), or of worker
	// processes with Processes.
	Workers int
	// Processes serves in worker processes (--processes).
	Processes bool
	// Engine is --engine: auto, epoll, uring or goroutines.
	Engine netcore.Engine
	// Stats is how often the --stats line is printed; 0 for never.
	Stats time.Duration

	// signals, when not nil, stands in for SIGINT, SIGTERM and SIGHUP
	// (tests).
	signals <-chan os.Signal
}

// minStatsInterval is the shortest --stats interval: anything shorter is
// a flood, not a status line.
const minStatsInterval = 10 * time.Millisecond

// NewCmdEcho builds `nodenet echo`.
func NewCmdEcho(f *Factory, runF func(*EchoOptions) error) *cobra.Command {
	opts := &EchoOptions{}
	var greeting, engine string
	cmd := &cobra.Command{
		Use:   "echo [PORT [HOST]] | HOST PORT | HOST:PORT | -U PATH | --fd N",
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
again: at most one read is held per client. On Linux the connections are
served from io_uring loops, which batch the system calls of many clients
into one per turn, or from epoll loops where the kernel offers no
io_uring (--engine epoll asks for them; -vv says which engine serves): a
connection costs a descriptor and a few dozen bytes, unless --timeout
needs a socket of its own per connection.
--workers N runs N accept loops on the one listening socket; one, the
default, serves best where clients share the machine's cores (as in a
benchmark on the same host); more pay when the server has cores to
itself. With --reuse-port each loop binds a socket of its own
(SO_REUSEPORT).

--processes serves in --workers worker processes (default: one per CPU),
as Node's cluster does: this process listens, applies --max-connections
and the block list for all of them, and hands each connection to the next
worker, round-robin; each worker serves them on the engine --engine names
(-vv: a line per worker). A worker that crashes loses only its own
connections and is started again (the worker event; without -v a line says
so). It costs a hand-off per connection: accept loops in one process take
more connections per second, workers isolate crashes. --allow-half-open
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
			if err := emptyFlags(cmd, "unix", "fd"); err != nil {
				return err
			}
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
			opts.Engine = netcore.Engine(engine)
			switch {
			case opts.Workers < 1:
				return usageErrorf("--workers %d: want 1 or more", opts.Workers)
			case engine != "" && engine != string(netcore.EngineEpoll) && engine != string(netcore.EngineUring) && engine != string(netcore.EngineGoroutines):
				return usageErrorf("--engine %q: want epoll, uring or goroutines (default: uring, else epoll, where they can serve)", engine)
			case opts.Stats < 0:
				return usageErrorf("--stats %v: a duration cannot be negative", opts.Stats)
			case opts.Stats > 0 && opts.Stats < minStatsInterval:
				return usageErrorf("--stats %v: want %v or more", opts.Stats, minStatsInterval)
			}
			if err := checkProcesses(cmd, opts.Processes, &opts.Workers, &opts.ServerFlags); err != nil {
				return err
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
	fl.IntVar(&opts.Workers, "workers", 1, "run `N` accept loops on the port (more pay when clients are not on this machine's cores)")
	fl.StringVar(&engine, "engine", "", "serve with `ENGINE`: uring (Linux io_uring, else epoll), epoll (Linux) or goroutines (default: uring, else epoll, where they can serve)")
	fl.DurationVar(&opts.Stats, "stats", 0, "print connections, bytes and rates on stderr every `DUR` (--stats: 1s), and at exit")
	fl.Lookup("stats").NoOptDefVal = "1s"
	addProcessesFlag(fl, &opts.Processes)
	return cmd
}

// escapedFlag is a string flag written with --send's escapes; its
// default is shown as typed, not quoted again.
type escapedFlag string

func (e *escapedFlag) String() string     { return string(*e) }
func (e *escapedFlag) Set(s string) error { *e = escapedFlag(s); return nil }
func (e *escapedFlag) Type() string       { return "STR" }

// echoRun serves the echo server until it is closed.
func echoRun(ctx context.Context, opts *EchoOptions) error {
	raiseFileLimit(opts.Factory, opts.Events)
	so, err := opts.serverOptions()
	if err != nil {
		return err
	}
	so.Engine = opts.Engine
	so.Hooks, so.SocketHooks = serverEvents(opts.Factory, opts.Events, true)
	wl, err := processRole(opts.Factory, opts.Events, opts.Processes, opts.Workers, &so)
	if err != nil {
		return err
	}
	if err := opts.withTLS(opts.Factory, opts.Events, &so); err != nil {
		return err
	}
	srv := netcore.NewEchoServer(so, netcore.EchoOptions{Greeting: opts.Greeting})
	srv.SetMaxConnections(opts.MaxConnections)
	lo, err := opts.listenAs(wl, opts.Processes, opts.Workers)
	if err != nil {
		return err
	}
	return serve(ctx, srv, lo, serveOptions{f: opts.Factory, l: opts.Events, stats: opts.Stats, signals: opts.signals, worker: wl, processes: opts.Processes})
}
