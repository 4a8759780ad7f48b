package netcore

import (
	"bytes"
	"crypto/sha256"
	"errors"
	"io"
	"net"
	"os"
	"path/filepath"
	"testing"
	"time"
)

// splicePair returns a connected client and server end of network "tcp"
// (on 127.0.0.1) or "unix" (in a temp dir).
func splicePair(t *testing.T, network string) (client, server net.Conn) {
	t.Helper()
	addr := "127.0.0.1:0"
	if network == "unix" {
		addr = filepath.Join(t.TempDir(), "s")
	}
	ln, err := net.Listen(network, addr)
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	accepted := make(chan net.Conn, 1)
	go func() {
		c, _ := ln.Accept()
		accepted <- c
	}()
	client, err = net.Dial(network, ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	server = waitFor(t, accepted, "accept")
	if server == nil {
		t.Fatal("accept failed")
	}
	t.Cleanup(func() { client.Close(); server.Close() })
	return client, server
}

// TestSpliceFromPipe moves 8 MiB from a pipe to a socket with splice(2)
// through both of its waits: the pipe empty while the socket has room
// (the writer pauses between chunks of random sizes) and the socket
// full while the pipe holds bytes (the reader starts late and reads in
// small pieces).
func TestSpliceFromPipe(t *testing.T) {
	const size = 8 << 20
	// The pipe's pauses meet the socket's state at random: four rounds
	// on each network give the waits many chances to go wrong.
	for _, network := range []string{"tcp", "unix", "tcp", "unix", "tcp", "unix", "tcp", "unix"} {
		t.Run(network, func(t *testing.T) {
			data := randomBytes(t, size)
			client, server := splicePair(t, network)
			pr, pw, err := os.Pipe()
			if err != nil {
				t.Fatal(err)
			}
			defer pr.Close()
			go func() {
				defer pw.Close()
				rest := data
				for i := 0; len(rest) > 0; i++ {
					n := 1 + int(rest[0])*97%(256<<10)
					n = min(n, len(rest))
					pw.Write(rest[:n])
					rest = rest[n:]
					if i%16 == 0 {
						time.Sleep(time.Millisecond)
					}
				}
			}()
			got := make(chan [32]byte, 1)
			go func() {
				time.Sleep(50 * time.Millisecond) // let the socket fill
				h := sha256.New()
				buf := make([]byte, 4096)
				io.CopyBuffer(h, struct{ io.Reader }{server}, buf)
				var sum [32]byte
				copy(sum[:], h.Sum(nil))
				got <- sum
			}()
			type result struct {
				n       int64
				handled bool
				err     error
			}
			res := make(chan result, 1)
			go func() {
				n, handled, err := spliceFromPipe(client, pr)
				res <- result{n, handled, err}
			}()
			r := waitFor(t, res, "spliceFromPipe")
			n, handled, err := r.n, r.handled, r.err
			if !handled || err != nil || n != size {
				t.Fatalf("spliceFromPipe = %d, %v, %v; want %d, true, nil", n, handled, err, size)
			}
			client.(interface{ CloseWrite() error }).CloseWrite()
			if waitFor(t, got, "reader") != sha256.Sum256(data) {
				t.Fatal("the socket's peer read other bytes than the pipe gave")
			}
		})
	}
}

// TestSpliceFromPipeDeclines leaves to io.Copy what is not a pipe into a
// TCP or Unix stream socket, having read nothing.
func TestSpliceFromPipeDeclines(t *testing.T) {
	client, _ := splicePair(t, "tcp")
	f := filepath.Join(t.TempDir(), "f")
	if err := os.WriteFile(f, []byte("regular"), 0o600); err != nil {
		t.Fatal(err)
	}
	file, err := os.Open(f)
	if err != nil {
		t.Fatal(err)
	}
	defer file.Close()
	pr, pw, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	defer pr.Close()
	defer pw.Close()
	a, b := net.Pipe()
	defer a.Close()
	defer b.Close()
	for _, c := range []struct {
		name string
		conn net.Conn
		in   io.Reader
	}{
		{"regular file", client, file},
		{"not an *os.File", client, bytes.NewReader([]byte("x"))},
		{"not a socket", a, pr},
	} {
		if n, handled, err := spliceFromPipe(c.conn, c.in); handled || n != 0 || err != nil {
			t.Errorf("%s: spliceFromPipe = %d, %v, %v; want 0, false, nil", c.name, n, handled, err)
		}
	}
	if b, _ := io.ReadAll(file); string(b) != "regular" {
		t.Errorf("the declined file was read from: %q left", b)
	}
}

// TestSpliceFromPipeSocketClosed: a Close of the socket while the
// splice waits for room ends it with net.ErrClosed instead of leaving it
// waiting.
func TestSpliceFromPipeSocketClosed(t *testing.T) {
	client, _ := splicePair(t, "tcp") // the server end never reads
	pr, pw, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	defer pr.Close()
	defer pw.Close()
	go func() {
		chunk := make([]byte, 64<<10)
		for {
			if _, err := pw.Write(chunk); err != nil {
				return
			}
		}
	}()
	done := make(chan error, 1)
	go func() {
		_, _, err := spliceFromPipe(client, pr)
		done <- err
	}()
	time.Sleep(100 * time.Millisecond) // the socket buffers fill up
	client.Close()
	if err := waitFor(t, done, "spliceFromPipe after Close"); !errors.Is(err, net.ErrClosed) {
		t.Fatalf("spliceFromPipe after Close: %v; want net.ErrClosed", err)
	}
}
