package netcore

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/netip"
	"sync"
	"syscall"
	"testing"
	"time"
)

// echoEngines are the engines a test of the echo server runs on: both
// where the event loops run, else goroutines alone.
func echoEngines() []Engine {
	if reactorSupported && uringAvailable() == nil {
		return []Engine{EngineEpoll, EngineUring, EngineGoroutines}
	}
	if reactorSupported {
		return []Engine{EngineEpoll, EngineGoroutines}
	}
	return []Engine{EngineGoroutines}
}

// echoServe serves lns with an echo server on engine, with workers
// accept loops, and destroys it when the test ends.
func echoServe(t *testing.T, engine Engine, so ServerOptions, eo EchoOptions, workers int, lns ...net.Listener) *Server {
	t.Helper()
	so.Engine = engine
	srv := NewEchoServer(so, eo)
	var err error
	if len(lns) == 1 {
		err = srv.Listen(context.Background(), ListenOptions{Listener: lns[0], Workers: workers})
	} else {
		err = srv.Serve(lns...)
	}
	if err != nil {
		t.Fatal(err)
	}
	if got := srv.Engine(); got != engine {
		t.Fatalf("served on %q; want %q", got, engine)
	}
	t.Cleanup(func() {
		srv.Destroy()
		select {
		case <-srv.Done():
		case <-time.After(echoTestTimeout):
			t.Error("the server did not end after Destroy")
		}
	})
	return srv
}

// echoClosed collects the close events of a server's connections.
type echoClosed struct {
	mu     sync.Mutex
	errs   []error
	socks  []*Socket
	counts [][2]int64
}

func (c *echoClosed) hooks() *SocketHooks {
	var pending sync.Map // socket -> its error, from OnError
	return &SocketHooks{
		OnError: func(s *Socket, err error) { pending.Store(s, err) },
		OnClose: func(s *Socket, hadError bool) {
			var err error
			if v, ok := pending.LoadAndDelete(s); ok {
				err = v.(error)
			}
			c.mu.Lock()
			defer c.mu.Unlock()
			c.errs = append(c.errs, err)
			c.socks = append(c.socks, s)
			c.counts = append(c.counts, [2]int64{s.BytesRead(), s.BytesWritten()})
		},
	}
}

func (c *echoClosed) len() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.errs)
}

func TestEchoServer(t *testing.T) {
	sizes := []int{0, 1, 64, smallBufSize + 1, 3*largeBufSize + 17}
	for _, engine := range echoEngines() {
		for _, tt := range []struct {
			name, network, greeting string
			workers, listeners      int
		}{
			{name: "tcp", network: "tcp", greeting: DefaultGreeting, workers: 2, listeners: 1},
			{name: "tcp no greeting", network: "tcp", workers: 1, listeners: 1},
			{name: "tcp two listeners", network: "tcp", greeting: DefaultGreeting, listeners: 2},
			{name: "unix", network: "unix", greeting: DefaultGreeting, workers: 2, listeners: 1},
			{name: "greeting of 1 MiB", network: "tcp", greeting: string(echoRandom(1 << 20)), workers: 1, listeners: 1},
		} {
			t.Run(string(engine)+"/"+tt.name, func(t *testing.T) {
				var lns []net.Listener
				for i := 0; i < tt.listeners; i++ {
					lns = append(lns, echoListen(t, tt.network))
				}
				closed := new(echoClosed)
				srv := echoServe(t, engine, ServerOptions{SocketHooks: closed.hooks()}, EchoOptions{Greeting: []byte(tt.greeting)}, tt.workers, lns...)
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
				var read, written int64
				for i, err := range closed.errs {
					if err != nil {
						t.Errorf("close reported %v; want nil after the client's end", err)
					}
					read += closed.counts[i][0]
					written += closed.counts[i][1]
				}
				closed.mu.Unlock()
				wantWritten := total + int64(n*len(tt.greeting))
				if read != total || written != wantWritten {
					t.Errorf("the close events counted read %d, written %d; want %d, %d", read, written, total, wantWritten)
				}
				echoEventually(t, "Stats caught up", func() bool {
					st := srv.Stats()
					return st.Accepted == int64(n) && st.BytesRead == total && st.BytesWritten == wantWritten && st.Open == 0
				})
			})
		}
	}
}

// TestEchoServerEndWithData: data and FIN found together end the
// connection cleanly.
func TestEchoServerEndWithData(t *testing.T) {
	for _, engine := range echoEngines() {
		t.Run(string(engine), func(t *testing.T) {
			ln := echoListen(t, "tcp")
			closed := new(echoClosed)
			echoServe(t, engine, ServerOptions{SocketHooks: closed.hooks()}, EchoOptions{}, 1, ln)
			const rounds = 200
			for i := 0; i < rounds; i++ {
				c := echoDial(t, ln)
				if got := echoRoundTrip(t, c, []byte("abc")); string(got) != "abc" {
					t.Fatalf("round %d: got %q", i, got)
				}
				c.Close()
			}
			echoEventually(t, "every connection reported closed", func() bool { return closed.len() == rounds })
			closed.mu.Lock()
			defer closed.mu.Unlock()
			for i, err := range closed.errs {
				if err != nil || closed.counts[i][0] != 3 {
					t.Fatalf("connection %d closed with read %d, %v", i, closed.counts[i][0], err)
				}
			}
		})
	}
}

// TestEchoServerIdle: idle connections hold no buffer.
func TestEchoServerIdle(t *testing.T) {
	for _, engine := range echoEngines() {
		t.Run(string(engine), func(t *testing.T) {
			inFlight := echoCountBufs(t)
			ln := echoListen(t, "tcp")
			srv := echoServe(t, engine, ServerOptions{}, EchoOptions{Greeting: []byte("hi")}, 2, ln)
			for i := 0; i < 100; i++ {
				c := echoDial(t, ln)
				c.Write([]byte("x"))
				got := make([]byte, 3)
				if _, err := io.ReadFull(c, got); err != nil || string(got) != "hix" {
					t.Fatalf("got %q, %v", got, err)
				}
			}
			if n := srv.Connections(); n != 100 {
				t.Errorf("Connections = %d; want 100", n)
			}
			echoEventually(t, "no buffer held by idle connections", func() bool { return inFlight.Load() == 0 })
		})
	}
}

// TestEchoServerBackPressure: a client that sends and never reads makes
// the server stop reading from it, with one buffer held, while it goes
// on serving others; a reset then ends that connection with an error.
func TestEchoServerBackPressure(t *testing.T) {
	for _, engine := range echoEngines() {
		t.Run(string(engine), func(t *testing.T) {
			inFlight := echoCountBufs(t)
			ln := echoListen(t, "tcp")
			closed := new(echoClosed)
			srv := echoServe(t, engine, ServerOptions{SocketHooks: closed.hooks()}, EchoOptions{}, 1, ln)
			c := echoDial(t, ln)
			chunk := echoRandom(largeBufSize)
			echoFill(t, c, chunk, nil)
			st := srv.Stats()
			// One read at most: a buffer of the pool, or on the uring
			// engine one of its provided buffers.
			bound := int64(largeBufSize)
			if engine == EngineUring {
				bound = uringBufSize
			}
			if held := st.BytesRead - st.BytesWritten; held < 0 || held > bound {
				t.Errorf("the server holds %d bytes read and not yet written; want at most one buffer (%d)", held, bound)
			}
			if n := inFlight.Load(); n > 1 {
				t.Errorf("%d buffers held for one blocked client; want at most 1", n)
			}
			if got := echoRoundTrip(t, echoDial(t, ln), []byte("other")); string(got) != "other" {
				t.Errorf("another client got %q while the first was blocked", got)
			}
			c.(*net.TCPConn).SetLinger(0)
			c.Close()
			echoEventually(t, "both connections reported closed", func() bool { return closed.len() == 2 })
			var resetErr error
			closed.mu.Lock()
			for _, err := range closed.errs {
				if err != nil {
					resetErr = err
				}
			}
			closed.mu.Unlock()
			if !errors.Is(resetErr, syscall.ECONNRESET) && !errors.Is(resetErr, syscall.EPIPE) {
				t.Errorf("the reset connection closed with %v; want ECONNRESET or EPIPE", resetErr)
			}
			echoEventually(t, "every buffer given back", func() bool { return inFlight.Load() == 0 })
		})
	}
}

// TestEchoServerDrain: bytes kept for a client that stopped reading are
// written once it reads again, and the drain event reports it.
func TestEchoServerDrain(t *testing.T) {
	for _, engine := range echoEngines() {
		t.Run(string(engine), func(t *testing.T) {
			ln := echoListen(t, "tcp")
			var mu sync.Mutex
			var drains []int64
			sh := &SocketHooks{OnDrain: func(s *Socket) {
				mu.Lock()
				defer mu.Unlock()
				drains = append(drains, s.BytesWritten())
			}}
			echoServe(t, engine, ServerOptions{SocketHooks: sh}, EchoOptions{}, 1, ln)
			c := echoDial(t, ln)
			var sent bytes.Buffer
			echoFill(t, c, echoRandom(largeBufSize), &sent)
			mu.Lock()
			if len(drains) != 0 {
				t.Errorf("drain fired %d times while the client was not reading", len(drains))
			}
			mu.Unlock()
			echoEndAndRead(t, c, sent.Bytes())
			mu.Lock()
			defer mu.Unlock()
			if len(drains) == 0 {
				t.Fatal("no drain after the client read what was kept for it")
			}
			for i, n := range drains {
				if n <= 0 || n > int64(sent.Len()) || (i > 0 && n <= drains[i-1]) {
					t.Errorf("drain %d saw bytesWritten %d (of %d sent; before: %v)", i, n, sent.Len(), drains[:i])
				}
			}
		})
	}
}

// TestEchoServerEvents: the connection event sees the addresses and an
// id that the data and close events carry, with Node's end and finish
// before close, on every engine.
func TestEchoServerEvents(t *testing.T) {
	for _, engine := range echoEngines() {
		t.Run(string(engine), func(t *testing.T) {
			ln := echoListen(t, "tcp")
			var mu sync.Mutex
			var order []string
			data := map[uint64]string{}
			remotes := map[uint64]string{}
			note := func(ev string, s *Socket) {
				mu.Lock()
				defer mu.Unlock()
				order = append(order, fmt.Sprintf("%s %d", ev, s.ID()))
			}
			so := ServerOptions{
				Hooks: ServerHooks{OnConnection: func(s *Socket) {
					if s.LocalAddr().String() != ln.Addr().String() {
						t.Errorf("localAddress = %v; want %v", s.LocalAddr(), ln.Addr())
					}
					mu.Lock()
					remotes[s.ID()] = s.RemoteAddr().String()
					mu.Unlock()
					note("connection", s)
				}},
				SocketHooks: &SocketHooks{
					OnData: func(s *Socket, p []byte) {
						mu.Lock()
						defer mu.Unlock()
						data[s.ID()] += string(p)
					},
					OnEnd:    func(s *Socket) { note("end", s) },
					OnFinish: func(s *Socket) { note("finish", s) },
					OnClose:  func(s *Socket, hadError bool) { note("close", s) },
				},
			}
			echoServe(t, engine, so, EchoOptions{Greeting: []byte(DefaultGreeting)}, 2, ln)
			c := echoDial(t, ln)
			if got, want := echoRoundTrip(t, c, []byte("ping")), DefaultGreeting+"ping"; string(got) != want {
				t.Errorf("got %q; want %q", got, want)
			}
			echoEventually(t, "the close event", func() bool {
				mu.Lock()
				defer mu.Unlock()
				return len(order) == 4
			})
			mu.Lock()
			defer mu.Unlock()
			var id uint64
			for k := range remotes {
				id = k
			}
			if remotes[id] != c.LocalAddr().String() {
				t.Errorf("remoteAddress %s; want the client's %s", remotes[id], c.LocalAddr())
			}
			want := []string{"connection", "end", "finish", "close"}
			for i, w := range want {
				if order[i] != fmt.Sprintf("%s %d", w, id) {
					t.Errorf("events %v; want %v, each with id %d", order, want, id)
					break
				}
			}
			if data[id] != "ping" {
				t.Errorf("the data events saw %q; want %q", data[id], "ping")
			}
		})
	}
}

// TestEchoServerPolicy: maxConnections and the block list hold on every
// engine, with a drop or blocked event for each refused client, and are
// counted as dropped.
func TestEchoServerPolicy(t *testing.T) {
	for _, engine := range echoEngines() {
		t.Run(string(engine), func(t *testing.T) {
			ln := echoListen(t, "tcp")
			var mu sync.Mutex
			var drops, blocks int
			bl := blockOnly{netip.MustParseAddr("127.0.0.2")}
			so := ServerOptions{BlockList: bl, Hooks: ServerHooks{
				OnDrop:    func(DropInfo) { mu.Lock(); drops++; mu.Unlock() },
				OnBlocked: func(DropInfo) { mu.Lock(); blocks++; mu.Unlock() },
			}}
			srv := NewEchoServer(so, EchoOptions{Greeting: []byte("hi")})
			srv.opts.Engine = engine
			srv.SetMaxConnections(2)
			if err := srv.Serve(ln); err != nil {
				t.Fatal(err)
			}
			t.Cleanup(srv.Destroy)
			port := ln.Addr().(*net.TCPAddr).Port
			dialFrom := func(src string) net.Conn {
				d := net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP(src)}, Timeout: echoTestTimeout}
				c, err := d.Dial("tcp", fmt.Sprintf("127.0.0.1:%d", port))
				if err != nil {
					t.Fatal(err)
				}
				t.Cleanup(func() { c.Close() })
				c.SetDeadline(time.Now().Add(echoTestTimeout))
				return c
			}
			greeted := func(c net.Conn) bool {
				b := make([]byte, 2)
				_, err := io.ReadFull(c, b)
				return err == nil && string(b) == "hi"
			}
			// Blocked: closed before a byte, whatever the count.
			if greeted(dialFrom("127.0.0.2")) {
				t.Error("a blocked client was greeted")
			}
			a, b := dialFrom("127.0.0.1"), dialFrom("127.0.0.1")
			if !greeted(a) || !greeted(b) {
				t.Fatal("the first two clients were not greeted")
			}
			if greeted(dialFrom("127.0.0.1")) {
				t.Error("a third client was greeted with maxConnections 2")
			}
			echoEventually(t, "the refusals reported", func() bool {
				mu.Lock()
				defer mu.Unlock()
				return drops == 1 && blocks == 1
			})
			a.Close()
			echoEventually(t, "a closed client frees its place", func() bool { return srv.Connections() == 1 })
			if !greeted(dialFrom("127.0.0.1")) {
				t.Error("a client was refused below the limit")
			}
			if st := srv.Stats(); st.Dropped != 2 || st.Accepted != 3 {
				t.Errorf("Stats: accepted %d, dropped %d; want 3, 2", st.Accepted, st.Dropped)
			}
		})
	}
}

// blockOnly blocks its addresses.
type blockOnly []netip.Addr

func (b blockOnly) CheckAddr(a netip.Addr) bool {
	for _, x := range b {
		if x == a.Unmap() {
			return true
		}
	}
	return false
}

// TestEchoServerMaxConnectionsAcrossLoops: with four accept loops and 400
// clients at once, no more than maxConnections are ever open, and every
// other client gets a drop event.
func TestEchoServerMaxConnectionsAcrossLoops(t *testing.T) {
	const limit, clients = 50, 400
	for _, engine := range echoEngines() {
		t.Run(string(engine), func(t *testing.T) {
			ln := echoListen(t, "tcp")
			var mu sync.Mutex
			open, most, drops := 0, 0, 0
			so := ServerOptions{
				Hooks: ServerHooks{
					OnConnection: func(*Socket) {
						mu.Lock()
						defer mu.Unlock()
						open++
						most = max(most, open)
					},
					OnDrop: func(DropInfo) { mu.Lock(); drops++; mu.Unlock() },
				},
				SocketHooks: &SocketHooks{OnClose: func(*Socket, bool) { mu.Lock(); open--; mu.Unlock() }},
			}
			srv := NewEchoServer(so, EchoOptions{Greeting: []byte("hi")})
			srv.opts.Engine = engine
			srv.SetMaxConnections(limit)
			if err := srv.Listen(context.Background(), ListenOptions{Listener: ln, Workers: 4}); err != nil {
				t.Fatal(err)
			}
			t.Cleanup(srv.Destroy)
			var wg sync.WaitGroup
			var served sync.Map
			start := make(chan struct{})
			for i := 0; i < clients; i++ {
				wg.Add(1)
				go func() {
					defer wg.Done()
					<-start
					c, err := net.DialTimeout("tcp", ln.Addr().String(), echoTestTimeout)
					if err != nil {
						return
					}
					defer c.Close()
					c.SetDeadline(time.Now().Add(echoTestTimeout))
					b := make([]byte, 2)
					if _, err := io.ReadFull(c, b); err == nil {
						served.Store(c.LocalAddr().String(), true)
						time.Sleep(50 * time.Millisecond) // hold the place a moment
					}
				}()
			}
			close(start)
			wg.Wait()
			n := 0
			served.Range(func(any, any) bool { n++; return true })
			echoEventually(t, "every client accounted for", func() bool {
				mu.Lock()
				defer mu.Unlock()
				return drops+n == clients && open == 0
			})
			mu.Lock()
			defer mu.Unlock()
			if most > limit {
				t.Errorf("%d connections open at once; the limit is %d", most, limit)
			}
			if n == 0 || drops == 0 {
				t.Errorf("%d served, %d dropped; want some of each with %d clients and a limit of %d", n, drops, clients, limit)
			}
		})
	}
}

// TestEchoServerClose: Close stops accepting and lets connections end;
// Destroy closes them.
func TestEchoServerClose(t *testing.T) {
	for _, engine := range echoEngines() {
		t.Run(string(engine), func(t *testing.T) {
			ln := echoListen(t, "tcp")
			addr := ln.Addr().String()
			srv := echoServe(t, engine, ServerOptions{}, EchoOptions{}, 2, ln)
			a, b := echoDial(t, ln), echoDial(t, ln)
			a.Write([]byte("1"))
			b.Write([]byte("2"))
			one := make([]byte, 1)
			io.ReadFull(a, one)
			io.ReadFull(b, one)
			if err := srv.Close(); err != nil {
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
			case <-srv.Done():
				t.Fatal("Done before the last connection ended")
			default:
			}
			srv.Destroy()
			if _, err := b.Read(one); err == nil {
				t.Error("a connection still open after Destroy read data")
			}
			select {
			case <-srv.Done():
			case <-time.After(echoTestTimeout):
				t.Fatal("Done not closed after Destroy")
			}
		})
	}
}

// TestEchoServerDestroyFromHook: a Socket destroyed by a hook is closed,
// on the event loops too.
func TestEchoServerDestroyFromHook(t *testing.T) {
	for _, engine := range echoEngines() {
		t.Run(string(engine), func(t *testing.T) {
			ln := echoListen(t, "tcp")
			closed := new(echoClosed)
			sh := closed.hooks()
			sh.OnData = func(s *Socket, p []byte) {
				if bytes.Contains(p, []byte("bye")) {
					s.Destroy(nil)
				}
			}
			srv := echoServe(t, engine, ServerOptions{SocketHooks: sh}, EchoOptions{}, 1, ln)
			c := echoDial(t, ln)
			c.Write([]byte("bye"))
			if _, err := io.ReadAll(c); err != nil && !errors.Is(err, syscall.ECONNRESET) {
				t.Fatalf("reading until the server closed: %v", err)
			}
			echoEventually(t, "one close event, no connection left", func() bool { return closed.len() == 1 && srv.Connections() == 0 })
		})
	}
}

// TestEchoServerEngineChoice: the automatic choice takes the event loops
// only where nothing needs a Socket per connection (io_uring loops where
// the kernel has io_uring, else epoll loops), and the loop engines
// refuses what it cannot serve.
func TestEchoServerEngineChoice(t *testing.T) {
	for _, tt := range []struct {
		name string
		so   ServerOptions
		want Engine
	}{
		{name: "plain", want: EngineEpoll},
		{name: "timeout", so: ServerOptions{Timeout: time.Minute}, want: EngineGoroutines},
		{name: "pause", so: ServerOptions{PauseOnConnect: true}, want: EngineGoroutines},
	} {
		t.Run(tt.name, func(t *testing.T) {
			want := tt.want
			switch {
			case !reactorSupported:
				want = EngineGoroutines
			case want == EngineEpoll && uringAvailable() == nil:
				want = EngineUring // the default where the kernel has it
			}
			srv := NewEchoServer(tt.so, EchoOptions{})
			if err := srv.Serve(echoListen(t, "tcp")); err != nil {
				t.Fatal(err)
			}
			defer srv.Destroy()
			if got := srv.Engine(); got != want {
				t.Errorf("engine %q; want %q", got, want)
			}
			if want == EngineGoroutines {
				for _, forced := range []Engine{EngineEpoll, EngineUring} {
					tt.so.Engine = forced
					err := NewEchoServer(tt.so, EchoOptions{}).Serve(echoListen(t, "tcp"))
					var ne *Error
					if !errors.As(err, &ne) || ne.Code != "ERR_INVALID_ARG_VALUE" {
						t.Errorf("the %s engine forced: %v; want ERR_INVALID_ARG_VALUE", forced, err)
					}
				}
			}
		})
	}
	// A handler of one's own always runs on goroutines.
	srv := NewServer(ServerOptions{Engine: EngineEpoll}, func(*Socket) {})
	if err := srv.Serve(echoListen(t, "tcp")); err == nil {
		srv.Destroy()
		t.Error("the epoll engine served a handler of its own")
	}
}
