package netcore

import (
	"bytes"
	"fmt"
	"io"
	"net"
	"sync"
	"testing"
	"time"

	"github.com/nodenet/nodenet/internal/fdpass"
)

// TestWorkerServesOnEveryEngine: a worker process's Server serves what
// its master hands over on each engine, the event loops included: it
// echoes byte-exact, its sockets carry the master's ids, and it tells
// the master of each connection's end by that id, on the loops as on
// goroutines, whether or not anything watches the connections' events.
// The master's side of the socketpair is played by the test.
func TestWorkerServesOnEveryEngine(t *testing.T) {
	for _, engine := range echoEngines() {
		for _, watched := range []bool{true, false} {
			t.Run(fmt.Sprintf("%s/events=%v", engine, watched), func(t *testing.T) {
				testWorkerServes(t, engine, watched)
			})
		}
	}
}

func testWorkerServes(t *testing.T, engine Engine, watched bool) {
	master, worker := unixPair(t)
	wl := &workerListener{
		c:   worker,
		buf: make([]byte, 64*workerRecordSize),
		oob: make([]byte, fdpass.OOBSize(fdpass.MaxFDs)),
		ids: map[net.Conn]uint64{},
	}
	var mu sync.Mutex
	var ids []uint64
	var hooks *SocketHooks
	if watched {
		hooks = &SocketHooks{OnClose: func(s *Socket, _ bool) {
			mu.Lock()
			ids = append(ids, s.ID())
			mu.Unlock()
		}}
	}
	srv := NewEchoServer(ServerOptions{Engine: engine, SocketHooks: hooks}, EchoOptions{Greeting: []byte("hi\n")})
	if err := srv.Serve(wl); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		srv.Destroy()
		select {
		case <-srv.Done():
		case <-time.After(echoTestTimeout):
			t.Error("the worker's server did not end after Destroy")
		}
	})
	if got := srv.Engine(); got != engine {
		t.Fatalf("the worker serves on %q; want %q", got, engine)
	}
	master.SetReadDeadline(time.Now().Add(echoTestTimeout))
	records := func(kind byte) workerRecord {
		t.Helper()
		b := make([]byte, workerRecordSize)
		for {
			if _, err := io.ReadFull(master, b); err != nil {
				t.Fatalf("reading the worker's records: %v", err)
			}
			if r := decodeWorkerRecord(b); r.kind == kind {
				return r
			}
		}
	}
	records(recReady)

	ln := echoListen(t, "tcp")
	const conns = 5
	clients := make([]net.Conn, conns)
	for i := range conns {
		c, err := net.DialTimeout("tcp", ln.Addr().String(), echoTestTimeout)
		if err != nil {
			t.Fatal(err)
		}
		clients[i] = c
		t.Cleanup(func() { c.Close() })
		sc, err := ln.Accept()
		if err != nil {
			t.Fatal(err)
		}
		f, err := sc.(*net.TCPConn).File()
		sc.Close()
		if err != nil {
			t.Fatal(err)
		}
		// The master hands the connection over and closes its
		// copy.
		_, err = fdpass.Send(master, workerRecord{kind: recConn, id: uint64(101 + i)}.encode(), []int{int(f.Fd())})
		f.Close()
		if err != nil {
			t.Fatal(err)
		}
	}
	for i, c := range clients {
		c.SetDeadline(time.Now().Add(echoTestTimeout))
		msg := []byte(fmt.Sprintf("client %d: %s", i, bytes.Repeat([]byte{'x'}, 1000*i)))
		if _, err := c.Write(msg); err != nil {
			t.Fatal(err)
		}
		got := make([]byte, 3+len(msg))
		if _, err := io.ReadFull(c, got); err != nil {
			t.Fatalf("client %d: %v", i, err)
		}
		if want := append([]byte("hi\n"), msg...); !bytes.Equal(got, want) {
			t.Fatalf("client %d read %q; want %q", i, got, want)
		}
	}
	ended := map[uint64]bool{}
	for _, c := range clients {
		c.Close()
		ended[records(recEnded).id] = true
	}
	for i := range conns {
		if !ended[uint64(101+i)] {
			t.Errorf("the master was not told that connection %d ended (told %v)", 101+i, ended)
		}
	}
	if !watched {
		return
	}
	deadline := time.Now().Add(echoTestTimeout)
	for {
		mu.Lock()
		n := len(ids)
		mu.Unlock()
		if n == conns || time.Now().After(deadline) {
			break
		}
		time.Sleep(5 * time.Millisecond)
	}
	mu.Lock()
	defer mu.Unlock()
	seen := map[uint64]bool{}
	for _, id := range ids {
		seen[id] = true
	}
	for i := range conns {
		if !seen[uint64(101+i)] {
			t.Errorf("no close event with the master's id %d (ids %v)", 101+i, ids)
		}
	}
}
