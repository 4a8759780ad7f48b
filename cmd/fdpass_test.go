//go:build unix

package cmd

import (
	"os"
	"slices"
	"strconv"
	"testing"
)

func TestNewCmdConnectFDs(t *testing.T) {
	for _, tt := range []struct {
		name  string
		argv  string
		check func(*ConnectOptions) bool
	}{
		{"send-fd repeated", "-U /tmp/x.sock --send-fd 2 --send-fd 1", func(o *ConnectOptions) bool {
			return slices.Equal(o.SendFDs, []int{2, 1}) && o.FD == nil && o.Path == "/tmp/x.sock"
		}},
		{"send-fd list", "-U /tmp/x.sock --send-fd 1,2", func(o *ConnectOptions) bool { return slices.Equal(o.SendFDs, []int{1, 2}) }},
		{"send-fd with send", "-U /tmp/x.sock --send-fd 2 --send x", func(o *ConnectOptions) bool {
			return slices.Equal(o.SendFDs, []int{2}) && o.Send != nil && *o.Send == "x"
		}},
		{"fd", "--fd 1000", func(o *ConnectOptions) bool {
			return o.FD != nil && *o.FD == 1000 && o.Host == "" && o.Port == 0 && o.Path == "" && o.SendFDs == nil
		}},
		{"fd with events and send", "--fd 0 --send hi --timeout 1s", func(o *ConnectOptions) bool {
			return o.FD != nil && *o.FD == 0 && o.Send != nil && *o.Send == "hi"
		}},
		{"neither", "80", func(o *ConnectOptions) bool { return o.FD == nil && o.SendFDs == nil }},
	} {
		t.Run(tt.name, func(t *testing.T) {
			o, err := parseConnect(t, tt.argv, false)
			if err != nil {
				t.Fatal(err)
			}
			if !tt.check(o) {
				t.Errorf("%s: options %+v", tt.argv, o)
			}
		})
	}
}

func TestNewCmdListenPassFDs(t *testing.T) {
	o, err := parseListenTTY(t, "-U /tmp/l.sock --pass-fds --sh-exec 'cat <&3'", false)
	if err != nil {
		t.Fatal(err)
	}
	if !o.PassFDs || o.Path != "/tmp/l.sock" || !slices.Equal(o.Argv, []string{"/bin/sh", "-c", "cat <&3"}) {
		t.Fatalf("options %+v", o)
	}
	if o, err = parseListenTTY(t, "-U /tmp/l.sock -e cat", false); err != nil || o.PassFDs {
		t.Fatalf("without --pass-fds: %+v, %v", o, err)
	}
}

func TestFDFlagUsageErrors(t *testing.T) {
	for _, tt := range []struct{ name, argv, want string }{
		{"send-fd over tcp", "connect --send-fd 2 80", "--send-fd needs -U PATH"},
		{"send-fd not open", "connect -U /tmp/x.sock --send-fd 1000", "--send-fd 1000: fd 1000 is not open"},
		{"send-fd negative", "connect -U /tmp/x.sock --send-fd -1", "--send-fd -1: fd -1 is not open"},
		{"send-fd zero", "connect -U /tmp/x.sock --send-fd 2 -z", "cannot be used with -z"},
		{"send-fd recv-only", "connect -U /tmp/x.sock --send-fd 2 --recv-only", "cannot be used with --recv-only"},
		{"send-fd tls", "connect -U /tmp/x.sock --send-fd 2 --tls", "cannot be used with --tls"},
		{"fd and port", "connect --fd 3 80", "--fd N takes no PORT or HOST argument"},
		{"fd negative", "connect --fd -3", `--fd "-3": want a file descriptor number`},
		{"fd and wait", "connect --fd 3 --wait 1s", "cannot be used with --wait"},
		{"fd and proxy", "connect --fd 3 --proxy socks5://127.0.0.1:1", "cannot be used with --proxy"},
		{"fd and send-fd", "connect --fd 3 --send-fd 2", "--send-fd needs -U PATH"},
		{"fd and family", "connect --fd 3 -4", "cannot be used with -4 and -6"},
		{"pass-fds without exec", "listen -U /tmp/l.sock --pass-fds", "it needs --exec or --sh-exec"},
		{"pass-fds over tcp", "listen 0 --pass-fds -e cat", "--pass-fds needs -U PATH"},
	} {
		t.Run(tt.name, func(t *testing.T) { checkUsageError(t, tt.argv, tt.want) })
	}
	// A descriptor of nodenet's own (close-on-exec, as Go opens them all)
	// is not sent by mistake for one the caller forgot to pass.
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	defer w.Close()
	n := strconv.Itoa(int(r.Fd()))
	checkUsageError(t, "connect -U /tmp/x.sock --send x --send-fd "+n, "--send-fd "+n+": fd "+n+" was not inherited (it is close-on-exec: one of this process's own)")
	checkUsageError(t, "connect --fd "+n, "--fd "+n+": fd "+n+" was not inherited (it is close-on-exec: one of this process's own)")
}
