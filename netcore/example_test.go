package netcore_test

import (
	"context"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/nodenet/nodenet/netcore"
)

// The echo server of the Node docs' net.createServer() example, and a
// client that sends a line and half-closes, as `nodenet connect` does.
func ExampleServer() {
	srv := netcore.NewServer(netcore.ServerOptions{}, func(c *netcore.Socket) {
		c.Write([]byte("hello\r\n"))
		io.Copy(c, c) // echo until the client ends; c.pipe(c)
	})
	if err := srv.Listen(context.Background(), netcore.ListenOptions{Host: "127.0.0.1"}); err != nil {
		fmt.Println(err)
		return
	}
	defer srv.Destroy()

	sock, err := netcore.Connect(context.Background(), netcore.ConnectOptions{Host: "127.0.0.1", Port: srv.Address().Port})
	if err != nil {
		fmt.Println(err)
		return
	}
	var out strings.Builder
	if err := netcore.Relay(sock, strings.NewReader("ping\n"), &out, netcore.RelayOptions{}); err != nil {
		fmt.Println(err)
	}
	fmt.Printf("%q\n", out.String())
	// Output:
	// "hello\r\nping\n"
}

// Connect fails with Node's error wording.
func ExampleConnect() {
	_, err := netcore.Connect(context.Background(), netcore.ConnectOptions{Port: 70000})
	fmt.Println(err)
	// Output:
	// ERR_SOCKET_BAD_PORT: Port should be >= 0 and < 65536. Received type number (70000).
}

// Relay moves stdin to the socket and the socket to stdout; when stdin
// ends it half-closes and goes on printing until the peer ends, so a
// server that answers only after the request's end is heard.
func ExampleRelay() {
	srv := netcore.NewServer(netcore.ServerOptions{AllowHalfOpen: true}, func(c *netcore.Socket) {
		req, _ := io.ReadAll(c) // until our FIN
		fmt.Fprintf(c, "%d bytes received\n", len(req))
	})
	if err := srv.Listen(context.Background(), netcore.ListenOptions{Host: "127.0.0.1"}); err != nil {
		fmt.Println(err)
		return
	}
	defer srv.Destroy()
	sock, err := netcore.Connect(context.Background(), netcore.ConnectOptions{Host: "127.0.0.1", Port: srv.Address().Port})
	if err != nil {
		fmt.Println(err)
		return
	}
	err = netcore.Relay(sock, strings.NewReader("GET / HTTP/1.0\r\n\r\n"), os.Stdout, netcore.RelayOptions{})
	fmt.Println("relay:", err)
	// Output:
	// 18 bytes received
	// relay: <nil>
}
