package netcore_test

import (
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
