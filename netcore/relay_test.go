//go:build unix

package netcore

import (
	"bytes"
	"crypto/rand"
	"crypto/sha256"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"
)

// randomBytes returns n random bytes.
func randomBytes(t *testing.T, n int) []byte {
	t.Helper()
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		t.Fatal(err)
	}
	return b
}

// connectLocal connects a Socket to srv.
func connectLocal(t *testing.T, srv *Server, opts ConnectOptions) *Socket {
	t.Helper()
	opts.Host, opts.Port = "127.0.0.1", srv.Address().Port
	s, err := Connect(connectCtx(t), opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Destroy(nil) })
	return s
}

// relayResult runs Relay in the background.
func relayAsync(s *Socket, in io.Reader, out io.Writer, opts RelayOptions) <-chan error {
	ch := make(chan error, 1)
	go func() { ch <- Relay(s, in, out, opts) }()
	return ch
}

// TestRelayByteExact sends 16 MiB each way at once and compares hashes:
// through the kernel's copy (a regular file in, a pipe out) and through
// the buffer path.
func TestRelayByteExact(t *testing.T) {
	const size = 16 << 20
	up, down := randomBytes(t, size), randomBytes(t, size)
	for _, kernel := range []bool{true, false} {
		name := "buffered"
		if kernel {
			name = "kernel copy"
		}
		t.Run(name, func(t *testing.T) {
			received := make(chan [32]byte, 1)
			srv := listenLocal(t, ServerOptions{AllowHalfOpen: true}, func(s *Socket) {
				// Send and receive at once, as a real peer would: a peer
				// that wrote everything before reading would deadlock
				// with one that does the same.
				go func() {
					s.Write(down)
					s.End()
				}()
				h := sha256.New()
				io.Copy(h, s)
				var sum [32]byte
				copy(sum[:], h.Sum(nil))
				received <- sum
				<-s.Closed()
			})
			s := connectLocal(t, srv, ConnectOptions{AllowHalfOpen: true})
			var in io.Reader = bytes.NewReader(up)
			var out io.Writer
			h := sha256.New()
			var pipeDone chan struct{}
			if kernel {
				f := filepath.Join(t.TempDir(), "up")
				if err := os.WriteFile(f, up, 0o600); err != nil {
					t.Fatal(err)
				}
				file, err := os.Open(f)
				if err != nil {
					t.Fatal(err)
				}
				defer file.Close()
				in = file
				pr, pw, err := os.Pipe()
				if err != nil {
					t.Fatal(err)
				}
				defer pr.Close()
				pipeDone = make(chan struct{})
				go func() { io.Copy(h, pr); close(pipeDone) }()
				out = pw
				defer pw.Close()
			} else {
				out = h
			}
			err := waitFor(t, relayAsync(s, in, out, RelayOptions{}), "relay")
			if err != nil {
				t.Fatalf("relay: %v", err)
			}
			if kernel {
				out.(*os.File).Close()
				waitFor(t, pipeDone, "pipe reader")
			}
			if got, want := waitFor(t, received, "server hash"), sha256.Sum256(up); got != want {
				t.Error("the server received other bytes than were sent")
			}
			if got, want := h.Sum(nil), sha256.Sum256(down); !bytes.Equal(got, want[:]) {
				t.Error("the client printed other bytes than the server sent")
			}
			if s.BytesWritten() != size || s.BytesRead() != size {
				t.Errorf("bytesWritten %d, bytesRead %d, want %d each", s.BytesWritten(), s.BytesRead(), size)
			}
		})
	}
}

// TestRelayReplyAfterOurEnd is the bug of nc and telnet: the server
// answers only once it has seen our end; the answer must arrive.
func TestRelayReplyAfterOurEnd(t *testing.T) {
	srv := listenLocal(t, ServerOptions{AllowHalfOpen: true}, func(s *Socket) {
		b, _ := io.ReadAll(s)
		s.Write([]byte("got " + string(b)))
		s.End()
		<-s.Closed()
	})
	s := connectLocal(t, srv, ConnectOptions{})
	var out bytes.Buffer
	if err := waitFor(t, relayAsync(s, strings.NewReader("question"), &out, RelayOptions{}), "relay"); err != nil {
		t.Fatal(err)
	}
	if out.String() != "got question" {
		t.Errorf("printed %q, want %q", out.String(), "got question")
	}
}

func TestRelayPeerEndsFirst(t *testing.T) {
	for _, allowHalfOpen := range []bool{false, true} {
		t.Run(map[bool]string{false: "ends with the peer", true: "half-open keeps sending"}[allowHalfOpen], func(t *testing.T) {
			got := make(chan string, 1)
			srv := listenLocal(t, ServerOptions{AllowHalfOpen: true}, func(s *Socket) {
				s.Write([]byte("bye"))
				s.End()
				b, _ := io.ReadAll(s)
				got <- string(b)
			})
			s := connectLocal(t, srv, ConnectOptions{AllowHalfOpen: allowHalfOpen})
			pr, pw := io.Pipe()
			var out bytes.Buffer
			done := relayAsync(s, pr, &out, RelayOptions{})
			if allowHalfOpen {
				// The peer has ended, and we go on sending until our input
				// ends.
				pw.Write([]byte("still "))
				pw.Write([]byte("sending"))
				pw.Close()
				if err := waitFor(t, done, "relay"); err != nil {
					t.Fatal(err)
				}
				if g := waitFor(t, got, "server"); g != "still sending" {
					t.Errorf("server received %q", g)
				}
			} else {
				// Our input never ends, yet the relay is over when the peer
				// ends.
				if err := waitFor(t, done, "relay"); err != nil {
					t.Fatal(err)
				}
				pw.Close()
				if g := waitFor(t, got, "server"); g != "" {
					t.Errorf("server received %q", g)
				}
			}
			if out.String() != "bye" {
				t.Errorf("printed %q", out.String())
			}
		})
	}
}

func TestRelayNoShutdown(t *testing.T) {
	sawEOF := make(chan bool, 1)
	srv := listenLocal(t, ServerOptions{AllowHalfOpen: true}, func(s *Socket) {
		buf := make([]byte, 5)
		io.ReadFull(s, buf)
		// With NoShutdown the client sends no FIN: a read times out
		// instead of returning EOF.
		s.Conn().SetReadDeadline(time.Now().Add(200 * time.Millisecond))
		_, err := s.Read(buf)
		sawEOF <- err == io.EOF
		s.Write([]byte("done"))
		s.End()
	})
	s := connectLocal(t, srv, ConnectOptions{AllowHalfOpen: true})
	var out bytes.Buffer
	if err := waitFor(t, relayAsync(s, strings.NewReader("hello"), &out, RelayOptions{NoShutdown: true}), "relay"); err != nil {
		t.Fatal(err)
	}
	if waitFor(t, sawEOF, "server") {
		t.Error("the server saw our FIN despite NoShutdown")
	}
	if out.String() != "done" {
		t.Errorf("printed %q", out.String())
	}
}

// TestRelayReportsReset: the peer resets while we are still sending; the
// relay fails with Node's wording instead of dropping data silently.
func TestRelayReportsReset(t *testing.T) {
	srv := listenLocal(t, ServerOptions{}, func(s *Socket) {
		buf := make([]byte, 1024)
		io.ReadFull(s, buf)
		s.ResetAndDestroy()
	})
	s := connectLocal(t, srv, ConnectOptions{AllowHalfOpen: true})
	// An input that never ends: only the reset can stop the relay.
	in := &endless{}
	err := waitFor(t, relayAsync(s, in, io.Discard, RelayOptions{}), "relay")
	var ne *Error
	if !errors.As(err, &ne) {
		t.Fatalf("relay returned %v, want a *netcore.Error", err)
	}
	if ne.Message != "write ECONNRESET" && ne.Message != "write EPIPE" && ne.Message != "read ECONNRESET" {
		t.Errorf("error %q, want write ECONNRESET, write EPIPE or read ECONNRESET", ne.Message)
	}
	if s.ReadyState() != "closed" {
		t.Errorf("readyState %q after the relay, want closed", s.ReadyState())
	}
}

type endless struct{}

func (endless) Read(p []byte) (int, error) {
	for i := range p {
		p[i] = 'x'
	}
	return len(p), nil
}

func TestResetAndDestroySendsRST(t *testing.T) {
	readErr := make(chan error, 1)
	srv := listenLocal(t, ServerOptions{}, func(s *Socket) {
		_, err := io.ReadAll(s)
		readErr <- err
	})
	s := connectLocal(t, srv, ConnectOptions{})
	s.Write([]byte("x"))
	if err := s.ResetAndDestroy(); err != nil {
		t.Fatal(err)
	}
	err := waitFor(t, readErr, "server read")
	if !errors.Is(err, syscall.ECONNRESET) || !strings.Contains(err.Error(), "read ECONNRESET") {
		t.Errorf("the server read %v, want read ECONNRESET", err)
	}
}

// TestIdleTimeoutWithKernelCopy: an idle timeout fires on an idle
// relayed connection, once per idle period, while the relay uses the
// kernel's copy (the timer reads TCP_INFO's counters instead).
func TestIdleTimeoutWithKernelCopy(t *testing.T) {
	srv := listenLocal(t, ServerOptions{}, func(s *Socket) { <-s.Closed() })
	var timeouts atomic.Int32
	fired := make(chan struct{}, 10)
	s := connectLocal(t, srv, ConnectOptions{Hooks: &SocketHooks{OnTimeout: func(*Socket) {
		timeouts.Add(1)
		fired <- struct{}{}
	}}})
	s.SetTimeout(30 * time.Millisecond)
	if !s.kernelCopyOK() {
		t.Fatal("an idle timer turned the kernel copy off on TCP")
	}
	pr, pw := io.Pipe()
	defer pw.Close()
	done := relayAsync(s, pr, io.Discard, RelayOptions{})
	waitFor(t, fired, "first timeout")
	waitFor(t, fired, "second timeout")
	s.Destroy(nil)
	waitFor(t, done, "relay")
	n := timeouts.Load()
	time.Sleep(100 * time.Millisecond)
	if timeouts.Load() != n {
		t.Error("the timer fired after Destroy")
	}
}

// TestIdleTimerSeesKernelProgress: bytes moved by splice count as
// activity, though they never pass through the Socket.
func TestIdleTimerSeesKernelProgress(t *testing.T) {
	srv := listenLocal(t, ServerOptions{}, func(s *Socket) { io.Copy(io.Discard, s) })
	s := connectLocal(t, srv, ConnectOptions{})
	probe := kernelProgress(s.Conn())
	if probe == nil {
		t.Fatal("no kernel progress probe for TCP on Linux")
	}
	_, before, ok := probe()
	if !ok {
		t.Fatal("TCP_INFO could not be read")
	}
	if _, err := io.Copy(s.Conn(), io.LimitReader(endless{}, 1<<20)); err != nil {
		t.Fatal(err)
	}
	for deadline := time.Now().Add(testTimeout); ; time.Sleep(5 * time.Millisecond) {
		_, after, _ := probe()
		if after >= before+1<<20 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("TCP_INFO counters moved from %d to %d for 1 MiB sent", before, after)
		}
	}
}

func TestSocketStatesAndEvents(t *testing.T) {
	srv := listenLocal(t, ServerOptions{AllowHalfOpen: true}, func(s *Socket) {
		io.Copy(io.Discard, s)
		s.Write([]byte("x"))
		s.End()
	})
	rec := &recorder{}
	s := connectLocal(t, srv, ConnectOptions{AllowHalfOpen: true, Hooks: rec.hooks()})
	if st := s.ReadyState(); st != "open" {
		t.Errorf("readyState %q, want open", st)
	}
	if err := s.End(); err != nil {
		t.Fatal(err)
	}
	if st := s.ReadyState(); st != "readOnly" {
		t.Errorf("readyState after End %q, want readOnly", st)
	}
	if _, err := s.Write([]byte("late")); !isCode(err, "EPIPE") {
		t.Errorf("write after End: %v, want EPIPE", err)
	}
	io.Copy(io.Discard, s)
	waitFor(t, s.Closed(), "close")
	if st := s.ReadyState(); st != "closed" {
		t.Errorf("readyState at the end %q, want closed", st)
	}
	want := "connect 127.0.0.1\nfinish\nend\nclose false"
	if got := rec.String(); got != want {
		t.Errorf("events:\n%s\nwant:\n%s", got, want)
	}
}

// childOut stands for a child's stdin as Relay's out, for Exec: passing
// the peer's end on to it (CloseWrite) makes the child end its output,
// at once, as cat does at the end of its input; and the relay's goroutine
// that passed it on is then slow to go on (a busy machine), so that the
// child's end reaches the relay first.
type childOut struct {
	bytes.Buffer
	endOutput func()
}

func (c *childOut) CloseWrite() error {
	c.endOutput()
	time.Sleep(5 * time.Millisecond)
	return nil
}

// TestRelayStopWaitsAfterPeerEnd: when the peer has ended and the child's
// output then ends because of it, our FIN waits for Stop (the child's
// exit), so that the connection's close comes after the exit and carries
// its status. The child's end and the peer's reach the relay at about
// the same moment: which it hears of first must not matter.
func TestRelayStopWaitsAfterPeerEnd(t *testing.T) {
	for i := range 20 {
		var stopped atomic.Bool
		finAfterStop := make(chan bool, 1)
		srv := listenLocal(t, ServerOptions{AllowHalfOpen: true}, func(s *Socket) {
			s.Write([]byte("x"))
			s.End()
			io.ReadAll(s) // until our FIN
			finAfterStop <- stopped.Load()
		})
		s := connectLocal(t, srv, ConnectOptions{AllowHalfOpen: true})
		pr, pw := io.Pipe()
		stop := make(chan struct{})
		out := &childOut{endOutput: func() {
			pw.Close()
			go func() {
				time.Sleep(20 * time.Millisecond) // the child's exit, later
				stopped.Store(true)
				close(stop)
			}()
		}}
		done := relayAsync(s, pr, out, RelayOptions{Stop: stop, EndOut: true})
		if !waitFor(t, finAfterStop, "the server") {
			t.Fatalf("run %d: our FIN went before Stop", i)
		}
		if err := waitFor(t, done, "relay"); err != nil {
			t.Fatal(err)
		}
		srv.Destroy()
	}
}
