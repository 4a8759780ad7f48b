package cmd

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"strings"
	"testing"
	"testing/iotest"
	"time"

	"github.com/nodenet/nodenet/netcore"
)

// runIsipArgv runs `nodenet isip ARGV...` through the root command with an
// isip whose runF records the options instead of running them.
func runIsipArgv(t *testing.T, argv []string, stdinTTY bool, environ []string) (opts *IsipOptions, code int, stdout, stderr string) {
	t.Helper()
	var out, errOut bytes.Buffer
	ios := Test(strings.NewReader(""), &out, &errOut)
	ios.SetTTY(stdinTTY, false)
	setenv(t, environ) // viper reads NODENET_* from the process environment
	environ = append([]string{"XDG_CONFIG_HOME=" + t.TempDir()}, environ...)
	f := NewFactory(ios)
	f.Getenv = envLookup(environ)
	root := NewCmdRoot(f, environ)
	for _, c := range root.Commands() {
		if c.Name() == "isip" {
			root.RemoveCommand(c)
		}
	}
	root.AddCommand(NewCmdIsip(f, func(o *IsipOptions) error {
		opts = o
		return nil
	}))
	code = execute(root, ios, append([]string{"isip"}, argv...))
	return opts, code, out.String(), errOut.String()
}

func TestNewCmdIsip(t *testing.T) {
	tests := []struct {
		name     string
		argv     []string
		tty      bool     // stdin is a terminal
		environ  []string // NODENET_* settings
		want     *IsipOptions
		wantCode int
		stderr   string // part of stderr, for usage errors
	}{
		{name: "arguments", argv: []string{"1.2.3.4", "::1"}, want: &IsipOptions{Inputs: []string{"1.2.3.4", "::1"}}},
		{name: "no arguments reads stdin", argv: nil, want: &IsipOptions{FromStdin: true}},
		{name: "v4 short", argv: []string{"-4", "x"}, want: &IsipOptions{Inputs: []string{"x"}, Family: 4}},
		{name: "v4 long", argv: []string{"--v4", "x"}, want: &IsipOptions{Inputs: []string{"x"}, Family: 4}},
		{name: "v6 short", argv: []string{"-6", "x"}, want: &IsipOptions{Inputs: []string{"x"}, Family: 6}},
		{name: "v6 long", argv: []string{"--v6"}, want: &IsipOptions{FromStdin: true, Family: 6}},
		{name: "json", argv: []string{"--json", "x"}, want: &IsipOptions{Inputs: []string{"x"}, JSON: true}},
		{name: "quiet", argv: []string{"-q", "x"}, want: &IsipOptions{Inputs: []string{"x"}, Quiet: true}},
		{name: "quiet long after the input", argv: []string{"x", "--quiet"}, want: &IsipOptions{Inputs: []string{"x"}, Quiet: true}},
		{name: "flags after -- are inputs", argv: []string{"--", "-1", "--json", "-4"}, want: &IsipOptions{Inputs: []string{"-1", "--json", "-4"}}},
		{name: "json from the environment", argv: []string{"x"}, environ: []string{"NODENET_ISIP_JSON=true"}, want: &IsipOptions{Inputs: []string{"x"}, JSON: true}},
		{name: "arguments on a terminal", argv: []string{"::1"}, tty: true, want: &IsipOptions{Inputs: []string{"::1"}}},
		{name: "v4 and v6", argv: []string{"-4", "-6", "x"}, wantCode: exitUsage, stderr: "[v4 v6]"},
		{name: "dash input without --", argv: []string{"-1"}, wantCode: exitUsage, stderr: "unknown shorthand flag: '1'"},
		{name: "unknown flag", argv: []string{"--v5"}, wantCode: exitUsage, stderr: "unknown flag: --v5"},
		{name: "no arguments on a terminal", argv: nil, tty: true, wantCode: exitUsage, stderr: "Usage:\n  nodenet isip [INPUT...]"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, code, stdout, stderr := runIsipArgv(t, tt.argv, tt.tty, tt.environ)
			if code != tt.wantCode {
				t.Fatalf("exit %d, want %d (stderr %q)", code, tt.wantCode, stderr)
			}
			if stdout != "" {
				t.Errorf("stdout %q, want nothing", stdout)
			}
			if !strings.Contains(stderr, tt.stderr) {
				t.Errorf("stderr %q lacks %q", stderr, tt.stderr)
			}
			if tt.want == nil {
				if got != nil {
					t.Errorf("ran with %+v, want no run", got)
				}
				return
			}
			if got == nil {
				t.Fatal("runF was not called")
			}
			if got.IO == nil {
				t.Error("IO not set")
			}
			got.IO = nil
			if len(got.Inputs) == 0 {
				got.Inputs = nil
			}
			if fmt.Sprintf("%+v", *got) != fmt.Sprintf("%+v", *tt.want) {
				t.Errorf("options\n%+v\nwant\n%+v", *got, *tt.want)
			}
		})
	}
}

func TestIsipRun(t *testing.T) {
	tests := []struct {
		name   string
		args   []string // the inputs; nil reads stdin
		stdin  string
		family int
		json   bool
		quiet  bool
		want   string
		code   int
	}{
		{name: "args", args: []string{"127.0.0.1", "::1", "example.com"}, want: "4\n6\n0\n", code: 1},
		{name: "args all IPs", args: []string{"127.0.0.1", "fe80::1%eth0"}, want: "4\n6\n"},
		{name: "args empty string", args: []string{""}, want: "0\n", code: 1},
		{name: "v4", args: []string{"127.0.0.1", "::1"}, family: 4, want: "true\nfalse\n", code: 1},
		{name: "v4 all", args: []string{"127.0.0.1", "0.0.0.0"}, family: 4, want: "true\ntrue\n"},
		{name: "v6", args: []string{"127.0.0.1", "::1"}, family: 6, want: "false\ntrue\n", code: 1},
		{name: "v6 all", args: []string{"::", "::ffff:1.2.3.4"}, family: 6, want: "true\ntrue\n"},
		{name: "json", args: []string{"::1", "1.2.3.4", "x"}, json: true, code: 1,
			want: `{"input":"::1","isIP":6}` + "\n" + `{"input":"1.2.3.4","isIP":4}` + "\n" + `{"input":"x","isIP":0}` + "\n"},
		{name: "json v4", args: []string{"::1"}, json: true, family: 4, code: 1, want: `{"input":"::1","isIPv4":false}` + "\n"},
		{name: "json v6", args: []string{"::1"}, json: true, family: 6, want: `{"input":"::1","isIPv6":true}` + "\n"},
		{name: "json escapes", args: []string{"a\"b\\c\n\r\t\x01\x7fé\xff😀"}, json: true, code: 1,
			want: `{"input":"a\"b\\c\n\r\t\u0001` + "\x7f" + `é\ufffd😀","isIP":0}` + "\n"},
		{name: "quiet yes", args: []string{"::1"}, quiet: true, want: ""},
		{name: "quiet no", args: []string{"::1", "x"}, quiet: true, want: "", code: 1},
		{name: "quiet json", args: []string{"x"}, quiet: true, json: true, want: "", code: 1},

		{name: "stdin", stdin: "127.0.0.1\n::1\n", want: "4\n6\n"},
		{name: "stdin mixed", stdin: "127.0.0.1\nnope\n::1\n", want: "4\n0\n6\n", code: 1},
		{name: "stdin CRLF", stdin: "127.0.0.1\r\n::1\r\n", want: "4\n6\n"},
		{name: "stdin no final newline", stdin: "127.0.0.1\n::1", want: "4\n6\n"},
		{name: "stdin empty", stdin: "", want: ""},
		{name: "stdin one empty line", stdin: "\n", want: "0\n", code: 1},
		{name: "stdin empty line inside", stdin: "::1\n\n::1\n", want: "6\n0\n6\n", code: 1},
		{name: "stdin one CR only before LF", stdin: "::1\r\r\n", want: "0\n", code: 1},
		{name: "stdin CR without LF at the end is input", stdin: "::1\r", want: "0\n", code: 1},
		{name: "stdin CR inside is input", stdin: "::1\r::1\n", want: "0\n", code: 1},
		{name: "stdin NUL", stdin: "1.2.3.4\x00\n", want: "0\n", code: 1},
		{name: "stdin invalid UTF-8", stdin: "\xff1.2.3.4\n", want: "0\n", code: 1},
		{name: "stdin dash", stdin: "-1\n--\n", want: "0\n0\n", code: 1},
		{name: "stdin spaces", stdin: " ::1\n::1 \n", want: "0\n0\n", code: 1},
		{name: "stdin v6", stdin: "::1\r\n127.0.0.1\n", family: 6, want: "true\nfalse\n", code: 1},
		{name: "stdin json CRLF", stdin: "::1\r\n", json: true, want: `{"input":"::1","isIP":6}` + "\n"},
		{name: "stdin quiet", stdin: "::1\nx\n", quiet: true, want: "", code: 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var out, errOut bytes.Buffer
			opts := &IsipOptions{
				IO:        Test(strings.NewReader(tt.stdin), &out, &errOut),
				Inputs:    tt.args,
				FromStdin: tt.args == nil,
				Family:    tt.family,
				JSON:      tt.json,
				Quiet:     tt.quiet,
			}
			err := isipRun(opts)
			if code := exitCode(err); code != tt.code {
				t.Errorf("exit %d (%v), want %d", code, err, tt.code)
			}
			var ee *ExitError
			if err != nil && !(errors.As(err, &ee) && ee.Err == nil) {
				t.Errorf("error %v would be printed", err)
			}
			if out.String() != tt.want {
				t.Errorf("stdout\n%q\nwant\n%q", out.String(), tt.want)
			}
			if errOut.Len() != 0 {
				t.Errorf("stderr %q", errOut.String())
			}
		})
	}
}

// TestIsipStreams proves that an answer is written as soon as its line is
// read: each line goes into a pipe only after the previous answer came out.
func TestIsipStreams(t *testing.T) {
	inR, inW, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	outR, outW := io.Pipe()
	done := make(chan error, 1)
	go func() {
		err := isipRun(&IsipOptions{IO: Test(inR, outW, io.Discard), FromStdin: true})
		outW.CloseWithError(io.EOF)
		done <- err
	}()
	answers := bufio.NewReader(outR)
	lines := make(chan string)
	go func() {
		for {
			l, err := answers.ReadString('\n')
			if err != nil {
				close(lines)
				return
			}
			lines <- l
		}
	}()
	deadline := time.After(30 * time.Second) // only against a hang
	for _, step := range []struct{ in, want string }{
		{"127.0.0.1\n", "4\n"},
		{"::1\r\n", "6\n"},
		{"nope\n", "0\n"},
	} {
		if _, err := inW.WriteString(step.in); err != nil {
			t.Fatal(err)
		}
		select {
		case got := <-lines:
			if got != step.want {
				t.Fatalf("after %q: answer %q, want %q", step.in, got, step.want)
			}
		case <-deadline:
			t.Fatalf("no answer to %q while stdin stays open: answers are not streamed", step.in)
		}
	}
	inW.Close()
	select {
	case err := <-done:
		if exitCode(err) != exitFailure {
			t.Errorf("exit %d, want 1 (one input was not an IP)", exitCode(err))
		}
	case <-deadline:
		t.Fatal("isip did not end at EOF")
	}
	inR.Close()
}

// chunkReader returns its data in pieces of random sizes, as a pipe does.
type chunkReader struct {
	data []byte
	r    *rand.Rand
	max  int
}

func (c *chunkReader) Read(p []byte) (int, error) {
	if len(c.data) == 0 {
		return 0, io.EOF
	}
	n := min(len(p), len(c.data), 1+c.r.IntN(c.max))
	copy(p, c.data[:n])
	c.data = c.data[n:]
	return n, nil
}

// TestIsipLines feeds many lines, in reads that split them anywhere, and
// lines longer than the read buffer, and compares every answer with
// netcore.IsIP.
func TestIsipLines(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	inputs := []string{strings.Repeat("1", 3*isipInBuffer), "::1"}
	for range 50000 {
		switch r.IntN(5) {
		case 0:
			inputs = append(inputs, fmt.Sprintf("%d.%d.%d.%d", r.IntN(300), r.IntN(256), r.IntN(256), r.IntN(256)))
		case 1:
			inputs = append(inputs, fmt.Sprintf("%x::%x:%x", r.IntN(0x10000), r.IntN(0x10000), r.IntN(0x10000)))
		case 2:
			inputs = append(inputs, "")
		case 3:
			inputs = append(inputs, strings.Repeat("a:", r.IntN(10)))
		default:
			inputs = append(inputs, fmt.Sprintf("fe80::%x%%eth%d", r.IntN(0x10000), r.IntN(3)))
		}
	}
	inputs = append(inputs, "::"+strings.Repeat("f", 2*isipInBuffer)) // long and last, without "\n"

	var in, want bytes.Buffer
	for i, s := range inputs {
		in.WriteString(s)
		if i < len(inputs)-1 {
			if r.IntN(2) == 0 {
				in.WriteByte('\r')
			}
			in.WriteByte('\n')
		}
		fmt.Fprintf(&want, "%d\n", netcore.IsIP(s))
	}
	for _, max := range []int{1 << 20, 64 << 10, 4096, 7} {
		t.Run(fmt.Sprint("reads up to ", max), func(t *testing.T) {
			var out bytes.Buffer
			src := &chunkReader{data: in.Bytes(), r: rand.New(rand.NewPCG(5, uint64(max))), max: max}
			err := isipRun(&IsipOptions{IO: Test(src, &out, io.Discard), FromStdin: true})
			if exitCode(err) != exitFailure {
				t.Errorf("exit %d, want 1", exitCode(err))
			}
			if !bytes.Equal(out.Bytes(), want.Bytes()) {
				g, w := strings.Split(out.String(), "\n"), strings.Split(want.String(), "\n")
				for i := range min(len(g), len(w)) {
					if g[i] != w[i] {
						t.Fatalf("answer %d (%.40q) = %s, want %s; %d and %d answers", i, inputs[i], g[i], w[i], len(g), len(w))
					}
				}
				t.Fatalf("%d answers, want %d", len(g), len(w))
			}
		})
	}
}

// TestIsipHalves: a big piece of lines is answered in two halves at once;
// the exit status counts a miss in either half, and the answers keep their
// order.
func TestIsipHalves(t *testing.T) {
	const n = 200000 // several read buffers of lines
	valid := func(i int) string {
		if i%2 == 0 {
			return fmt.Sprintf("10.%d.%d.%d", i>>16&255, i>>8&255, i&255)
		}
		return fmt.Sprintf("2001:db8::%x:%x", i>>16, i&0xffff)
	}
	for _, miss := range []int{-1, 0, 1, n/2 - 1, n / 2, n/2 + 1, 3 * n / 4, n - 1} {
		t.Run(fmt.Sprint("miss at ", miss), func(t *testing.T) {
			var in, want bytes.Buffer
			for i := range n {
				s := valid(i)
				if i == miss {
					s = "10.0.0.256"
				}
				in.WriteString(s + "\n")
				fmt.Fprintf(&want, "%d\n", netcore.IsIP(s))
			}
			var out bytes.Buffer
			err := isipRun(&IsipOptions{IO: Test(&in, &out, io.Discard), FromStdin: true})
			wantCode := exitOK
			if miss >= 0 {
				wantCode = exitFailure
			}
			if exitCode(err) != wantCode {
				t.Errorf("exit %d, want %d", exitCode(err), wantCode)
			}
			if !bytes.Equal(out.Bytes(), want.Bytes()) {
				t.Errorf("answers differ: %d bytes, want %d", out.Len(), want.Len())
			}
		})
	}
}

type failingReader struct{ data []byte }

func (f *failingReader) Read(p []byte) (int, error) {
	if len(f.data) > 0 {
		n := copy(p, f.data)
		f.data = f.data[n:]
		return n, nil
	}
	return 0, errors.New("read /dev/stdin: input/output error")
}

type failingWriter struct{}

func (failingWriter) Write([]byte) (int, error) {
	return 0, errors.New("write /dev/stdout: no space left on device")
}

// TestIsipIOErrors: a read or write error is reported (exit 1, printed),
// after the answers to the lines read before it.
func TestIsipIOErrors(t *testing.T) {
	var out bytes.Buffer
	err := isipRun(&IsipOptions{IO: Test(&failingReader{data: []byte("::1\n")}, &out, io.Discard), FromStdin: true})
	// Run wraps what RunE returns in a ranError; so does this test.
	if err == nil || !strings.Contains(err.Error(), "input/output error") || exitCode(&ranError{err}) != exitFailure {
		t.Errorf("read error: got %v (exit %d)", err, exitCode(&ranError{err}))
	}
	if out.String() != "6\n" {
		t.Errorf("answers before the error: %q", out.String())
	}
	err = isipRun(&IsipOptions{IO: Test(nil, failingWriter{}, io.Discard), Inputs: []string{"::1"}})
	if err == nil || !strings.Contains(err.Error(), "no space left") || exitCode(&ranError{err}) != exitFailure {
		t.Errorf("write error: got %v", err)
	}
}

// TestIsipAllocs checks that the work per line allocates nothing: ten
// times more lines cost no more allocations. Both sizes are several read
// buffers long, so that big pieces are answered in halves in both.
func TestIsipAllocs(t *testing.T) {
	lines := func(n int) []byte {
		return bytes.Repeat([]byte("192.168.1.1\n2001:db8::1\nnope\n"), n/3)
	}
	small, large := lines(100000), lines(1000000)
	allocs := func(data []byte, json bool) float64 {
		return testing.AllocsPerRun(3, func() {
			isipRun(&IsipOptions{IO: Test(bytes.NewReader(data), io.Discard, io.Discard), FromStdin: true, JSON: json}) //nolint:errcheck // the answer is 1
		})
	}
	for _, json := range []bool{false, true} {
		a, b := allocs(small, json), allocs(large, json)
		if b > a+2 {
			t.Errorf("json=%v: %v allocations for 100,000 lines, %v for 1,000,000", json, a, b)
		}
	}
}

// isipBenchInput is a mix like the bench harness's: IPv4, IPv6 in several
// spellings, and near-misses.
func isipBenchInput(n int) []byte {
	r := rand.New(rand.NewPCG(1, 2))
	var b bytes.Buffer
	for range n {
		switch k := r.IntN(100); {
		case k < 35:
			fmt.Fprintf(&b, "%d.%d.%d.%d\n", r.IntN(256), r.IntN(256), r.IntN(256), r.IntN(256))
		case k < 50:
			fmt.Fprintf(&b, "%x:%x:%x:%x:%x:%x:%x:%x\n", r.IntN(65536), r.IntN(65536), r.IntN(65536), r.IntN(65536), r.IntN(65536), r.IntN(65536), r.IntN(65536), r.IntN(65536))
		case k < 65:
			fmt.Fprintf(&b, "2001:db8:%x::%x\n", r.IntN(65536), r.IntN(65536))
		case k < 80:
			fmt.Fprintf(&b, "host%d.example.com\n", r.IntN(100000))
		default:
			fmt.Fprintf(&b, "%d.%d.%d.%d:80\n", r.IntN(256), r.IntN(256), r.IntN(256), r.IntN(256))
		}
	}
	return b.Bytes()
}

func BenchmarkIsipStream(b *testing.B) {
	for _, json := range []bool{false, true} {
		b.Run(fmt.Sprint("json=", json), func(b *testing.B) {
			data := isipBenchInput(100000)
			b.SetBytes(int64(len(data)))
			for b.Loop() {
				isipRun(&IsipOptions{IO: Test(bytes.NewReader(data), io.Discard, io.Discard), FromStdin: true, JSON: json}) //nolint:errcheck // the answer is 1
			}
		})
	}
}

// isipReference answers each line of in whole, as answer does for an
// argument: what stream must print, whatever the length of the lines.
func isipReference(in []byte, family int, json bool) ([]byte, bool) {
	var out bytes.Buffer
	a := &isipAnswerer{family: family, json: json, w: &out, all: true}
	for len(in) > 0 {
		line := in
		if i := bytes.IndexByte(in, '\n'); i >= 0 {
			line, in = in[:i], in[i+1:]
			if n := len(line); n > 0 && line[n-1] == '\r' {
				line = line[:n-1]
			}
		} else {
			in = nil
		}
		a.answer(line) //nolint:errcheck // a bytes.Buffer
	}
	a.flush() //nolint:errcheck // a bytes.Buffer
	return out.Bytes(), a.all
}

// isipStreamed answers in through stream, with a read buffer of size
// bytes, reading it one byte at a time when slow is set.
func isipStreamed(t testing.TB, in []byte, family int, json bool, size int, slow bool) ([]byte, bool) {
	var out bytes.Buffer
	a := &isipAnswerer{family: family, json: json, w: &out, all: true, inBuf: size, out: make([]byte, 0, isipOutBuffer)}
	var r io.Reader = bytes.NewReader(in)
	if slow {
		r = iotest.OneByteReader(r)
	}
	if err := a.stream(r); err != nil {
		t.Fatal(err)
	}
	if a.work != nil {
		close(a.work)
	}
	a.flush() //nolint:errcheck // a bytes.Buffer
	return out.Bytes(), a.all
}

// isipLongInputs are lines longer than the read buffer of the tests (200
// bytes): zones of every length around it, bytes that no zone holds at
// every place, "\r" before and not before "\n", characters split by the
// reads, and a last line without "\n".
func isipLongInputs() [][]byte {
	zone := func(n int) string { return strings.Repeat("eth0.", n/5+1)[:n] }
	var ins [][]byte
	for _, n := range []int{150, 199, 200, 201, 250, 399, 400, 401, 1000} {
		for _, addr := range []string{"fe80::1", "::ffff:1.2.3.4", "1:2:3:4:5:6:7:8", "1.2.3.4", "fe80::g", ""} {
			z := zone(n)
			ins = append(ins,
				[]byte(addr+"%"+z+"\n"),
				[]byte(addr+"%"+z+"\r\n1.2.3.4\n"),
				[]byte(addr+"%"+z+"\r"),
				[]byte(addr+"%"+z),
				[]byte(addr+"%"+z+"\r\r\n"),
				[]byte(addr+"%"+z[:n/2]+"\x00"+z[n/2:]+"\n::1\n"),
				[]byte(addr+"%"+z[:n/2]+"é€😀\xff\xe2\x82"+z[n/2:]+"\n"),
				[]byte("::1\n"+addr+"%"+z+"\n"+addr+"%"+z+"\n"),
				[]byte(strings.Repeat("x", n)+"\n::1"),
				[]byte(addr+strings.Repeat("%", n)+"\n"),
			)
		}
	}
	return ins
}

// TestIsipLongLines checks that a line longer than the read buffer, which
// stream answers without holding it, gets the answer it would get whole:
// every family, plain and --json, read in one go and a byte at a time.
func TestIsipLongLines(t *testing.T) {
	for _, in := range isipLongInputs() {
		for _, family := range []int{0, 4, 6} {
			for _, json := range []bool{false, true} {
				want, wantAll := isipReference(in, family, json)
				for _, slow := range []bool{false, true} {
					got, all := isipStreamed(t, in, family, json, 200, slow)
					if !bytes.Equal(got, want) || all != wantAll {
						t.Fatalf("input %q (family %d, json %v, a byte at a time %v):\ngot  %q (all %v)\nwant %q (all %v)", in, family, json, slow, got, all, want, wantAll)
					}
				}
			}
		}
	}
}

// FuzzIsipStream checks stream against answering each line whole, with a
// read buffer small enough that most inputs have long lines.
func FuzzIsipStream(f *testing.F) {
	for _, in := range isipLongInputs()[:40] {
		f.Add(in, uint8(0))
	}
	f.Add([]byte("1.2.3.4\n::1\r\nfe80::1%eth0\n"), uint8(3))
	f.Fuzz(func(t *testing.T, in []byte, mode uint8) {
		family := []int{0, 4, 6}[mode%3]
		json := mode&4 != 0
		want, wantAll := isipReference(in, family, json)
		got, all := isipStreamed(t, in, family, json, isipHead, mode&8 != 0)
		if !bytes.Equal(got, want) || all != wantAll {
			t.Fatalf("family %d, json %v:\ngot  %q (all %v)\nwant %q (all %v)", family, json, got, all, want, wantAll)
		}
	})
}
