//go:build unix

package netcore

import (
	"bytes"
	"context"
	"io"
	"net"
	"os"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

// graceServer accepts one connection on loopback port 0 and runs serve
// on it, and returns a Socket connected to it.
func graceServer(t *testing.T, serve func(c *net.TCPConn)) *Socket {
	t.Helper()
	ln, err := net.Listen("tcp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	go func() {
		c, err := ln.Accept()
		if err != nil {
			return
		}
		defer c.Close()
		serve(c.(*net.TCPConn))
	}()
	s, err := Connect(context.Background(), ConnectOptions{Host: "127.0.0.1", Port: ln.Addr().(*net.TCPAddr).Port, AllowHalfOpen: true})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Destroy(nil) })
	return s
}

// TestRelayEndGraceHoldsWhilePeerSends: with nothing to send (stdin is
// /dev/null) the FIN waits while the peer sends; a server that stops on
// our FIN (ncat, nginx) gets to send everything. EndGrace is an hour,
// so a FIN while it sends can only be the bug.
func TestRelayEndGraceHoldsWhilePeerSends(t *testing.T) {
	const size = 8 << 20
	down := randomBytes(t, size)
	sawEOFEarly := make(chan bool, 1)
	s := graceServer(t, func(c *net.TCPConn) {
		var eof atomic.Bool
		go func() {
			io.Copy(io.Discard, c) //nolint:errcheck // EOF or closed
			eof.Store(true)
		}()
		for p := down; len(p) > 0; p = p[min(len(p), 64<<10):] {
			if _, err := c.Write(p[:min(len(p), 64<<10)]); err != nil {
				break
			}
		}
		sawEOFEarly <- eof.Load()
	})
	null, err := os.Open(os.DevNull)
	if err != nil {
		t.Fatal(err)
	}
	defer null.Close()
	var out bytes.Buffer
	if err := waitFor(t, relayAsync(s, null, &out, RelayOptions{EndGrace: time.Hour}), "relay"); err != nil {
		t.Fatal(err)
	}
	if waitFor(t, sawEOFEarly, "server") {
		t.Error("the server saw our FIN before it had sent everything")
	}
	if !bytes.Equal(out.Bytes(), down) {
		t.Errorf("received %d bytes that differ from the %d sent", out.Len(), size)
	}
}

// TestRelayEndGraceNoHold: after an upload (UploadBytes or more) or an
// empty input that is not /dev/null, the FIN goes at once, even with an
// EndGrace of an hour: a silent peer (nodenet listen) is not kept
// waiting.
func TestRelayEndGraceNoHold(t *testing.T) {
	for _, tc := range []struct {
		name string
		in   []byte
	}{
		{"upload", randomBytes(t, UploadBytes)},
		{"empty", nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := make(chan []byte, 1)
			s := graceServer(t, func(c *net.TCPConn) {
				b, _ := io.ReadAll(c)
				got <- b
			})
			if err := waitFor(t, relayAsync(s, bytes.NewReader(tc.in), io.Discard, RelayOptions{EndGrace: time.Hour}), "relay"); err != nil {
				t.Fatal(err)
			}
			if b := waitFor(t, got, "server"); !bytes.Equal(b, tc.in) {
				t.Errorf("server received %d bytes, want the %d sent", len(b), len(tc.in))
			}
		})
	}
}

// TestRelayEndGraceQuietPeer: a request, and a peer that answers only
// after our end: the FIN goes once the peer has been quiet for EndGrace,
// and the answer arrives.
func TestRelayEndGraceQuietPeer(t *testing.T) {
	s := graceServer(t, func(c *net.TCPConn) {
		b, _ := io.ReadAll(c)
		c.Write([]byte("got " + string(b))) //nolint:errcheck // the client says
	})
	var out bytes.Buffer
	if err := waitFor(t, relayAsync(s, strings.NewReader("question"), &out, RelayOptions{EndGrace: 10 * time.Millisecond}), "relay"); err != nil {
		t.Fatal(err)
	}
	if out.String() != "got question" {
		t.Errorf("printed %q", out.String())
	}
}
