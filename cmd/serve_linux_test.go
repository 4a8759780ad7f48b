//go:build linux

package cmd

import (
	"net"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/nodenet/nodenet/netcore/nodetest"
)

// TestBusyPortIsAddrInUse: a port that a nodenet server holds, with
// every default and with several accept loops, is EADDRINUSE for a
// second nodenet server (with or without --reuse-port) and for Node's,
// as Node's own server is for nodenet. Nobody shares a port unless both
// ask to.
func TestBusyPortIsAddrInUse(t *testing.T) {
	for _, first := range [][]string{{}, {"--workers", "4"}} {
		p := startEcho(t, "", append([]string{"0", "127.0.0.1"}, first...)...)
		_, port, _ := net.SplitHostPort(p.addr)
		want := "nodenet: listen EADDRINUSE: address already in use " + p.addr + "\n"
		for _, second := range [][]string{{}, {"--workers", "4"}, {"--reuse-port", "--workers", "2"}} {
			_, stderr, code := runNodenet(t, nil, append([]string{"echo", p.addr}, second...)...)
			if code != 1 || string(stderr) != want {
				t.Errorf("echo %v beside echo %v: exit %d, stderr %q; want exit 1, %q", second, first, code, stderr, want)
			}
		}
		_, stderr, code := runNodenet(t, nil, "listen", p.addr)
		if code != 1 || string(stderr) != want {
			t.Errorf("listen beside echo %v: exit %d, stderr %q; want exit 1, %q", first, code, stderr, want)
		}
		for _, node := range []string{nodetest.Node20(t), nodetest.Current(t)} {
			out := nodetest.Run(t, node, `
const net = require('net');
const s = net.createServer();
s.on('error', (e) => { console.log(e.code); process.exit(0); });
s.listen({port: `+port+`, host: '127.0.0.1'}, () => { console.log('listening'); s.close(); });
`, nil, 10*time.Second)
			if got := strings.TrimSpace(string(out)); got != "EADDRINUSE" {
				t.Errorf("Node %s beside echo %v: %q; want EADDRINUSE", node, first, got)
			}
		}
		p.signal(t, os.Interrupt)
		if code := p.wait(t); code != 0 {
			t.Errorf("echo exited %d after SIGINT", code)
		}
	}
	// And the other way round: a port Node holds.
	line, _ := startNode(t, nodetest.Node20(t), `
const net = require('net');
const s = net.createServer(() => {});
s.listen(0, '127.0.0.1', () => console.log(s.address().port));
`)
	addr := "127.0.0.1:" + line
	for _, args := range [][]string{{"echo", addr}, {"echo", addr, "--workers", "4"}, {"listen", addr}} {
		_, stderr, code := runNodenet(t, nil, args...)
		if want := "nodenet: listen EADDRINUSE: address already in use " + addr + "\n"; code != 1 || string(stderr) != want {
			t.Errorf("%v beside Node: exit %d, stderr %q; want exit 1, %q", args, code, stderr, want)
		}
	}
}
