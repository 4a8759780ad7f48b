package netcore_test

import (
	"context"
	"fmt"
	"io"
	"net"

	"github.com/nodenet/nodenet/netcore"
)

// The Node docs' echo server, one goroutine per connection.
func ExampleEcho() {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		fmt.Println(err)
		return
	}
	defer ln.Close()
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() {
				defer c.Close() // the client ended: end our side too
				netcore.Echo(c, &netcore.EchoOptions{Greeting: []byte(netcore.DefaultGreeting)})
			}()
		}
	}()

	c, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		fmt.Println(err)
		return
	}
	defer c.Close()
	c.Write([]byte("ping\n"))
	c.(*net.TCPConn).CloseWrite()
	reply, _ := io.ReadAll(c)
	fmt.Printf("%q\n", reply)
	// Output: "hello\r\nping\n"
}

// The same server as nodenet echo runs it: NewEchoServer picks the engine
// (epoll loops on Linux), and the events and counters are the Server's.
func ExampleNewEchoServer() {
	closed := make(chan string, 1)
	srv := netcore.NewEchoServer(netcore.ServerOptions{
		SocketHooks: &netcore.SocketHooks{OnClose: func(s *netcore.Socket, hadError bool) {
			closed <- fmt.Sprint("client disconnected: ", s.BytesRead(), " bytes in, ", s.BytesWritten(), " out, error: ", hadError)
		}},
	}, netcore.EchoOptions{Greeting: []byte(netcore.DefaultGreeting)})
	srv.SetMaxConnections(100)
	if err := srv.Listen(context.Background(), netcore.ListenOptions{Host: "127.0.0.1"}); err != nil {
		fmt.Println(err)
		return
	}
	c, err := net.Dial("tcp", srv.Address().String())
	if err != nil {
		fmt.Println(err)
		return
	}
	c.Write([]byte("ping\n"))
	c.(*net.TCPConn).CloseWrite()
	reply, _ := io.ReadAll(c)
	fmt.Printf("%q\n", reply)
	fmt.Println(<-closed)
	c.Close()
	srv.Close() // stop accepting; Done once the last connection has ended
	<-srv.Done()
	fmt.Println("accepted", srv.Stats().Accepted)
	// Output:
	// "hello\r\nping\n"
	// client disconnected: 5 bytes in, 12 out, error: false
	// accepted 1
}
