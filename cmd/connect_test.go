package cmd

import (
	"bytes"
	"strings"
	"testing"
	"time"
)

// splitArgs splits a command line on spaces, keeping 'single-quoted'
// words whole, as a shell does.
func splitArgs(s string) []string {
	args := []string{} // not nil: cobra reads os.Args when given nil
	var b strings.Builder
	inWord, quoted := false, false
	for _, r := range s {
		switch {
		case r == '\'':
			quoted, inWord = !quoted, true
		case r == ' ' && !quoted:
			if inWord {
				args = append(args, b.String())
				b.Reset()
			}
			inWord = false
		default:
			b.WriteRune(r)
			inWord = true
		}
	}
	if inWord {
		args = append(args, b.String())
	}
	return args
}

// parseConnect runs `connect ARGS` through NewCmdConnect and returns the
// options it would run with.
func parseConnect(t *testing.T, argv string, stdinTTY bool) (*ConnectOptions, error) {
	t.Helper()
	args := splitArgs(argv)
	ios := Test(strings.NewReader(""), &bytes.Buffer{}, &bytes.Buffer{})
	ios.SetTTY(stdinTTY, false)
	f := NewFactory(ios)
	var got *ConnectOptions
	cmd := NewCmdConnect(f, func(o *ConnectOptions) error { got = o; return nil })
	cmd.SetArgs(args)
	cmd.SetOut(&bytes.Buffer{})
	cmd.SetErr(&bytes.Buffer{})
	err := cmd.Execute()
	return got, err
}

func TestNewCmdConnect(t *testing.T) {
	tests := []struct {
		name  string
		argv  string
		tty   bool
		check func(*ConnectOptions) bool
	}{
		{"port", "8124", false, func(o *ConnectOptions) bool { return o.Host == "" && o.Port == 8124 && o.AllowHalfOpen }},
		{"port host", "8124 example.com", false, func(o *ConnectOptions) bool { return o.Host == "example.com" && o.Port == 8124 }},
		{"host:port", "127.0.0.1:80", false, func(o *ConnectOptions) bool { return o.Host == "127.0.0.1" && o.Port == 80 }},
		{"[v6]:port", "[::1]:80", false, func(o *ConnectOptions) bool { return o.Host == "::1" && o.Port == 80 }},
		{"unix", "-U /tmp/x.sock", false, func(o *ConnectOptions) bool { return o.Path == "/tmp/x.sock" && o.Port == 0 }},
		{"terminal ends with the peer", "80", true, func(o *ConnectOptions) bool { return !o.AllowHalfOpen }},
		{"forced half-open on a terminal", "--allow-half-open 80", true, func(o *ConnectOptions) bool { return o.AllowHalfOpen }},
		{"forced off", "--allow-half-open=false 80", false, func(o *ConnectOptions) bool { return !o.AllowHalfOpen }},
		{"family 6", "-6 80", false, func(o *ConnectOptions) bool { return o.Family == 6 }},
		{"zero wait", "-z --wait 5s 80", false, func(o *ConnectOptions) bool { return o.Zero && o.Wait == 5*time.Second }},
		{"send escapes", `--send 'a\r\n\x41\\' 80`, false, func(o *ConnectOptions) bool { return o.Send != nil && *o.Send == "a\r\nA\\" }},
		{"send empty", `--send '' 80`, false, func(o *ConnectOptions) bool { return o.Send != nil && *o.Send == "" }},
		{"no send", `80`, false, func(o *ConnectOptions) bool { return o.Send == nil }},
		{"keep-alive", "--keep-alive 80", false, func(o *ConnectOptions) bool { return o.KeepAlive.On && o.KeepAlive.Delay == 0 }},
		{"keep-alive delay", "--keep-alive=30s 80", false, func(o *ConnectOptions) bool { return o.KeepAlive.On && o.KeepAlive.Delay == 30*time.Second }},
		{"attempt timeout default", "80", false, func(o *ConnectOptions) bool { return o.AttemptTimeout == 500*time.Millisecond }},
		{"blocks", "--block 10.0.0.1 --block 10.0.0.0/8 80", false, func(o *ConnectOptions) bool {
			return strings.Join(o.BlockRules, ",") == "10.0.0.1,10.0.0.0/8"
		}},
		{"local", "--local-address 127.0.0.1 --local-port 5000 --tos 16 --no-delay --rst 80", false, func(o *ConnectOptions) bool {
			return o.LocalAddress == "127.0.0.1" && o.LocalPort == 5000 && o.TOS == 16 && o.NoDelay && o.RST
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			o, err := parseConnect(t, tt.argv, tt.tty)
			if err != nil {
				t.Fatalf("connect %s: %v", tt.argv, err)
			}
			if !tt.check(o) {
				t.Errorf("connect %s: options %+v", tt.argv, *o)
			}
		})
	}
}

// TestConnectUsageErrors: every bad argument is one line naming the
// problem, exit 2, nothing on stdout.
func TestConnectUsageErrors(t *testing.T) {
	tests := []struct{ name, argv, want string }{
		{"no port", "", "connect needs a PORT"},
		{"host only", "example.com", "ERR_SOCKET_BAD_PORT"},
		{"bad port", "70000", "ERR_SOCKET_BAD_PORT: Port should be >= 0 and < 65536."},
		{"hex port", "0x50", "ERR_SOCKET_BAD_PORT"},
		{"both families", "-4 -6 80", "-4 and -6 cannot be used together"},
		{"bad escape", `--send '\q' 80`, `unknown escape \q`},
		{"unix with port", "-U /tmp/x 80", "-U PATH takes no PORT"},
		{"tos", "--tos 300 80", "--tos 300"},
		{"zero and send", "-z --send x 80", "none of the others can be"},
		{"bad duration", "--timeout banana 80", `invalid argument "banana"`},
		{"bad keep-alive", "--keep-alive=soon 80", "keep-alive"},
		{"too many", "80 host extra", "accepts at most 2 arg"},
		{"bad local address", "--local-address localhost 80", "ERR_INVALID_IP_ADDRESS"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) { checkUsageError(t, "connect "+tt.argv, tt.want) })
	}
}

// checkUsageError runs nodenet with argv (split on spaces) and checks the
// answer to a usage error: exit 2, one line on stderr that contains want,
// nothing on stdout.
func checkUsageError(t *testing.T, argv, want string) {
	t.Helper()
	var out, errOut bytes.Buffer
	code := Run(splitArgs(argv), Test(strings.NewReader(""), &out, &errOut), []string{"XDG_CONFIG_HOME=" + t.TempDir()})
	if code != exitUsage {
		t.Errorf("exit %d, want 2 (stderr %q)", code, errOut.String())
	}
	if !strings.Contains(errOut.String(), want) || strings.Count(errOut.String(), "\n") != 1 {
		t.Errorf("stderr %q, want one line with %q", errOut.String(), want)
	}
	if out.Len() != 0 {
		t.Errorf("stdout %q", out.String())
	}
}

func TestUnescape(t *testing.T) {
	for _, tt := range []struct{ in, want, err string }{
		{`plain`, "plain", ""},
		{`a\r\nb`, "a\r\nb", ""},
		{`\t\0\\`, "\t\x00\\", ""},
		{`\x41\x7e`, "A~", ""},
		{`\x4`, "", "two hex digits"},
		{`\xzz`, "", "not two hex digits"},
		{`end\`, "", "lone"},
		{`\q`, "", "unknown escape"},
	} {
		got, err := unescape(tt.in)
		if tt.err != "" {
			if err == nil || !strings.Contains(err.Error(), tt.err) {
				t.Errorf("unescape(%q) error %v, want %q", tt.in, err, tt.err)
			}
			continue
		}
		if err != nil || got != tt.want {
			t.Errorf("unescape(%q) = %q, %v; want %q", tt.in, got, err, tt.want)
		}
	}
}
