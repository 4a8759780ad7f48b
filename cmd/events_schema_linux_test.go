//go:build linux

package cmd

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"
)

// eventShapes is SPEC's Events table as a test sees it: for each event,
// the sets of keys one of its JSON lines may carry, in Node's spelling.
// Every line of every command must have exactly one of these key sets
// (event and time are in all of them).
var eventShapes = map[string][][]string{
	"listening": {
		{"address", "family", "port"}, // TCP: server.address()
		{"path"},                      // IPC
	},
	"connection": {
		{"id", "remoteAddress", "remotePort", "remoteFamily", "localAddress", "localPort"},
		{"id", "path"},
	},
	"connect": {
		{"id", "remoteAddress", "remotePort", "remoteFamily", "localAddress", "localPort"},
		{"id", "path"},
	},
	"ready":   {{"id"}},
	"data":    {{"id", "length"}},
	"end":     {{"id"}},
	"finish":  {{"id"}},
	"drain":   {{"id"}},
	"timeout": {{"id"}},
	"close": {
		{"id", "hadError", "bytesRead", "bytesWritten"},               // a socket
		{"id", "hadError", "bytesRead", "bytesWritten", "exitCode"},   // --exec: the child's status
		{"id", "hadError", "bytesRead", "bytesWritten", "signalCode"}, // --exec: the signal that ended it
		{}, // the server
	},
	"exit": { // --exec: a child that outlived its connection
		{"id", "exitCode"},
		{"id", "signalCode"},
	},
	"drop": {
		{"localAddress", "localPort", "localFamily", "remoteAddress", "remotePort", "remoteFamily"},
		{"path"},
		// --broker: a client that kept the others waiting
		{"id", "localAddress", "localPort", "localFamily", "remoteAddress", "remotePort", "remoteFamily", "queuedBytes"},
		{"id", "path", "queuedBytes"},
	},
	"blocked": {{"remoteAddress", "remotePort", "remoteFamily"}},
	"error": {
		{"code", "syscall", "address", "port", "message"},
		{"id", "code", "syscall", "message"},
		{"code", "syscall", "address", "message"},
		{"code", "message"},
	},
	"lookup": {
		{"address", "family", "host"},
		{"host", "code", "syscall", "hostname", "message"},
	},
	"connectionAttempt":        {{"address", "port", "family"}},
	"connectionAttemptFailed":  {{"address", "port", "family", "error"}},
	"connectionAttemptTimeout": {{"address", "port", "family"}},
	"stats":                    {{"final", "seconds", "open", "accepted", "dropped", "bytesRead", "bytesWritten"}},
	"fd": { // listen -U: a descriptor received (Node v0.4's 'fd')
		{"id", "fd", "type"},            // closed: nobody takes it
		{"id", "fd", "type", "childFd"}, // --pass-fds: the command's fd
	},
	"worker": { // --processes: cluster's online and exit
		{"worker", "pid", "state"},
		{"worker", "pid", "state", "exitCode"},
		{"worker", "pid", "state", "signalCode"},
	},
}

// checkEventLines checks every line of stderr against eventShapes and
// returns the events seen, in order.
func checkEventLines(t *testing.T, who string, stderr []byte) []string {
	t.Helper()
	var seen []string
	lines := bytes.Split(bytes.TrimSpace(stderr), []byte("\n"))
	for i, line := range lines {
		if len(line) == 0 {
			continue
		}
		var m map[string]any
		if i == len(lines)-1 && bytes.HasPrefix(line, []byte("nodenet: ")) {
			continue // the failure's own line, after its error event
		}
		if err := json.Unmarshal(line, &m); err != nil {
			t.Errorf("%s: a line that is not a JSON event: %s", who, line)
			continue
		}
		ev, _ := m["event"].(string)
		if _, err := time.Parse(time.RFC3339, fmt.Sprint(m["time"])); err != nil {
			t.Errorf("%s: %s: time is not RFC 3339: %v", who, line, err)
		}
		var keys []string
		for k := range m {
			if k != "event" && k != "time" {
				keys = append(keys, k)
			}
		}
		sort.Strings(keys)
		shapes, ok := eventShapes[ev]
		if !ok {
			t.Errorf("%s: event %q is not in SPEC's table: %s", who, ev, line)
			continue
		}
		match := false
		for _, shape := range shapes {
			want := slices.Clone(shape)
			sort.Strings(want)
			if slices.Equal(keys, want) {
				match = true
			}
		}
		if !match {
			t.Errorf("%s: %s has keys %v; want one of %v", who, ev, keys, shapes)
		}
		seen = append(seen, ev)
	}
	return seen
}

// schemaRun is one command of a scenario, run to its end.
type schemaRun struct {
	args   []string
	idle   bool     // stdin stays open and quiet for a while
	expect []string // events it must print, at least once each
}

// schemaServer is a server started for a scenario and stopped with
// SIGINT at its end.
type schemaServer struct {
	cmd    *exec.Cmd
	stderr bytes.Buffer
	addr   string
}

func startSchemaServer(t *testing.T, args []string, files []*os.File) *schemaServer {
	t.Helper()
	ready := filepath.Join(t.TempDir(), "ready")
	s := &schemaServer{}
	argv := append([]string{"--events", "json"}, args...)
	argv = append(argv, "--ready-file", ready)
	s.cmd = exec.Command(nodenetPath(t), argv...)
	s.cmd.Env = append(os.Environ(), "XDG_CONFIG_HOME="+t.TempDir())
	s.cmd.Stderr = &s.stderr
	s.cmd.ExtraFiles = files
	if err := s.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.cmd.Process.Kill() })
	s.addr = waitReady(t, ready)
	return s
}

func (s *schemaServer) stop(t *testing.T) []byte {
	t.Helper()
	s.cmd.Process.Signal(os.Interrupt)
	done := make(chan error, 1)
	go func() { done <- s.cmd.Wait() }()
	select {
	case <-done:
	case <-time.After(peerTimeout):
		t.Fatal("the server did not end after SIGINT")
	}
	return s.stderr.Bytes()
}

// TestEventSchema runs every command on every transport and engine with
// --events json, and checks every line it prints against SPEC's table of
// events and their keys; each scenario must also show the events it is
// about, so that a command that prints nothing cannot pass.
func TestEventSchema(t *testing.T) {
	dir := t.TempDir()
	abstract := fmt.Sprintf("@nodenet-schema-%d", os.Getpid())
	inherited := func(t *testing.T) []*os.File {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		f, err := ln.(*net.TCPListener).File()
		if err != nil {
			t.Fatal(err)
		}
		ln.Close()
		t.Cleanup(func() { f.Close() })
		return []*os.File{f}
	}
	// dialArgs are connect's arguments for the server's address.
	dialArgs := func(addr string) []string {
		if strings.HasPrefix(addr, "/") || strings.HasPrefix(addr, "@") {
			return []string{"-U", addr}
		}
		return []string{addr}
	}
	socketEvents := []string{"connect", "ready", "end", "finish", "close"}
	for _, tt := range []struct {
		name    string
		server  []string
		files   bool
		clients []schemaRun
		expect  []string // the server's events, at least once each
	}{
		{name: "echo tcp epoll", server: []string{"-vv", "echo", "0", "127.0.0.1", "--engine", "epoll"},
			clients: []schemaRun{{args: []string{"connect", "--send", "hi"}, expect: socketEvents}},
			expect:  []string{"listening", "connection", "data", "end", "finish", "close"}},
		{name: "echo tcp goroutines", server: []string{"-vv", "echo", "0", "127.0.0.1", "--engine", "goroutines"},
			clients: []schemaRun{{args: []string{"-vv", "connect", "--send", "hi"}, expect: append(socketEvents, "data")}},
			expect:  []string{"listening", "connection", "data", "end", "finish", "close"}},
		{name: "echo tcp6", server: []string{"echo", "0", "::1"},
			clients: []schemaRun{{args: []string{"connect", "--send", "hi"}, expect: socketEvents}},
			expect:  []string{"listening", "connection", "close"}},
		{name: "echo unix", server: []string{"echo", "-U", filepath.Join(dir, "e.sock")},
			clients: []schemaRun{{args: []string{"connect", "--send", "hi"}, expect: socketEvents}},
			expect:  []string{"listening", "connection", "close"}},
		{name: "echo abstract", server: []string{"echo", "-U", abstract},
			clients: []schemaRun{{args: []string{"connect", "--send", "hi"}, expect: socketEvents}},
			expect:  []string{"listening", "connection", "close"}},
		{name: "echo fd", server: []string{"echo", "--fd", "3"}, files: true,
			clients: []schemaRun{{args: []string{"connect", "--send", "hi"}, expect: socketEvents}},
			expect:  []string{"listening", "connection", "close"}},
		{name: "echo drop", server: []string{"echo", "0", "127.0.0.1", "--max-connections", "0"},
			clients: []schemaRun{{args: []string{"connect", "--send", "hi"}}},
			expect:  []string{"listening", "drop"}},
		{name: "echo drop unix", server: []string{"echo", "-U", filepath.Join(dir, "d.sock"), "--max-connections", "0"},
			clients: []schemaRun{{args: []string{"connect", "--send", "hi"}}},
			expect:  []string{"listening", "drop"}},
		{name: "echo blocked", server: []string{"echo", "0", "127.0.0.1", "--block", "127.0.0.1"},
			clients: []schemaRun{{args: []string{"connect", "--send", "hi"}}},
			expect:  []string{"listening", "blocked"}},
		{name: "echo timeout and stats", server: []string{"echo", "0", "127.0.0.1", "--timeout", "50ms", "--stats=20ms"},
			clients: []schemaRun{{args: []string{"connect", "--allow-half-open=false"}, idle: true, expect: []string{"connect", "end", "close"}}},
			expect:  []string{"listening", "connection", "timeout", "stats", "close"}},
		{name: "listen tcp", server: []string{"listen", "0", "127.0.0.1"},
			clients: []schemaRun{{args: []string{"connect", "--send", "hi"}, expect: socketEvents}},
			expect:  []string{"listening", "connection", "end", "close"}},
		{name: "listen unix", server: []string{"listen", "-U", filepath.Join(dir, "l.sock")},
			clients: []schemaRun{{args: []string{"connect", "--send", "hi"}, expect: socketEvents}},
			expect:  []string{"listening", "connection", "end", "close"}},
		{name: "listen abstract -k", server: []string{"listen", "-k", "-U", abstract + "-k"},
			clients: []schemaRun{{args: []string{"connect", "--send", "hi"}, expect: socketEvents}},
			expect:  []string{"listening", "connection", "end", "close"}},
		{name: "listen exec", server: []string{"listen", "-k", "0", "127.0.0.1", "--sh-exec", "cat; exit 3"},
			clients: []schemaRun{{args: []string{"connect", "--send", "hi"}, expect: socketEvents}},
			expect:  []string{"listening", "connection", "end", "finish", "close"}},
		{name: "listen exec unix", server: []string{"listen", "-U", filepath.Join(dir, "x.sock"), "-e", "cat"},
			clients: []schemaRun{{args: []string{"connect", "--send", "hi"}, expect: socketEvents}},
			expect:  []string{"listening", "connection", "end", "finish", "close"}},
		{name: "listen unix fd", server: []string{"listen", "-U", filepath.Join(dir, "f.sock")},
			clients: []schemaRun{{args: []string{"connect", "--send-fd", "0", "--send", "hi"}, expect: socketEvents}},
			expect:  []string{"listening", "connection", "fd", "end", "close"}},
		{name: "listen unix pass-fds", server: []string{"listen", "-U", filepath.Join(dir, "p.sock"), "--pass-fds", "-e", "cat"},
			clients: []schemaRun{{args: []string{"connect", "--send-fd", "0", "--send", "hi"}, expect: socketEvents}},
			expect:  []string{"listening", "connection", "fd", "end", "close"}},
		{name: "echo processes", server: []string{"echo", "0", "127.0.0.1", "--processes", "--workers", "2", "--stats=1h"},
			clients: []schemaRun{{args: []string{"connect", "--send", "hi"}, expect: socketEvents}},
			expect:  []string{"worker", "listening", "connection", "end", "finish", "close", "stats"}},
		{name: "echo processes unix", server: []string{"echo", "-U", filepath.Join(dir, "pw.sock"), "--processes", "--workers", "1"},
			clients: []schemaRun{{args: []string{"connect", "--send", "hi"}, expect: socketEvents}},
			expect:  []string{"worker", "listening", "connection", "close"}},
		{name: "listen exec processes", server: []string{"listen", "-k", "0", "127.0.0.1", "--processes", "--workers", "2", "--sh-exec", "cat; exit 3"},
			clients: []schemaRun{{args: []string{"connect", "--send", "hi"}, expect: socketEvents}},
			expect:  []string{"worker", "listening", "connection", "end", "finish", "close"}},
		{name: "listen chat", server: []string{"listen", "--chat", "0", "127.0.0.1"},
			clients: []schemaRun{{args: []string{"connect", "--send", "hi\n"}, expect: socketEvents}},
			expect:  []string{"listening", "connection", "end", "finish", "close"}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			var files []*os.File
			if tt.files {
				files = inherited(t)
			}
			srv := startSchemaServer(t, tt.server, files)
			for _, c := range tt.clients {
				args := append([]string{"--events", "json"}, c.args...)
				args = append(args, dialArgs(srv.addr)...)
				var stdin io.Reader = strings.NewReader("")
				if c.idle {
					stdin = idleReader{2 * time.Second}
				}
				_, stderr, _ := runNodenet(t, stdin, args...)
				seen := checkEventLines(t, "connect", stderr)
				for _, ev := range c.expect {
					if !slices.Contains(seen, ev) {
						t.Errorf("connect printed %v; want a %s event", seen, ev)
					}
				}
			}
			if strings.Contains(tt.name, "stats") {
				time.Sleep(100 * time.Millisecond) // a periodic stats line or more
			}
			seen := checkEventLines(t, "server", srv.stop(t))
			for _, ev := range tt.expect {
				if !slices.Contains(seen, ev) {
					t.Errorf("the server printed %v; want a %s event", seen, ev)
				}
			}
		})
	}
	// A client's failure, and a server's.
	_, stderr, code := runNodenet(t, nil, "--events", "json", "connect", "-U", filepath.Join(dir, "nobody.sock"))
	if code != 1 || !slices.Contains(checkEventLines(t, "connect", stderr), "error") {
		t.Errorf("connect to nobody: exit %d, %s; want 1 and an error event", code, stderr)
	}
}

// idleReader is a stdin that gives nothing for a while, then ends.
type idleReader struct{ d time.Duration }

func (r idleReader) Read([]byte) (int, error) {
	time.Sleep(r.d)
	return 0, io.EOF
}
