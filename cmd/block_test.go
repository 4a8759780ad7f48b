package cmd

import (
	"bufio"
	"bytes"
	"crypto/sha256"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net/netip"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"testing/iotest"
	"time"

	"github.com/nodenet/nodenet/blocklist"
	"github.com/spf13/cobra"
)

// runBlock runs `nodenet block ARGS...` on a root whose subcommand sub is
// built by build (with a runF that records its options), in a temporary
// XDG_CONFIG_HOME holding config as config.yaml.
func runBlock(t *testing.T, config string, environ []string, sub string, build func(*Factory) *cobra.Command, args ...string) (code int, stderr string) {
	t.Helper()
	dir := t.TempDir()
	setenv(t, environ) // viper reads NODENET_* from the process environment
	environ = append([]string{"XDG_CONFIG_HOME=" + dir, "HOME=" + dir}, environ...)
	if config != "" {
		if err := os.MkdirAll(filepath.Join(dir, "nodenet"), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, "nodenet", "config.yaml"), []byte(config), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	var out, errOut bytes.Buffer
	ios := Test(strings.NewReader(""), &out, &errOut)
	f := NewFactory(ios)
	f.Getenv = envLookup(environ)
	root := NewCmdRoot(f, environ)
	block, _, err := root.Find([]string{"block"})
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range block.Commands() {
		if c.Name() == sub {
			block.RemoveCommand(c)
		}
	}
	block.AddCommand(build(f))
	code = execute(root, ios, append([]string{"block", sub}, args...))
	return code, errOut.String()
}

// xdg is where the tests' default rule file is, relative to the
// temporary XDG_CONFIG_HOME; a test compares File's suffix with it.
var xdg = filepath.Join("nodenet", "blocklist.json")

func TestBlockAddOptions(t *testing.T) {
	tests := []struct {
		name    string
		config  string
		env     []string
		args    []string
		want    BlockAddOptions
		wantXDG bool // File is the XDG default
		code    int
	}{
		{name: "addresses", args: []string{"1.2.3.4", "::1"}, want: BlockAddOptions{Addresses: []string{"1.2.3.4", "::1"}}, wantXDG: true},
		{name: "--file and --type, any case", args: []string{"--file", "r.json", "--type", "IPv6", "::1"},
			want: BlockAddOptions{BlockFileOptions: BlockFileOptions{File: "r.json"}, Addresses: []string{"::1"}, Type: "ipv6"}},
		{name: "NODENET_BLOCKLIST", env: []string{"NODENET_BLOCKLIST=env.json"}, args: []string{"1.2.3.4"},
			want: BlockAddOptions{BlockFileOptions: BlockFileOptions{File: "env.json"}, Addresses: []string{"1.2.3.4"}}},
		{name: "config blocklist", config: "blocklist: conf.json\n", args: []string{"1.2.3.4"},
			want: BlockAddOptions{BlockFileOptions: BlockFileOptions{File: "conf.json"}, Addresses: []string{"1.2.3.4"}}},
		{name: "environment over config", config: "blocklist: conf.json\n", env: []string{"NODENET_BLOCKLIST=env.json"}, args: []string{"1.2.3.4"},
			want: BlockAddOptions{BlockFileOptions: BlockFileOptions{File: "env.json"}, Addresses: []string{"1.2.3.4"}}},
		{name: "--file over all", config: "blocklist: conf.json\n", env: []string{"NODENET_BLOCKLIST=env.json"}, args: []string{"--file=f.json", "1.2.3.4"},
			want: BlockAddOptions{BlockFileOptions: BlockFileOptions{File: "f.json"}, Addresses: []string{"1.2.3.4"}}},
		{name: "the flag's own config key", config: "block:\n  add:\n    file: flag.json\n", env: []string{"NODENET_BLOCKLIST=env.json"}, args: []string{"1.2.3.4"},
			want: BlockAddOptions{BlockFileOptions: BlockFileOptions{File: "flag.json"}, Addresses: []string{"1.2.3.4"}}},
		{name: "bad --type", args: []string{"--type", "ipv5", "1.2.3.4"}, code: 2},
		{name: "no address", args: nil, code: 2},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var got *BlockAddOptions
			code, stderr := runBlock(t, tt.config, tt.env, "add", func(f *Factory) *cobra.Command {
				return NewCmdBlockAdd(f, func(o *BlockAddOptions) error { got = o; return nil })
			}, tt.args...)
			if code != tt.code {
				t.Fatalf("exit %d, want %d: %s", code, tt.code, stderr)
			}
			if tt.code != 0 {
				if got != nil {
					t.Error("ran despite the error")
				}
				return
			}
			if tt.wantXDG {
				if !got.Default || !strings.HasSuffix(got.File, xdg) {
					t.Errorf("file %q (default %v), want $XDG_CONFIG_HOME/%s", got.File, got.Default, xdg)
				}
				got.BlockFileOptions = BlockFileOptions{}
			}
			if !reflect.DeepEqual(*got, tt.want) {
				t.Errorf("options %+v, want %+v", *got, tt.want)
			}
		})
	}
}

func TestBlockSubcommandOptions(t *testing.T) {
	file := []string{"--file", "r.json"}
	fo := BlockFileOptions{File: "r.json"}
	tests := []struct {
		name, sub string
		args      []string
		want      any
		code      int
	}{
		{"add-range", "add-range", []string{"10.0.0.1", "10.0.0.9"}, &BlockAddRangeOptions{BlockFileOptions: fo, Start: "10.0.0.1", End: "10.0.0.9"}, 0},
		{"add-range one arg", "add-range", []string{"10.0.0.1-10.0.0.9"}, nil, 2},
		{"add-subnet NET/PREFIX", "add-subnet", []string{"10.0.0.0/8"}, &BlockAddSubnetOptions{BlockFileOptions: fo, Network: "10.0.0.0", Prefix: "8"}, 0},
		{"add-subnet NET PREFIX", "add-subnet", []string{"--type=ipv6", "2001:db8::", "32"}, &BlockAddSubnetOptions{BlockFileOptions: fo, Network: "2001:db8::", Prefix: "32", Type: "ipv6"}, 0},
		{"add-subnet without prefix", "add-subnet", []string{"10.0.0.0"}, nil, 2},
		{"check arguments", "check", []string{"1.2.3.4"}, &BlockCheckOptions{BlockFileOptions: fo, Addresses: []string{"1.2.3.4"}, CacheDir: blockCacheDir()}, 0},
		{"check stdin", "check", []string{"--type", "IPV4"}, &BlockCheckOptions{BlockFileOptions: fo, FromStdin: true, Addresses: []string{}, Type: "ipv4", CacheDir: blockCacheDir()}, 0},
		{"check --no-cache", "check", []string{"--no-cache", "1.2.3.4"}, &BlockCheckOptions{BlockFileOptions: fo, Addresses: []string{"1.2.3.4"}}, 0},
		{"list --json", "list", []string{"--json", "--type", "ipv6"}, &BlockListOptions{BlockFileOptions: fo, JSON: true, Type: "ipv6"}, 0},
		{"list arguments", "list", []string{"x"}, nil, 2},
		{"export", "export", nil, &BlockExportOptions{BlockFileOptions: fo}, 0},
		{"remove", "remove", []string{"10.0.0.0/8", "Address: IPv6 ::1"}, &BlockRemoveOptions{BlockFileOptions: fo, Rules: []string{"10.0.0.0/8", "Address: IPv6 ::1"}}, 0},
		{"clear", "clear", []string{"--type", "ipv4"}, &BlockClearOptions{BlockFileOptions: fo, Type: "ipv4"}, 0},
		{"import --replace", "import", []string{"--replace", "-"}, &BlockImportOptions{BlockFileOptions: fo, Source: "-", Replace: true}, 0},
		{"import nothing", "import", nil, nil, 2},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var got any
			build := map[string]func(*Factory) *cobra.Command{
				"add-range": func(f *Factory) *cobra.Command {
					return NewCmdBlockAddRange(f, func(o *BlockAddRangeOptions) error { got = o; return nil })
				},
				"add-subnet": func(f *Factory) *cobra.Command {
					return NewCmdBlockAddSubnet(f, func(o *BlockAddSubnetOptions) error { got = o; return nil })
				},
				"check": func(f *Factory) *cobra.Command {
					return NewCmdBlockCheck(f, func(o *BlockCheckOptions) error { o.IO = nil; got = o; return nil })
				},
				"list": func(f *Factory) *cobra.Command {
					return NewCmdBlockList(f, func(o *BlockListOptions) error { o.IO = nil; got = o; return nil })
				},
				"export": func(f *Factory) *cobra.Command {
					return NewCmdBlockExport(f, func(o *BlockExportOptions) error { o.IO = nil; got = o; return nil })
				},
				"remove": func(f *Factory) *cobra.Command {
					return NewCmdBlockRemove(f, func(o *BlockRemoveOptions) error { got = o; return nil })
				},
				"clear": func(f *Factory) *cobra.Command {
					return NewCmdBlockClear(f, func(o *BlockClearOptions) error { got = o; return nil })
				},
				"import": func(f *Factory) *cobra.Command {
					return NewCmdBlockImport(f, func(o *BlockImportOptions) error { o.IO = nil; got = o; return nil })
				},
			}[tt.sub]
			code, stderr := runBlock(t, "", nil, tt.sub, build, append(file, tt.args...)...)
			if code != tt.code {
				t.Fatalf("exit %d, want %d: %s", code, tt.code, stderr)
			}
			if tt.code == 0 && !reflect.DeepEqual(got, tt.want) {
				t.Errorf("options %+v, want %+v", got, tt.want)
			}
		})
	}
}

// blockFile makes a rule file with the given rules and returns its path.
func blockFile(t *testing.T, rules ...string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "rules.json")
	if err := os.WriteFile(path, blocklist.FormatRules(rules), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

func hashFile(t *testing.T, path string) [32]byte {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return sha256.Sum256(b)
}

func readRules(t *testing.T, path string) []string {
	t.Helper()
	b, err := blocklist.LoadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return b.Rules()
}

func TestBlockCheckRun(t *testing.T) {
	path := blockFile(t, "Address: IPv4 1.2.3.4", "Subnet: IPv4 10.0.0.0/8", "Range: IPv6 2001:db8::1-2001:db8::ff")
	tests := []struct {
		name  string
		opts  BlockCheckOptions
		stdin string
		out   string
		code  int
	}{
		{name: "arguments, all blocked", opts: BlockCheckOptions{Addresses: []string{"1.2.3.4", "::ffff:10.9.8.7", "2001:db8::ff"}},
			out: "1.2.3.4 blocked\n::ffff:10.9.8.7 blocked\n2001:db8::ff blocked\n"},
		{name: "one allowed", opts: BlockCheckOptions{Addresses: []string{"1.2.3.4", "1.2.3.5"}},
			out: "1.2.3.4 blocked\n1.2.3.5 allowed\n", code: 1},
		{name: "unreadable is allowed", opts: BlockCheckOptions{Addresses: []string{"01.2.3.4", "example.com"}},
			out: "01.2.3.4 allowed\nexample.com allowed\n", code: 1},
		{name: "--type", opts: BlockCheckOptions{Addresses: []string{"1.2.3.4"}, Type: "ipv6"}, out: "1.2.3.4 allowed\n", code: 1},
		{name: "stdin: CRLF and no final newline", opts: BlockCheckOptions{FromStdin: true}, stdin: "1.2.3.4\r\n10.0.0.1\n2001:db8::2",
			out: "1.2.3.4 blocked\n10.0.0.1 blocked\n2001:db8::2 blocked\n"},
		{name: "stdin: empty line", opts: BlockCheckOptions{FromStdin: true}, stdin: "\n", out: " allowed\n", code: 1},
		{name: "stdin: nothing", opts: BlockCheckOptions{FromStdin: true}, stdin: "", out: ""},
		{name: "quiet", opts: BlockCheckOptions{FromStdin: true, Quiet: true}, stdin: "1.2.3.4\n8.8.8.8\n", out: "", code: 1},
		{name: "a line longer than the buffer", opts: BlockCheckOptions{FromStdin: true},
			stdin: strings.Repeat("x", blockCheckInBuffer+5) + "\n1.2.3.4\n",
			out:   strings.Repeat("x", blockCheckInBuffer+5) + " allowed\n1.2.3.4 blocked\n", code: 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var out bytes.Buffer
			opts := tt.opts
			opts.IO = Test(strings.NewReader(tt.stdin), &out, io.Discard)
			opts.File = path
			err := blockCheckRun(&opts)
			if code := exitCode(&ranError{err}); err == nil && tt.code != 0 || err != nil && code != tt.code {
				t.Errorf("err %v (exit %d), want exit %d", err, code, tt.code)
			}
			if out.String() != tt.out {
				t.Errorf("output %q\nwant %q", out.String(), tt.out)
			}
		})
	}
	t.Run("missing file", func(t *testing.T) {
		opts := BlockCheckOptions{IO: Test(nil, io.Discard, io.Discard), Addresses: []string{"1.2.3.4"}}
		opts.File = filepath.Join(t.TempDir(), "none.json")
		if err := blockCheckRun(&opts); exitCode(&ranError{err}) != 1 {
			t.Errorf("a missing --file: %v, want exit 1", err)
		}
		opts.Default = true // the default location may not exist yet
		if err := blockCheckRun(&opts); exitCode(&ranError{err}) != 1 || err.Error() != "exit status 1" {
			t.Errorf("a missing default file: %v, want an answer (allowed)", err)
		}
	})
}

// TestBlockCheckStreams checks that each answer is written before the next
// line is read: the line is sent only once the answer to the one before
// has come back.
func TestBlockCheckStreams(t *testing.T) {
	path := blockFile(t, "Address: IPv4 1.2.3.4")
	inR, inW := io.Pipe()
	outR, outW := io.Pipe()
	opts := &BlockCheckOptions{IO: Test(inR, outW, io.Discard), FromStdin: true}
	opts.File = path
	done := make(chan error, 1)
	go func() {
		done <- blockCheckRun(opts)
		outW.Close()
	}()
	answers := bufio.NewReader(outR)
	for _, c := range []struct{ in, want string }{{"1.2.3.4", "1.2.3.4 blocked\n"}, {"5.6.7.8", "5.6.7.8 allowed\n"}} {
		if _, err := io.WriteString(inW, c.in+"\n"); err != nil {
			t.Fatal(err)
		}
		got := make(chan string, 1)
		go func() { s, _ := answers.ReadString('\n'); got <- s }()
		select {
		case s := <-got:
			if s != c.want {
				t.Fatalf("answer %q, want %q", s, c.want)
			}
		case <-time.After(10 * time.Second):
			t.Fatalf("no answer to %q while stdin stays open", c.in)
		}
	}
	inW.Close()
	if err := <-done; exitCode(&ranError{err}) != 1 {
		t.Errorf("exit %v, want 1", err)
	}
}

func TestBlockChanges(t *testing.T) {
	t.Run("add then list", func(t *testing.T) {
		path := blockFile(t)
		fo := BlockFileOptions{File: path}
		must := func(err error) {
			t.Helper()
			if err != nil {
				t.Fatal(err)
			}
		}
		must(blockAddRun(&BlockAddOptions{BlockFileOptions: fo, Addresses: []string{"1.2.3.4", "::ffff:5.6.7.8", "2001:db8::1"}}))
		must(blockAddRangeRun(&BlockAddRangeOptions{BlockFileOptions: fo, Start: "10.0.0.1", End: "10.0.0.10"}))
		must(blockAddSubnetRun(&BlockAddSubnetOptions{BlockFileOptions: fo, Network: "192.168.1.7", Prefix: "24"}))
		must(blockAddSubnetRun(&BlockAddSubnetOptions{BlockFileOptions: fo, Network: "::ffff:0:0", Prefix: "96"}))
		// Node v26 lists the same calls so.
		want := "Address: IPv6 ::ffff:5.6.7.8\nAddress: IPv6 2001:db8::1\nAddress: IPv4 1.2.3.4\n" +
			"Subnet: IPv6 ::ffff:0.0.0.0/96\nSubnet: IPv4 192.168.1.7/24\nRange: IPv4 10.0.0.1-10.0.0.10\n"
		var out bytes.Buffer
		must(blockListRun(&BlockListOptions{IO: Test(nil, &out, io.Discard), BlockFileOptions: fo}))
		if out.String() != want {
			t.Errorf("list:\n%s\nwant:\n%s", out.String(), want)
		}
		out.Reset()
		must(blockListRun(&BlockListOptions{IO: Test(nil, &out, io.Discard), BlockFileOptions: fo, Type: "ipv4"}))
		if out.String() != "Address: IPv4 1.2.3.4\nSubnet: IPv4 192.168.1.7/24\nRange: IPv4 10.0.0.1-10.0.0.10\n" {
			t.Errorf("list --type ipv4:\n%s", out.String())
		}
		out.Reset()
		must(blockExportRun(&BlockExportOptions{IO: Test(nil, &out, io.Discard), BlockFileOptions: fo}))
		if file, _ := os.ReadFile(path); out.String() != string(file) {
			t.Errorf("export:\n%s\nfile:\n%s", out.String(), file)
		}
		must(blockRemoveRun(&BlockRemoveOptions{BlockFileOptions: fo, Rules: []string{"5.6.7.8", "Subnet: IPv6 ::ffff:0.0.0.0/96"}}))
		must(blockClearRun(&BlockClearOptions{BlockFileOptions: fo, Type: "ipv6"}))
		want2 := []string{"Address: IPv4 1.2.3.4", "Subnet: IPv4 192.168.1.7/24", "Range: IPv4 10.0.0.1-10.0.0.10"}
		if got := readRules(t, path); !reflect.DeepEqual(got, want2) {
			t.Errorf("after remove and clear --type ipv6: %q", got)
		}
		must(blockClearRun(&BlockClearOptions{BlockFileOptions: fo}))
		if b, _ := os.ReadFile(path); string(b) != "[]\n" {
			t.Errorf("after clear: %q", b)
		}
	})

	// Invalid input: Node's code, exit 2, and the file as it was.
	path := blockFile(t, "Address: IPv4 1.2.3.4")
	fo := BlockFileOptions{File: path}
	before := hashFile(t, path)
	for _, tt := range []struct {
		name string
		run  func() error
		code int
		want string
	}{
		{"bad address among good", func() error {
			return blockAddRun(&BlockAddOptions{BlockFileOptions: fo, Addresses: []string{"9.9.9.9", "1.2.3.04"}})
		}, 2, `"1.2.3.04": ERR_INVALID_ADDRESS: Invalid socket address`},
		{"range backwards", func() error {
			return blockAddRangeRun(&BlockAddRangeOptions{BlockFileOptions: fo, Start: "10.0.0.9", End: "10.0.0.1"})
		}, 2, "ERR_INVALID_ARG_VALUE: The argument 'start' must come before end."},
		{"prefix", func() error {
			return blockAddSubnetRun(&BlockAddSubnetOptions{BlockFileOptions: fo, Network: "10.0.0.0", Prefix: "33"})
		}, 2, `"10.0.0.0/33": ERR_OUT_OF_RANGE: The value of "prefix" is out of range. It must be >= 0 && <= 32. Received 33`},
		{"prefix not a number", func() error {
			return blockAddSubnetRun(&BlockAddSubnetOptions{BlockFileOptions: fo, Network: "10.0.0.0", Prefix: "0x8"})
		}, 2, `It must be an integer. Received '0x8'`},
		{"remove what is not there", func() error {
			return blockRemoveRun(&BlockRemoveOptions{BlockFileOptions: fo, Rules: []string{"1.2.3.4", "8.8.8.8"}})
		}, 1, `"8.8.8.8": no rule to remove: Address: IPv4 8.8.8.8`},
		{"remove a bad rule", func() error {
			return blockRemoveRun(&BlockRemoveOptions{BlockFileOptions: fo, Rules: []string{"10.0.0.0/40"}})
		}, 2, "ERR_OUT_OF_RANGE"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.run()
			if code := exitCode(&ranError{err}); err == nil || code != tt.code || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("got %v (exit %d), want exit %d and %q", err, code, tt.code, tt.want)
			}
			if hashFile(t, path) != before {
				t.Error("the rule file changed")
			}
		})
	}

	t.Run("broken rule file", func(t *testing.T) {
		path := filepath.Join(t.TempDir(), "rules.json")
		if err := os.WriteFile(path, []byte("[\n  \"Address: IPv4 1.2.3.4\",\n  \"Address: IPv4 1.2.3.999\"\n]\n"), 0o644); err != nil {
			t.Fatal(err)
		}
		before := hashFile(t, path)
		err := blockAddRun(&BlockAddOptions{BlockFileOptions: BlockFileOptions{File: path}, Addresses: []string{"5.5.5.5"}})
		if code := exitCode(&ranError{err}); err == nil || code != 1 || !strings.Contains(err.Error(), path+":3:3: ERR_INVALID_ADDRESS") {
			t.Errorf("got %v (exit %d), want exit 1 naming %s:3:3", err, code, path)
		}
		if hashFile(t, path) != before {
			t.Error("a broken rule file was written over")
		}
	})
}

func TestBlockImportRun(t *testing.T) {
	tests := []struct {
		name    string
		start   []string
		data    string
		replace bool
		typ     string
		want    []string
		err     string // in the error, when it fails (exit 2)
	}{
		{name: "lines", start: []string{"Address: IPv4 9.9.9.9"},
			data: "# bad hosts\n1.2.3.4\n\n  10.0.0.1-10.0.0.10  \r\n2001:db8::/32\nSubnet: IPv4 192.168.0.0/16\n",
			// As Node v26 lists the same calls.
			want: []string{"Address: IPv4 1.2.3.4", "Address: IPv4 9.9.9.9", "Subnet: IPv4 192.168.0.0/16", "Subnet: IPv6 2001:db8::/32", "Range: IPv4 10.0.0.1-10.0.0.10"}},
		{name: "JSON, replacing", start: []string{"Address: IPv4 9.9.9.9"}, replace: true,
			data: "[\n \"Address: IPv6 ::1\",\n \"Range: IPv6 ::1-::f\"\n]",
			want: []string{"Address: IPv6 ::1", "Range: IPv6 ::1-::f"}},
		{name: "--type", data: "::ffff:1.2.3.4\n", typ: "ipv6", want: []string{"Address: IPv6 ::ffff:1.2.3.4"}},
		{name: "a bad line refuses all", start: []string{"Address: IPv4 9.9.9.9"}, data: "1.2.3.4\n5.6.7.8\n10.0.0.0/33\n",
			err: `in.txt:3: "10.0.0.0/33": ERR_OUT_OF_RANGE`},
		{name: "a bad JSON element refuses all", data: "[\n\"1.2.3.4\",\n\n\"Address: IPv4 1.2.3\"\n]", err: `in.txt:4: "Address: IPv4 1.2.3": ERR_INVALID_ADDRESS`},
		{name: "not a string", data: "[\"1.2.3.4\", 5]", err: "in.txt:1: want a rule string"},
		{name: "broken JSON", data: "[\"1.2.3.4\",\n", err: "in.txt:2: invalid JSON"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := blockFile(t, tt.start...)
			src := filepath.Join(t.TempDir(), "in.txt")
			if err := os.WriteFile(src, []byte(tt.data), 0o644); err != nil {
				t.Fatal(err)
			}
			before := hashFile(t, path)
			opts := &BlockImportOptions{IO: Test(nil, io.Discard, io.Discard), BlockFileOptions: BlockFileOptions{File: path},
				Source: src, Replace: tt.replace, Type: tt.typ}
			err := blockImportRun(opts)
			if tt.err != "" {
				if code := exitCode(&ranError{err}); err == nil || code != 2 || !strings.Contains(err.Error(), tt.err) {
					t.Errorf("got %v (exit %d), want exit 2 and %q", err, code, tt.err)
				}
				if hashFile(t, path) != before {
					t.Error("a refused import changed the rule file")
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got := readRules(t, path); !reflect.DeepEqual(got, tt.want) {
				t.Errorf("rules %q\nwant %q", got, tt.want)
			}
		})
	}
	t.Run("stdin", func(t *testing.T) {
		path := blockFile(t)
		opts := &BlockImportOptions{IO: Test(strings.NewReader("1.2.3.4\n"), io.Discard, io.Discard), BlockFileOptions: BlockFileOptions{File: path}, Source: "-"}
		if err := blockImportRun(opts); err != nil {
			t.Fatal(err)
		}
		if got := readRules(t, path); !reflect.DeepEqual(got, []string{"Address: IPv4 1.2.3.4"}) {
			t.Errorf("rules %q", got)
		}
		opts.IO = Test(strings.NewReader("x\n"), io.Discard, io.Discard)
		if err := blockImportRun(opts); err == nil || !strings.HasPrefix(err.Error(), `stdin:1: "x": ERR_INVALID_ADDRESS`) {
			t.Errorf("got %v", err)
		}
	})
}

func TestBlockDefaultFileIsMade(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "nodenet", "blocklist.json")
	opts := &BlockAddOptions{BlockFileOptions: BlockFileOptions{File: path, Default: true}, Addresses: []string{"1.2.3.4"}}
	if err := blockAddRun(opts); err != nil {
		t.Fatal(err)
	}
	if got := readRules(t, path); !reflect.DeepEqual(got, []string{"Address: IPv4 1.2.3.4"}) {
		t.Errorf("rules %q", got)
	}
	// A named file's folder is not made: a typo is an error.
	opts.BlockFileOptions = BlockFileOptions{File: filepath.Join(dir, "typo", "rules.json")}
	if err := blockAddRun(opts); err == nil || !errors.Is(err, os.ErrNotExist) {
		t.Errorf("got %v, want a missing folder", err)
	}
}

// TestBlockCheckAnswersWithoutAllocating guards what blockCheckRun relies
// on to leave the collector off while it answers: a line's answer
// allocates nothing.
func TestBlockCheckAnswersWithoutAllocating(t *testing.T) {
	b, err := blocklist.Parse(blocklist.FormatRules([]string{"Subnet: IPv4 10.0.0.0/8", "Address: IPv6 2001:db8::1"}))
	if err != nil {
		t.Fatal(err)
	}
	c := &blockChecker{list: b, w: io.Discard, all: true, out: make([]byte, 0, 2*blockCheckOutBuffer)}
	lines := [][]byte{[]byte("10.1.2.3"), []byte("2001:db8::1"), []byte("::ffff:10.0.0.1"), []byte("nonsense")}
	if n := testing.AllocsPerRun(1000, func() {
		for _, l := range lines {
			if err := c.answer(l); err != nil {
				t.Fatal(err)
			}
		}
	}); n != 0 {
		t.Errorf("%v allocations per round of answers", n)
	}
}

// TestBlockCheckStreamGroups: the lines stream looks up in groups get,
// in their order, the answer each gets alone from CheckBytes, whatever
// the read buffer's size cuts the groups to, and the exit status
// follows every answer.
func TestBlockCheckStreamGroups(t *testing.T) {
	list, err := blocklist.Parse(blocklist.FormatRules([]string{
		"Subnet: IPv4 10.0.0.0/9", "Address: IPv6 2001:db8::1", "Subnet: IPv6 ::ffff:192.168.0.0/112", "Range: IPv4 172.16.0.1-172.16.0.200",
	}))
	if err != nil {
		t.Fatal(err)
	}
	r := rand.New(rand.NewPCG(1, 2))
	pick := []string{"10.%d.1.2", "10.200.%d.1", "2001:db8::%x", "::ffff:192.168.%d.9", "192.168.%d.1", "172.16.0.%d", "bad%d", "1.2.3.%d%%eth0"}
	var in, want bytes.Buffer
	for i := range 2000 {
		a := fmt.Sprintf(pick[r.IntN(len(pick))], r.IntN(256))
		blocked, _ := list.CheckBytes([]byte(a), blockFamilyOf(a))
		in.WriteString(a)
		if i%7 == 0 {
			in.WriteByte('\r')
		}
		in.WriteByte('\n')
		want.WriteString(a)
		if blocked {
			want.WriteString(" blocked\n")
		} else {
			want.WriteString(" allowed\n")
		}
	}
	for _, size := range []int{200, 333, 4096, 1 << 20} {
		got, all := blockCheckStreamed(t, list, in.Bytes(), "", size, false)
		if !bytes.Equal(got, want.Bytes()) {
			t.Fatalf("read buffer of %d bytes: answers differ from CheckBytes's", size)
		}
		if all {
			t.Fatalf("read buffer of %d bytes: every address blocked, it says", size)
		}
	}
	blockedOnly := bytes.Repeat([]byte("10.1.2.3\n2001:db8::1\n"), 100)
	if _, all := blockCheckStreamed(t, list, blockedOnly, "", 333, false); !all {
		t.Fatal("every address blocked, and not said")
	}
	// Looked up in groups, answers allocate nothing either.
	c := &blockChecker{list: list, w: io.Discard, all: true, out: make([]byte, 0, 2*blockCheckOutBuffer)}
	lines := bytes.Split(in.Bytes()[:4000], []byte("\n"))
	if n := testing.AllocsPerRun(100, func() {
		for _, l := range lines {
			if err := c.add(l); err != nil {
				t.Fatal(err)
			}
		}
		if err := c.answerMany(); err != nil {
			t.Fatal(err)
		}
	}); n != 0 {
		t.Errorf("%v allocations per round of grouped answers", n)
	}
}

// FuzzBlockImport checks the import reader on any input: no panic, an
// error message of bounded length whatever the input, and the same rules
// read in JSON from any input it reads as lines (one rule per element).
func FuzzBlockImport(f *testing.F) {
	for _, s := range []string{
		"# bad hosts\n1.2.3.4\n\n  10.0.0.1-10.0.0.10  \r\n2001:db8::/32\nSubnet: IPv4 192.168.0.0/16\n",
		"[\n \"Address: IPv6 ::1\",\n \"Range: IPv6 ::1-::f\"\n]", "[\"1.2.3.4\", 5]", "[\"1.2.3.4\",\n",
		"[\"\\u0031.2.3.4\", \"a\\\"b\"]", "[]", "  ", "[\"1.2.3.4\"] x", "10.0.0.0/33\n", "[\"\\", "#x\n::1%eth0",
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, in []byte) {
		rules, err := parseImport("in", bytes.NewReader(in), "")
		// Read in two halves at once, or as a rule file, an import reads
		// what one pass reads, or is left to it.
		for how, other := range map[string]*blocklist.Batch{"in halves": parseImportHalves("in", in, ""), "as a rule file": parseImportRuleFile(in, "")} {
			switch {
			case other == nil:
			case err != nil:
				t.Fatalf("read %s, but one pass fails: %v", how, err)
			case !bytes.Equal(importedFile(t, other), importedFile(t, rules)):
				t.Fatalf("read %s: other rules", how)
			}
		}
		if err != nil {
			if n := len(err.Error()); n > 1024 {
				t.Fatalf("an error message of %d bytes: %.200q", n, err)
			}
			return
		}
		if t := bytes.TrimLeft(in, " \t\r\n"); len(t) > 0 && t[0] == '[' {
			return
		}
		if n := bytes.Count(in, []byte{'\n'}) + 1; rules.Len() > n {
			t.Fatalf("%d rules from %d lines", rules.Len(), n)
		}
	})
}

// blockCheckStreamed answers in through stream, with a read buffer of
// size bytes, one byte at a time when slow is set.
func blockCheckStreamed(t testing.TB, list *blocklist.BlockList, in []byte, family string, size int, slow bool) ([]byte, bool) {
	var out bytes.Buffer
	c := &blockChecker{list: list, family: family, w: &out, all: true, inBuf: size}
	var r io.Reader = bytes.NewReader(in)
	if slow {
		r = iotest.OneByteReader(r)
	}
	if err := c.stream(r); err != nil {
		t.Fatal(err)
	}
	c.flush() //nolint:errcheck // a bytes.Buffer
	return out.Bytes(), c.all
}

// TestBlockCheckLongLines checks that a line longer than the read buffer,
// which stream answers without holding it, gets the answer it gets whole
// (a large buffer): zones of every length, "\r" before a "\n" and at the
// end, a ':' past the head that makes the line IPv6, NUL bytes.
func TestBlockCheckLongLines(t *testing.T) {
	list, err := blocklist.Parse(blocklist.FormatRules([]string{"Address: IPv4 1.2.3.4", "Subnet: IPv6 fe80::/64", "Range: IPv4 10.0.0.1-10.0.0.9"}))
	if err != nil {
		t.Fatal(err)
	}
	var ins [][]byte
	for _, n := range []int{100, 199, 200, 201, 400, 1000} {
		z := strings.Repeat("eth0.", n/5+1)[:n]
		for _, addr := range []string{"1.2.3.4", "fe80::1", "::ffff:1.2.3.4", "10.0.0.5", "1.2.3.5", "1.2.3.4\x00", ""} {
			ins = append(ins,
				[]byte(addr+"%"+z+"\n"), []byte(addr+"%"+z+"\r\n1.2.3.4\n"), []byte(addr+"%"+z+"\r"),
				[]byte(addr+"%"+z), []byte(addr+"%"+z+":x\n"), []byte(addr+z+"\n"), []byte(addr+"\x00"+z+"\n"),
				[]byte("1.2.3.4\n"+addr+"%"+z+"\n"+addr+"%"+z+"\r\r\n10.0.0.1"),
			)
		}
	}
	for _, in := range ins {
		for _, family := range []string{"", blocklist.IPv4, blocklist.IPv6} {
			want, wantAll := blockCheckStreamed(t, list, in, family, 1<<20, false)
			for _, slow := range []bool{false, true} {
				got, all := blockCheckStreamed(t, list, in, family, 200, slow)
				if !bytes.Equal(got, want) || all != wantAll {
					t.Fatalf("input %q (family %q, a byte at a time %v):\ngot  %q (all %v)\nwant %q (all %v)", in, family, slow, got, all, want, wantAll)
				}
			}
		}
	}
}

// FuzzBlockCheckStream checks stream against a buffer large enough for
// every line, with a read buffer small enough that most lines are long.
func FuzzBlockCheckStream(f *testing.F) {
	f.Add([]byte("1.2.3.4\nfe80::1%"+strings.Repeat("z", 300)+"\r\n10.0.0.5"), uint8(0))
	f.Add([]byte("1.2.3.4\x00"+strings.Repeat("x", 300)+":\n"), uint8(1))
	list, err := blocklist.Parse(blocklist.FormatRules([]string{"Address: IPv4 1.2.3.4", "Subnet: IPv6 fe80::/64", "Range: IPv4 10.0.0.1-10.0.0.9"}))
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, in []byte, mode uint8) {
		family := []string{"", blocklist.IPv4, blocklist.IPv6}[mode%3]
		want, wantAll := blockCheckStreamed(t, list, in, family, 1<<20, false)
		got, all := blockCheckStreamed(t, list, in, family, blockCheckHead, mode&4 != 0)
		if !bytes.Equal(got, want) || all != wantAll {
			t.Fatalf("family %q:\ngot  %q (all %v)\nwant %q (all %v)", family, got, all, want, wantAll)
		}
	})
}

// TestBlockImportLineNumbers checks the lines that import names, counted
// in its one pass: deep in a large file, after a comment longer than the
// line limit (which is skipped, not refused), and in JSON whose elements
// share lines.
func TestBlockImportLineNumbers(t *testing.T) {
	var js, lines strings.Builder
	js.WriteString("[\n")
	for i := range 20000 {
		fmt.Fprintf(&js, "  \"10.0.%d.%d\",\n", i/250, i%250+1)
		fmt.Fprintf(&lines, "10.0.%d.%d\n", i/250, i%250+1)
	}
	js.WriteString(`  "1.2.3.4", "10.0.0.0/33"` + "\n]\n")
	lines.WriteString("# " + strings.Repeat("long comment ", 10000) + "\n\n   10.0.0.0/33\n")
	for _, c := range []struct{ name, data, want string }{
		{"JSON", js.String(), `in:20002: "10.0.0.0/33": ERR_OUT_OF_RANGE`},
		{"lines", lines.String(), `in:20003: "10.0.0.0/33": ERR_OUT_OF_RANGE`},
		{"JSON on one line", `["1.2.3.4",` + strings.Repeat(`"::1",`, 5000) + `"x"]`, `in:1: "x": ERR_INVALID_ADDRESS`},
		{"a string across lines", "[\n\"1.2.3.4\n\"]", "in:2: invalid JSON: a control character"},
	} {
		t.Run(c.name, func(t *testing.T) {
			_, err := parseImport("in", strings.NewReader(c.data), "")
			if err == nil || !strings.HasPrefix(err.Error(), c.want) {
				t.Fatalf("got %v, want %q", err, c.want)
			}
		})
	}
}

// importData is an import of n rules, as a JSON array (one element a
// line) or one rule a line, in the forms a user writes: rule strings,
// addresses, ranges and subnets of both families, with comments.
func importData(n int, json bool) []byte {
	r := rand.New(rand.NewPCG(uint64(n), 9))
	var b bytes.Buffer
	if json {
		b.WriteString("[\n")
	}
	for i := range n {
		v4 := netip.AddrFrom4([4]byte{byte(r.Uint32()), byte(r.Uint32()), byte(r.Uint32()), byte(r.Uint32())})
		var a16 [16]byte
		for j := range a16 {
			a16[j] = byte(r.Uint32())
		}
		v6 := netip.AddrFrom16(a16)
		var rule string
		switch r.IntN(6) {
		case 0:
			rule = "Address: IPv4 " + v4.String()
		case 1:
			rule = v6.String()
		case 2:
			rule = v4.String() + "/" + fmt.Sprint(8+r.IntN(25))
		case 3:
			rule = "Subnet: IPv6 " + v6.String() + "/" + fmt.Sprint(r.IntN(129))
		case 4:
			rule = v4.String() + "-" + v4.Next().Next().String()
		default:
			rule = "Range: IPv6 " + v6.String() + "-" + v6.Next().String()
		}
		switch {
		case json && i < n-1:
			fmt.Fprintf(&b, "  %q,\n", rule)
		case json:
			fmt.Fprintf(&b, "  %q\n]\n", rule)
		default:
			if i%100 == 0 {
				b.WriteString("# a comment\n\n")
			}
			b.WriteString(rule + "\n")
		}
	}
	return b.Bytes()
}

// importedFile is the rule file an import of data into an empty file
// writes.
func importedFile(t testing.TB, rules *blocklist.Batch) []byte {
	b := blocklist.New()
	b.AddBatch(rules)
	return blocklist.Format(b)
}

// TestBlockImportHalves checks that an import parsed in two halves at
// once reads what one pass reads, and that a problem in either half is
// reported as one pass reports it.
func TestBlockImportHalves(t *testing.T) {
	for _, json := range []bool{true, false} {
		data := importData(30000, json)
		whole, err := parseImport("in", bytes.NewReader(data), "")
		if err != nil {
			t.Fatal(err)
		}
		halves := parseImportHalves("in", data, "")
		if halves == nil {
			t.Fatalf("json %v: not parsed in halves", json)
		}
		if halves.Len() != 30000 || !bytes.Equal(importedFile(t, halves), importedFile(t, whole)) {
			t.Fatalf("json %v: %d rules in halves, a different rule file", json, halves.Len())
		}
		// A regular file over 1 MiB is read in halves: a bad rule in
		// either half is named with its line.
		lines := bytes.SplitAfter(data, []byte{'\n'})
		for _, at := range []int{len(lines) / 4, 3 * len(lines) / 4} {
			bad := append([]byte(nil), data...)
			off := len(bytes.Join(lines[:at], nil))
			if json {
				copy(bad[off:], "  \"Address: IPv4 1.2.3\",\n")
			} else {
				copy(bad[off:], "# \n1.2.3\n")
			}
			path := filepath.Join(t.TempDir(), "in")
			if err := os.WriteFile(path, bad, 0o644); err != nil {
				t.Fatal(err)
			}
			_, want := parseImport(path, bytes.NewReader(bad), "")
			f, err := os.Open(path)
			if err != nil {
				t.Fatal(err)
			}
			_, got := parseImportFile(path, f, "")
			f.Close()
			if want == nil || got == nil || got.Error() != want.Error() {
				t.Errorf("json %v, a bad rule at line %d: got %v, want %v", json, at+1, got, want)
			}
		}
	}
	// Any split of a valid input reads the same rules; one that is not
	// between two elements is refused.
	for _, in := range []string{"[\n\"1.2.3.4\",\n\"::1\"]", "[\"a,\n\"]", "1.2.3.4\n::1\n", "[\n\"1.2.3.4\"],\n[\"::1\"]\n", "[\"1.2.3.4\",\n]"} {
		h := parseImportHalves("in", []byte(in), "")
		w, err := parseImport("in", strings.NewReader(in), "")
		switch {
		case h == nil:
		case err != nil:
			t.Errorf("%q: read in halves, but not in one pass: %v", in, err)
		case !bytes.Equal(importedFile(t, h), importedFile(t, w)):
			t.Errorf("%q: halves read other rules", in)
		}
	}
}

// BenchmarkBlockImportParse reads an import of 100,000 rules: in one
// pass, and in two halves at once.
func BenchmarkBlockImportParse(b *testing.B) {
	for _, json := range []bool{true, false} {
		data := importData(100000, json)
		b.Run(fmt.Sprintf("json=%v/stream", json), func(b *testing.B) {
			b.SetBytes(int64(len(data)))
			for b.Loop() {
				if _, err := parseImport("in", bytes.NewReader(data), ""); err != nil {
					b.Fatal(err)
				}
			}
		})
		b.Run(fmt.Sprintf("json=%v/halves", json), func(b *testing.B) {
			b.SetBytes(int64(len(data)))
			for b.Loop() {
				if parseImportHalves("in", data, "") == nil {
					b.Fatal("not in halves")
				}
			}
		})
	}
}
