//go:build unix

package cmd

import (
	"bufio"
	"bytes"
	"context"
	"crypto/sha256"
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/nodenet/nodenet/netcore/tlstest"
)

// Every example in the README is run by a test: TestREADMEExamples runs
// each line of each ```sh block through sh, with the nodenet that
// testscript.Main put on PATH, and holds it to an expectation below.
//
// The README speaks to a user at a terminal, with fixed ports and paths;
// a test may use neither. So each block runs in a fresh working directory
// with its own HOME (and XDG_CONFIG_HOME under it) and NO_COLOR, /tmp/ in a
// line means that working directory, and the fixed ports become port 0 on
// loopback:
//
//   - A server line (`nodenet echo PORT`, `nodenet listen PORT`,
//     `-U PATH`) runs in the background as `nodenet --ready-file F echo 0
//     127.0.0.1 ...`; the test waits for the bound address in F.
//   - A client line (`nodenet connect PORT`, `HOST:PORT`, `-U PATH`) gets
//     the port that its block's server for that README port really bound.
//     When its block starts no such server, the test starts what the README
//     takes to be running there (readmeStandIns).
//   - A server that no line of its own block used stays up for the next
//     block: the README's set-up starts `go run . echo 8124` in one block
//     and, "in another terminal", connects to it in the next. Every other
//     server is stopped at the end of its block with one SIGINT, and its
//     exit status and output are checked like any line's.
//   - `go run . ARGS` is the same program as `nodenet ARGS`, and runs as
//     that; the go tool itself is never run.

// readmeTimeout bounds every process the test starts.
const readmeTimeout = 20 * time.Second

// readmeExample is what one README line must do.
type readmeExample struct {
	code   int               // exit status; a server's after one SIGINT
	stdin  string            // what a user would type, for a line that reads the terminal
	stdout string            // exactly
	stderr string            // a regular expression stderr must match; "" means stderr is empty
	files  map[string]string // written to the working directory before the line runs
	wrote  map[string]string // what the line must leave in the working directory once it has exited
}

// readmeTransfer is file.bin of the README's file transfer: every byte
// value, so a relay that altered any (a CRLF, a NUL) would show.
var readmeTransfer = func() string {
	b := make([]byte, 256<<10)
	for i := range b {
		b[i] = byte(i * 7)
	}
	return string(b)
}()

// The output of the servers: the one line that says where they listen.
const (
	readmeListeningTCP  = `^listening on 127\.0\.0\.1:\d+\n$`
	readmeListeningUnix = `^listening on /\S*/echo\.sock\n$`
)

// readmeExamples holds an expectation for every line of the README's sh
// blocks, keyed by the line exactly as the README has it.
var readmeExamples = map[string]readmeExample{
	// Try it on a fresh machine.
	"go run . echo 8124":    {stderr: readmeListeningTCP},
	"go run . connect 8124": {stdin: "hi\n", stdout: "hello\r\nhi\n"},

	// Examples: the docs' echo server and its client.
	"nodenet echo 8124":                 {stderr: readmeListeningTCP},
	"nodenet connect 8124":              {stdin: "hi\n", stdout: "hello\r\nhi\n"},
	"nodenet echo -U /tmp/echo.sock":    {stderr: readmeListeningUnix},
	"nodenet connect -U /tmp/echo.sock": {stdin: "hi\n", stdout: "hello\r\nhi\n"},

	// A file transfer: what arrives is what was sent, byte for byte.
	"nodenet listen 9000 > received.bin < /dev/null": {
		stderr: readmeListeningTCP,
		wrote:  map[string]string{"received.bin": readmeTransfer},
	},
	"nodenet connect 9000 < file.bin": {files: map[string]string{"file.bin": readmeTransfer}},

	// Wait-for-it, and one request with the whole answer.
	"nodenet connect -z --wait 30s 127.0.0.1:5432":          {},
	`nodenet connect 8124 --send 'HEAD / HTTP/1.0\r\n\r\n'`: {stdout: "hello\r\nHEAD / HTTP/1.0\r\n\r\n"},

	// For nc and ncat users: a command per connection.
	// The SIGINT that stops it may come before the child of the client
	// that just left has exited: the notice of the wait is then said.
	`nodenet listen -k 9001 --sh-exec 'echo "hello $NODENET_REMOTE_ADDRESS"; cat'`:           {stderr: `^listening on 127\.0\.0\.1:\d+\n(nodenet: SIGINT: not accepting any more; waiting for 1 open connection\(s\) to end \(a second SIGINT closes them\)\n)?$`},
	`nodenet connect 9001 --send 'ping\n'`:                                                   {stdout: "hello 127.0.0.1\nping\n"},
	`nodenet listen -U /tmp/fd.sock --pass-fds --sh-exec 'echo "fds: $LISTEN_FDS"; cat <&3'`: {stderr: `^listening on /\S*/fd\.sock\n$`},
	`nodenet connect -U /tmp/fd.sock --send-fd 3 --send 'x' 3< /tmp/notes.txt`: {
		files:  map[string]string{"notes.txt": "read through the descriptor\n"},
		stdout: "fds: 1\nread through the descriptor\n",
	},

	// net.isIP.
	"nodenet isip 127.0.0.1 ::1 nope":                    {code: 1, stdout: "4\n6\n0\n"},
	`nodenet isip -4 10.0.0.1 && echo "an IPv4 address"`: {stdout: "true\nan IPv4 address\n"},

	// The block list, in the default rule file under HOME, which the
	// echo server then loads (and 127.0.0.1 is not in it).
	"nodenet block add-subnet 10.0.0.0/8":                            {},
	"nodenet block add-range 192.168.1.10 192.168.1.20":              {},
	"nodenet block check 10.1.2.3 192.168.1.5":                       {code: 1, stdout: "10.1.2.3 blocked\n192.168.1.5 allowed\n"},
	"nodenet block list":                                             {stdout: "Subnet: IPv4 10.0.0.0/8\nRange: IPv4 192.168.1.10-192.168.1.20\n"},
	"nodenet echo 8124 --blocklist ~/.config/nodenet/blocklist.json": {stderr: readmeListeningTCP},
	// Worker processes: quiet without -v, as a single process is.
	"nodenet echo 8124 --processes --workers 4": {stderr: readmeListeningTCP},

	// TLS: a server with its certificate, verified by the client (the
	// files are written by readmeTLSFiles); a self-signed server, pinned.
	"nodenet echo --tls --cert server.pem --key server.key 8443": {stderr: readmeListeningTCP},
	"nodenet connect --tls --ca ca.pem 8443":                     {stdin: "hi\n", stdout: "hello\r\nhi\n"},
	"nodenet echo --tls 8443": {
		stderr: `^tls: self-signed certificate sha256:([0-9A-F]{2}:){31}[0-9A-F]{2}\nlistening on 127\.0\.0\.1:\d+\n$`,
	},
	readmeTLSPinLine: {stdin: "hi\n", stdout: "hello\r\nhi\n"},

	// Events as JSON on stderr; stdout is still the data.
	`nodenet --events json connect 8124 --send 'hi\n'`: {
		stdout: "hello\r\nhi\n",
		stderr: `(?s)^\{"event":"lookup",.*\n` +
			`\{"event":"connect","time":"[^"]+","id":1,"remoteAddress":"127\.0\.0\.1",.*\n` +
			`\{"event":"close","time":"[^"]+","id":1,"hadError":false,"bytesRead":10,"bytesWritten":3\}\n$`,
	},
}

// readmeExempt are the only lines not run, and why.
var readmeExempt = map[string]string{
	"go test ./...": "it runs this test",
	"CGO_ENABLED=0 go install github.com/nodenet/nodenet@latest": "it downloads the module and writes to GOBIN",
	`systemd-socket-activate --accept -l 127.0.0.1:9002 nodenet connect --fd 3 --send 'hello from fd 3\n'`: "it binds a fixed port and never exits; " +
		"cmd/testdata/script/connect_fd.txtar runs the same on a random port",
}

// readmeStandIns answer, on 127.0.0.1 port 0, for a README port that a
// client line uses but no server of its block serves: what the README
// takes to be running there.
var readmeStandIns = map[string]string{
	"8124": "echo",   // the docs' echo server: `nodenet echo`
	"5432": "accept", // a database that accepts: a bare listener
}

// readmeStandInEcho is what the stand-in echo server must do.
var readmeStandInEcho = readmeExample{stderr: readmeListeningTCP}

func TestREADMEExamples(t *testing.T) {
	nodenetPath(t) // fail at once, not per line, when it is missing
	readmeTLSFiles(t)
	blocks := readmeBlocks(t, filepath.Join("..", "README.md"))

	// Every line has an expectation, and every expectation a line.
	seen := map[string]bool{}
	for _, b := range blocks {
		for _, l := range b {
			seen[l.text] = true
			_, ok := readmeExamples[l.text]
			_, exempt := readmeExempt[l.text]
			if !ok && !exempt {
				t.Errorf("README.md:%d: %q has no expectation in readmeExamples", l.n, l.text)
			}
		}
	}
	for line := range readmeExamples {
		if !seen[line] {
			t.Errorf("readmeExamples: %q is no longer in the README", line)
		}
	}
	for line := range readmeExempt {
		if !seen[line] {
			t.Errorf("readmeExempt: %q is no longer in the README", line)
		}
	}
	if t.Failed() {
		t.FailNow()
	}

	var carried []*readmeServer
	for _, b := range blocks {
		carried = runREADMEBlock(t, b, carried)
	}
	for _, s := range carried {
		s.stop(t)
	}
}

// readmeLine is one example and its line number in the README.
type readmeLine struct {
	n    int
	text string
}

// readmeBlocks returns the examples of each ```sh block of the README:
// every line but blank ones and # comments. Other shell fences are
// refused rather than left unrun.
func readmeBlocks(t *testing.T, path string) [][]readmeLine {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var blocks [][]readmeLine
	var block []readmeLine
	in := false
	sc := bufio.NewScanner(f)
	for n := 1; sc.Scan(); n++ {
		line := strings.TrimSpace(sc.Text())
		switch {
		case !in && line == "```sh":
			in, block = true, nil
		case !in && (line == "```bash" || line == "```shell" || line == "```console"):
			t.Errorf("README.md:%d: write %s as ```sh, so that this test runs its lines", n, line)
		case in && line == "```":
			in = false
			blocks = append(blocks, block)
		case in && line != "" && !strings.HasPrefix(line, "#"):
			block = append(block, readmeLine{n, line})
		}
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	if in {
		t.Fatalf("%s: a ```sh block is not closed", path)
	}
	if len(blocks) == 0 {
		t.Fatalf("%s: no ```sh blocks", path)
	}
	return blocks
}

// readmeBlock is where one block's lines run: a shell of its own.
type readmeBlock struct {
	dir     string   // scratch: ready files
	work    string   // the working directory, and what /tmp/ means
	env     []string // HOME, XDG_CONFIG_HOME and NO_COLOR of its own
	servers map[string]*readmeServer
	ready   int
}

// runREADMEBlock runs one block's lines in order. carried are the servers
// an earlier block left up; they are stopped with this block's. It
// returns the servers that no line of this block used.
func runREADMEBlock(t *testing.T, lines []readmeLine, carried []*readmeServer) (unused []*readmeServer) {
	dir := t.TempDir()
	b := &readmeBlock{
		dir:     dir,
		work:    filepath.Join(dir, "work"),
		servers: map[string]*readmeServer{},
	}
	home := filepath.Join(dir, "home")
	for _, d := range []string{b.work, home} {
		if err := os.Mkdir(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	for _, kv := range os.Environ() {
		// Nothing of the developer's configuration reaches nodenet.
		k, _, _ := strings.Cut(kv, "=")
		if k != "HOME" && k != "XDG_CONFIG_HOME" && !strings.HasPrefix(k, "NODENET_") {
			b.env = append(b.env, kv)
		}
	}
	b.env = append(b.env, "HOME="+home, "XDG_CONFIG_HOME="+filepath.Join(home, ".config"), "NO_COLOR=1")
	for _, s := range carried {
		b.servers[s.key] = s
	}

	var started []*readmeServer
	for _, l := range lines {
		if _, ok := readmeExempt[l.text]; ok {
			continue
		}
		want := readmeExamples[l.text]
		for name, content := range want.files {
			if err := os.WriteFile(filepath.Join(b.work, name), []byte(content), 0o644); err != nil {
				t.Fatal(err)
			}
		}
		line := strings.ReplaceAll(l.text, "/tmp/", b.work+"/")
		if rest, ok := strings.CutPrefix(line, "go run . "); ok {
			line = "nodenet " + rest
		}
		switch cmd, endpoint := readmeCommand(line); {
		case cmd == "echo" || cmd == "listen":
			key, line := readmeServe(t, l, line, endpoint)
			s := b.start(t, l, key, line, want)
			b.servers[key] = s
			started = append(started, s)
		case cmd == "connect":
			s := b.server(t, l, endpoint)
			if s != nil {
				started = append(started, s)
			}
			line = readmeDial(t, l, line, endpoint, b.servers)
			b.run(t, l, readmePin(t, l, line, b.servers[readmeKey(endpoint)]), want)
		default:
			b.run(t, l, line, want)
		}
	}

	for _, s := range carried {
		s.stop(t)
	}
	for _, s := range started {
		if !s.used && !s.standIn {
			unused = append(unused, s)
			continue
		}
		s.stop(t)
	}
	return unused
}

// readmeCommand returns a nodenet line's command and its endpoint field:
// a PORT, a HOST:PORT or the PATH of -U PATH.
func readmeCommand(line string) (cmd, endpoint string) {
	f := strings.Fields(line)
	if len(f) == 0 || f[0] != "nodenet" {
		return "", ""
	}
	for i, w := range f {
		switch w {
		case "echo", "listen", "connect", "isip", "block", "completion":
			if cmd == "" {
				cmd = w
			}
		case "-U", "--unix":
			if cmd != "" && i+1 < len(f) {
				return cmd, f[i+1]
			}
		}
		if _, port := readmeHostPort(w); cmd != "" && port != "" && endpoint == "" {
			endpoint = w
		}
	}
	return cmd, endpoint
}

// readmeHostPort splits PORT or HOST:PORT; port is "" for anything else.
func readmeHostPort(w string) (host, port string) {
	if i := strings.LastIndex(w, ":"); i >= 0 {
		host, w = strings.Trim(w[:i], "[]"), w[i+1:]
	}
	if _, err := strconv.ParseUint(w, 10, 16); err != nil {
		return "", ""
	}
	return host, w
}

// readmeServe rewrites a server line to bind port 0 on loopback, or
// leaves its -U PATH, and returns the key its clients will name it by.
func readmeServe(t *testing.T, l readmeLine, line, endpoint string) (key, rewritten string) {
	t.Helper()
	host, port := readmeHostPort(endpoint)
	switch {
	case endpoint == "":
		t.Fatalf("README.md:%d: %q: no port or -U PATH to serve on", l.n, l.text)
	case port == "":
		return endpoint, line // a socket path, already under the working directory
	case host != "":
		t.Fatalf("README.md:%d: %q: give the server a PORT alone, the test binds it to loopback", l.n, l.text)
	}
	return port, readmeReplaceField(line, endpoint, "0 127.0.0.1")
}

// readmeDial rewrites a client line to the address its server bound.
func readmeDial(t *testing.T, l readmeLine, line, endpoint string, servers map[string]*readmeServer) string {
	t.Helper()
	host, port := readmeHostPort(endpoint)
	if port == "" {
		return line // -U PATH
	}
	switch host {
	case "", "localhost", "127.0.0.1", "::1":
	default:
		t.Fatalf("README.md:%d: %q: examples stay on loopback", l.n, l.text)
	}
	_, bound := readmeHostPort(servers[port].addr)
	if host == "" {
		return readmeReplaceField(line, endpoint, bound)
	}
	return readmeReplaceField(line, endpoint, net.JoinHostPort(host, bound))
}

// readmeKey is the key of a client's server: the port of its endpoint,
// or its socket path.
func readmeKey(endpoint string) string {
	if _, port := readmeHostPort(endpoint); port != "" {
		return port
	}
	return endpoint
}

// readmeTLSPinLine pins the README's example fingerprint; the test puts
// the certificate of the server it started in its place (readmePin).
const readmeTLSPinLine = "nodenet connect --tls --pin sha256:5C:18:98:B7:67:1D:0E:CD:64:17:27:2A:AF:C5:D4:E6:50:87:B4:8A:94:9D:84:EB:3A:0E:64:CC:C9:94:09:AC 8443"

// readmePin puts the fingerprint of the certificate s presents in place
// of the README's example one, as a user copies the one their server
// printed.
func readmePin(t *testing.T, l readmeLine, line string, s *readmeServer) string {
	t.Helper()
	re := regexp.MustCompile(`sha256:([0-9A-F]{2}:){31}[0-9A-F]{2}`)
	if !re.MatchString(line) {
		return line
	}
	c, err := tls.DialWithDialer(&net.Dialer{Timeout: readmeTimeout}, "tcp", s.addr, &tls.Config{InsecureSkipVerify: true}) //nolint:gosec // it reads the fingerprint
	if err != nil {
		t.Fatalf("README.md:%d: reading the server's certificate: %v", l.n, err)
	}
	sum := sha256.Sum256(c.ConnectionState().PeerCertificates[0].Raw)
	c.Close()
	hexes := make([]string, len(sum))
	for i, b := range sum {
		hexes[i] = fmt.Sprintf("%02X", b)
	}
	return re.ReplaceAllString(line, "sha256:"+strings.Join(hexes, ":"))
}

// readmeTLSFiles gives the TLS example its certificate files: a CA, and
// a certificate for localhost that it issued, written before the lines
// run.
func readmeTLSFiles(t *testing.T) {
	t.Helper()
	f, err := tlstest.Make(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	read := func(name string) string {
		b, err := os.ReadFile(f.Path(name))
		if err != nil {
			t.Fatal(err)
		}
		return string(b)
	}
	srv := readmeExamples["nodenet echo --tls --cert server.pem --key server.key 8443"]
	srv.files = map[string]string{"server.pem": read("leaf.pem"), "server.key": read("leaf.key")}
	readmeExamples["nodenet echo --tls --cert server.pem --key server.key 8443"] = srv
	cli := readmeExamples["nodenet connect --tls --ca ca.pem 8443"]
	cli.files = map[string]string{"ca.pem": read("ca.pem")}
	readmeExamples["nodenet connect --tls --ca ca.pem 8443"] = cli
}

// readmeReplaceField replaces the first whitespace-separated field old of
// line with new, leaving the rest (quoted strings too) as it was.
func readmeReplaceField(line, old, new string) string {
	re := regexp.MustCompile(`(^|\s)` + regexp.QuoteMeta(old) + `(\s|$)`)
	done := false
	return re.ReplaceAllStringFunc(line, func(m string) string {
		if done {
			return m
		}
		done = true
		return strings.Replace(m, old, new, 1)
	})
}

// server returns the server a client line's endpoint names, marking it
// used. When the block has none, it starts the README's stand-in for
// that port and returns it so the block stops it.
func (b *readmeBlock) server(t *testing.T, l readmeLine, endpoint string) (standIn *readmeServer) {
	t.Helper()
	_, port := readmeHostPort(endpoint)
	key := endpoint
	if port != "" {
		key = port
	}
	if s := b.servers[key]; s != nil {
		s.used = true
		return nil
	}
	switch readmeStandIns[key] {
	case "echo":
		who := readmeLine{l.n, "the echo server for " + l.text}
		s := b.start(t, who, key, "nodenet echo 0 127.0.0.1", readmeStandInEcho)
		s.standIn = true
		b.servers[key] = s
		return s
	case "accept":
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		go func() {
			for {
				c, err := ln.Accept()
				if err != nil {
					return
				}
				c.Close()
			}
		}()
		s := &readmeServer{key: key, addr: ln.Addr().String(), standIn: true, listener: ln}
		b.servers[key] = s
		return s
	}
	t.Fatalf("README.md:%d: %q: no server in its block serves %s, and readmeStandIns has none", l.n, l.text, endpoint)
	return nil
}

// readmeServer is a server line running in the background, or a
// stand-in.
type readmeServer struct {
	line     readmeLine
	key      string // the README's port, or the socket path
	addr     string // what it bound, from its --ready-file
	want     readmeExample
	work     string
	used     bool // a client line of its block talked to it
	oneShot  bool // a listen without -k: it ends with its one connection
	standIn  bool
	listener net.Listener // a bare listener instead of a process

	cmd            *exec.Cmd
	cancel         context.CancelFunc
	exited         chan struct{}
	err            error // from Wait, once exited is closed
	stdout, stderr bytes.Buffer
}

// start runs a server line in the background with --ready-file and
// waits until it listens.
func (b *readmeBlock) start(t *testing.T, l readmeLine, key, line string, want readmeExample) *readmeServer {
	t.Helper()
	b.ready++
	ready := filepath.Join(b.dir, fmt.Sprintf("ready%d", b.ready))
	rest, _ := strings.CutPrefix(line, "nodenet ")
	// exec: SIGINT goes to nodenet itself, not to sh.
	c, cancel := b.command("exec nodenet --ready-file "+ready+" "+rest, "")
	s := &readmeServer{line: l, key: key, want: want, work: b.work, cmd: c, cancel: cancel, exited: make(chan struct{})}
	if cmd, _ := readmeCommand(line); cmd == "listen" {
		s.oneShot = !slices.ContainsFunc(strings.Fields(line), func(f string) bool {
			return f == "-k" || f == "--keep-open" || f == "--broker"
		})
	}
	c.Stdout, c.Stderr = &s.stdout, &s.stderr
	t.Logf("README.md:%d: %s\n\tin the background: %s", l.n, l.text, c.Args[2])
	if err := c.Start(); err != nil {
		cancel()
		t.Fatal(err)
	}
	go func() {
		s.err = c.Wait()
		close(s.exited)
	}()
	t.Cleanup(func() { // when the test fails before stop
		cancel()
		<-s.exited
	})
	for {
		if a, err := os.ReadFile(ready); err == nil && bytes.HasSuffix(a, []byte("\n")) {
			s.addr = strings.TrimSpace(string(a))
			return s
		}
		select {
		case <-s.exited:
			t.Fatalf("README.md:%d: %q ended before it listened (%v); stderr:\n%s", l.n, l.text, s.err, &s.stderr)
		case <-time.After(10 * time.Millisecond):
		}
	}
}

// stop ends a server and checks it against its expectation. A `listen`
// that served its client ends by itself when that connection is over,
// and is only waited for: a SIGINT then could arrive as it exits. Any
// other server gets one SIGINT: a graceful close.
func (s *readmeServer) stop(t *testing.T) {
	t.Helper()
	if s.listener != nil {
		s.listener.Close()
		return
	}
	if !(s.oneShot && s.used) {
		if err := s.cmd.Process.Signal(os.Interrupt); err != nil && !errors.Is(err, os.ErrProcessDone) {
			t.Fatal(err)
		}
	}
	<-s.exited
	s.cancel()
	readmeCheck(t, s.line, s.work, s.want, s.err, s.stdout.String(), s.stderr.String())
}

// run runs a line in the foreground and checks it.
func (b *readmeBlock) run(t *testing.T, l readmeLine, line string, want readmeExample) {
	t.Helper()
	c, cancel := b.command(line, want.stdin)
	defer cancel()
	var stdout, stderr bytes.Buffer
	c.Stdout, c.Stderr = &stdout, &stderr
	t.Logf("README.md:%d: %s\n\truns as: %s", l.n, l.text, line)
	err := c.Run()
	readmeCheck(t, l, b.work, want, err, stdout.String(), stderr.String())
}

// command is `sh -c line` in the block's shell, in a process group of its
// own that is killed when readmeTimeout passes.
func (b *readmeBlock) command(line, stdin string) (*exec.Cmd, context.CancelFunc) {
	ctx, cancel := context.WithTimeout(context.Background(), readmeTimeout)
	c := exec.CommandContext(ctx, "sh", "-c", line)
	c.Dir, c.Env = b.work, b.env
	if stdin != "" {
		c.Stdin = strings.NewReader(stdin)
	}
	c.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	c.Cancel = func() error { return syscall.Kill(-c.Process.Pid, syscall.SIGKILL) }
	c.WaitDelay = time.Second
	return c, cancel
}

// readmeCheck holds a line's exit status, output and files to its
// expectation.
func readmeCheck(t *testing.T, l readmeLine, work string, want readmeExample, err error, stdout, stderr string) {
	t.Helper()
	at := fmt.Sprintf("README.md:%d: %s", l.n, l.text)
	code := 0
	var ee *exec.ExitError
	switch {
	case err == nil:
	case errors.As(err, &ee) && ee.Exited():
		code = ee.ExitCode()
	default:
		t.Errorf("%s: %v (not done within %v?); stderr:\n%s", at, err, readmeTimeout, stderr)
		return
	}
	if code != want.code {
		t.Errorf("%s: exit %d, want %d; stderr:\n%s", at, code, want.code, stderr)
	}
	if stdout != want.stdout {
		t.Errorf("%s: stdout %q, want %q", at, readmeShort(stdout), readmeShort(want.stdout))
	}
	if want.stderr == "" && stderr != "" {
		t.Errorf("%s: stderr %q, want none", at, stderr)
	} else if !regexp.MustCompile(want.stderr).MatchString(stderr) {
		t.Errorf("%s: stderr %q does not match %s", at, stderr, want.stderr)
	}
	for name, content := range want.wrote {
		got, err := os.ReadFile(filepath.Join(work, name))
		if err != nil {
			t.Errorf("%s: %v", at, err)
		} else if string(got) != content {
			t.Errorf("%s: %s holds %d bytes that differ from the %d sent", at, name, len(got), len(content))
		}
	}
}

// readmeShort keeps a failure message readable.
func readmeShort(s string) string {
	if len(s) > 200 {
		return s[:200] + "..."
	}
	return s
}
