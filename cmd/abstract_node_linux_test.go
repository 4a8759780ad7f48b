package cmd

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/nodenet/nodenet/netcore/nodetest"
)

// Abstract sockets with both Node lines (issue 10 §3): Node v20 binds and
// dials '\0name' padded with NULs to the whole of sun_path, v26 the exact
// name, and the kernel holds them for two names. nodenet reaches a server
// of either line and is reached by clients of both, without being told
// which.

// nodeLines are the Node binaries to try: v20 and the current one.
func nodeLines(t *testing.T) map[string]string {
	return map[string]string{"v20": nodetest.Node20(t), "v26": nodetest.Current(t)}
}

// uniqueAbstract returns an abstract name no other test run uses, without
// the @.
func uniqueAbstract(t *testing.T) string {
	b := make([]byte, 6)
	if _, err := rand.Read(b); err != nil {
		t.Fatal(err)
	}
	return "nodenet-cmd-" + strconv.Itoa(os.Getpid()) + "-" + hex.EncodeToString(b)
}

func TestConnectAbstractNodeServers(t *testing.T) {
	for line, node := range nodeLines(t) {
		t.Run(line, func(t *testing.T) {
			name := uniqueAbstract(t)
			startNode(t, node, `
const net = require('net');
const server = net.createServer((c) => c.end('hello from ' + process.version + '\n'));
server.listen('\0`+name+`', () => console.log('listening'));
`)
			out, stderr, code := runNodenet(t, strings.NewReader(""), "connect", "-U", "@"+name)
			if code != 0 || !strings.HasPrefix(string(out), "hello from "+line) {
				t.Fatalf("exit %d, printed %q; stderr:\n%s", code, out, stderr)
			}
		})
	}
}

func TestEchoAbstractNodeClients(t *testing.T) {
	lines := nodeLines(t)
	for _, cmd := range []string{"echo", "listen"} {
		t.Run(cmd, func(t *testing.T) {
			name := uniqueAbstract(t)
			ready := filepath.Join(t.TempDir(), "ready")
			ctx, cancel := context.WithTimeout(context.Background(), peerTimeout)
			args := []string{cmd, "-U", "@" + name, "--ready-file", ready, "-q"}
			if cmd == "listen" {
				args = append(args, "-k")
			}
			c := exec.CommandContext(ctx, nodenetPath(t), args...)
			c.Env = append(os.Environ(), "XDG_CONFIG_HOME="+t.TempDir())
			if err := c.Start(); err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() {
				cancel()
				c.Wait() //nolint:errcheck // killed
			})
			if got := waitReady(t, ready); got != "@"+name {
				t.Errorf("ready file says %q, want %q", got, "@"+name)
			}
			for line, node := range lines {
				// A failure to connect is an 'error' event: node exits 1.
				out := nodetest.Run(t, node, `
const net = require('net');
const c = net.connect('\0`+name+`', () => c.end('from ' + process.version + '\n'));
let got = '';
c.on('data', (d) => { got += d; });
c.on('error', (e) => { console.log('error ' + e.message); process.exitCode = 1; });
c.on('close', () => console.log(JSON.stringify(got)));
`, nil, peerTimeout)
				want := `""` // listen: its stdin is /dev/null
				if cmd == "echo" {
					version := strings.TrimSpace(string(nodetest.Run(t, node, "console.log(process.version)", nil, peerTimeout)))
					want = strconv.Quote("hello\r\nfrom " + version + "\n")
				}
				if got := strings.TrimSpace(string(out)); got != want {
					t.Errorf("node %s printed %s, want %s", line, got, want)
				}
			}
		})
	}
}
