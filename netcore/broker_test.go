//go:build unix

package netcore

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"net"
	"strconv"
	"strings"
	"testing"
	"time"
)

// brokerServer serves b on 127.0.0.1:0.
func brokerServer(t *testing.T, b *Broker) *Server {
	t.Helper()
	return listenLocal(t, ServerOptions{AllowHalfOpen: true}, b.Serve)
}

// readN reads exactly n bytes from c within the test timeout.
func readN(t *testing.T, c net.Conn, n int) string {
	t.Helper()
	c.SetReadDeadline(time.Now().Add(testTimeout))
	b := make([]byte, n)
	if _, err := io.ReadFull(c, b); err != nil {
		t.Fatalf("read %d bytes: %v (got %q)", n, err, b)
	}
	return string(b)
}

// joined waits until b has n clients, so that a client is known to be in
// the broker before others send (a connection is counted by the server
// before its handler runs).
func joined(t *testing.T, b *Broker, n int) {
	t.Helper()
	deadline := time.Now().Add(testTimeout)
	for {
		b.mu.Lock()
		got := len(b.clients)
		b.mu.Unlock()
		if got == n {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d clients, want %d", got, n)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func TestBrokerToEveryOtherClientInOrder(t *testing.T) {
	b := NewBroker(BrokerOptions{})
	srv := brokerServer(t, b)
	a := dialLocal(t, srv.Address())
	joined(t, b, 1)
	x := dialLocal(t, srv.Address())
	joined(t, b, 2)
	a.Write([]byte("A"))
	if got := readN(t, x, 1); got != "A" {
		t.Fatalf("x got %q", got)
	}
	x.Write([]byte("X"))
	if got := readN(t, a, 1); got != "X" {
		t.Fatalf("a got %q", got)
	}
	// 2,000 numbered writes from a arrive at x in order.
	var want bytes.Buffer
	go func() {
		for i := 0; i < 2000; i++ {
			a.Write([]byte(strconv.Itoa(i) + ","))
		}
	}()
	for i := 0; i < 2000; i++ {
		want.WriteString(strconv.Itoa(i) + ",")
	}
	if got := readN(t, x, want.Len()); got != want.String() {
		t.Fatal("x did not get a's writes in order")
	}
	// a never hears itself: it ends, and is sent nothing but its end.
	a.CloseWrite()
	if got := readAll(t, a); got != "" {
		t.Fatalf("a heard %q", got)
	}
}

func TestBrokerReadFromGoesToEveryone(t *testing.T) {
	b := NewBroker(BrokerOptions{})
	srv := brokerServer(t, b)
	a := dialLocal(t, srv.Address())
	x := dialLocal(t, srv.Address())
	joined(t, b, 2)
	if _, err := b.ReadFrom(strings.NewReader("from the server\n")); err != nil {
		t.Fatal(err)
	}
	for _, c := range []net.Conn{a, x} {
		if got := readN(t, c, 16); got != "from the server\n" {
			t.Fatalf("got %q", got)
		}
	}
}

// TestBrokerDropsASlowClient: a client that reads nothing is dropped once
// it has held the sender up for StallTimeout; the sender then goes on,
// and a client that reads gets everything.
func TestBrokerDropsASlowClient(t *testing.T) {
	dropped := make(chan int, 1)
	b := NewBroker(BrokerOptions{MaxQueued: 256 << 10, StallTimeout: 100 * time.Millisecond, OnDrop: func(_ *Socket, queued int) { dropped <- queued }})
	srv := brokerServer(t, b)
	sender := dialLocal(t, srv.Address())
	slow := dialLocal(t, srv.Address())
	reader := dialLocal(t, srv.Address())
	joined(t, b, 3)
	const total = 32 << 20 // far more than the kernel's buffers and MaxQueued
	data := randomBytes(t, total)
	sent := make(chan error, 1)
	go func() {
		_, err := sender.Write(data)
		sent <- err
	}()
	got := make(chan []byte, 1)
	go func() {
		reader.SetReadDeadline(time.Now().Add(testTimeout))
		b := make([]byte, total)
		n, _ := io.ReadFull(reader, b)
		got <- b[:n]
	}()
	if q := waitFor(t, dropped, "the slow client's drop"); q <= 0 || q > 256<<10 {
		t.Fatalf("dropped with %d bytes queued, want 1 to %d", q, 256<<10)
	}
	if err := waitFor(t, sent, "the sender"); err != nil {
		t.Fatal(err)
	}
	if r := waitFor(t, got, "the reader"); !bytes.Equal(r, data) {
		t.Fatalf("the reader got %d bytes, want all %d unchanged", len(r), total)
	}
	// The dropped client sees its connection closed.
	slow.SetReadDeadline(time.Now().Add(testTimeout))
	if _, err := io.Copy(io.Discard, slow); err != nil && !isReset(err) {
		t.Fatalf("the slow client: %v", err)
	}
}

func isReset(err error) bool { return strings.Contains(err.Error(), "reset") }

// TestBrokerLeaverGetsWhatWasQueued: a client that ends is sent what was
// sent to it before, then ended.
func TestBrokerLeaverGetsWhatWasQueued(t *testing.T) {
	b := NewBroker(BrokerOptions{})
	srv := brokerServer(t, b)
	a := dialLocal(t, srv.Address())
	x := dialLocal(t, srv.Address())
	joined(t, b, 2)
	a.Write([]byte("before the end"))
	readN(t, x, len("before the end"))
	x.CloseWrite()
	if got := readAll(t, x); got != "" {
		t.Fatalf("x got %q after its end", got)
	}
	joined(t, b, 1)
}

// chatClient is one --chat client and what it has read so far.
type chatClient struct {
	c  net.Conn
	rd *bufio.Reader
}

func (c chatClient) line(t *testing.T) string {
	t.Helper()
	c.c.SetReadDeadline(time.Now().Add(testTimeout))
	s, err := c.rd.ReadString('\n')
	if err != nil {
		t.Fatalf("read a line: %v (got %q)", err, s)
	}
	return s
}

func TestChatNamesEscapesAndNotices(t *testing.T) {
	b := NewBroker(BrokerOptions{Chat: true})
	srv := brokerServer(t, b)
	dial := func() (chatClient, string) {
		c := dialLocal(t, srv.Address())
		cc := chatClient{c, bufio.NewReader(c)}
		first := cc.line(t)
		var id int
		if _, err := fmt.Sscanf(first, "<announce> 127.0.0.1 is connected as <user%d>.\n", &id); err != nil {
			t.Fatalf("first line %q: %v", first, err)
		}
		return cc, "<user" + strconv.Itoa(id) + ">"
	}
	a, an := dial()
	if got := a.line(t); got != "<announce> already connected: nobody.\n" {
		t.Fatalf("got %q", got)
	}
	x, xn := dial()
	if got, want := x.line(t), "<announce> already connected: 127.0.0.1 as "+an+".\n"; got != want {
		t.Fatalf("got %q, want %q", got, want)
	}
	// As in ncat, both lines go to everyone already there too.
	if got, want := a.line(t), "<announce> 127.0.0.1 is connected as "+xn+".\n"; got != want {
		t.Fatalf("got %q, want %q", got, want)
	}
	a.line(t)

	for _, tc := range []struct{ send, want string }{
		{"hi\n", an + " hi\n"},
		{"crlf\r\n", an + " crlf\r\n"},
		{"two\nlines\n", an + " two\n" + an + " lines\n"},
		{"tab\there\n", an + " tab\there\n"},
		{"\x1b[31mred\x07\x7f\n", an + ` \033[31mred\007\177` + "\n"},
		{"lone\rcr\n", an + ` lone\015cr` + "\n"},
		{"caf\xc3\xa9 \xff\n", an + " caf\xc3\xa9 \\377\n"},
	} {
		a.c.Write([]byte(tc.send))
		got := x.line(t)
		if strings.Count(tc.want, "\n") == 2 {
			got += x.line(t)
		}
		if got != tc.want {
			t.Errorf("sent %q: got %q, want %q", tc.send, got, tc.want)
		}
	}
	// A line in pieces is one line.
	a.c.Write([]byte("par"))
	a.c.Write([]byte("tial\n"))
	if got := x.line(t); got != an+" partial\n" {
		t.Errorf("got %q", got)
	}
	// The server's own input is <user0>.
	b.ReadFrom(strings.NewReader("from the server\n"))
	for _, c := range []chatClient{a, x} {
		if got := c.line(t); got != "<user0> from the server\n" {
			t.Errorf("got %q", got)
		}
	}
	// Leaving: the rest of the last line, then the notice.
	a.c.Write([]byte("no end"))
	a.c.(*net.TCPConn).CloseWrite()
	if got := x.line(t); got != an+" no end\n" {
		t.Errorf("got %q", got)
	}
	if got, want := x.line(t), "<announce> "+an+" is disconnected.\n"; got != want {
		t.Errorf("got %q, want %q", got, want)
	}
}

// TestBrokerBackPressure: with one other client, a sender waits for it
// instead of having it dropped, however late it starts reading.
func TestBrokerBackPressure(t *testing.T) {
	dropped := make(chan int, 1)
	b := NewBroker(BrokerOptions{MaxQueued: 256 << 10, OnDrop: func(_ *Socket, queued int) { dropped <- queued }})
	srv := brokerServer(t, b)
	sender := dialLocal(t, srv.Address())
	reader := dialLocal(t, srv.Address())
	joined(t, b, 2)
	const total = 32 << 20
	data := randomBytes(t, total)
	go sender.Write(data)
	time.Sleep(200 * time.Millisecond) // a late reader; not a timing assertion: any delay must pass
	got := readN(t, reader, total)
	if got != string(data) {
		t.Fatal("the reader did not get the sender's bytes unchanged")
	}
	select {
	case q := <-dropped:
		t.Fatalf("the only reader was dropped with %d bytes queued", q)
	default:
	}
}
