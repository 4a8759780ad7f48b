package cmd

import (
	"bytes"
	"io"
	"net"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/nodenet/nodenet/netcore"
)

func TestNewCmdConnectNetcat(t *testing.T) {
	tests := []struct {
		name  string
		argv  string
		check func(*ConnectOptions) bool
	}{
		{"off", "80", func(o *ConnectOptions) bool {
			return o.StreamFlags == StreamFlags{} && !o.Telnet && o.Proxy == nil && o.Ports == nil
		}},
		{"crlf telnet", "--crlf --telnet 80", func(o *ConnectOptions) bool { return o.CRLF && o.Telnet }},
		{"hex to stderr", "--hex 80", func(o *ConnectOptions) bool { return o.Hex == "-" && o.Port == 80 }},
		{"hex to a file", "--hex=dump.txt 80", func(o *ConnectOptions) bool { return o.Hex == "dump.txt" }},
		{"one way", "--send-only --progress 80", func(o *ConnectOptions) bool { return o.SendOnly && !o.RecvOnly && o.Progress }},
		{"recv only: the FIN at once", "--recv-only 80", func(o *ConnectOptions) bool { return o.RecvOnly && o.endGrace() == 0 }},
		{"end grace otherwise", "--send-only 80", func(o *ConnectOptions) bool { return o.endGrace() == netcore.DefaultEndGrace }},
		{"proxy", "--proxy socks5h://u:p@127.0.0.1:1080 22 example.com", func(o *ConnectOptions) bool {
			return o.Proxy != nil && o.Proxy.Scheme == "socks5h" && o.Proxy.User == "u" && o.Proxy.Password == "p" && o.Host == "example.com" && o.Port == 22
		}},
		{"nc order", "example.com 22", func(o *ConnectOptions) bool { return o.Host == "example.com" && o.Port == 22 }},
		{"node order", "22 example.com", func(o *ConnectOptions) bool { return o.Host == "example.com" && o.Port == 22 }},
		{"port list", "-z 20-22,80 127.0.0.1", func(o *ConnectOptions) bool {
			return slices.Equal(o.Ports, []int{20, 21, 22, 80}) && o.Host == "127.0.0.1"
		}},
		{"port list, nc order", "-z 127.0.0.1 443,80", func(o *ConnectOptions) bool {
			return slices.Equal(o.Ports, []int{80, 443}) && o.Host == "127.0.0.1"
		}},
		{"port list, no host", "-z 1-2", func(o *ConnectOptions) bool { return slices.Equal(o.Ports, []int{1, 2}) && o.Host == "" }},
		{"single port keeps -z", "-z 22 127.0.0.1", func(o *ConnectOptions) bool { return o.Ports == nil && o.Port == 22 && o.Zero }},
		{"a list without -z is a port", "80 127.0.0.1", func(o *ConnectOptions) bool { return o.Ports == nil }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			o, err := parseConnect(t, tt.argv, false)
			if err != nil {
				t.Fatalf("connect %s: %v", tt.argv, err)
			}
			if !tt.check(o) {
				t.Errorf("connect %s: options %+v", tt.argv, *o)
			}
		})
	}
}

// TestConnectProxyEnv: NODENET_PROXY is --proxy's default, --proxy wins,
// --proxy= turns it off, and ALL_PROXY is never read.
func TestConnectProxyEnv(t *testing.T) {
	parse := func(argv string, env map[string]string) *ConnectOptions {
		t.Helper()
		ios := Test(strings.NewReader(""), &bytes.Buffer{}, &bytes.Buffer{})
		f := NewFactory(ios)
		f.Getenv = func(k string) string { return env[k] }
		var got *ConnectOptions
		cmd := NewCmdConnect(f, func(o *ConnectOptions) error { got = o; return nil })
		cmd.SetArgs(splitArgs(argv))
		cmd.SetOut(io.Discard)
		cmd.SetErr(io.Discard)
		if err := cmd.Execute(); err != nil {
			t.Fatalf("connect %s: %v", argv, err)
		}
		return got
	}
	env := map[string]string{"NODENET_PROXY": "socks5://127.0.0.1:1080", "ALL_PROXY": "http://127.0.0.1:3128"}
	if o := parse("80", env); o.Proxy == nil || o.Proxy.Port != 1080 {
		t.Errorf("NODENET_PROXY: proxy %+v", o.Proxy)
	}
	if o := parse("--proxy http://127.0.0.1:8080 80", env); o.Proxy == nil || o.Proxy.Port != 8080 {
		t.Errorf("--proxy over NODENET_PROXY: proxy %+v", o.Proxy)
	}
	if o := parse("--proxy= 80", env); o.Proxy != nil {
		t.Errorf("--proxy= : proxy %+v", o.Proxy)
	}
	if o := parse("80", map[string]string{"ALL_PROXY": "socks5://127.0.0.1:1080", "all_proxy": "socks5://127.0.0.1:1080"}); o.Proxy != nil {
		t.Errorf("ALL_PROXY was used: %+v", o.Proxy)
	}
}

func TestNetcatUsageErrors(t *testing.T) {
	tests := []struct{ name, argv, want string }{
		{"reversed range", "connect -z 80-20 127.0.0.1", "ERR_SOCKET_BAD_PORT: Port should be >= 0 and < 65536. Received type string ('80-20')."},
		{"range out of range", "connect -z 0-70000 127.0.0.1", "ERR_SOCKET_BAD_PORT: Port should be >= 0 and < 65536. Received type number (70000)."},
		{"nc order, bad list", "connect -z 127.0.0.1 22,99999", "Received type number (99999)."},
		{"list and proxy", "connect -z 1-2 --proxy socks5://127.0.0.1:1 127.0.0.1", "cannot go through --proxy"},
		{"list and wait", "connect -z 1-2 --wait 1s 127.0.0.1", "--wait waits for one port"},
		{"list and unix", "connect -z -U x.sock 1-2", "cannot be used with -U PATH"},
		{"proxy scheme", "connect --proxy socks4://127.0.0.1:1080 80", `ERR_PROXY_INVALID_CONFIG: Invalid proxy URL "socks4://127.0.0.1:1080": unknown scheme "socks4"`},
		{"proxy port", "connect --proxy http://127.0.0.1 80", `Invalid proxy URL "http://127.0.0.1": no port`},
		{"proxy unix", "connect --proxy http://127.0.0.1:3128 -U x.sock", "--proxy tunnels TCP only"},
		{"both ways off", "connect --send-only --recv-only 80", "--send-only and --recv-only cannot be used together"},
		{"listen both ways off", "listen --send-only --recv-only 0", "--send-only and --recv-only cannot be used together"},
		{"send and recv-only", "connect --send x --recv-only 80", "--send and --recv-only cannot be used together"},
		{"telnet on listen", "listen --telnet 0", "unknown flag: --telnet"},
		{"hex with exec", "connect --hex -e cat 80", "apply to the relay, not to --exec"},
		{"telnet with sh-exec", "connect --telnet --sh-exec cat 80", "apply to the relay, not to --exec"},
		{"progress with broker", "listen --broker --progress 0", "apply to the relay, not to --exec, --sh-exec, --broker or --chat"},
		{"crlf with listen exec", "listen --crlf -e cat 0", "apply to the relay"},
		{"proxy on listen", "listen --proxy http://127.0.0.1:1 0", "unknown flag: --proxy"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) { checkUsageError(t, tt.argv, tt.want) })
	}
}

// TestStreamsOff: with every netcat flag off the relay gets the very
// streams it was given, so it keeps splice and sendfile.
func TestStreamsOff(t *testing.T) {
	in, err := os.Open(os.DevNull)
	if err != nil {
		t.Fatal(err)
	}
	defer in.Close()
	out, err := os.CreateTemp(t.TempDir(), "out")
	if err != nil {
		t.Fatal(err)
	}
	defer out.Close()
	ios := &IOStreams{In: in, Out: out, ErrOut: io.Discard}
	ss, err := (&StreamFlags{}).open(ios, in, false)
	if err != nil {
		t.Fatal(err)
	}
	if ss.in != io.Reader(in) || ss.out != io.Writer(out) || ss.progress != nil || ss.hex != nil {
		t.Errorf("streams with every flag off: in %T, out %T, progress %v, hex %v", ss.in, ss.out, ss.progress, ss.hex)
	}
	if err := ss.close(); err != nil {
		t.Error(err)
	}
}

// TestConnectTelnet runs connect --telnet against a server written from
// RFC 854 and RFC 855's bytes: it offers WILL ECHO and WILL SGA, asks DO
// TTYPE and DO NAWS, sends a subnegotiation and an escaped 255, and
// checks that the client refused every offer and request (DONT, WONT)
// before it sends its greeting; the client prints the data only, and
// doubles a 255 it sends.
func TestConnectTelnet(t *testing.T) {
	const (
		IAC, DONT, DO, WONT, WILL, SB, SE, GA = 255, 254, 253, 252, 251, 250, 240, 249
		ECHO, SGA, TTYPE, NAWS                = 1, 3, 24, 31
	)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	type result struct {
		answers, data []byte
		err           error
	}
	done := make(chan result, 1)
	answered := make(chan struct{})
	go func() {
		c, err := ln.Accept()
		if err != nil {
			done <- result{err: err}
			return
		}
		defer c.Close()
		c.SetDeadline(time.Now().Add(10 * time.Second))                                                             //nolint:errcheck // test bound
		c.Write([]byte{IAC, WILL, ECHO, IAC, WILL, SGA, IAC, DO, TTYPE, IAC, DO, NAWS, IAC, SB, TTYPE, 1, IAC, SE}) //nolint:errcheck // the client's answers tell
		want := []byte{IAC, DONT, ECHO, IAC, DONT, SGA, IAC, WONT, TTYPE, IAC, WONT, NAWS}
		answers := make([]byte, len(want))
		_, err = io.ReadFull(c, answers)
		close(answered)
		if err != nil {
			done <- result{answers: answers, err: err}
			return
		}
		c.Write([]byte{'l', 'o', 'g', 'i', 'n', IAC, GA, ':', ' ', IAC, IAC, '\r', 0, '\n'}) //nolint:errcheck // checked by the client's output
		c.(*net.TCPConn).CloseWrite()                                                        //nolint:errcheck // the client sees EOF
		data, err := io.ReadAll(c)
		done <- result{answers: answers, data: data, err: err}
	}()
	var out, errOut bytes.Buffer
	port := strconv.Itoa(ln.Addr().(*net.TCPAddr).Port)
	// stdin gives its line once the negotiation is over, as a person
	// would: answers cannot follow our FIN.
	in, inw := io.Pipe()
	go func() {
		<-answered
		io.WriteString(inw, "user\xff\n") //nolint:errcheck // the server's data tells
		inw.Close()
	}()
	code := Run([]string{"connect", "--telnet", "--crlf", "127.0.0.1:" + port}, Test(in, &out, &errOut), []string{"XDG_CONFIG_HOME=" + t.TempDir()})
	r := <-done
	if code != 0 || r.err != nil {
		t.Fatalf("exit %d (%s), server: %v", code, errOut.String(), r.err)
	}
	if want := []byte{IAC, DONT, ECHO, IAC, DONT, SGA, IAC, WONT, TTYPE, IAC, WONT, NAWS}; !bytes.Equal(r.answers, want) {
		t.Errorf("answers % x, want % x", r.answers, want)
	}
	if want := "login: \xff\r\n"; out.String() != want {
		t.Errorf("output %q, want %q", out.String(), want)
	}
	if want := "user\xff\xff\r\n"; string(r.data) != want {
		t.Errorf("server got %q, want %q", r.data, want)
	}
}

// TestProgressLines: the lines --progress prints, on a fake clock: plain
// lines when stderr is not a terminal, redrawn in place (CR, erase to the
// end of the line) when it is, and the summary line.
func TestProgressLines(t *testing.T) {
	for _, tty := range []bool{false, true} {
		var b bytes.Buffer
		p := newProgress(&b, tty, 4<<20)
		now := time.Unix(1000, 0)
		p.now = func() time.Time { return now }
		p.interval = time.Hour // draws come from the test
		p.start()
		io.Copy(io.Discard, p.sentReader(io.LimitReader(zeroReader{}, 1<<20))) //nolint:errcheck // zeroReader never fails
		p.receivedWriter(io.Discard).Write(make([]byte, 1536))                 //nolint:errcheck // io.Discard
		now = now.Add(2 * time.Second)
		p.draw(false)
		io.Copy(io.Discard, p.sentReader(io.LimitReader(zeroReader{}, 3<<20))) //nolint:errcheck // zeroReader never fails
		now = now.Add(6 * time.Second)
		p.stop()
		want := "progress: sent 1.00 MiB of 4.00 MiB (25%) at 512 KiB/s, ETA 6s; received 1.50 KiB at 768 B/s\n" +
			"progress: done in 8s: sent 4.00 MiB at 512 KiB/s; received 1.50 KiB at 192 B/s\n"
		if tty {
			want = "\rprogress: sent 1.00 MiB of 4.00 MiB (25%) at 512 KiB/s, ETA 6s; received 1.50 KiB at 768 B/s\x1b[K" +
				"\rprogress: done in 8s: sent 4.00 MiB at 512 KiB/s; received 1.50 KiB at 192 B/s\x1b[K\n"
		}
		if b.String() != want {
			t.Errorf("tty %v:\n%q\nwant\n%q", tty, b.String(), want)
		}
	}
}

type zeroReader struct{}

func (zeroReader) Read(p []byte) (int, error) { clear(p); return len(p), nil }

// TestProgressStdinFile: the percent is of what a regular-file stdin has
// left from its offset.
func TestProgressStdinFile(t *testing.T) {
	name := filepath.Join(t.TempDir(), "in")
	if err := os.WriteFile(name, make([]byte, 1000), 0o600); err != nil {
		t.Fatal(err)
	}
	f, err := os.Open(name)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if _, err := f.Seek(400, io.SeekStart); err != nil {
		t.Fatal(err)
	}
	if n := stdinRemaining(f); n != 600 {
		t.Errorf("stdinRemaining = %d, want 600", n)
	}
	if n := stdinRemaining(strings.NewReader("abc")); n != 0 {
		t.Errorf("stdinRemaining(not a file) = %d, want 0", n)
	}
}

func TestFormatBytes(t *testing.T) {
	for n, want := range map[float64]string{0: "0 B", 1023: "1023 B", 1024: "1.00 KiB", 1536: "1.50 KiB", 10 << 20: "10.0 MiB", 200 << 30: "200 GiB", 3 << 40: "3.00 TiB"} {
		if got := formatBytes(n); got != want {
			t.Errorf("formatBytes(%v) = %q, want %q", n, got, want)
		}
	}
}
