package cmd

import (
	"errors"
	"io"
	"net"
	"syscall"
	"time"

	"github.com/rogpeppe/go-internal/testscript"
)

// echoScriptTimeout bounds every wait of the echo script commands.
const echoScriptTimeout = 20 * time.Second

// The script commands of the echo scripts. Each waits for what the
// server does, never for a fixed time.
func init() {
	// greeted NAME HOST:PORT: connect, read the greeting hello\r\n, and
	// hold the connection as dial does (hangup NAME closes it). Once it
	// returns, the server has accepted and counted the connection.
	scriptCmds["greeted"] = func(ts *testscript.TestScript, neg bool, args []string) {
		if neg || len(args) != 2 {
			ts.Fatalf("usage: greeted NAME HOST:PORT")
		}
		c, err := net.DialTimeout("tcp", args[1], echoScriptTimeout)
		ts.Check(err)
		c.SetReadDeadline(time.Now().Add(echoScriptTimeout))
		got := make([]byte, 7)
		if _, err := io.ReadFull(c, got); err != nil || string(got) != "hello\r\n" {
			c.Close()
			ts.Fatalf("greeted: got %q, %v; want the greeting", got, err)
		}
		c.SetReadDeadline(time.Time{})
		heldConns(ts)[args[0]] = c
	}
	// echoes NAME TEXT: send TEXT on a held connection and read it back.
	scriptCmds["echoes"] = func(ts *testscript.TestScript, neg bool, args []string) {
		if neg || len(args) != 2 {
			ts.Fatalf("usage: echoes NAME TEXT")
		}
		c, ok := heldConns(ts)[args[0]]
		if !ok {
			ts.Fatalf("echoes: no connection %s", args[0])
		}
		c.SetDeadline(time.Now().Add(echoScriptTimeout))
		defer c.SetDeadline(time.Time{})
		_, err := c.Write([]byte(args[1]))
		ts.Check(err)
		got := make([]byte, len(args[1]))
		if _, err := io.ReadFull(c, got); err != nil || string(got) != args[1] {
			ts.Fatalf("echoes: got %q, %v; want %q back", got, err, args[1])
		}
	}
	// dropped HOST:PORT: connect and expect the server to close the
	// connection without a byte (a drop or a block). With one accept
	// loop, which accepts in order, it also proves that every connection
	// made before this one has been dealt with.
	scriptCmds["dropped"] = func(ts *testscript.TestScript, neg bool, args []string) {
		if neg || len(args) != 1 {
			ts.Fatalf("usage: dropped HOST:PORT")
		}
		c, err := net.DialTimeout("tcp", args[0], echoScriptTimeout)
		ts.Check(err)
		defer c.Close()
		c.SetReadDeadline(time.Now().Add(echoScriptTimeout))
		got, err := io.ReadAll(c)
		if errors.Is(err, syscall.ECONNRESET) {
			err = nil
		}
		if err != nil || len(got) != 0 {
			ts.Fatalf("dropped: got %q, %v; want the server to close at once", got, err)
		}
	}
	// waitrefused HOST:PORT: wait until the port refuses connections
	// (the server stopped listening).
	scriptCmds["waitrefused"] = func(ts *testscript.TestScript, neg bool, args []string) {
		if neg || len(args) != 1 {
			ts.Fatalf("usage: waitrefused HOST:PORT")
		}
		deadline := time.Now().Add(echoScriptTimeout)
		for {
			c, err := net.DialTimeout("tcp", args[0], echoScriptTimeout)
			if errors.Is(err, syscall.ECONNREFUSED) {
				return
			}
			if err == nil {
				c.Close()
			}
			if time.Now().After(deadline) {
				ts.Fatalf("waitrefused %s: still accepting after %v", args[0], echoScriptTimeout)
			}
			time.Sleep(10 * time.Millisecond)
		}
	}
}
