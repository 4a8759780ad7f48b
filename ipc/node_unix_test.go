//go:build unix

package ipc

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"io"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/nodenet/nodenet/netcore/nodetest"
)

// docsEchoServer is the echo server of Node's net.createServer() example,
// listening on PATH (a JavaScript string literal) and saying so on stdout.
const docsEchoServer = `
const net = require('node:net');
const server = net.createServer((c) => {
  c.write('hello\r\n');
  c.pipe(c);
});
server.listen(PATH, () => console.log('listening'));
`

// jsString returns s as a JavaScript string literal (Go's quoting of the
// bytes these tests use is valid JavaScript: \x00, \\, \").
func jsString(s string) string { return fmt.Sprintf("%q", s) }

// startNode runs script with node in the background until the test ends,
// and returns once it printed "listening".
func startNode(t *testing.T, node, script string) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	cmd := exec.CommandContext(ctx, node, "-e", script)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		cancel() // kills the node we started
		cmd.Wait()
	})
	ready := make(chan string, 1)
	go func() {
		line, _ := bufio.NewReader(out).ReadString('\n')
		ready <- line
		io.Copy(io.Discard, out)
	}()
	if line := await(t, ready, "node server"); line != "listening\n" {
		t.Fatalf("node server did not start: %q\n%s", line, stderr.String())
	}
}

// dialDocsEcho dials the docs' echo server at path, sends payload,
// half-closes and checks that the greeting and the payload come back.
func dialDocsEcho(t *testing.T, path string, payload []byte) {
	t.Helper()
	c, err := dialer(path)()
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(testTimeout))
	go func() {
		c.Write(payload)
		c.(closeWriter).CloseWrite()
	}()
	got, err := io.ReadAll(c)
	if err != nil {
		t.Fatal(err)
	}
	want := append([]byte("hello\r\n"), payload...)
	if !bytes.Equal(got, want) {
		t.Errorf("received %d bytes, want %d: the greeting and the payload", len(got), len(want))
	}
}

func TestNodeDocsEchoServer(t *testing.T) {
	node := nodetest.Node20(t)
	path := filepath.Join(shortTempDir(t), "echo.sock")
	startNode(t, node, strings.Replace(docsEchoServer, "PATH", jsString(path), 1))
	dialDocsEcho(t, path, randomBytes(t, 1<<20))
}

// nodeClient connects to PATH, sends its stdin, ends, and prints what it
// receives until the server ends.
const nodeClient = `
const net = require('node:net');
const chunks = [];
process.stdin.on('data', (d) => chunks.push(d));
process.stdin.on('end', () => {
  const c = net.connect(PATH, () => c.end(Buffer.concat(chunks)));
  c.on('data', (d) => process.stdout.write(d));
  c.on('error', (e) => { console.error(e.message); process.exit(1); });
});
`

// serveReversed accepts one connection on ln, reads it to EOF and answers
// with what it read, reversed, then half-closes.
func serveReversed(t *testing.T, ln *Listener) <-chan result {
	t.Helper()
	done := make(chan result, 1)
	go func() {
		c, err := ln.Accept()
		if err != nil {
			done <- result{err: err}
			return
		}
		defer c.Close()
		c.SetDeadline(time.Now().Add(testTimeout))
		got, err := io.ReadAll(c)
		if err == nil {
			_, err = c.Write(reversed(got))
		}
		if err == nil {
			err = c.(closeWriter).CloseWrite()
		}
		done <- result{data: got, err: err}
	}()
	return done
}

func TestNodeClient(t *testing.T) {
	node := nodetest.Node20(t)
	path := filepath.Join(shortTempDir(t), "srv.sock")
	ln := listenT(t, nil, path)
	done := serveReversed(t, ln)
	payload := randomBytes(t, 300000)
	out := nodetest.Run(t, node, strings.Replace(nodeClient, "PATH", jsString(path), 1), payload, testTimeout)
	r := await(t, done, "server")
	if r.err != nil {
		t.Fatal(r.err)
	}
	if !bytes.Equal(r.data, payload) {
		t.Errorf("server received %d bytes, want the %d node sent", len(r.data), len(payload))
	}
	if !bytes.Equal(out, reversed(payload)) {
		t.Errorf("node received %d bytes, want the %d-byte reply", len(out), len(payload))
	}
}
