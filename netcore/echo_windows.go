package netcore

import "net"

// echoHasRawPath tells whether Echo has its raw fast path here.
const echoHasRawPath = false

// echoRaw has no raw fast path here: on Windows a socket's readiness is not
// exposed the way Unix's poller exposes it, and the portable Read/Write
// loop serves the connection.
func echoRaw(net.Conn, *EchoOptions) (read, written int64, err error, ok bool) {
	return 0, 0, nil, false
}
