package cmd

import (
	"context"
	"errors"
	"fmt"
	"net"
	"strconv"
	"time"

	"github.com/nodenet/nodenet/netcore"
)

// scanAttemptTimeout bounds each port of a list scan when
// --connect-timeout is not given, so that a host that drops packets
// does not hold a scan for the system's connect timeout per port.
const scanAttemptTimeout = 5 * time.Second

// portListArgs reads `-z LIST [HOST]` and nc's `-z HOST LIST`. It reports
// ok false when the arguments hold no port list (a single port keeps
// its meaning).
func portListArgs(zero bool, args []string) (ports []int, host string, ok bool, err error) {
	if !zero || len(args) == 0 {
		return nil, "", false, nil
	}
	list, rest := args[0], args[1:]
	if len(args) == 2 && !netcore.IsPortList(args[0]) && netcore.IsPortList(args[1]) {
		list, rest = args[1], args[:1]
	}
	if !netcore.IsPortList(list) {
		return nil, "", false, nil
	}
	ports, err = netcore.ParsePorts(list)
	if err != nil {
		return nil, "", true, err
	}
	if len(rest) == 1 {
		host = rest[0]
	}
	return ports, host, true, nil
}

// scanRun is `connect -z LIST HOST`: one line per port that accepted,
// in ascending order ("127.0.0.1:22 open"), as the answers come in;
// each attempt is an event. It exits 0 if any port accepted, 1 (silently,
// as nc -z) if none did.
func scanRun(ctx context.Context, opts *ConnectOptions, copts netcore.ConnectOptions) error {
	l := opts.Events
	so := netcore.ScanOptions{ConnectOptions: copts, Ports: opts.Ports, AttemptTimeout: opts.ConnectTimeout}
	if so.AttemptTimeout == 0 {
		so.AttemptTimeout = scanAttemptTimeout
	}
	if l.On(1) {
		so.OnAttempt = func(a netcore.Attempt) {
			l.Emit("connectionAttempt", Field{"address", a.Address}, Field{"port", a.Port}, Field{"family", a.Family})
		}
	}
	open := 0
	var werr error
	so.OnResult = func(r netcore.ScanResult) {
		if !r.Open {
			if l.On(1) {
				l.Emit("connectionAttemptFailed", Field{"address", r.Address}, Field{"port", r.Port}, Field{"family", r.Family},
					Field{"code", errorCode(r.Err)}, Field{"error", r.Err.Error()})
			}
			return
		}
		open++
		if l.On(1) {
			l.Emit("connect", Field{"address", r.Address}, Field{"port", r.Port}, Field{"family", r.Family})
		}
		if _, err := fmt.Fprintf(opts.IO.Out, "%s open\n", net.JoinHostPort(r.Address, strconv.Itoa(r.Port))); err != nil && werr == nil {
			werr = err
		}
	}
	sigs, stopSignals := signals()
	defer stopSignals()
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var sig error
	go func() {
		select {
		case s := <-sigs:
			sig = exitSignal(s)
			cancel()
		case <-ctx.Done():
		}
	}()
	_, err := netcore.Scan(ctx, so)
	cancel()
	switch {
	case sig != nil:
		return sig
	case err != nil:
		if l.On(1) {
			l.Emit("error", errorFields(err)...)
		}
		return err
	case werr != nil:
		return werr
	case open == 0:
		return &ExitError{Code: exitFailure}
	}
	return nil
}

// errorCode is Node's err.code of err, or "" when it has none.
func errorCode(err error) string {
	var ne *netcore.Error
	if errors.As(err, &ne) {
		return ne.Code
	}
	return ""
}
