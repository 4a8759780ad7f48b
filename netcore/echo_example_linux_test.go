//go:build linux

package netcore_test

import (
	"fmt"
	"io"
	"net"

	"github.com/nodenet/nodenet/netcore"
)

// The same server on event loops: no goroutine per connection.
func ExampleEchoReactor() {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		fmt.Println(err)
		return
	}
	addr := ln.Addr().String()
	r := &netcore.EchoReactor{Greeting: []byte(netcore.DefaultGreeting)}
	closed := make(chan string, 1)
	r.Hooks.OnClose = func(c *netcore.EchoConn, err error) {
		closed <- fmt.Sprint("client disconnected: ", c.BytesRead, " bytes in, ", c.BytesWritten, " out, error: ", err)
	}
	if err := r.Serve(ln); err != nil { // Serve takes the listener over
		fmt.Println(err)
		return
	}
	c, err := net.Dial("tcp", addr)
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
	r.Close() // stop accepting; Done once the last connection has ended
	<-r.Done()
	// Output:
	// "hello\r\nping\n"
	// client disconnected: 5 bytes in, 12 out, error: <nil>
}
