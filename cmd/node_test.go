//go:build unix

package cmd

import (
	"bufio"
	"bytes"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/nodenet/nodenet/netcore/nodetest"
)

// peerTimeout bounds every process a peer test starts.
const peerTimeout = 60 * time.Second

// nodenetPath is the nodenet that testscript.Main put on PATH: this test
// binary under the name nodenet.
func nodenetPath(t *testing.T) string {
	t.Helper()
	p, err := exec.LookPath("nodenet")
	if err != nil {
		t.Fatalf("nodenet is not on PATH: %v", err)
	}
	return p
}

// startNode runs a Node script that prints one line (a port, say) once
// ready, and returns that line; the process is killed when the test ends.
func startNode(t *testing.T, node, script string) (line string, stdout *bufio.Reader) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), peerTimeout)
	c := exec.CommandContext(ctx, node, "-e", script)
	out, err := c.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	c.Stderr = os.Stderr
	if err := c.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		cancel()
		c.Wait() //nolint:errcheck // killed
	})
	r := bufio.NewReader(out)
	first, err := r.ReadString('\n')
	if err != nil {
		t.Fatalf("node script: %v", err)
	}
	return strings.TrimSpace(first), r
}

// runNodenet runs nodenet with stdin and returns stdout, stderr and the
// exit status.
func runNodenet(t *testing.T, stdin io.Reader, args ...string) (stdout, stderr []byte, code int) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), peerTimeout)
	defer cancel()
	c := exec.CommandContext(ctx, nodenetPath(t), args...)
	c.Stdin = stdin
	c.Env = append(os.Environ(), "XDG_CONFIG_HOME="+t.TempDir())
	var out, errb bytes.Buffer
	c.Stdout, c.Stderr = &out, &errb
	code = exitStatus(t, args, c.Run())
	if ctx.Err() != nil {
		t.Fatalf("nodenet %v did not finish within %v; stderr:\n%s", args, peerTimeout, errb.String())
	}
	return out.Bytes(), errb.Bytes(), code
}

// The Node docs' echo server, with `nodenet connect` in place of telnet.
const docsEchoServer = `
const net = require('net');
const server = net.createServer((c) => {
  c.write('hello\r\n');
  c.pipe(c);
});
server.listen(0, '127.0.0.1', () => console.log(server.address().port));
`

func TestNodeDocsEchoServer(t *testing.T) {
	port, _ := startNode(t, nodetest.Node20(t), docsEchoServer)
	out, stderr, code := runNodenet(t, strings.NewReader("line one\nline two\n"), "connect", port, "127.0.0.1")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	if want := "hello\r\nline one\nline two\n"; string(out) != want {
		t.Errorf("printed %q, want %q", out, want)
	}
}

// A server that answers only after the client's end: nc and telnet lose
// this reply; nodenet half-closes and waits for it.
const replyAfterEndServer = `
const net = require('net');
const server = net.createServer({ allowHalfOpen: true }, (c) => {
  let n = 0;
  c.on('data', (d) => { n += d.length; });
  c.on('end', () => { c.end('received ' + n + ' bytes\n'); });
});
server.listen(0, '127.0.0.1', () => console.log(server.address().port));
`

func TestNodeReplyAfterOurEnd(t *testing.T) {
	port, _ := startNode(t, nodetest.Node20(t), replyAfterEndServer)
	out, stderr, code := runNodenet(t, strings.NewReader(strings.Repeat("x", 100000)), "connect", "127.0.0.1:"+port)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	if want := "received 100000 bytes\n"; string(out) != want {
		t.Errorf("printed %q, want %q", out, want)
	}
}

// A Node client against `nodenet listen`: each side's bytes reach the
// other, and both ends finish.
func TestNodeClientAgainstListen(t *testing.T) {
	node := nodetest.Node20(t)
	ready := filepath.Join(t.TempDir(), "ready")
	type result struct {
		out, stderr []byte
		code        int
	}
	done := make(chan result, 1)
	go func() {
		out, stderr, code := runNodenet(t, strings.NewReader("from nodenet\n"), "listen", "0", "127.0.0.1", "--ready-file", ready)
		done <- result{out, stderr, code}
	}()
	addr := waitReady(t, ready)
	_, port, _ := strings.Cut(addr, "127.0.0.1:")
	script := `
const net = require('net');
const c = net.connect(` + port + `, '127.0.0.1');
let got = '';
c.on('data', (d) => { got += d; });
c.on('end', () => { console.log(JSON.stringify(got)); });
c.end('from node\n');
`
	got := nodetest.Run(t, node, script, nil, peerTimeout)
	if want := `"from nodenet\n"`; strings.TrimSpace(string(got)) != want {
		t.Errorf("node received %s, want %s", got, want)
	}
	r := <-done
	if r.code != 0 {
		t.Fatalf("listen exit %d: %s", r.code, r.stderr)
	}
	if string(r.out) != "from node\n" {
		t.Errorf("listen printed %q", r.out)
	}
}

// waitReady waits for a --ready-file and returns the address in it.
func waitReady(t *testing.T, path string) string {
	t.Helper()
	deadline := time.Now().Add(peerTimeout)
	for {
		b, err := os.ReadFile(path)
		if err == nil && bytes.HasSuffix(b, []byte("\n")) {
			return strings.TrimSpace(string(b))
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s was not written", path)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// TestNodeByteExactBothWays moves 32 MiB each way at once between
// nodenet and Node, from a regular file (sendfile) into a pipe (splice),
// and compares SHA-256 sums on both sides.
func TestNodeByteExactBothWays(t *testing.T) {
	node := nodetest.Node20(t)
	const size = 32 << 20
	up := make([]byte, size)
	if _, err := rand.Read(up); err != nil {
		t.Fatal(err)
	}
	upFile := filepath.Join(t.TempDir(), "up")
	if err := os.WriteFile(upFile, up, 0o600); err != nil {
		t.Fatal(err)
	}
	upSum := sha256.Sum256(up)

	// Node sends `size` bytes of a seeded pattern and prints the SHA-256
	// of what it receives, and of what it sent, once both are done.
	server := `
const net = require('net'), crypto = require('crypto');
const size = ` + strconv.Itoa(size) + `;
const server = net.createServer({ allowHalfOpen: true }, (c) => {
  const hin = crypto.createHash('sha256'), hout = crypto.createHash('sha256');
  let sent = 0;
  const chunk = crypto.randomBytes(1 << 16);
  function pump() {
    while (sent < size) {
      const b = chunk.subarray(0, Math.min(chunk.length, size - sent));
      hout.update(b); sent += b.length;
      if (!c.write(b)) { c.once('drain', pump); return; }
    }
    outSum = hout.digest('hex');
    c.end();
    report();
  }
  // nodenet may end its upload before Node has sent everything, or after.
  let inSum, outSum;
  function report() { if (inSum && outSum) console.log(inSum + ' ' + outSum); }
  c.on('data', (d) => hin.update(d));
  c.on('end', () => { inSum = hin.digest('hex'); report(); });
  pump();
});
server.listen(0, '127.0.0.1', () => console.log(server.address().port));
`
	port, rest := startNode(t, node, server)
	in, err := os.Open(upFile)
	if err != nil {
		t.Fatal(err)
	}
	defer in.Close()
	out, stderr, code := runNodenet(t, in, "connect", port, "127.0.0.1")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	line, err := rest.ReadString('\n')
	if err != nil {
		t.Fatal(err)
	}
	sums := strings.Fields(line)
	if len(sums) != 2 {
		t.Fatalf("node printed %q", line)
	}
	if sums[0] != hex.EncodeToString(upSum[:]) {
		t.Error("Node received other bytes than nodenet sent")
	}
	downSum := sha256.Sum256(out)
	if len(out) != size || sums[1] != hex.EncodeToString(downSum[:]) {
		t.Errorf("nodenet printed %d bytes that differ from the %d Node sent", len(out), size)
	}
}

// TestErrorWordingMatchesNode puts nodenet and Node in the same
// situation and compares what they say.
func TestErrorWordingMatchesNode(t *testing.T) {
	node := nodetest.Node20(t)
	// A port that refuses: a server that is closed again... would race;
	// instead a server Node holds, which we also use for EADDRINUSE.
	held, _ := startNode(t, node, `const s = require('net').createServer().listen(0, '127.0.0.1', () => console.log(s.address().port));`)
	sock := filepath.Join(t.TempDir(), "nope.sock")
	tests := []struct {
		name   string
		args   []string
		nodeJS string // prints err.message (or code: message for Node's own errors)
		code   int
		prefix string
	}{
		{"listen EADDRINUSE", []string{"listen", held, "127.0.0.1"},
			`require('net').createServer().listen(` + held + `, '127.0.0.1').on('error', (e) => console.log(e.message));`, 1, ""},
		{"connect ENOENT", []string{"connect", "-U", sock},
			`require('net').connect(` + strconv.Quote(sock) + `).on('error', (e) => console.log(e.message));`, 1, ""},
		{"bad port", []string{"connect", "70000"},
			`try { require('net').connect(70000) } catch (e) { console.log(e.code + ': ' + e.message) }`, 2, ""},
		{"bad listen port", []string{"listen", "65536"},
			`try { require('net').createServer().listen(65536) } catch (e) { console.log(e.code + ': ' + e.message) }`, 2, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			want := strings.TrimSpace(string(nodetest.Run(t, node, tt.nodeJS, nil, peerTimeout)))
			_, stderr, code := runNodenet(t, nil, tt.args...)
			if code != tt.code {
				t.Errorf("exit %d, want %d", code, tt.code)
			}
			if got := strings.TrimSpace(string(stderr)); got != "nodenet: "+want {
				t.Errorf("nodenet said %q\nnode said    %q", got, want)
			}
		})
	}
}

// TestBlockedWordingMatchesNode26: the outbound block list refuses before
// any packet, with current Node's code and message.
func TestBlockedWordingMatchesNode26(t *testing.T) {
	node := nodetest.Current(t)
	held, _ := startNode(t, nodetest.Node20(t), `const s = require('net').createServer().listen(0, '127.0.0.1', () => console.log(s.address().port));`)
	js := `const net = require('net'); const bl = new net.BlockList(); bl.addAddress('127.0.0.1');
net.connect({ port: ` + held + `, host: '127.0.0.1', blockList: bl }).on('error', (e) => console.log(e.code + ': ' + e.message));`
	want := strings.TrimSpace(string(nodetest.Run(t, node, js, nil, peerTimeout)))
	_, stderr, code := runNodenet(t, nil, "connect", "--block", "127.0.0.1", held, "127.0.0.1")
	if code != 1 {
		t.Errorf("exit %d, want 1", code)
	}
	if got := strings.TrimSpace(string(stderr)); got != "nodenet: "+want {
		t.Errorf("nodenet said %q\nnode said    %q", got, want)
	}
}

// exitStatus is the exit status of a nodenet run that returned err; it
// fails the test when nodenet could not be run at all.
func exitStatus(t *testing.T, args []string, err error) int {
	t.Helper()
	var ee *exec.ExitError
	switch {
	case err == nil:
		return 0
	case errors.As(err, &ee):
		return ee.ExitCode()
	}
	t.Fatalf("nodenet %v: %v", args, err)
	return 0
}
