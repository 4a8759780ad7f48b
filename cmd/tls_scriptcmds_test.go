package cmd

import (
	"crypto/tls"
	"crypto/x509"
	"io"
	"net"
	"os"
	"time"

	"github.com/rogpeppe/go-internal/testscript"

	"github.com/nodenet/nodenet/netcore/tlstest"
)

// The script commands of the TLS scripts.
func init() {
	// tlscerts DIR: write the test certificates (see tlstest) into DIR.
	scriptCmds["tlscerts"] = func(ts *testscript.TestScript, neg bool, args []string) {
		if neg || len(args) != 1 {
			ts.Fatalf("usage: tlscerts DIR")
		}
		dir := ts.MkAbs(args[0])
		ts.Check(os.MkdirAll(dir, 0o755))
		_, err := tlstest.Make(dir)
		ts.Check(err)
	}
	// tlsgreeted NAME HOST:PORT CAFILE: connect with TLS, verifying the
	// server as localhost against CAFILE, read the greeting hello\r\n,
	// and hold the connection as dial does (echoes and hangup use it).
	scriptCmds["tlsgreeted"] = func(ts *testscript.TestScript, neg bool, args []string) {
		if neg || len(args) != 3 {
			ts.Fatalf("usage: tlsgreeted NAME HOST:PORT CAFILE")
		}
		pem, err := os.ReadFile(ts.MkAbs(args[2]))
		ts.Check(err)
		pool := x509.NewCertPool()
		pool.AppendCertsFromPEM(pem)
		d := &net.Dialer{Timeout: echoScriptTimeout}
		c, err := tls.DialWithDialer(d, "tcp", args[1], &tls.Config{RootCAs: pool, ServerName: "localhost"})
		ts.Check(err)
		c.SetReadDeadline(time.Now().Add(echoScriptTimeout))
		got := make([]byte, 7)
		if _, err := io.ReadFull(c, got); err != nil || string(got) != "hello\r\n" {
			c.Close()
			ts.Fatalf("tlsgreeted: got %q, %v; want the greeting", got, err)
		}
		c.SetReadDeadline(time.Time{})
		heldConns(ts)[args[0]] = c
	}
}
