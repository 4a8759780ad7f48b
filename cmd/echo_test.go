package cmd

import (
	"bytes"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/nodenet/nodenet/netcore"
)

// parseEcho runs `echo ARGS` through NewCmdEcho and returns the options it
// would run with.
func parseEcho(t *testing.T, argv string) (*EchoOptions, error) {
	t.Helper()
	ios := Test(strings.NewReader(""), &bytes.Buffer{}, &bytes.Buffer{})
	f := NewFactory(ios)
	var got *EchoOptions
	cmd := NewCmdEcho(f, func(o *EchoOptions) error { got = o; return nil })
	cmd.SetArgs(splitArgs(argv))
	cmd.SetOut(&bytes.Buffer{})
	cmd.SetErr(&bytes.Buffer{})
	err := cmd.Execute()
	return got, err
}

func TestNewCmdEcho(t *testing.T) {
	tests := []struct {
		name  string
		argv  string
		check func(*EchoOptions) bool
	}{
		{"defaults", "", func(o *EchoOptions) bool {
			return o.Host == "" && o.Port == 0 && string(o.Greeting) == "hello\r\n" && o.Workers == 1 && o.Engine == "" &&
				o.Stats == 0 && o.MaxConnections == -1 && o.Backlog == 511 && !o.AllowHalfOpen
		}},
		{"port", "8124", func(o *EchoOptions) bool { return o.Port == 8124 && o.Host == "" }},
		{"port host", "8124 127.0.0.1", func(o *EchoOptions) bool { return o.Port == 8124 && o.Host == "127.0.0.1" }},
		{"host:port", "[::1]:8124", func(o *EchoOptions) bool { return o.Port == 8124 && o.Host == "::1" }},
		{"unix", "-U /tmp/echo.sock", func(o *EchoOptions) bool { return o.Path == "/tmp/echo.sock" && o.Port == 0 }},
		{"fd", "--fd 3", func(o *EchoOptions) bool { return o.FD == "3" }},
		{"empty greeting", "--greeting '' 8124", func(o *EchoOptions) bool { return o.Greeting != nil && len(o.Greeting) == 0 }},
		{"greeting escapes", `--greeting 'hi\tthere\x21\r\n'`, func(o *EchoOptions) bool { return string(o.Greeting) == "hi\tthere!\r\n" }},
		{"workers", "--workers 4", func(o *EchoOptions) bool { return o.Workers == 4 }},
		{"engine", "--engine goroutines", func(o *EchoOptions) bool { return o.Engine == netcore.EngineGoroutines }},
		{"engine uring", "--engine uring", func(o *EchoOptions) bool { return o.Engine == netcore.EngineUring }},
		{"stats default interval", "--stats", func(o *EchoOptions) bool { return o.Stats == time.Second }},
		{"stats interval", "--stats=250ms", func(o *EchoOptions) bool { return o.Stats == 250*time.Millisecond }},
		{"stats then port", "--stats 8124", func(o *EchoOptions) bool { return o.Stats == time.Second && o.Port == 8124 }},
		{"server flags", "--max-connections 0 --backlog 10 --no-delay --keep-alive=30s --reuse-port --timeout 5s 9000", func(o *EchoOptions) bool {
			return o.MaxConnections == 0 && o.Backlog == 10 && o.NoDelay && o.KeepAlive.On &&
				o.KeepAlive.Delay == 30*time.Second && o.ReusePort && o.Timeout == 5*time.Second
		}},
		{"blocks", "--block 10.0.0.1 --block 10.0.0.0/8 --blocklist rules.json", func(o *EchoOptions) bool {
			return strings.Join(o.BlockRules, ",") == "10.0.0.1,10.0.0.0/8" && o.BlockListFile == "rules.json"
		}},
		{"allow-half-open accepted", "--allow-half-open", func(o *EchoOptions) bool { return o.AllowHalfOpen }},
		{"unix modes", "-U x.sock --readable-all --writable-all", func(o *EchoOptions) bool { return o.ReadableAll && o.WritableAll }},
		{"processes default one per CPU", "--processes", func(o *EchoOptions) bool { return o.Processes && o.Workers == runtime.NumCPU() }},
		{"processes workers", "--workers 3 --processes", func(o *EchoOptions) bool { return o.Processes && o.Workers == 3 }},
		{"workers alone are loops", "--workers 3", func(o *EchoOptions) bool { return !o.Processes && o.Workers == 3 }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			o, err := parseEcho(t, tt.argv)
			if err != nil {
				t.Fatalf("echo %s: %v", tt.argv, err)
			}
			if !tt.check(o) {
				t.Errorf("echo %s: options %+v", tt.argv, *o)
			}
		})
	}
}

// TestEchoUsageErrors: every bad argument is one line naming the problem,
// exit 2, nothing on stdout.
func TestEchoUsageErrors(t *testing.T) {
	tests := []struct{ name, argv, want string }{
		{"bad port", "70000", "ERR_SOCKET_BAD_PORT: options.port should be >= 0 and < 65536. Received type number (70000)."},
		{"hex port", "0x50", "ERR_SOCKET_BAD_PORT"},
		{"too many", "80 host extra", "accepts at most 2 arg"},
		{"unix with port", "-U /tmp/x.sock 80", "-U PATH and --fd take no PORT"},
		{"unix and fd", "-U /tmp/x.sock --fd 3", "cannot be used together"},
		{"bad greeting", `--greeting '\q'`, `--greeting: unknown escape \q`},
		{"negative workers", "--workers -1", "--workers -1"},
		{"no workers", "--workers 0", "--workers 0: want 1 or more"},
		{"bad engine", "--engine kqueue", `--engine "kqueue": want epoll, uring or goroutines`},
		{"negative stats", "--stats=-1s", "--stats -1s"},
		{"stats too often", "--stats=1ms", "want 10ms or more"},
		{"bad stats", "--stats=often", `invalid argument "often"`},
		{"exclusive and reuse-port", "--exclusive --reuse-port", "cannot be used together"},
		{"modes on tcp", "--readable-all 80", "apply to -U PATH only"},
		{"negative timeout", "--timeout=-1s", "cannot be negative"},
		{"bad rule", "--block 300.1.1.1", "ERR_"},
		{"bad fd", "--fd x", "ERR_INVALID_ARG_VALUE"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) { checkUsageError(t, "echo "+tt.argv, tt.want) })
	}
}

func TestByteRate(t *testing.T) {
	for _, tt := range []struct {
		in   float64
		want string
	}{
		{0, "0 B/s"},
		{999.4, "999 B/s"},
		{1000, "1.0 kB/s"},
		{1234567, "1.2 MB/s"},
		{2.5e9, "2.5 GB/s"},
	} {
		if got := byteRate(tt.in); got != tt.want {
			t.Errorf("byteRate(%v) = %q, want %q", tt.in, got, tt.want)
		}
	}
}
