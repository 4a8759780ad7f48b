package cmd

import (
	"net"
	"os"
	"strings"
	"sync"
	"time"

	"github.com/rogpeppe/go-internal/testscript"
)

// held are the connections `dial` opened, by script and name.
var held sync.Map // map[*testscript.TestScript]map[string]net.Conn

func heldConns(ts *testscript.TestScript) map[string]net.Conn {
	m, loaded := held.LoadOrStore(ts, map[string]net.Conn{})
	conns := m.(map[string]net.Conn)
	if !loaded {
		ts.Defer(func() {
			for _, c := range conns {
				c.Close()
			}
			held.Delete(ts)
		})
	}
	return conns
}

var scriptCmds = map[string]func(ts *testscript.TestScript, neg bool, args []string){
	// dial NAME HOST:PORT: open a TCP connection and hold it open, sending
	// nothing, until `hangup NAME` or the end of the script.
	"dial": func(ts *testscript.TestScript, neg bool, args []string) {
		if neg || len(args) != 2 {
			ts.Fatalf("usage: dial NAME HOST:PORT")
		}
		c, err := net.DialTimeout("tcp", args[1], 20*time.Second)
		ts.Check(err)
		heldConns(ts)[args[0]] = c
	},
	// sleep DUR: pause the script.
	"sleep": func(ts *testscript.TestScript, neg bool, args []string) {
		if neg || len(args) != 1 {
			ts.Fatalf("usage: sleep DUR")
		}
		d, err := time.ParseDuration(args[0])
		ts.Check(err)
		time.Sleep(d)
	},
	// hangup NAME: close a connection that dial opened.
	"hangup": func(ts *testscript.TestScript, neg bool, args []string) {
		if neg || len(args) != 1 {
			ts.Fatalf("usage: hangup NAME")
		}
		conns := heldConns(ts)
		c, ok := conns[args[0]]
		if !ok {
			ts.Fatalf("hangup: no connection %s", args[0])
		}
		c.Close()
		delete(conns, args[0])
	},
	// waitfile FILE [VAR]: wait up to 20s for FILE to exist and hold a
	// line, then set VAR (if given) to its contents. Servers started with
	// --ready-file write their bound address there once listening.
	"waitfile": func(ts *testscript.TestScript, neg bool, args []string) {
		if neg || len(args) < 1 || len(args) > 2 {
			ts.Fatalf("usage: waitfile FILE [VAR]")
		}
		deadline := time.Now().Add(20 * time.Second)
		for {
			b, err := os.ReadFile(ts.MkAbs(args[0]))
			if err == nil && strings.HasSuffix(string(b), "\n") {
				if len(args) == 2 {
					ts.Setenv(args[1], strings.TrimSpace(string(b)))
				}
				return
			}
			if time.Now().After(deadline) {
				ts.Fatalf("waitfile %s: not written within 20s", args[0])
			}
			time.Sleep(10 * time.Millisecond)
		}
	},
}
