package netcore

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"os"
	"path/filepath"
	"runtime"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// echoTestTimeout bounds every wait in these tests: a hang fails the test
// instead of stalling the run.
const echoTestTimeout = 10 * time.Second

// echoListen listens on a fresh loopback port, or a fresh Unix socket in a
// temporary directory.
func echoListen(t testing.TB, network string) net.Listener {
	t.Helper()
	var ln net.Listener
	var err error
	switch network {
	case "tcp":
		ln, err = net.Listen("tcp", "127.0.0.1:0")
	case "unix":
		if runtime.GOOS == "windows" {
			t.Skip("no Unix domain sockets in these tests on Windows")
		}
		dir, derr := os.MkdirTemp("", "nn")
		if derr != nil {
			t.Fatal(derr)
		}
		t.Cleanup(func() { os.RemoveAll(dir) })
		ln, err = net.Listen("unix", filepath.Join(dir, "s"))
	default:
		t.Fatalf("bad network %q", network)
	}
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	return ln
}

// echoPlainConn hides a connection's raw descriptor and CloseWrite, so that
// Echo takes its portable Read/Write path.
type echoPlainConn struct{ net.Conn }

// echoResult is what a served connection's Echo returned.
type echoResult struct {
	read, written int64
	err           error
}

// echoServeOnce accepts one connection and serves it with Echo, closing it
// afterwards (Node's allowHalfOpen false); wrap may replace the connection.
func echoServeOnce(t testing.TB, ln net.Listener, opts *EchoOptions, wrap func(net.Conn) net.Conn) <-chan echoResult {
	t.Helper()
	out := make(chan echoResult, 1)
	go func() {
		c, err := ln.Accept()
		if err != nil {
			out <- echoResult{err: err}
			return
		}
		defer c.Close()
		c.SetDeadline(time.Now().Add(echoTestTimeout))
		if wrap != nil {
			c = wrap(c)
		}
		r, w, err := Echo(c, opts)
		out <- echoResult{r, w, err}
	}()
	return out
}

// echoDial connects to ln with a deadline on every operation.
func echoDial(t testing.TB, ln net.Listener) net.Conn {
	t.Helper()
	c, err := net.DialTimeout(ln.Addr().Network(), ln.Addr().String(), echoTestTimeout)
	if err != nil {
		t.Fatal(err)
	}
	c.SetDeadline(time.Now().Add(echoTestTimeout))
	t.Cleanup(func() { c.Close() })
	return c
}

// echoRoundTrip sends payload on c, half-closes, and returns all that comes
// back until the server ends.
func echoRoundTrip(t testing.TB, c net.Conn, payload []byte) []byte {
	t.Helper()
	werr := make(chan error, 1)
	go func() {
		_, err := c.Write(payload)
		if err == nil {
			err = c.(interface{ CloseWrite() error }).CloseWrite()
		}
		werr <- err
	}()
	got, err := io.ReadAll(c)
	if err != nil {
		t.Fatalf("reading the echo: %v", err)
	}
	if err := <-werr; err != nil {
		t.Fatalf("writing: %v", err)
	}
	return got
}

// echoFill writes chunk to c, again and again, until a write cannot finish
// within 300 ms: every buffer on the way is full, so the server is waiting
// in a write and reads nothing more. It returns the number of bytes
// written, and keeps them in keep when keep is not nil. It fails the test
// when 1 GiB went in without anyone reading the echo.
func echoFill(t testing.TB, c net.Conn, chunk []byte, keep *bytes.Buffer) int64 {
	t.Helper()
	var sent int64
	for {
		c.SetWriteDeadline(time.Now().Add(300 * time.Millisecond))
		n, err := c.Write(chunk)
		sent += int64(n)
		if keep != nil {
			keep.Write(chunk[:n])
		}
		if errors.Is(err, os.ErrDeadlineExceeded) {
			c.SetWriteDeadline(time.Now().Add(echoTestTimeout))
			return sent
		}
		if err != nil {
			t.Fatal(err)
		}
		if sent > 1<<30 {
			t.Fatal("the server took 1 GiB without anyone reading its echo")
		}
	}
}

// echoEndAndRead half-closes c, reads until the server ends, and fails
// the test unless what came back is want.
func echoEndAndRead(t testing.TB, c net.Conn, want []byte) {
	t.Helper()
	c.(interface{ CloseWrite() error }).CloseWrite()
	got, err := io.ReadAll(c)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, want) {
		t.Fatalf("echoed %d bytes, want the %d sent", len(got), len(want))
	}
}

func echoRandom(n int) []byte {
	b := make([]byte, n)
	r := rand.New(rand.NewPCG(uint64(n), 7))
	for i := range b {
		b[i] = byte(r.Uint32())
	}
	return b
}

func TestEcho(t *testing.T) {
	sizes := []int{0, 1, 64, smallBufSize, 3*largeBufSize + 17}
	tests := []struct {
		name     string
		network  string
		greeting string
		wrap     func(net.Conn) net.Conn
	}{
		{name: "tcp", network: "tcp", greeting: DefaultGreeting},
		{name: "tcp no greeting", network: "tcp"},
		{name: "unix", network: "unix", greeting: DefaultGreeting},
		{name: "plain", network: "tcp", greeting: DefaultGreeting, wrap: func(c net.Conn) net.Conn { return echoPlainConn{c} }},
	}
	for _, tt := range tests {
		for _, size := range sizes {
			t.Run(fmt.Sprintf("%s/%d", tt.name, size), func(t *testing.T) {
				ln := echoListen(t, tt.network)
				stats := new(serverStats)
				var seen atomic.Int64
				opts := &EchoOptions{
					Greeting: []byte(tt.greeting),
					stats:    stats,
					OnData:   func(p []byte) { seen.Add(int64(len(p))) },
				}
				res := echoServeOnce(t, ln, opts, tt.wrap)
				payload := echoRandom(size)
				got := echoRoundTrip(t, echoDial(t, ln), payload)
				want := append([]byte(tt.greeting), payload...)
				if !bytes.Equal(got, want) {
					t.Fatalf("size %d: got %d bytes back, want %d, byte-exact", size, len(got), len(want))
				}
				r := <-res
				if r.err != nil {
					t.Fatalf("Echo: %v", r.err)
				}
				if r.read != int64(size) || r.written != int64(len(want)) {
					t.Errorf("Echo counted read %d, written %d; want %d, %d", r.read, r.written, size, len(want))
				}
				if stats.BytesRead.Load() != r.read || stats.BytesWritten.Load() != r.written {
					t.Errorf("Stats say read %d, written %d; Echo returned %d, %d", stats.BytesRead.Load(), stats.BytesWritten.Load(), r.read, r.written)
				}
				if seen.Load() != int64(size) {
					t.Errorf("OnData saw %d bytes, want %d", seen.Load(), size)
				}
			})
		}
	}
}

// TestEchoEndWithData sends a little data and the FIN at once, which the
// server then finds together: Echo must see the end, not wait for more.
func TestEchoEndWithData(t *testing.T) {
	for _, network := range []string{"tcp", "unix"} {
		t.Run(network, func(t *testing.T) {
			ln := echoListen(t, network)
			for i := 0; i < 200; i++ {
				res := echoServeOnce(t, ln, nil, nil)
				c := echoDial(t, ln)
				if got := echoRoundTrip(t, c, []byte("abc")); string(got) != "abc" {
					t.Fatalf("round %d: got %q", i, got)
				}
				c.Close()
				if r := <-res; r.err != nil || r.read != 3 {
					t.Fatalf("round %d: Echo returned read %d, %v; want 3, nil", i, r.read, r.err)
				}
			}
		})
	}
}

// echoCountBufs counts the pool's buffers in flight until the test ends.
func echoCountBufs(t *testing.T) *atomic.Int64 {
	t.Helper()
	n := new(atomic.Int64)
	hook := func(d int) { n.Add(int64(d)) }
	if !bufHook.CompareAndSwap(nil, &hook) {
		t.Fatal("another test is counting buffers")
	}
	t.Cleanup(func() { bufHook.Store(nil) })
	return n
}

// echoEventually polls cond until it holds or the test's bound passes.
func echoEventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(echoTestTimeout)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("still not so after %v: %s", echoTestTimeout, what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// TestEchoIdleHoldsNoBuffer checks that a connection waiting for data
// holds no pooled buffer, on the fast path (none at all) and on the
// portable path (its own small one: a TLS connection waits there).
func TestEchoIdleHoldsNoBuffer(t *testing.T) {
	const conns = 20
	for _, tt := range []struct {
		name string
		wrap func(net.Conn) net.Conn
		want int64
	}{
		{name: "raw", want: 0},
		{name: "plain", wrap: func(c net.Conn) net.Conn { return echoPlainConn{c} }, want: 0},
	} {
		t.Run(tt.name, func(t *testing.T) {
			if tt.wrap == nil && !echoHasRawPath {
				t.Skip("no raw path on " + runtime.GOOS)
			}
			inFlight := echoCountBufs(t)
			ln := echoListen(t, "tcp")
			var clients []net.Conn
			var results []<-chan echoResult
			for i := 0; i < conns; i++ {
				results = append(results, echoServeOnce(t, ln, &EchoOptions{Greeting: []byte("hi")}, tt.wrap))
				c := echoDial(t, ln)
				if _, err := c.Write([]byte("x")); err != nil {
					t.Fatal(err)
				}
				got := make([]byte, 3)
				if _, err := io.ReadFull(c, got); err != nil || string(got) != "hix" {
					t.Fatalf("got %q, %v", got, err)
				}
				clients = append(clients, c)
			}
			echoEventually(t, "idle connections hold their expected buffers", func() bool { return inFlight.Load() == tt.want })
			for _, c := range clients {
				c.Close()
			}
			for _, res := range results {
				<-res
			}
			if n := inFlight.Load(); n != 0 {
				t.Errorf("%d buffers not given back after the connections ended", n)
			}
		})
	}
}

// TestEchoBackPressure sends to a server without ever reading: the server
// must stop reading once its write blocks, with at most one buffer of data
// in hand, and a reset must end it with an error.
func TestEchoBackPressure(t *testing.T) {
	for _, tt := range []struct {
		name string
		wrap func(net.Conn) net.Conn
	}{
		{name: "raw"},
		{name: "plain", wrap: func(c net.Conn) net.Conn { return echoPlainConn{c} }},
	} {
		t.Run(tt.name, func(t *testing.T) {
			inFlight := echoCountBufs(t)
			ln := echoListen(t, "tcp")
			stats := new(serverStats)
			res := echoServeOnce(t, ln, &EchoOptions{stats: stats}, tt.wrap)
			c := echoDial(t, ln)
			chunk := echoRandom(largeBufSize)
			echoFill(t, c, chunk, nil)
			held := stats.BytesRead.Load() - stats.BytesWritten.Load()
			if held < 0 || held > largeBufSize {
				t.Errorf("the server holds %d bytes read and not yet written; want at most one buffer (%d)", held, largeBufSize)
			}
			if n := inFlight.Load(); n > 1 {
				t.Errorf("%d buffers in flight for one connection; want at most 1", n)
			}
			c.(*net.TCPConn).SetLinger(0)
			c.Close()
			r := <-res
			if r.err == nil {
				t.Fatal("Echo returned nil after the client reset the connection")
			}
			if code, _ := errnoCode(r.err); code != "ECONNRESET" && code != "EPIPE" {
				t.Errorf("Echo returned %v (%s); want ECONNRESET or EPIPE", r.err, code)
			}
		})
	}
}

// TestEchoReset resets a connection in the middle of a message: that
// connection ends with an error, and the server serves the next one.
func TestEchoReset(t *testing.T) {
	ln := echoListen(t, "tcp")
	res := echoServeOnce(t, ln, nil, nil)
	c := echoDial(t, ln)
	if _, err := c.Write([]byte("half a mess")); err != nil {
		t.Fatal(err)
	}
	got := make([]byte, 11)
	if _, err := io.ReadFull(c, got); err != nil {
		t.Fatal(err)
	}
	c.(*net.TCPConn).SetLinger(0)
	c.Close()
	r := <-res
	if code, _ := errnoCode(r.err); code != "ECONNRESET" {
		t.Errorf("Echo returned %v (%s); want ECONNRESET", r.err, code)
	}
	// Node's message needs the system call's name: "read ECONNRESET".
	var se *os.SyscallError
	if echoHasRawPath && (!errors.As(r.err, &se) || se.Syscall != "read") {
		t.Errorf("Echo returned %#v; want an *os.SyscallError for read", r.err)
	}
	next := echoServeOnce(t, ln, nil, nil)
	if got := echoRoundTrip(t, echoDial(t, ln), []byte("again")); string(got) != "again" {
		t.Errorf("the next connection got %q", got)
	}
	if r := <-next; r.err != nil {
		t.Errorf("the next connection: %v", r.err)
	}
}

// TestEchoDeadline checks that a read deadline ends Echo with nothing in
// flight, and that Echo then goes on where it stopped.
func TestEchoDeadline(t *testing.T) {
	ln := echoListen(t, "tcp")
	out := make(chan echoResult, 2)
	go func() {
		c, err := ln.Accept()
		if err != nil {
			out <- echoResult{err: err}
			return
		}
		defer c.Close()
		c.SetReadDeadline(time.Now().Add(20 * time.Millisecond))
		r, w, err := Echo(c, &EchoOptions{Greeting: []byte("hi")})
		out <- echoResult{r, w, err}
		c.SetReadDeadline(time.Now().Add(echoTestTimeout))
		r, w, err = Echo(c, nil)
		out <- echoResult{r, w, err}
	}()
	c := echoDial(t, ln)
	r := <-out
	if !errors.Is(r.err, os.ErrDeadlineExceeded) || r.written != 2 {
		t.Fatalf("first Echo returned written %d, %v; want 2, a deadline error", r.written, r.err)
	}
	if got := echoRoundTrip(t, c, []byte("more")); string(got) != "himore" {
		t.Errorf("got %q; want the greeting, then the echo of the second call", got)
	}
	if r := <-out; r.err != nil || r.read != 4 {
		t.Errorf("second Echo returned read %d, %v", r.read, r.err)
	}
}

// TestEchoHalfClose checks that HalfClose sends the FIN itself: the client
// sees the end while the server still holds the connection open.
func TestEchoHalfClose(t *testing.T) {
	ln := echoListen(t, "tcp")
	release := make(chan struct{})
	out := make(chan error, 1)
	go func() {
		c, err := ln.Accept()
		if err != nil {
			out <- err
			return
		}
		defer c.Close()
		c.SetDeadline(time.Now().Add(echoTestTimeout))
		_, _, err = Echo(c, &EchoOptions{HalfClose: true})
		out <- err
		<-release
	}()
	got := echoRoundTrip(t, echoDial(t, ln), []byte("bye"))
	close(release)
	if string(got) != "bye" {
		t.Errorf("got %q", got)
	}
	if err := <-out; err != nil {
		t.Errorf("Echo: %v", err)
	}
}

// TestEchoConcurrent runs many connections at once through one server.
func TestEchoConcurrent(t *testing.T) {
	ln := echoListen(t, "tcp")
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() {
				defer c.Close()
				c.SetDeadline(time.Now().Add(echoTestTimeout))
				Echo(c, &EchoOptions{Greeting: []byte(DefaultGreeting)})
			}()
		}
	}()
	echoClients(t, ln.Addr().String(), 50, 100, 64)
}

// echoClients runs conns clients of an echo server that greets with
// DefaultGreeting, all at once: each reads the greeting, then sends a
// message of size+i random bytes (client i) rounds times, reading it back
// each time, byte-exact.
func echoClients(t *testing.T, addr string, conns, rounds, size int) {
	t.Helper()
	var wg sync.WaitGroup
	errs := make(chan error, conns)
	for i := range conns {
		wg.Add(1)
		go func() {
			defer wg.Done()
			c, err := net.DialTimeout("tcp", addr, echoTestTimeout)
			if err != nil {
				errs <- err
				return
			}
			defer c.Close()
			c.SetDeadline(time.Now().Add(echoTestTimeout))
			greet := make([]byte, len(DefaultGreeting))
			if _, err := io.ReadFull(c, greet); err != nil {
				errs <- fmt.Errorf("client %d, greeting: %v", i, err)
				return
			}
			msg := echoRandom(size + i)
			got := make([]byte, len(msg))
			for r := range rounds {
				if _, err := c.Write(msg); err != nil {
					errs <- err
					return
				}
				if _, err := io.ReadFull(c, got); err != nil {
					errs <- fmt.Errorf("client %d, round %d: %v", i, r, err)
					return
				}
				if !bytes.Equal(got, msg) {
					errs <- fmt.Errorf("client %d, round %d: the echo differs", i, r)
					return
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
}
