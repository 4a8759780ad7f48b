//go:build linux

package netcore

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// echoServeReactor starts r on ln and destroys it when the test ends.
func echoServeReactor(t *testing.T, r *EchoReactor, lns ...net.Listener) {
	t.Helper()
	if err := r.Serve(lns...); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		r.Destroy()
		select {
		case <-r.Done():
		case <-time.After(echoTestTimeout):
			t.Error("the reactor's loops did not end after Destroy")
		}
	})
}

// echoClosed collects the OnClose reports of a reactor.
type echoClosed struct {
	mu   sync.Mutex
	errs []error
	conn []EchoConn
}

func (c *echoClosed) hook(ec *EchoConn, err error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.errs = append(c.errs, err)
	c.conn = append(c.conn, *ec)
}

func (c *echoClosed) len() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.errs)
}

func TestEchoReactor(t *testing.T) {
	sizes := []int{0, 1, 64, smallBufSize + 1, 3*largeBufSize + 17}
	for _, tt := range []struct {
		name, network, greeting string
		loops, listeners        int
	}{
		{name: "tcp", network: "tcp", greeting: DefaultGreeting, loops: 2, listeners: 1},
		{name: "tcp no greeting", network: "tcp", loops: 1, listeners: 1},
		{name: "tcp two listeners", network: "tcp", greeting: DefaultGreeting, loops: 2, listeners: 2},
		{name: "unix", network: "unix", greeting: DefaultGreeting, loops: 2, listeners: 1},
	} {
		t.Run(tt.name, func(t *testing.T) {
			var lns []net.Listener
			for i := 0; i < tt.listeners; i++ {
				lns = append(lns, echoListen(t, tt.network))
			}
			closed := new(echoClosed)
			stats := new(EchoStats)
			r := &EchoReactor{Greeting: []byte(tt.greeting), Loops: tt.loops, Stats: stats}
			r.Hooks.OnClose = closed.hook
			echoServeReactor(t, r, lns...)
			var wg sync.WaitGroup
			errs := make(chan error, len(sizes)*len(lns))
			var total int64
			for _, ln := range lns {
				for _, size := range sizes {
					total += int64(size)
					wg.Add(1)
					go func() {
						defer wg.Done()
						c, err := net.DialTimeout(ln.Addr().Network(), ln.Addr().String(), echoTestTimeout)
						if err != nil {
							errs <- err
							return
						}
						defer c.Close()
						c.SetDeadline(time.Now().Add(echoTestTimeout))
						payload := echoRandom(size)
						got := echoRoundTrip(t, c, payload)
						if want := append([]byte(tt.greeting), payload...); !bytes.Equal(got, want) {
							errs <- fmt.Errorf("size %d: got %d bytes back, want %d, byte-exact", size, len(got), len(want))
						}
					}()
				}
			}
			wg.Wait()
			close(errs)
			for err := range errs {
				t.Error(err)
			}
			n := len(sizes) * len(lns)
			echoEventually(t, "every connection reported closed", func() bool { return closed.len() == n })
			closed.mu.Lock()
			defer closed.mu.Unlock()
			var read, written int64
			for i, err := range closed.errs {
				if err != nil {
					t.Errorf("OnClose reported %v; want nil after the client's end", err)
				}
				read += closed.conn[i].BytesRead
				written += closed.conn[i].BytesWritten
			}
			wantWritten := total + int64(n*len(tt.greeting))
			if read != total || written != wantWritten {
				t.Errorf("OnClose counted read %d, written %d; want %d, %d", read, written, total, wantWritten)
			}
			echoEventually(t, "Stats caught up", func() bool {
				return stats.Accepted.Load() == int64(n) && stats.Closed.Load() == int64(n) &&
					stats.BytesRead.Load() == total && stats.BytesWritten.Load() == wantWritten
			})
			if r.Open() != 0 {
				t.Errorf("Open = %d after every client ended", r.Open())
			}
		})
	}
}

// TestEchoReactorEndWithData: data and FIN found together end the
// connection cleanly.
func TestEchoReactorEndWithData(t *testing.T) {
	ln := echoListen(t, "tcp")
	closed := new(echoClosed)
	r := &EchoReactor{Loops: 1}
	r.Hooks.OnClose = closed.hook
	echoServeReactor(t, r, ln)
	const rounds = 200
	for i := 0; i < rounds; i++ {
		c := echoDial(t, ln)
		if got := echoRoundTrip(t, c, []byte("abc")); string(got) != "abc" {
			t.Fatalf("round %d: got %q", i, got)
		}
		c.Close()
	}
	echoEventually(t, "every connection reported closed", func() bool { return closed.len() == rounds })
	for i, err := range closed.errs {
		if err != nil || closed.conn[i].BytesRead != 3 {
			t.Fatalf("connection %d closed with read %d, %v", i, closed.conn[i].BytesRead, err)
		}
	}
}

// TestEchoReactorIdle: idle connections hold no buffer, and the loop's
// table is all they cost.
func TestEchoReactorIdle(t *testing.T) {
	inFlight := echoCountBufs(t)
	ln := echoListen(t, "tcp")
	r := &EchoReactor{Loops: 2, Greeting: []byte("hi")}
	echoServeReactor(t, r, ln)
	for i := 0; i < 100; i++ {
		c := echoDial(t, ln)
		c.Write([]byte("x"))
		got := make([]byte, 3)
		if _, err := io.ReadFull(c, got); err != nil || string(got) != "hix" {
			t.Fatalf("got %q, %v", got, err)
		}
	}
	if n := r.Open(); n != 100 {
		t.Errorf("Open = %d; want 100", n)
	}
	if n := inFlight.Load(); n != 0 {
		t.Errorf("%d buffers held by idle connections; want 0", n)
	}
}

// TestEchoReactorBackPressure: a client that sends and never reads makes
// the loop stop reading from it, with one buffer held, while the loop goes
// on serving others; a reset then ends that connection with an error.
func TestEchoReactorBackPressure(t *testing.T) {
	inFlight := echoCountBufs(t)
	ln := echoListen(t, "tcp")
	stats := new(EchoStats)
	closed := new(echoClosed)
	r := &EchoReactor{Loops: 1, Stats: stats}
	r.Hooks.OnClose = closed.hook
	echoServeReactor(t, r, ln)
	c := echoDial(t, ln)
	chunk := echoRandom(largeBufSize)
	echoFill(t, c, chunk, nil)
	if held := stats.BytesRead.Load() - stats.BytesWritten.Load(); held < 0 || held > largeBufSize {
		t.Errorf("the server holds %d bytes read and not yet written; want at most one buffer (%d)", held, largeBufSize)
	}
	if n := inFlight.Load(); n > 1 {
		t.Errorf("%d buffers held for one blocked client; want at most 1", n)
	}
	// The same loop still serves another client.
	if got := echoRoundTrip(t, echoDial(t, ln), []byte("other")); string(got) != "other" {
		t.Errorf("another client got %q while the first was blocked", got)
	}
	c.(*net.TCPConn).SetLinger(0)
	c.Close()
	echoEventually(t, "both connections reported closed", func() bool { return closed.len() == 2 })
	var resetErr error
	for _, err := range closed.errs {
		if err != nil {
			resetErr = err
		}
	}
	if !errors.Is(resetErr, syscall.ECONNRESET) && !errors.Is(resetErr, syscall.EPIPE) {
		t.Errorf("the reset connection closed with %v; want ECONNRESET or EPIPE", resetErr)
	}
	if n := inFlight.Load(); n != 0 {
		t.Errorf("%d buffers not given back", n)
	}
}

// TestEchoReactorDrain: bytes kept for a client that stopped reading are
// written once it reads again, and OnDrain reports it, with the count.
func TestEchoReactorDrain(t *testing.T) {
	ln := echoListen(t, "tcp")
	var mu sync.Mutex
	var drains []int64
	r := &EchoReactor{Loops: 1}
	r.Hooks.OnDrain = func(c *EchoConn) {
		mu.Lock()
		defer mu.Unlock()
		drains = append(drains, c.BytesWritten)
	}
	echoServeReactor(t, r, ln)
	c := echoDial(t, ln)
	chunk := echoRandom(largeBufSize)
	var sent bytes.Buffer
	echoFill(t, c, chunk, &sent)
	mu.Lock()
	if len(drains) != 0 {
		t.Errorf("OnDrain fired %d times while the client was not reading", len(drains))
	}
	mu.Unlock()
	echoEndAndRead(t, c, sent.Bytes())
	mu.Lock()
	defer mu.Unlock()
	if len(drains) == 0 {
		t.Fatal("no OnDrain after the client read what was kept for it")
	}
	for i, n := range drains {
		if n <= 0 || n > int64(sent.Len()) || (i > 0 && n <= drains[i-1]) {
			t.Errorf("OnDrain %d saw BytesWritten %d (of %d sent; before: %v)", i, n, sent.Len(), drains[:i])
		}
	}
}

// TestEchoReactorHooks: OnConnection sees the addresses and may drop a
// connection; its Value reaches OnData and OnClose.
func TestEchoReactorHooks(t *testing.T) {
	ln := echoListen(t, "tcp")
	stats := new(EchoStats)
	closed := new(echoClosed)
	var mu sync.Mutex
	remotes := map[string]bool{}
	data := map[string]string{}
	r := &EchoReactor{Loops: 2, Stats: stats, Greeting: []byte(DefaultGreeting)}
	r.Hooks.OnConnection = func(c *EchoConn) bool {
		if c.Local.String() != ln.Addr().String() {
			t.Errorf("Local = %v; want %v", c.Local, ln.Addr())
		}
		c.Value = c.Remote.String()
		mu.Lock()
		defer mu.Unlock()
		remotes[c.Remote.String()] = true
		return len(remotes)%2 == 1 // drop every second connection
	}
	r.Hooks.OnData = func(c *EchoConn, p []byte) {
		mu.Lock()
		defer mu.Unlock()
		data[c.Value.(string)] += string(p)
	}
	r.Hooks.OnClose = closed.hook
	echoServeReactor(t, r, ln)
	for i := 0; i < 4; i++ {
		c := echoDial(t, ln)
		if i%2 == 1 {
			// Dropped: closed before the greeting, and nothing read.
			if got, _ := io.ReadAll(c); len(got) != 0 {
				t.Errorf("dropped connection %d got %q; want nothing", i, got)
			}
		} else if got, want := echoRoundTrip(t, c, []byte("ping")), DefaultGreeting+"ping"; string(got) != want {
			t.Errorf("connection %d got %q; want %q", i, got, want)
		}
		mu.Lock()
		if !remotes[c.LocalAddr().String()] {
			t.Errorf("OnConnection did not see the client's address %v", c.LocalAddr())
		}
		mu.Unlock()
	}
	echoEventually(t, "the served connections reported closed", func() bool { return closed.len() == 2 })
	mu.Lock()
	for _, ec := range closed.conn {
		if s := data[ec.Value.(string)]; s != "ping" {
			t.Errorf("OnData saw %q for %v", s, ec.Value)
		}
	}
	mu.Unlock()
	echoEventually(t, "Stats caught up", func() bool { return stats.Accepted.Load() == 2 && stats.Dropped.Load() == 2 })
}

// TestEchoReactorClose: Close stops accepting and lets connections end;
// Destroy closes them.
func TestEchoReactorClose(t *testing.T) {
	ln := echoListen(t, "tcp")
	addr := ln.Addr().String()
	r := &EchoReactor{Loops: 2}
	echoServeReactor(t, r, ln)
	a, b := echoDial(t, ln), echoDial(t, ln)
	a.Write([]byte("1"))
	b.Write([]byte("2"))
	one := make([]byte, 1)
	io.ReadFull(a, one)
	io.ReadFull(b, one)
	if err := r.Close(); err != nil {
		t.Fatal(err)
	}
	echoEventually(t, "the listener is closed", func() bool {
		c, err := net.Dial("tcp", addr)
		if err == nil {
			c.Close()
		}
		return errors.Is(err, syscall.ECONNREFUSED)
	})
	if got := echoRoundTrip(t, a, []byte("still here")); string(got) != "still here" {
		t.Errorf("after Close an open connection got %q", got)
	}
	select {
	case <-r.Done():
		t.Fatal("Done before the last connection ended")
	default:
	}
	if err := r.Destroy(); err != nil {
		t.Fatal(err)
	}
	if _, err := b.Read(one); err == nil {
		t.Error("a connection still open after Destroy read data")
	}
	select {
	case <-r.Done():
	case <-time.After(echoTestTimeout):
		t.Fatal("Done not closed after Destroy")
	}
}

// TestEchoReactorFileLimit runs a reactor in a child process whose file
// limit is low, and opens more connections than it can hold: it must
// report EMFILE once, go on serving the connections it has, and accept
// the waiting ones as soon as descriptors are free again.
func TestEchoReactorFileLimit(t *testing.T) {
	if os.Getenv("NODENET_ECHO_LIMIT_CHILD") == "1" {
		echoLimitChild()
		return
	}
	if testing.Short() {
		t.Skip("starts a child process")
	}
	cmd := exec.Command(os.Args[0], "-test.run=^TestEchoReactorFileLimit$")
	cmd.Env = append(os.Environ(), "NODENET_ECHO_LIMIT_CHILD=1")
	stdin, _ := cmd.StdinPipe()
	stdout, _ := cmd.StdoutPipe()
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() {
		stdin.Close()
		done := make(chan error, 1)
		go func() { done <- cmd.Wait() }()
		select {
		case <-done:
		case <-time.After(echoTestTimeout):
			cmd.Process.Kill()
			t.Error("the child did not exit")
		}
	}()
	lines := bufio.NewScanner(stdout)
	ask := func(q string) string {
		t.Helper()
		fmt.Fprintln(stdin, q)
		if !lines.Scan() {
			t.Fatalf("the child said nothing to %q", q)
		}
		return lines.Text()
	}
	port := ask("port")
	const conns = 120 // more than the child's limit of 64 descriptors
	var clients []net.Conn
	for i := 0; i < conns; i++ {
		c, err := net.DialTimeout("tcp", "127.0.0.1:"+port, echoTestTimeout)
		if err != nil {
			t.Fatalf("dial %d: %v", i, err)
		}
		defer c.Close()
		c.SetDeadline(time.Now().Add(echoTestTimeout))
		clients = append(clients, c)
	}
	// Which connections were greeted? The child accepts as many as its
	// descriptors allow, and the rest wait in the listen queue.
	var open, errs int
	echoEventually(t, "the child hit its limit", func() bool {
		fmt.Sscanf(ask("stats"), "open %d errors %d", &open, &errs)
		return errs > 0
	})
	if open == 0 || open >= conns {
		t.Fatalf("the child has %d connections open; want some, not all %d", open, conns)
	}
	t.Logf("the child holds %d of %d connections at its limit", open, conns)
	// The listen queue is first in, first out, and the clients connected
	// one after another: the first ones are those the child holds.
	greet := make([]byte, 2)
	for i, c := range clients[:open] {
		if _, err := io.ReadFull(c, greet); err != nil || string(greet) != "hi" {
			t.Fatalf("held connection %d got %q, %v", i, greet, err)
		}
	}
	// They are still served while the child is at its limit.
	if _, err := clients[0].Write([]byte("ok")); err != nil {
		t.Fatal(err)
	}
	if _, err := io.ReadFull(clients[0], greet); err != nil || string(greet) != "ok" {
		t.Fatalf("a held connection got %q, %v while the server was at its limit", greet, err)
	}
	// Free ten descriptors: the next ten waiting connections are accepted.
	for _, c := range clients[:10] {
		c.Close()
	}
	for i, c := range clients[open : open+10] {
		if _, err := io.ReadFull(c, greet); err != nil || string(greet) != "hi" {
			t.Fatalf("waiting connection %d was not served after descriptors were freed: %q, %v", open+i, greet, err)
		}
	}
	var pauses int
	fmt.Sscanf(ask("stats"), "open %d errors %d pauses %d", &open, &errs, &pauses)
	if errs != 1 {
		t.Errorf("OnError was called %d times; want once for the whole episode", errs)
	}
	// Accepting pauses 5ms, 10ms, ... up to 1s at a time: a few dozen
	// pauses in a test's lifetime. Without pauses the level-triggered
	// listener would wake the loop for the waiting connections at once,
	// again and again; with pauses too short, far more than this.
	if pauses == 0 || pauses > 1000 {
		t.Errorf("accepting paused %d times; want some, and not a spin", pauses)
	}
}

// echoLimitChild is the child of TestEchoReactorFileLimit: a reactor with
// 64 descriptors, answering "port" and "stats" on stdin.
func echoLimitChild() {
	lim := unix.Rlimit{Cur: 64, Max: 64}
	if err := unix.Getrlimit(unix.RLIMIT_NOFILE, &lim); err == nil {
		lim.Cur = 64
	}
	if err := unix.Setrlimit(unix.RLIMIT_NOFILE, &lim); err != nil {
		fmt.Println("setrlimit:", err)
		os.Exit(1)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		fmt.Println(err)
		os.Exit(1)
	}
	port := strconv.Itoa(ln.Addr().(*net.TCPAddr).Port)
	var mu sync.Mutex
	errs := 0
	r := &EchoReactor{Loops: 1, Greeting: []byte("hi")}
	r.Hooks.OnError = func(err error) {
		if !errors.Is(err, syscall.EMFILE) {
			fmt.Fprintln(os.Stderr, "unexpected error:", err)
		}
		mu.Lock()
		errs++
		mu.Unlock()
	}
	if err := r.Serve(ln); err != nil {
		fmt.Println(err)
		os.Exit(1)
	}
	in := bufio.NewScanner(os.Stdin)
	for in.Scan() {
		switch strings.TrimSpace(in.Text()) {
		case "port":
			fmt.Println(port)
		case "stats":
			mu.Lock()
			fmt.Printf("open %d errors %d pauses %d\n", r.Open(), errs, r.runtime().pauses.Load())
			mu.Unlock()
		}
	}
	r.Destroy()
	os.Exit(0)
}
