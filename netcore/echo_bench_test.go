package netcore

import (
	"io"
	"net"
	"strconv"
	"sync"
	"testing"
)

// echoBenchServer starts an echo server with the given greeting on ln; it
// is stopped when the benchmark ends.
type echoBenchServer struct {
	name  string
	start func(b *testing.B, ln net.Listener, greeting []byte)
}

// echoAcceptLoop runs serve on a goroutine per accepted connection.
func echoAcceptLoop(ln net.Listener, serve func(net.Conn)) {
	for {
		c, err := ln.Accept()
		if err != nil {
			return
		}
		go func() {
			defer c.Close()
			serve(c)
		}()
	}
}

var echoBenchServers = []echoBenchServer{
	{"Echo", func(b *testing.B, ln net.Listener, greeting []byte) {
		opts := &EchoOptions{Greeting: greeting}
		go echoAcceptLoop(ln, func(c net.Conn) { Echo(c, opts) })
	}},
	{"EpollServer", func(b *testing.B, ln net.Listener, greeting []byte) {
		if !reactorSupported {
			b.Skip("no epoll engine here")
		}
		srv := NewEchoServer(ServerOptions{Engine: EngineEpoll}, EchoOptions{Greeting: greeting})
		if err := srv.Serve(ln); err != nil {
			b.Fatal(err)
		}
		b.Cleanup(func() { srv.Destroy(); <-srv.Done() })
	}},
	{"UringServer", func(b *testing.B, ln net.Listener, greeting []byte) {
		if !reactorSupported || uringAvailable() != nil {
			b.Skip("no uring engine here")
		}
		srv := NewEchoServer(ServerOptions{Engine: EngineUring}, EchoOptions{Greeting: greeting})
		if err := srv.Serve(ln); err != nil {
			b.Fatal(err)
		}
		b.Cleanup(func() { srv.Destroy(); <-srv.Done() })
	}},
	// The plain Go server, as the bench harness's reference: io.Copy
	// splices through a pipe on Linux.
	{"IOCopy", func(b *testing.B, ln net.Listener, greeting []byte) {
		go echoAcceptLoop(ln, func(c net.Conn) {
			c.Write(greeting)
			io.Copy(c, c)
		})
	}},
	// A Read/Write loop with a buffer per connection.
	{"ReadWrite", func(b *testing.B, ln net.Listener, greeting []byte) {
		go echoAcceptLoop(ln, func(c net.Conn) {
			c.Write(greeting)
			buf := make([]byte, 32<<10)
			for {
				n, err := c.Read(buf)
				if n > 0 {
					if _, err := c.Write(buf[:n]); err != nil {
						return
					}
				}
				if err != nil {
					return
				}
			}
		})
	}},
}

// BenchmarkEchoRoundTrip is echo-rr in miniature: conns connections, each
// sending 64 bytes and waiting for them to come back, over loopback.
func BenchmarkEchoRoundTrip(b *testing.B) {
	for _, conns := range []int{1, 50} {
		for _, s := range echoBenchServers {
			b.Run(s.name+"/conns="+strconv.Itoa(conns), func(b *testing.B) {
				ln := echoListen(b, "tcp")
				s.start(b, ln, nil)
				b.SetBytes(64)
				b.ReportAllocs()
				var wg sync.WaitGroup
				per := b.N/conns + 1
				b.ResetTimer()
				for i := 0; i < conns; i++ {
					wg.Add(1)
					go func() {
						defer wg.Done()
						c, err := net.Dial("tcp", ln.Addr().String())
						if err != nil {
							b.Error(err)
							return
						}
						defer c.Close()
						msg := make([]byte, 64)
						got := make([]byte, 64)
						for j := 0; j < per; j++ {
							if _, err := c.Write(msg); err != nil {
								b.Error(err)
								return
							}
							if _, err := io.ReadFull(c, got); err != nil {
								b.Error(err)
								return
							}
						}
					}()
				}
				wg.Wait()
			})
		}
	}
}

// BenchmarkEchoConnCycle is conn-rate in miniature: connect, read the
// greeting, close, from 8 clients at once.
func BenchmarkEchoConnCycle(b *testing.B) {
	greeting := []byte(DefaultGreeting)
	for _, s := range echoBenchServers[:3] {
		b.Run(s.name, func(b *testing.B) {
			ln := echoListen(b, "tcp")
			s.start(b, ln, greeting)
			addr := ln.Addr().String()
			b.ReportAllocs()
			b.SetParallelism(4)
			b.ResetTimer()
			b.RunParallel(func(pb *testing.PB) {
				got := make([]byte, len(greeting))
				for pb.Next() {
					c, err := net.Dial("tcp", addr)
					if err != nil {
						b.Error(err)
						return
					}
					if _, err := io.ReadFull(c, got); err != nil {
						b.Error(err)
					}
					c.Close()
				}
			})
		})
	}
}

// BenchmarkBufPool compares the pool (sync.Pool) with two free lists, the
// way the echo path uses it: take a buffer, give it back, on every core.
func BenchmarkBufPool(b *testing.B) {
	b.Run("SyncPool", func(b *testing.B) {
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				putBuf(getBuf(false))
			}
		})
	})
	b.Run("Channel", func(b *testing.B) {
		free := make(chan *[]byte, 64)
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				var p *[]byte
				select {
				case p = <-free:
				default:
					s := make([]byte, smallBufSize)
					p = &s
				}
				select {
				case free <- p:
				default:
				}
			}
		})
	})
	b.Run("MutexSlice", func(b *testing.B) {
		var mu sync.Mutex
		var free []*[]byte
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				mu.Lock()
				var p *[]byte
				if n := len(free); n > 0 {
					p, free = free[n-1], free[:n-1]
				}
				mu.Unlock()
				if p == nil {
					s := make([]byte, smallBufSize)
					p = &s
				}
				mu.Lock()
				free = append(free, p)
				mu.Unlock()
			}
		})
	})
}
