package cmd

import (
	"context"
	"fmt"
	"math"
	"net"
	"os"
	"os/signal"
	"strconv"
	"syscall"
	"time"

	"github.com/nodenet/nodenet/netcore"
)

// What listen and echo share: the server's events rendered one way, and
// the run from listening to the last connection's end, through signals
// and the --stats line. Both commands build a netcore.Server from their
// flags and hand it here; every decision about connections is the
// Server's.

// serverEvents renders a server's events and its connections' events
// through the event log. With docs (echo), text mode logs a connection
// and its close as the Node docs' example does ("client connected",
// "client disconnected"), keeps the plain listening line and leaves out
// end and finish; JSON is the same
// for every command. listening also prints the plain "listening on
// ADDRESS" line when events are off, unless quiet, and writes the
// --ready-file.
func serverEvents(f *Factory, l *EventLog, docs bool) (netcore.ServerHooks, *netcore.SocketHooks) {
	h := netcore.ServerHooks{
		OnListening: func(a netcore.Addr) {
			if l.JSON() || (l.On(1) && !docs) {
				l.Emit("listening", addrFields("", a)...)
			} else if !f.Quiet {
				fmt.Fprintf(f.IO.ErrOut, "listening on %s\n", quotePath(a.String()))
			}
			f.Ready(a.String()) //nolint:errcheck // tests only; they time out without it
		},
		OnStaleRemoved: func(path string) {
			if !f.Quiet {
				fmt.Fprintf(f.IO.ErrOut, "nodenet: removed stale socket %s (nobody accepted on it)\n", quotePath(path))
			}
		},
		OnError: func(err error) {
			switch {
			case l.On(1):
				l.Emit("error", errorFields(err)...)
			case f.Quiet:
			case netcore.IsAcceptLimitError(err):
				fmt.Fprintf(f.IO.ErrOut, "nodenet: %v (still serving open connections, retrying)\n", err)
			default:
				fmt.Fprintf(f.IO.ErrOut, "nodenet: %v\n", err)
			}
		},
	}
	if !l.On(1) {
		return h, nil
	}
	sh := socketHooks(l, nil)
	sh.OnLookup, sh.OnConnectionAttempt, sh.OnConnectionAttemptFailed, sh.OnConnectionAttemptTimeout, sh.OnConnect = nil, nil, nil, nil, nil
	h.OnConnection = func(s *netcore.Socket) { l.Emit("connection", socketFields(s)...) }
	h.OnDrop = func(d netcore.DropInfo) {
		if d.Local.Address == "" {
			l.Emit("drop", addrFields("", d.Local)...) // IPC: the path alone
			return
		}
		l.Emit("drop", append(addrFields("local", d.Local), addrFields("remote", d.Remote)...)...)
	}
	h.OnBlocked = func(d netcore.DropInfo) { l.Emit("blocked", addrFields("remote", d.Remote)...) }
	h.OnClose = func() { l.Emit("close") }
	if docs && !l.JSON() {
		h.OnConnection = func(*netcore.Socket) { l.Line("client connected") }
		sh.OnClose = func(*netcore.Socket, bool) { l.Line("client disconnected") }
		sh.OnEnd, sh.OnFinish = nil, nil
		h.OnClose = nil
	}
	return h, sh
}

// workerEvents renders the worker processes' lives (--processes) as the
// worker event: {"worker":1,"pid":1234,"state":"started"}, and, when one
// exited, how: exitCode, or signalCode for the signal that killed it, as
// Node's cluster 'exit' and --exec's close event name them. Without -v a
// worker that died while the server was serving is still said, on a
// plain line: its connections were lost.
func workerEvents(f *Factory, l *EventLog) func(netcore.WorkerEvent) {
	return func(e netcore.WorkerEvent) {
		fields := []Field{{"worker", e.Worker}, {"pid", e.Pid}, {"state", e.State}}
		how := ""
		if e.State == netcore.WorkerExited {
			if e.Status.Signal != "" {
				fields = append(fields, Field{"signalCode", e.Status.Signal})
				how = "killed by " + e.Status.Signal
			} else {
				fields = append(fields, Field{"exitCode", e.Status.ExitCode})
				how = "exited with status " + strconv.Itoa(e.Status.ExitCode)
			}
		}
		switch {
		case l.On(1):
			l.Emit("worker", fields...)
		case e.State == netcore.WorkerExited && !e.Closing && !f.Quiet:
			fmt.Fprintf(f.IO.ErrOut, "nodenet: worker %d (pid %d) %s; its connections are lost; starting it again\n", e.Worker, e.Pid, how)
		}
	}
}

// serveOptions are what a running server command needs besides its
// Server.
type serveOptions struct {
	f     *Factory
	l     *EventLog
	stats time.Duration // the --stats period; 0 for none
	// signals, when not nil, stands in for SIGINT, SIGTERM and SIGHUP
	// (tests).
	signals <-chan os.Signal
	// worker, in a worker process (--processes), is what its master
	// hands it: serve serves it instead of listening, and leaves the
	// --stats line and the waiting notice to the master.
	worker net.Listener
	// processes: this process, unless it is a worker, is the master of
	// worker processes, which serve the connections (--processes).
	processes bool
}

// serve listens and serves until the server has closed: by itself (listen
// without -k closes after its one connection), or after a signal. The
// first SIGINT, SIGTERM or SIGHUP closes the server gracefully (Node's
// server.close(): stop accepting, let connections end) and says so; a
// second destroys the connections, and the exit status is the signal's.
func serve(ctx context.Context, srv *netcore.Server, lo netcore.ListenOptions, o serveOptions) error {
	if ctx == nil {
		ctx = context.Background()
	}
	sigs := o.signals
	if sigs == nil {
		c, stop := signals()
		defer stop()
		sigs = c
	}
	// A write to a closed stdout (listen ... | head) then fails with
	// EPIPE, which the relay reports, instead of Go's runtime killing the
	// process with SIGPIPE before it unlinks its socket file.
	pipe := make(chan os.Signal, 1)
	signal.Notify(pipe, syscall.SIGPIPE)
	defer signal.Stop(pipe)
	if o.worker != nil {
		o.stats = 0
		if err := srv.Serve(o.worker); err != nil {
			return err
		}
	} else if err := srv.Listen(ctx, lo); err != nil {
		if o.l.On(1) {
			o.l.Emit("error", errorFields(err)...)
		}
		return err
	}
	// -vv says which engine serves: the workers' each, not the
	// master's, which hands its connections on.
	switch {
	case !o.l.On(2):
	case o.worker != nil:
		o.l.Line("worker " + strconv.Itoa(os.Getpid()) + " serving on the " + string(srv.Engine()) + " engine")
	case !o.processes:
		o.l.Line("serving on the " + string(srv.Engine()) + " engine")
	}
	st := statsPrinter{f: o.f, l: o.l, srv: srv}
	st.start = srv.Stats()
	st.last = st.start
	var tick <-chan time.Time
	if o.stats > 0 {
		t := time.NewTicker(o.stats)
		defer t.Stop()
		tick = t.C
	}
	var first, second os.Signal
	for second == nil {
		select {
		case <-srv.Done():
			if o.stats > 0 {
				st.print(true)
			}
			return nil
		case sig := <-sigs:
			if first != nil {
				second = sig
				break
			}
			first = sig
			srv.Close() //nolint:errcheck // already closing is fine
			if n := srv.Connections(); n > 0 && !o.f.Quiet && !o.l.JSON() && o.worker == nil {
				fmt.Fprintf(o.f.IO.ErrOut, "nodenet: %s: not accepting any more; waiting for %d open connection(s) to end (a second %s closes them)\n",
					signalName(sig), n, signalName(sig))
			}
		case <-tick:
			st.print(false)
		}
	}
	srv.Destroy()
	<-srv.Done()
	if o.stats > 0 {
		st.print(true)
	}
	return exitSignal(second)
}

// statsPrinter prints the --stats line from the server's counters.
type statsPrinter struct {
	f           *Factory
	l           *EventLog
	srv         *netcore.Server
	start, last netcore.StatsSample
}

// print prints the totals and the rates over the last interval, or over
// the whole run for the final line.
func (p *statsPrinter) print(final bool) {
	now := p.srv.Stats()
	since := p.last
	if final {
		since = p.start
	}
	p.last = now
	r := now.Since(since)
	if p.l.JSON() {
		p.l.Emit("stats", Field{"final", final}, Field{"seconds", roundTo(r.Seconds, 3)}, Field{"open", now.Open},
			Field{"accepted", now.Accepted}, Field{"dropped", now.Dropped}, Field{"bytesRead", now.BytesRead}, Field{"bytesWritten", now.BytesWritten})
		return
	}
	prefix := "stats: "
	if final {
		prefix = "stats: final after " + strconv.FormatFloat(roundTo(r.Seconds, 1), 'f', -1, 64) + "s: "
	}
	fmt.Fprintf(p.f.IO.ErrOut, "%sopen %d, accepted %d (%s/s), dropped %d, in %d B (%s), out %d B (%s)\n",
		prefix, now.Open, now.Accepted, strconv.FormatFloat(roundTo(r.Accepted, 1), 'f', -1, 64),
		now.Dropped, now.BytesRead, byteRate(r.BytesRead), now.BytesWritten, byteRate(r.BytesWritten))
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

// quotePath shows a path or address for a plain line: as it is, unless
// it holds a control character (a newline, a NUL), which is escaped as Go
// quotes it, so that one line stays one line.
func quotePath(s string) string {
	for i := 0; i < len(s); i++ {
		if c := s[i]; c < ' ' || c == 0x7f {
			return strconv.Quote(s)
		}
	}
	return s
}

// raiseFileLimit raises the open-file limit to the hard limit, so that a
// server takes as many clients as the system allows; -vv says so.
func raiseFileLimit(f *Factory, l *EventLog) {
	old, now, err := netcore.RaiseFileLimit()
	switch {
	case err != nil:
		if !f.Quiet {
			fmt.Fprintf(f.IO.ErrOut, "nodenet: cannot raise the open-file limit: %v (it stays %d)\n", err, old)
		}
	case now == 0 || !l.On(2) || l.JSON(): // no such limit here, or not asked
	case now > old:
		l.Line("open-file limit raised from " + strconv.FormatUint(old, 10) + " to " + strconv.FormatUint(now, 10))
	default:
		l.Line("open-file limit: " + strconv.FormatUint(now, 10) + " (the hard limit)")
	}
}

// signalName names a signal as a shell user knows it.
func signalName(sig os.Signal) string {
	if s, ok := sig.(interface{ String() string }); ok {
		switch s.String() {
		case "interrupt":
			return "SIGINT"
		case "terminated":
			return "SIGTERM"
		case "hangup":
			return "SIGHUP"
		}
	}
	return fmt.Sprint(sig)
}
