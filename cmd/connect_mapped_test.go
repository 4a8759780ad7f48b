//go:build linux

package cmd

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"

	"github.com/nodenet/nodenet/netcore/nodetest"
)

// TestConnectIPv4Mapped: `nodenet connect PORT ::ffff:127.0.0.1` failed
// with "connect UNKNOWN" and made no system call, while Node connects (on
// an IPv6 socket that the kernel connects over IPv4). nodenet's own -v
// shows IPv4 clients of a dual-stack listener in that form, so users copy
// it. Node is the oracle for the connection and the addresses it reports.
func TestConnectIPv4Mapped(t *testing.T) {
	node := nodetest.Node20(t)
	port, _ := startNode(t, node, `
const net = require('net');
const server = net.createServer((c) => c.end('hello\n'));
server.listen(0, '127.0.0.1', () => console.log(server.address().port));
`)
	want := nodetest.Run(t, node, `
const net = require('net');
const s = net.connect(`+port+`, '::ffff:127.0.0.1', () => {
  console.log(JSON.stringify({remoteAddress: s.remoteAddress, remoteFamily: s.remoteFamily, localAddress: s.localAddress}));
});
s.resume();
`, nil, peerTimeout)
	var nodeSaw map[string]any
	if err := json.Unmarshal(want, &nodeSaw); err != nil {
		t.Fatalf("node printed %q: %v", want, err)
	}

	out, stderr, code := runNodenet(t, strings.NewReader(""), "--events", "json", "connect", port, "::ffff:127.0.0.1")
	if code != 0 || string(out) != "hello\n" {
		t.Fatalf("exit %d, printed %q; stderr:\n%s", code, out, stderr)
	}
	var ev map[string]any
	for _, line := range bytes.Split(stderr, []byte("\n")) {
		var m map[string]any
		if json.Unmarshal(line, &m) == nil && m["event"] == "connect" {
			ev = m
		}
	}
	if ev == nil {
		t.Fatalf("no connect event in:\n%s", stderr)
	}
	for k, v := range nodeSaw {
		if ev[k] != v {
			t.Errorf("connect event %s = %v, Node says %v", k, ev[k], v)
		}
	}
}
