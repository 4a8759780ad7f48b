package ipc

import (
	"bytes"
	"crypto/rand"
	"errors"
	"io"
	"net"
	"testing"
	"time"
)

func TestDisplay(t *testing.T) {
	tests := []struct {
		name, in, want string
	}{
		{"file", "/tmp/echo.sock", "/tmp/echo.sock"},
		{"command-line abstract", "@echo", "@echo"},
		{"Node abstract", "\x00echo", "@echo"},
		{"file named @", "./@echo", "./@echo"},
		{"pipe", `\\.\pipe\echo`, `\\.\pipe\echo`},
		{"empty", "", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := Display(tt.in); got != tt.want {
				t.Errorf("Display(%q) = %q, want %q", tt.in, got, tt.want)
			}
		})
	}
}

func TestIsAbstract(t *testing.T) {
	tests := []struct {
		name string
		in   string
		want bool
	}{
		{"at", "@echo", true},
		{"nul", "\x00echo", true},
		{"lone at", "@", true},
		{"dot slash at", "./@echo", false},
		{"at inside", "/tmp/@echo", false},
		{"file", "/tmp/echo.sock", false},
		{"empty", "", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := IsAbstract(tt.in); got != tt.want {
				t.Errorf("IsAbstract(%q) = %v, want %v", tt.in, got, tt.want)
			}
		})
	}
}

func TestIsPipe(t *testing.T) {
	tests := []struct {
		name string
		in   string
		want bool
	}{
		{"dot", `\\.\pipe\echo`, true},
		{"question", `\\?\pipe\echo`, true},
		{"upper case", `\\.\PIPE\echo`, true},
		{"no name", `\\.\pipe\`, false},
		{"forward slashes", `//./pipe/echo`, false},
		{"other device", `\\.\COM1\x`, false},
		{"unc share", `\\server\pipe\echo`, false},
		{"file", `C:\tmp\echo.sock`, false},
		{"short", `\\.\pip`, false},
		{"empty", "", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := IsPipe(tt.in); got != tt.want {
				t.Errorf("IsPipe(%q) = %v, want %v", tt.in, got, tt.want)
			}
		})
	}
}

func TestPathTooLongError(t *testing.T) {
	err := error(&PathTooLongError{Path: "/x", What: "socket path", Len: 120, Limit: 107, Unit: "bytes", OS: "Linux"})
	if got, want := err.Error(), "socket path is 120 bytes long; the limit is 107 bytes on Linux"; got != want {
		t.Errorf("Error() = %q, want %q", got, want)
	}
	if !errors.Is(err, ErrPathTooLong) {
		t.Error("errors.Is(err, ErrPathTooLong) = false")
	}
	if !errors.Is(err, errInvalid) {
		t.Error("errors.Is(err, EINVAL) = false")
	}
}

// testTimeout bounds every wait in these tests: reaching it means a hang.
const testTimeout = 20 * time.Second

// randomBytes returns n random bytes.
func randomBytes(t *testing.T, n int) []byte {
	t.Helper()
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		t.Fatal(err)
	}
	return b
}

// result is what a goroutine in a test reports back.
type result struct {
	data []byte
	err  error
}

// await returns what ch delivers, failing the test if nothing comes in
// testTimeout.
func await[T any](t *testing.T, ch <-chan T, what string) T {
	t.Helper()
	select {
	case v := <-ch:
		return v
	case <-time.After(testTimeout):
		t.Fatalf("%s: nothing after %v (hung)", what, testTimeout)
		panic("unreachable")
	}
}

// closeWriter is a connection that can be half-closed.
type closeWriter interface {
	CloseWrite() error
}

// halfCloseRoundTrip checks a connection pair both ways: the client sends
// payload and half-closes; the server reads it to EOF, then sends it back
// reversed, half-closes, and still reads EOF; the client reads the reply
// to EOF after its own half-close. Every byte must arrive.
func halfCloseRoundTrip(t *testing.T, ln net.Listener, dial func() (net.Conn, error), payload []byte) {
	t.Helper()
	srv := make(chan result, 1)
	go func() {
		c, err := ln.Accept()
		if err != nil {
			srv <- result{err: err}
			return
		}
		defer c.Close()
		c.SetDeadline(time.Now().Add(testTimeout))
		got, err := io.ReadAll(c)
		if err != nil {
			srv <- result{err: err}
			return
		}
		if _, err := c.Write(reversed(got)); err != nil {
			srv <- result{err: err}
			return
		}
		if err := c.(closeWriter).CloseWrite(); err != nil {
			srv <- result{err: err}
			return
		}
		srv <- result{data: got}
	}()
	c, err := dial()
	if err != nil {
		t.Fatalf("dial: %v", err)
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(testTimeout))
	if _, err := c.Write(payload); err != nil {
		t.Fatalf("client write: %v", err)
	}
	if err := c.(closeWriter).CloseWrite(); err != nil {
		t.Fatalf("client CloseWrite: %v", err)
	}
	reply, err := io.ReadAll(c)
	if err != nil {
		t.Fatalf("client read: %v", err)
	}
	r := await(t, srv, "server")
	if r.err != nil {
		t.Fatalf("server: %v", r.err)
	}
	if !bytes.Equal(r.data, payload) {
		t.Errorf("server received %d bytes, want the %d sent", len(r.data), len(payload))
	}
	if !bytes.Equal(reply, reversed(payload)) {
		t.Errorf("client received %d bytes, not the %d-byte reply", len(reply), len(payload))
	}
}

func reversed(b []byte) []byte {
	r := make([]byte, len(b))
	for i, c := range b {
		r[len(b)-1-i] = c
	}
	return r
}
