//go:build linux

package cmd

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"golang.org/x/sys/unix"

	"github.com/nodenet/nodenet/netcore/nodetest"
)

// nodeSocketOnFD is Node's new net.Socket({fd: 3}): the error code it
// throws, or "ok" and the peer's address.
const nodeSocketOnFD = `
const net = require('net');
try {
  const s = new net.Socket({fd: 3, readable: true, writable: true});
  console.log('ok ' + s.remoteAddress + ':' + s.remotePort);
  s.destroy();
} catch (e) { console.log(e.code); }
`

// TestConnectFDAgainstNode hands the same descriptor to Node's
// new net.Socket({fd}) (v20 and the current one) and to nodenet connect
// --fd 3: a file and a UDP socket are refused with Node's code, and a
// connected TCP socket has the peer address Node sees.
func TestConnectFDAgainstNode(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			c.Close()
		}
	}()
	kinds := map[string]func(t *testing.T) *os.File{
		"file": func(t *testing.T) *os.File {
			p := filepath.Join(t.TempDir(), "f")
			os.WriteFile(p, []byte("x"), 0o600) //nolint:errcheck // Open says
			f, err := os.Open(p)
			if err != nil {
				t.Fatal(err)
			}
			return f
		},
		"udp": func(t *testing.T) *os.File {
			fd, err := unix.Socket(unix.AF_INET, unix.SOCK_DGRAM|unix.SOCK_CLOEXEC, 0)
			if err != nil {
				t.Fatal(err)
			}
			return os.NewFile(uintptr(fd), "udp")
		},
		"tcp": func(t *testing.T) *os.File {
			c, err := net.Dial("tcp", ln.Addr().String())
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close()
			f, err := c.(*net.TCPConn).File()
			if err != nil {
				t.Fatal(err)
			}
			return f
		},
	}
	for _, oracle := range []struct {
		name string
		path func(testing.TB) string
	}{{"node20", nodetest.Node20}, {"node26", nodetest.Current}} {
		t.Run(oracle.name, func(t *testing.T) {
			node := oracle.path(t)
			for name, mk := range kinds {
				t.Run(name, func(t *testing.T) {
					f := mk(t)
					defer f.Close()
					ctx, cancel := context.WithTimeout(context.Background(), peerTimeout)
					defer cancel()
					nc := exec.CommandContext(ctx, node, "-e", nodeSocketOnFD)
					nc.ExtraFiles = []*os.File{f}
					out, err := nc.Output()
					if err != nil {
						t.Fatalf("node: %v", err)
					}
					nodeSays := strings.TrimSpace(string(out))

					c := exec.CommandContext(ctx, nodenetPath(t), "--events", "json", "connect", "--fd", "3", "--send", "x")
					c.ExtraFiles = []*os.File{f}
					c.Env = append(os.Environ(), "XDG_CONFIG_HOME="+t.TempDir())
					var errb bytes.Buffer
					c.Stderr = &errb
					code := exitStatus(t, c.Args, c.Run())
					var first struct {
						Event, Code, RemoteAddress string
						RemotePort                 int
					}
					line, _, _ := strings.Cut(errb.String(), "\n")
					if err := json.Unmarshal([]byte(line), &first); err != nil {
						t.Fatalf("nodenet's first line %q: %v", line, err)
					}
					if name == "tcp" {
						got := fmt.Sprintf("ok %s:%d", first.RemoteAddress, first.RemotePort)
						if first.Event != "connect" || got != nodeSays {
							t.Errorf("nodenet: %s (%s); Node: %s", got, line, nodeSays)
						}
						return
					}
					if code != 2 || first.Event != "error" || first.Code != nodeSays {
						t.Errorf("nodenet: exit %d, %s; Node throws %s", code, line, nodeSays)
					}
				})
			}
		})
	}
}
