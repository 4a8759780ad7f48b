//go:build !linux

package netcore

import "net"

// kernelProgress has no kernel byte counters to read on this platform:
// the relay counts through the Socket when an idle timeout is set.
func kernelProgress(net.Conn) func() (received, acked uint64, ok bool) { return nil }
