package cmd

import (
	"bytes"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"testing"
)

func TestSplitCommand(t *testing.T) {
	for _, tt := range []struct {
		in   string
		want []string
		err  string
	}{
		{"cat", []string{"cat"}, ""},
		{"  tr  a-z\tA-Z \n", []string{"tr", "a-z", "A-Z"}, ""},
		{`grep 'a b' "c d"`, []string{"grep", "a b", "c d"}, ""},
		{`echo 'it''s'`, []string{"echo", "its"}, ""},
		{`echo "a \"q\" \\ \$HOME \x"`, []string{"echo", `a "q" \ $HOME \x`}, ""},
		{`echo a\ b \'c`, []string{"echo", "a b", "'c"}, ""},
		{`echo $HOME * | x; y`, []string{"echo", "$HOME", "*", "|", "x;", "y"}, ""},
		{`printf ''`, []string{"printf", ""}, ""},
		{"a\\\nb", []string{"ab"}, ""},
		{`echo "a'b"`, []string{"echo", "a'b"}, ""},
		{"", nil, "the command is empty"},
		{"   ", nil, "the command is empty"},
		{`echo 'open`, nil, "the ' at byte 6 is not closed"},
		{`echo "open`, nil, `the " at byte 6 is not closed`},
		{`echo \`, nil, `a \ at the end escapes nothing`},
	} {
		got, err := splitCommand(tt.in)
		if tt.err != "" {
			if err == nil || err.Error() != tt.err {
				t.Errorf("splitCommand(%q): %v, want error %q", tt.in, err, tt.err)
			}
			continue
		}
		if err != nil || !slices.Equal(got, tt.want) {
			t.Errorf("splitCommand(%q) = %q, %v; want %q", tt.in, got, err, tt.want)
		}
	}
}

// FuzzSplitCommand: any input splits or fails without panicking, and
// words quoted with '...' (a ' written as '\”) come back as they were.
func FuzzSplitCommand(f *testing.F) {
	f.Add("echo 'a b' c", "x")
	f.Add(`"\"" \ `, "it's")
	f.Fuzz(func(t *testing.T, line, word string) {
		splitCommand(line) //nolint:errcheck // must not panic
		quoted := "'" + strings.ReplaceAll(word, "'", `'\''`) + "'"
		got, err := splitCommand("cmd " + quoted + " " + quoted)
		if err != nil || !slices.Equal(got, []string{"cmd", word, word}) {
			t.Fatalf("split of %q: %q, %v", quoted, got, err)
		}
	})
}

// parseListenTTY runs `listen ARGS` through NewCmdListen, with stdin a
// terminal or not, and returns the options it would run with.
func parseListenTTY(t *testing.T, argv string, stdinTTY bool) (*ListenOptions, error) {
	t.Helper()
	ios := Test(strings.NewReader(""), &bytes.Buffer{}, &bytes.Buffer{})
	ios.SetTTY(stdinTTY, false)
	var got *ListenOptions
	cmd := NewCmdListen(NewFactory(ios), func(o *ListenOptions) error { got = o; return nil })
	cmd.SetArgs(splitArgs(argv))
	cmd.SetOut(&bytes.Buffer{})
	cmd.SetErr(&bytes.Buffer{})
	return got, cmd.Execute()
}

func TestNewCmdListenExecAndBroker(t *testing.T) {
	for _, tt := range []struct {
		name  string
		argv  string
		tty   bool
		check func(*ListenOptions) bool
	}{
		{"exec splits", `-e 'grep -v "a b"' 0`, true, func(o *ListenOptions) bool {
			return slices.Equal(o.Argv, []string{"grep", "-v", "a b"}) && o.AllowHalfOpen && !o.KeepOpen
		}},
		{"sh-exec", `-k --sh-exec 'echo $X | tr a b' 0`, false, func(o *ListenOptions) bool {
			return slices.Equal(o.Argv, []string{"/bin/sh", "-c", "echo $X | tr a b"}) && o.KeepOpen
		}},
		{"exec half-open can be turned off", "-e cat --allow-half-open=false 0", false, func(o *ListenOptions) bool {
			return !o.AllowHalfOpen
		}},
		{"broker implies -k", "--broker 0", true, func(o *ListenOptions) bool {
			return o.Broker && !o.Chat && o.KeepOpen && o.AllowHalfOpen && o.Argv == nil
		}},
		{"chat is a broker", "--chat 0", false, func(o *ListenOptions) bool {
			return o.Broker && o.Chat && o.KeepOpen
		}},
		{"none", "0", true, func(o *ListenOptions) bool {
			return !o.ExecFlags.On() && !o.Broker && !o.AllowHalfOpen
		}},
		{"processes", "-k --processes --workers 2 -e cat 0", true, func(o *ListenOptions) bool {
			return o.Processes && o.Workers == 2 && o.KeepOpen && o.ExecFlags.On()
		}},
		{"processes default one per CPU", "-k --processes --sh-exec cat 0", true, func(o *ListenOptions) bool {
			return o.Processes && o.Workers == runtime.NumCPU()
		}},
		{"workers without processes", "-k --workers 2 0", true, func(o *ListenOptions) bool {
			return !o.Processes && o.Workers == 2
		}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			o, err := parseListenTTY(t, tt.argv, tt.tty)
			if err != nil {
				t.Fatal(err)
			}
			if !tt.check(o) {
				t.Errorf("options %+v", o)
			}
		})
	}
}

func TestNewCmdConnectExec(t *testing.T) {
	o, err := parseConnect(t, `-e 'sh -c "exit 3"' 80`, true)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(o.Argv, []string{"sh", "-c", "exit 3"}) || !o.AllowHalfOpen {
		t.Errorf("options %+v", o)
	}
}

// TestExecUsageErrors: each is exit 2, one line naming the problem, before
// anything listens or connects.
func TestExecUsageErrors(t *testing.T) {
	for _, tt := range []struct{ name, argv, want string }{
		{"missing command", "listen -e nodenet-no-such-command 0 127.0.0.1", "--exec: nodenet-no-such-command: command not found (spawn nodenet-no-such-command ENOENT)"},
		{"missing command on connect", "connect -e nodenet-no-such-command 1", "--exec: nodenet-no-such-command: command not found"},
		{"open quote", `listen -e 'cat "x' 0`, `the " at byte 5 is not closed`},
		{"empty", "listen -e '' 0", "the command is empty"},
		{"empty sh", "listen --sh-exec ' ' 0", "--sh-exec: the command is empty"},
		{"both", "listen -e cat --sh-exec cat 0", "--exec and --sh-exec cannot be used together"},
		{"broker and exec", "listen --broker -e cat 0", "--broker and --chat cannot be used with --exec"},
		{"chat and sh-exec", "listen --chat --sh-exec cat 0", "--broker and --chat cannot be used with --exec"},
		{"exec and send", "connect -e cat --send x 80", "cannot be used with -z or --send"},
		{"exec and zero", "connect -e cat -z 80", "cannot be used with -z or --send"},
	} {
		t.Run(tt.name, func(t *testing.T) { checkUsageError(t, tt.argv, tt.want) })
	}
	t.Run("not executable", func(t *testing.T) {
		f := filepath.Join(t.TempDir(), "data")
		if err := os.WriteFile(f, []byte("x"), 0o644); err != nil {
			t.Fatal(err)
		}
		checkUsageError(t, "listen -e "+f+" 0 127.0.0.1", "--exec: spawn "+f+" EACCES")
	})
}
