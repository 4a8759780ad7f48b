//go:build !linux

package netcore

import (
	"io"
	"net"
)

// watchPeer knows nothing of the peer's sending outside Linux: the relay
// copies through a buffer and keeps the time itself.
func watchPeer(net.Conn) peerWatch { return peerWatch{} }

// spliceable: only Linux splices to out.
func spliceable(io.Writer) bool { return true }

// spliceFromPipe: only Linux splices from a pipe to a socket.
func spliceFromPipe(net.Conn, io.Reader) (int64, bool, error) { return 0, false, nil }
