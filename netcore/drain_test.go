//go:build unix

package netcore

import (
	"bytes"
	"errors"
	"io"
	"sync/atomic"
	"testing"
	"time"
)

// drainPayload is far more than the send and receive buffers of the
// test's connections together (fixed at drainBuffer, which turns the
// kernel's autotuning off: under load and memory pressure an autotuned
// loopback connection kept taking bytes for minutes), so a Write of it
// must wait for the peer to read.
const drainPayload = 16 << 20

// drainBuffer is the send buffer of the writer and the receive buffer of
// the peer that does not read.
const drainBuffer = 64 << 10

// drainTimeout bounds the waits of these tests: moving 64 MiB under the
// race detector, on a machine busy with the other packages' tests, takes
// more than the usual bound.
const drainTimeout = 90 * time.Second

// TestSocketDrain: a Write that fills the kernel's buffers waits for the
// peer and then fires OnDrain once; a Write that finds room fires none; with
// no OnDrain the same Write goes through unobserved.
func TestSocketDrain(t *testing.T) {
	for _, network := range []string{"tcp", "unix"} {
		t.Run(network, func(t *testing.T) {
			ln := echoListen(t, network)
			var drains atomic.Int32
			c := echoDial(t, ln)
			if err := c.(interface{ SetWriteBuffer(int) error }).SetWriteBuffer(drainBuffer); err != nil {
				t.Fatal(err)
			}
			s := NewSocket(c, &SocketHooks{OnDrain: func(*Socket) { drains.Add(1) }}, false)
			peer, err := ln.Accept()
			if err != nil {
				t.Fatal(err)
			}
			defer peer.Close()
			if err := peer.(interface{ SetReadBuffer(int) error }).SetReadBuffer(drainBuffer); err != nil {
				t.Fatal(err)
			}
			peer.SetDeadline(time.Now().Add(drainTimeout))

			p := echoRandom(drainPayload)
			werr := make(chan error, 1)
			go func() {
				_, err := s.Write(p)
				werr <- err
			}()
			// The peer reads nothing until the writer has been stuck:
			// its count stays put for a while below the whole payload.
			waitStuck(t, s)
			if n := drains.Load(); n != 0 {
				t.Errorf("%d drain events while the write waits", n)
			}
			got := make([]byte, drainPayload)
			if _, err := io.ReadFull(peer, got); err != nil {
				t.Fatal(err)
			}
			if err := <-werr; err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(got, p) {
				t.Fatal("the peer read other bytes than were written")
			}
			if n := drains.Load(); n != 1 {
				t.Errorf("%d drain events after a write that waited, want 1", n)
			}
			if n := s.BytesWritten(); n != drainPayload {
				t.Errorf("BytesWritten %d, want %d", n, drainPayload)
			}

			// A small write finds room: no drain.
			if _, err := s.Write([]byte("ping")); err != nil {
				t.Fatal(err)
			}
			if _, err := io.ReadFull(peer, got[:4]); err != nil || string(got[:4]) != "ping" {
				t.Fatalf("read %q, %v", got[:4], err)
			}
			if n := drains.Load(); n != 1 {
				t.Errorf("%d drain events after a write that found room, want still 1", n)
			}

			// A write to a peer that is gone is Node's error, no drain.
			peer.Close()
			var werr2 error
			for range 100 {
				if _, werr2 = s.Write(p[:64<<10]); werr2 != nil {
					break
				}
			}
			var ne *Error
			if !errors.As(werr2, &ne) || (ne.Code != "EPIPE" && ne.Code != "ECONNRESET") || ne.Syscall != "write" {
				t.Errorf("writing to a closed peer: %v, want write EPIPE or ECONNRESET", werr2)
			}
			if n := drains.Load(); n != 1 {
				t.Errorf("%d drain events after a failed write, want still 1", n)
			}
			s.Destroy(nil)
			if _, err := s.Write([]byte("x")); err == nil {
				t.Error("Write after Destroy succeeded")
			}
		})
	}
}

// waitStuck waits until s has written something and its count has not
// moved for a while: every buffer on the way is full.
func waitStuck(t *testing.T, s *Socket) {
	t.Helper()
	deadline := time.Now().Add(drainTimeout)
	last, since := int64(-1), time.Now()
	for time.Now().Before(deadline) {
		n := s.BytesWritten()
		if n != last {
			last, since = n, time.Now()
		} else if n > 0 && time.Since(since) > 200*time.Millisecond {
			if n >= drainPayload {
				t.Fatalf("the whole payload (%d bytes) went out with no one reading", n)
			}
			return
		}
		time.Sleep(10 * time.Millisecond)
	}
	t.Fatal("the writer never got stuck")
}

// TestEchoSocketDrain: the echo server's write that waited for a client
// that does not read fires OnDrain once the client reads again.
func TestEchoSocketDrain(t *testing.T) {
	ln := echoListen(t, "tcp")
	var drains atomic.Int32
	done := make(chan error, 1)
	go func() {
		c, err := ln.Accept()
		if err != nil {
			done <- err
			return
		}
		c.SetDeadline(time.Now().Add(echoTestTimeout))
		s := NewSocket(c, &SocketHooks{OnDrain: func(*Socket) { drains.Add(1) }}, false)
		done <- EchoSocket(s, &EchoOptions{})
	}()
	c := echoDial(t, ln)
	chunk := echoRandom(largeBufSize)
	var sent bytes.Buffer
	echoFill(t, c, chunk, &sent)
	if n := drains.Load(); n != 0 {
		t.Errorf("%d drain events while the server waits", n)
	}
	echoEndAndRead(t, c, sent.Bytes())
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if drains.Load() < 1 {
		t.Error("no drain event after the server's write waited")
	}
}
