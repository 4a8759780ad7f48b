package netcore

import (
	"bytes"
	"flag"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"testing/iotest"
)

var update = flag.Bool("update", false, "rewrite testdata/*.golden")

func TestCRLFReader(t *testing.T) {
	tests := []struct{ in, want string }{
		{"", ""},
		{"no line end", "no line end"},
		{"a\nb\n", "a\r\nb\r\n"},
		{"\n\n", "\r\n\r\n"},
		{"already\r\nthere\r\n", "already\r\nthere\r\n"},
		{"mixed\r\nand\nbare\r", "mixed\r\nand\r\nbare\r"},
		{"cr\r\rlf\n", "cr\r\rlf\r\n"},
	}
	for _, tt := range tests {
		for _, mode := range []string{"whole", "byte-reads", "1-byte-buffer"} {
			var r io.Reader = strings.NewReader(tt.in)
			if mode == "byte-reads" {
				r = iotest.OneByteReader(r)
			}
			var got []byte
			var err error
			if mode == "1-byte-buffer" {
				cr := CRLFReader(r)
				b := make([]byte, 1)
				for {
					n, rerr := cr.Read(b)
					got = append(got, b[:n]...)
					if rerr != nil {
						if rerr != io.EOF {
							err = rerr
						}
						break
					}
				}
			} else {
				got, err = io.ReadAll(CRLFReader(r))
			}
			if err != nil || string(got) != tt.want {
				t.Errorf("%s: CRLF(%q) = %q, %v; want %q", mode, tt.in, got, err, tt.want)
			}
		}
	}
	if err := iotest.TestReader(CRLFReader(strings.NewReader("x\ny\r\nz\n")), []byte("x\r\ny\r\nz\r\n")); err != nil {
		t.Error(err)
	}
}

// TestHexDumpGolden: the dump's layout is stable (testdata/hexdump.golden;
// -update rewrites it).
func TestHexDumpGolden(t *testing.T) {
	var b bytes.Buffer
	d := NewHexDumper(&b)
	var sent bytes.Buffer
	if _, err := io.Copy(&sent, d.Sent(strings.NewReader("GET / HTTP/1.0\r\nHost: example.com\r\n\r\n"))); err != nil {
		t.Fatal(err)
	}
	out := d.Received(io.Discard)
	io.WriteString(out, "HTTP/1.0 200 OK\r\n")                                 //nolint:errcheck // io.Discard
	out.Write([]byte{0, 1, 2, 0x7f, 0x80, 0xff, ' ', '~', 'x'})                // non-printing bytes
	io.WriteString(d.SentTo(io.Discard), "sixteen bytes!!!seventeen bytes!!!") //nolint:errcheck // io.Discard
	d.dump('<', nil)
	if sent.String() != "GET / HTTP/1.0\r\nHost: example.com\r\n\r\n" {
		t.Errorf("Sent changed the bytes: %q", sent.String())
	}
	golden := filepath.Join("testdata", "hexdump.golden")
	if *update {
		if err := os.WriteFile(golden, b.Bytes(), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(golden)
	if err != nil {
		t.Fatal(err)
	}
	if b.String() != string(want) {
		t.Errorf("hex dump:\n%s\nwant (%s):\n%s", b.String(), golden, want)
	}
}

// failingWriter fails every write.
type failingWriter struct{}

func (failingWriter) Write([]byte) (int, error) { return 0, os.ErrClosed }

// TestHexDumpErrorKeepsData: a dump that cannot be written never stops
// the bytes it shows.
func TestHexDumpErrorKeepsData(t *testing.T) {
	d := NewHexDumper(failingWriter{})
	var out bytes.Buffer
	if _, err := io.Copy(d.Received(&out), d.Sent(strings.NewReader("data"))); err != nil {
		t.Fatal(err)
	}
	if out.String() != "data" || d.Err() == nil {
		t.Errorf("out %q, Err %v", out.String(), d.Err())
	}
}

func TestTelnetFilter(t *testing.T) {
	const (
		IAC, DONT, DO, WONT, WILL, SB, SE, NOP, GA = 255, 254, 253, 252, 251, 250, 240, 241, 249
		ECHO, SGA, TTYPE, NAWS                     = 1, 3, 24, 31
	)
	tests := []struct {
		name      string
		in        []byte
		out, sent []byte
	}{
		{"plain", []byte("login: "), []byte("login: "), nil},
		{"will refused with dont", []byte{IAC, WILL, ECHO, 'h', 'i'}, []byte("hi"), []byte{IAC, DONT, ECHO}},
		{"do refused with wont", []byte{IAC, DO, TTYPE, IAC, DO, NAWS}, nil, []byte{IAC, WONT, TTYPE, IAC, WONT, NAWS}},
		{"wont and dont need no answer", []byte{IAC, WONT, ECHO, IAC, DONT, SGA, 'x'}, []byte("x"), nil},
		{"escaped 255", []byte{'a', IAC, IAC, 'b'}, []byte{'a', 255, 'b'}, nil},
		{"subnegotiation stripped", []byte{'a', IAC, SB, TTYPE, 1, IAC, IAC, 9, IAC, SE, 'b'}, []byte("ab"), nil},
		{"commands stripped", []byte{'a', IAC, NOP, IAC, GA, 'b'}, []byte("ab"), nil},
		{"CR NUL is a bare CR", []byte{'a', '\r', 0, 'b', '\r', '\n', 0}, []byte{'a', '\r', 'b', '\r', '\n', 0}, nil},
		{"mixed", []byte{IAC, WILL, SGA, IAC, DO, ECHO, 'W', 'e', 'l', 'c', 'o', 'm', 'e', '\r', '\n'}, []byte("Welcome\r\n"), []byte{IAC, DONT, SGA, IAC, WONT, ECHO}},
	}
	for _, tt := range tests {
		for _, split := range []bool{false, true} {
			var out, sent bytes.Buffer
			f := NewTelnetFilter(&out, &sent)
			if split { // every command split across writes
				for i := range tt.in {
					if _, err := f.Write(tt.in[i : i+1]); err != nil {
						t.Fatal(err)
					}
				}
			} else if n, err := f.Write(tt.in); err != nil || n != len(tt.in) {
				t.Fatalf("Write = %d, %v", n, err)
			}
			if !bytes.Equal(out.Bytes(), tt.out) || !bytes.Equal(sent.Bytes(), tt.sent) {
				t.Errorf("%s (split %v): out % x, sent % x; want out % x, sent % x", tt.name, split, out.Bytes(), sent.Bytes(), tt.out, tt.sent)
			}
		}
	}
}

func TestTelnetEscape(t *testing.T) {
	in := []byte{'a', 255, 'b', 255, 255}
	want := []byte{'a', 255, 255, 'b', 255, 255, 255, 255}
	got, err := io.ReadAll(TelnetEscape(iotest.HalfReader(bytes.NewReader(in))))
	if err != nil || !bytes.Equal(got, want) {
		t.Errorf("TelnetEscape = % x, %v; want % x", got, err, want)
	}
	if err := iotest.TestReader(TelnetEscape(bytes.NewReader(in)), want); err != nil {
		t.Error(err)
	}
}
