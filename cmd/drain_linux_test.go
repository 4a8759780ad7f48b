package cmd

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"math/rand/v2"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// waitQueueStuck waits until the bytes queued on c's receive side have
// stopped growing for a while: the sender can put no more in.
func waitQueueStuck(t *testing.T, c *net.TCPConn) {
	t.Helper()
	rc, err := c.SyscallConn()
	if err != nil {
		t.Fatal(err)
	}
	queued := func() (n int) {
		rc.Control(func(fd uintptr) { n, err = unix.IoctlGetInt(int(fd), unix.SIOCINQ) })
		if err != nil {
			t.Fatal(err)
		}
		return n
	}
	deadline := time.Now().Add(peerTimeout)
	last, since := -1, time.Now()
	for time.Now().Before(deadline) {
		if n := queued(); n != last {
			last, since = n, time.Now()
		} else if n > 0 && time.Since(since) > 200*time.Millisecond {
			return
		}
		time.Sleep(10 * time.Millisecond)
	}
	t.Fatal("the sender never filled the buffers")
}

// TestConnectDrainEvent: with --events json, connect reports Node's drain
// when the peer stopped reading and then read again, and every byte of
// stdin arrives.
func TestConnectDrainEvent(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	// Far more than the buffers of a connection whose reader reads
	// nothing: nodenet's writes must wait.
	payload := make([]byte, 32<<20)
	r := rand.New(rand.NewPCG(9, 9))
	for i := range payload {
		payload[i] = byte(r.Uint32())
	}
	in := filepath.Join(t.TempDir(), "in")
	if err := os.WriteFile(in, payload, 0o600); err != nil {
		t.Fatal(err)
	}
	f, err := os.Open(in)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()

	ctx, cancel := context.WithTimeout(context.Background(), peerTimeout)
	defer cancel()
	_, port, _ := net.SplitHostPort(ln.Addr().String())
	c := exec.CommandContext(ctx, nodenetPath(t), "connect", "--events", "json", port, "127.0.0.1")
	c.Stdin = f
	c.Env = append(os.Environ(), "XDG_CONFIG_HOME="+t.TempDir())
	var stderr bytes.Buffer
	c.Stderr = &stderr
	if err := c.Start(); err != nil {
		t.Fatal(err)
	}
	conn, err := ln.Accept()
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	conn.SetDeadline(time.Now().Add(peerTimeout))
	waitQueueStuck(t, conn.(*net.TCPConn))
	got, err := io.ReadAll(conn) // to nodenet's FIN, after stdin's end
	if err != nil {
		t.Fatal(err)
	}
	conn.Close()
	if err := c.Wait(); err != nil {
		t.Fatalf("nodenet connect: %v\n%s", err, stderr.String())
	}
	if !bytes.Equal(got, payload) {
		t.Fatalf("the peer read %d bytes, not the %d of stdin", len(got), len(payload))
	}
	var drains int
	var order []string
	for _, line := range strings.Split(strings.TrimSpace(stderr.String()), "\n") {
		var ev struct {
			Event string `json:"event"`
			ID    int    `json:"id"`
		}
		if err := json.Unmarshal([]byte(line), &ev); err != nil {
			t.Fatalf("not JSON: %q", line)
		}
		if ev.Event == "drain" {
			drains++
			if ev.ID != 1 {
				t.Errorf("drain for id %d: %s", ev.ID, line)
			}
		}
		if len(order) == 0 || order[len(order)-1] != ev.Event {
			order = append(order, ev.Event)
		}
	}
	if drains == 0 {
		t.Errorf("no drain event:\n%s", stderr.String())
	}
	if want := "connect ready drain finish"; !strings.Contains(strings.Join(order, " "), want) {
		t.Errorf("events %v; want %q among them", order, want)
	}
}

// TestEchoDrainEvent: echo reports drain for a client that stopped reading
// its echo and then read it, on the reactor and on the netcore.Server path.
func TestEchoDrainEvent(t *testing.T) {
	for _, tt := range []struct {
		name string
		args []string
	}{
		{"reactor", []string{"--events", "json", "--greeting", ""}},
		{"server", []string{"--events", "json", "--greeting", "", "--timeout", "1m"}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			p := startEcho(t, "", tt.args...)
			c, err := net.DialTimeout("tcp", p.addr, peerTimeout)
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close()
			sent := fillUntilStuck(t, c)
			if n := p.count(`"event":"drain"`); n != 0 {
				t.Errorf("%d drain events while the client is not reading", n)
			}
			c.SetDeadline(time.Now().Add(peerTimeout))
			c.(*net.TCPConn).CloseWrite()
			got, err := io.ReadAll(c)
			if err != nil && !errors.Is(err, syscall.ECONNRESET) {
				t.Fatal(err)
			}
			if int64(len(got)) != sent {
				t.Errorf("echoed %d bytes of %d", len(got), sent)
			}
			p.waitCount(t, `^\{"event":"drain","time":"[^"]+","id":1\}$`, 1)
			p.signal(t, os.Interrupt)
			if code := p.wait(t); code != 0 {
				t.Errorf("exit %d", code)
			}
		})
	}
}
