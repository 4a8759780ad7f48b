package netcore

import (
	"context"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"
)

// DefaultScanConcurrency is how many ports Scan tries at once when
// ScanOptions.Concurrency is 0.
const DefaultScanConcurrency = 64

// ParsePorts reads a port list as nc -z takes it: ports and LOW-HIGH
// ranges separated by commas ("20-25,80,443"). The result is sorted, each
// port once. A port out of range, a reversed range or anything that is not
// a decimal number fails with Node's ERR_SOCKET_BAD_PORT, worded as Node
// words the value it was given: "Port should be >= 0 and < 65536.
// Received type number (70000)." or "... Received type string ('80-20').".
func ParsePorts(s string) ([]int, error) {
	var ports []int
	for item := range strings.SplitSeq(s, ",") {
		lo, hi, isRange := strings.Cut(item, "-")
		a, err := parsePort(lo, "Port")
		if err != nil {
			return nil, err
		}
		b := a
		if isRange {
			if b, err = parsePort(hi, "Port"); err != nil {
				return nil, err
			}
			if b < a {
				return nil, badPortError("Port", item)
			}
		}
		for p := a; p <= b; p++ {
			ports = append(ports, p)
		}
	}
	slices.Sort(ports)
	return slices.Compact(ports), nil
}

// IsPortList reports whether s is written as a port list rather than a
// single port: it has a comma or a range's dash, and nothing but digits,
// commas and dashes.
func IsPortList(s string) bool {
	return strings.Trim(s, "0123456789,-") == "" && strings.ContainsAny(s, ",-") && !strings.HasPrefix(s, "-")
}

// ScanOptions are what Scan tries. Host, Family, LocalAddress, Resolver
// and BlockList mean what they mean to Connect; Hooks' OnLookup reports
// the lookup.
type ScanOptions struct {
	ConnectOptions
	// Ports are the ports to try, in the order results are reported.
	Ports []int
	// Concurrency bounds the attempts in flight; 0 means
	// DefaultScanConcurrency.
	Concurrency int
	// AttemptTimeout bounds each attempt; 0 means ctx alone.
	AttemptTimeout time.Duration
	// OnAttempt, if set, is called as each attempt starts, from the
	// goroutine that makes it.
	OnAttempt func(Attempt)
	// OnResult, if set, is called once per port, in the order of Ports,
	// as soon as that port and every port before it are known. Calls are
	// never concurrent.
	OnResult func(ScanResult)
}

// ScanResult is the answer for one port.
type ScanResult struct {
	Attempt
	// Open is true when the port accepted a connection (which was then
	// closed at once, as nc -z does).
	Open bool
	// Err is why it did not, in Node's words ("connect ECONNREFUSED
	// 127.0.0.1:81").
	Err error
}

// Scan connects to each of opts.Ports on the host's first address (of
// opts.Family), a bounded number at a time, closes every connection that
// was accepted, and returns one result per port in the order of
// opts.Ports. It fails only when the host cannot be looked up or is
// blocked; a port that refuses is a result.
func Scan(ctx context.Context, opts ScanOptions) ([]ScanResult, error) {
	hooks := opts.Hooks
	if hooks == nil {
		hooks = &noHooks
	}
	for _, p := range opts.Ports {
		if p < 0 || p > 65535 {
			return nil, badPortError("Port", strconv.Itoa(p))
		}
	}
	local, host, err := localAndHost(opts.LocalAddress, opts.Host)
	if err != nil {
		return nil, err
	}
	addr, ok := parseIP(host)
	if !ok {
		found, err := lookup(ctx, opts.Resolver, host, opts.Family)
		if hooks.OnLookup != nil {
			if err != nil {
				hooks.OnLookup(LookupEvent{Err: err, Host: host})
			} else {
				hooks.OnLookup(LookupEvent{Address: found[0].String(), Family: familyOf(found[0]), Host: host})
			}
		}
		if err != nil {
			return nil, err
		}
		addr = found[0]
	}
	if opts.BlockList != nil && opts.BlockList.CheckAddr(addr) {
		e := codeError("ERR_IP_BLOCKED", "IP(%s) is blocked by net.BlockList", addr)
		e.Syscall, e.Address = "connect", addr.String()
		return nil, e
	}
	n := opts.Concurrency
	if n <= 0 {
		n = DefaultScanConcurrency
	}
	results := make([]ScanResult, len(opts.Ports))
	known := make([]bool, len(opts.Ports))
	var mu sync.Mutex
	next := 0 // the first result not yet reported
	report := func(i int, r ScanResult) {
		mu.Lock()
		defer mu.Unlock()
		results[i], known[i] = r, true
		for next < len(results) && known[next] {
			if opts.OnResult != nil {
				opts.OnResult(results[next])
			}
			next++
		}
	}
	sem := make(chan struct{}, n)
	var wg sync.WaitGroup
	for i, port := range opts.Ports {
		att := Attempt{Address: addr.String(), Port: port, Family: familyOf(addr)}
		select {
		case sem <- struct{}{}:
		case <-ctx.Done():
			report(i, ScanResult{Attempt: att, Err: dialError(ctx.Err(), att)})
			continue
		}
		wg.Add(1)
		go func() {
			defer func() { <-sem; wg.Done() }()
			if opts.OnAttempt != nil {
				opts.OnAttempt(att)
			}
			actx, cancel := ctx, context.CancelFunc(func() {})
			if opts.AttemptTimeout > 0 {
				actx, cancel = context.WithTimeout(ctx, opts.AttemptTimeout)
			}
			c, err := dialOne(actx, addr, port, local, opts.LocalPort)
			cancel()
			if err != nil {
				report(i, ScanResult{Attempt: att, Err: dialError(err, att)})
				return
			}
			c.Close()
			report(i, ScanResult{Attempt: att, Open: true})
		}()
	}
	wg.Wait()
	return results, nil
}
