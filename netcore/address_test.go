package netcore

import (
	"encoding/json"
	"errors"
	"fmt"
	"math/rand/v2"
	"net"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/nodenet/nodenet/netcore/nodetest"
)

func TestParsePort(t *testing.T) {
	const prefix = "Port should be >= 0 and < 65536. Received "
	tests := []struct {
		name     string
		in       string
		want     int
		received string // the Received part of the error; "" for success
	}{
		{name: "zero", in: "0", want: 0},
		{name: "one", in: "1", want: 1},
		{name: "docs port", in: "8124", want: 8124},
		{name: "max", in: "65535", want: 65535},
		{name: "leading zero", in: "08", want: 8},
		{name: "many leading zeros", in: "000000000080", want: 80},
		{name: "too big", in: "70000", received: "type number (70000)"},
		{name: "just too big", in: "65536", received: "type number (65536)"},
		{name: "negative", in: "-1", received: "type number (-1)"},
		{name: "minus zero", in: "-0", received: "type number (-0)"},
		{name: "leading zeros too big", in: "070000", received: "type number (70000)"},
		{name: "beyond float precision", in: "99999999999999999999", received: "type number (100000000000000000000)"},
		{name: "exponent form", in: "1000000000000000000000", received: "type number (1e+21)"},
		{name: "infinity", in: strings.Repeat("9", 400), received: "type number (Infinity)"},
		{name: "suffix", in: "80x", received: "type string ('80x')"},
		{name: "hex", in: "0x50", received: "type string ('0x50')"},
		{name: "exponent", in: "1e3", received: "type string ('1e3')"},
		{name: "fraction", in: "1.5", received: "type string ('1.5')"},
		{name: "plus", in: "+80", received: "type string ('+80')"},
		{name: "space", in: " 80", received: "type string (' 80')"},
		{name: "empty", in: "", received: "type string ('')"},
		{name: "unicode digit", in: "８０", received: "type string ('８０')"},
		{name: "single quote", in: "it's", received: `type string ("it's")`},
		{name: "single quote escapes", in: "'\"\\\n\x01", received: `type string ("'\"\\\n\u0001")`},
		{name: "newline kept raw", in: "a\nb", received: "type string ('a\nb')"},
		{name: "28 units kept", in: strings.Repeat("x", 28), received: "type string ('" + strings.Repeat("x", 28) + "')"},
		{name: "29 units cut", in: strings.Repeat("x", 29), received: "type string ('" + strings.Repeat("x", 25) + "...')"},
		{name: "cut counts UTF-16", in: strings.Repeat("é", 30), received: "type string ('" + strings.Repeat("é", 25) + "...')"},
		{name: "cut splits a surrogate pair", in: strings.Repeat("x", 24) + "😀😀😀", received: "type string ('" + strings.Repeat("x", 24) + "\uFFFD...')"},
		{name: "cut splits a pair, JSON", in: "'" + strings.Repeat("x", 23) + "😀😀😀", received: `type string ("'` + strings.Repeat("x", 23) + `\ud83d...")`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := parsePort(tt.in, "Port")
			if tt.received == "" {
				if err != nil || got != tt.want {
					t.Fatalf("parsePort(%q) = %d, %v; want %d", tt.in, got, err, tt.want)
				}
				return
			}
			var ne *Error
			if !errors.As(err, &ne) {
				t.Fatalf("parsePort(%q) = %d, %v; want a *Error", tt.in, got, err)
			}
			if ne.Code != "ERR_SOCKET_BAD_PORT" || ne.Message != prefix+tt.received+"." {
				t.Errorf("parsePort(%q): code %s, message\n%q\nwant\n%q", tt.in, ne.Code, ne.Message, prefix+tt.received+".")
			}
			if want := "ERR_SOCKET_BAD_PORT: " + prefix + tt.received + "."; err.Error() != want {
				t.Errorf("Error() = %q, want %q", err.Error(), want)
			}
		})
	}
}

func TestSplitHostPort(t *testing.T) {
	tests := []struct {
		name     string
		in       string
		host     string
		port     int
		code     string // the error's code; "" for success
		contains string // part of the error message
	}{
		{name: "v4", in: "127.0.0.1:8124", host: "127.0.0.1", port: 8124},
		{name: "hostname", in: "localhost:80", host: "localhost", port: 80},
		{name: "v6", in: "[::1]:8124", host: "::1", port: 8124},
		{name: "v6 zone", in: "[fe80::1%eth0]:22", host: "fe80::1%eth0", port: 22},
		{name: "v6 v4 tail", in: "[::ffff:1.2.3.4]:0", host: "::ffff:1.2.3.4", port: 0},
		{name: "empty host", in: ":8124", host: "", port: 8124},
		{name: "port zero", in: "example.com:0", host: "example.com", port: 0},
		{name: "no port", in: "localhost", code: "ERR_INVALID_ARG_VALUE", contains: "must end with :PORT. Received 'localhost'"},
		{name: "empty port", in: "localhost:", code: "ERR_SOCKET_BAD_PORT", contains: "Received type string ('')"},
		{name: "bad port", in: "localhost:80x", code: "ERR_SOCKET_BAD_PORT", contains: "Received type string ('80x')"},
		{name: "big port", in: "localhost:70000", code: "ERR_SOCKET_BAD_PORT", contains: "Received type number (70000)"},
		{name: "unbracketed v6", in: "::1:80", code: "ERR_INVALID_ARG_VALUE", contains: "in brackets: [IPv6]:PORT. Received '::1:80'"},
		{name: "too many colons", in: "a:b:c", code: "ERR_INVALID_ARG_VALUE"},
		{name: "unclosed bracket", in: "[::1:80", code: "ERR_INVALID_ARG_VALUE", contains: "unclosed '['"},
		{name: "bracketed hostname", in: "[localhost]:80", code: "ERR_INVALID_ARG_VALUE", contains: "must hold an IPv6 address in brackets"},
		{name: "bracketed v4", in: "[1.2.3.4]:80", code: "ERR_INVALID_ARG_VALUE"},
		{name: "brackets without port", in: "[::1]", code: "ERR_INVALID_ARG_VALUE", contains: "must end with :PORT"},
		{name: "junk after bracket", in: "[::1]x:80", code: "ERR_INVALID_ARG_VALUE"},
		{name: "bracket in host", in: "a]:80", code: "ERR_INVALID_ARG_VALUE"},
		{name: "two ports", in: "[::1]:80:81", code: "ERR_SOCKET_BAD_PORT", contains: "Received type string ('80:81')"},
		{name: "quote in input", in: "it's:x", code: "ERR_SOCKET_BAD_PORT", contains: "Received type string ('x')"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			host, port, err := splitHostPort(tt.in, "Port")
			if tt.code == "" {
				if err != nil || host != tt.host || port != tt.port {
					t.Fatalf("splitHostPort(%q) = %q, %d, %v; want %q, %d", tt.in, host, port, err, tt.host, tt.port)
				}
				return
			}
			var ne *Error
			if !errors.As(err, &ne) || ne.Code != tt.code {
				t.Fatalf("splitHostPort(%q) = %q, %d, %v; want code %s", tt.in, host, port, err, tt.code)
			}
			if !strings.Contains(ne.Message, tt.contains) {
				t.Errorf("message %q lacks %q", ne.Message, tt.contains)
			}
		})
	}
}

func TestParseEndpointArgs(t *testing.T) {
	tests := []struct {
		name    string
		args    []string
		host    string
		port    int
		hasPort bool
		code    string // the error's code; "" for success
		about   string // for an error: the end of its message
	}{
		{name: "nothing", args: nil},
		{name: "port", args: []string{"8124"}, port: 8124, hasPort: true},
		{name: "port zero", args: []string{"0"}, port: 0, hasPort: true},
		{name: "port host", args: []string{"8124", "localhost"}, host: "localhost", port: 8124, hasPort: true},
		{name: "port v6 host", args: []string{"8124", "::1"}, host: "::1", port: 8124, hasPort: true},
		{name: "port bracketed v6 host", args: []string{"8124", "[::1]"}, host: "::1", port: 8124, hasPort: true},
		{name: "port empty host", args: []string{"8124", ""}, host: "", port: 8124, hasPort: true},
		{name: "host:port", args: []string{"localhost:8124"}, host: "localhost", port: 8124, hasPort: true},
		{name: "v4:port", args: []string{"127.0.0.1:8124"}, host: "127.0.0.1", port: 8124, hasPort: true},
		{name: "[v6]:port", args: []string{"[::1]:8124"}, host: "::1", port: 8124, hasPort: true},
		{name: ":port", args: []string{":8124"}, port: 8124, hasPort: true},
		{name: "bare v6 is a host", args: []string{"::1"}, host: "::1"},
		{name: "bare v6 ending in digits is a host", args: []string{"fe80::1:80"}, host: "fe80::1:80"},
		{name: "bare v6 zone", args: []string{"fe80::1%eth0"}, host: "fe80::1%eth0"},
		{name: "bracketed v6 is a host", args: []string{"[::1]"}, host: "::1"},
		{name: "bare v4 is a host", args: []string{"127.0.0.1"}, host: "127.0.0.1"},
		{name: "hostname alone is a bad port", args: []string{"localhost"}, code: "ERR_SOCKET_BAD_PORT", about: "('localhost')."},
		{name: "bad port", args: []string{"70000"}, code: "ERR_SOCKET_BAD_PORT", about: "(70000)."},
		{name: "negative port", args: []string{"-1"}, code: "ERR_SOCKET_BAD_PORT", about: "(-1)."},
		{name: "hex port", args: []string{"0x50"}, code: "ERR_SOCKET_BAD_PORT"},
		{name: "exponent port", args: []string{"1e3"}, code: "ERR_SOCKET_BAD_PORT"},
		{name: "suffixed port", args: []string{"80x"}, code: "ERR_SOCKET_BAD_PORT"},
		{name: "bad host:port", args: []string{"a:b:c"}, code: "ERR_INVALID_ARG_VALUE"},
		{name: "unclosed bracket", args: []string{"[::1"}, code: "ERR_INVALID_ARG_VALUE"},
		{name: "bracketed hostname", args: []string{"[localhost]"}, code: "ERR_INVALID_ARG_VALUE"},
		{name: "three arguments", args: []string{"1", "2", "3"}, code: "ERR_INVALID_ARG_VALUE"},

		// HOST PORT: the first is not a port, the second is.
		{name: "host port", args: []string{"localhost", "8124"}, host: "localhost", port: 8124, hasPort: true},
		{name: "ssh %h %p", args: []string{"example.com", "22"}, host: "example.com", port: 22, hasPort: true},
		{name: "v4 port", args: []string{"127.0.0.1", "8124"}, host: "127.0.0.1", port: 8124, hasPort: true},
		{name: "v6 port", args: []string{"::1", "8124"}, host: "::1", port: 8124, hasPort: true},
		{name: "v6 ending in digits, port", args: []string{"fe80::1:80", "22"}, host: "fe80::1:80", port: 22, hasPort: true},
		{name: "bracketed v6 port", args: []string{"[::1]", "0"}, host: "::1", port: 0, hasPort: true},
		{name: "v6 zone port", args: []string{"fe80::1%eth0", "22"}, host: "fe80::1%eth0", port: 22, hasPort: true},
		{name: "listen host port zero", args: []string{"0.0.0.0", "0"}, host: "0.0.0.0", port: 0, hasPort: true},
		{name: "host port with leading zeros", args: []string{"localhost", "08124"}, host: "localhost", port: 8124, hasPort: true},
		{name: "suffixed first, port second", args: []string{"80x", "8124"}, host: "80x", port: 8124, hasPort: true},

		// Both valid ports: Node's order.
		{name: "two ports are PORT HOST", args: []string{"8124", "8125"}, host: "8125", port: 8124, hasPort: true},
		{name: "port and zero", args: []string{"0", "0"}, host: "0", port: 0, hasPort: true},

		// Neither reading works.
		{name: "number first is always the port", args: []string{"70000", "8124"}, code: "ERR_SOCKET_BAD_PORT", about: "(70000)."},
		{name: "negative first is the port", args: []string{"-1", "8124"}, code: "ERR_SOCKET_BAD_PORT", about: "(-1)."},
		{name: "host and bad port", args: []string{"localhost", "80x"}, code: "ERR_SOCKET_BAD_PORT", about: "('80x')."},
		{name: "host and port too big", args: []string{"localhost", "70000"}, code: "ERR_SOCKET_BAD_PORT", about: "(70000)."},
		{name: "v4 and bad port", args: []string{"127.0.0.1", "-1"}, code: "ERR_SOCKET_BAD_PORT", about: "(-1)."},
		{name: "v6 and bad port", args: []string{"::1", "0x50"}, code: "ERR_SOCKET_BAD_PORT", about: "('0x50')."},
		{name: "bad port and host", args: []string{"80x", "localhost"}, code: "ERR_SOCKET_BAD_PORT", about: "('80x')."},
		{name: "two hosts", args: []string{"localhost", "example.com"}, code: "ERR_SOCKET_BAD_PORT", about: "('localhost')."},
		{name: "host:port and host", args: []string{"localhost:80", "x"}, code: "ERR_SOCKET_BAD_PORT", about: "('localhost:80')."},
		{name: "host:port and port", args: []string{"localhost:80", "81"}, host: "localhost:80", port: 81, hasPort: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			host, port, hasPort, err := ParseEndpointArgs(tt.args)
			if tt.code == "" {
				if err != nil || host != tt.host || port != tt.port || hasPort != tt.hasPort {
					t.Fatalf("ParseEndpointArgs(%q) = %q, %d, %v, %v; want %q, %d, %v", tt.args, host, port, hasPort, err, tt.host, tt.port, tt.hasPort)
				}
				return
			}
			var ne *Error
			if !errors.As(err, &ne) || ne.Code != tt.code || !ne.Usage {
				t.Fatalf("ParseEndpointArgs(%q) = %v; want a usage *Error with code %s", tt.args, err, tt.code)
			}
			if !strings.HasSuffix(ne.Message, tt.about) {
				t.Errorf("ParseEndpointArgs(%q): %q does not end with %q", tt.args, ne.Message, tt.about)
			}
		})
	}
	// A server words a bad port as server.listen does.
	_, _, _, err := ParseListenEndpointArgs([]string{"localhost", "70000"})
	if err == nil || err.Error() != "ERR_SOCKET_BAD_PORT: options.port should be >= 0 and < 65536. Received type number (70000)." {
		t.Errorf("ParseListenEndpointArgs(localhost 70000) = %v", err)
	}
	if host, port, _, err := ParseListenEndpointArgs([]string{"::", "0"}); err != nil || host != "::" || port != 0 {
		t.Errorf("ParseListenEndpointArgs(:: 0) = %q, %d, %v", host, port, err)
	}
}

// TestPortMessagesAgainstNode checks ParsePort's error messages against
// Node's own ERR_SOCKET_BAD_PORT, raised by validatePort (named "Port", as
// connect names it) through dns.lookupService, whose null callback then
// stops any lookup. Node is given a number when the text is a decimal
// integer and the string otherwise, as ParsePort documents.
func TestPortMessagesAgainstNode(t *testing.T) {
	if testing.Short() {
		t.Skip("runs Node")
	}
	corpus := messageCorpus(4000, 11)
	const script = `
const dns = require('dns');
const out = [];
for (const l of require('fs').readFileSync(0, 'utf8').split('\n')) {
  if (l === '') continue;
  const s = JSON.parse(l);
  const v = /^-?[0-9]+$/.test(s) ? Number(s) : s;
  let r = 'ok';
  try { dns.lookupService('127.0.0.1', v, null); } catch (e) {
    if (e.code === 'ERR_SOCKET_BAD_PORT') r = e.code + ': ' + e.message;
  }
  out.push(JSON.stringify(r));
}
process.stdout.write(out.join('\n') + '\n');
`
	numeric := regexp.MustCompile(`^-?[0-9]+$`)
	for _, node := range []struct {
		name string
		path func(testing.TB) string
	}{{"node20", nodetest.Node20}, {"current", nodetest.Current}} {
		t.Run(node.name, func(t *testing.T) {
			answers := nodeAnswers(t, node.path(t), script, corpus)
			var bad []string
			compared := 0
			for i, s := range corpus {
				_, err := parsePort(s, "Port")
				if err == nil {
					if answers[i] != "ok" {
						bad = append(bad, fmt.Sprintf("%q: nodenet accepts, node: %s", s, answers[i]))
					}
					continue
				}
				if answers[i] == "ok" {
					// Node's validatePort accepts more (" 80", "0x50", "-0"
					// as a number); ParsePort refuses those by design.
					if numeric.MatchString(s) && s != "-0" && !strings.HasPrefix(s, "-0") {
						bad = append(bad, fmt.Sprintf("%q: nodenet refuses a decimal integer node accepts", s))
					}
					continue
				}
				compared++
				if got := err.Error(); got != answers[i] {
					bad = append(bad, fmt.Sprintf("%q:\n  nodenet %q\n  node    %q", s, got, answers[i]))
				}
			}
			reportDiffs(t, bad)
			if compared < len(corpus)/2 {
				t.Errorf("only %d of %d messages compared", compared, len(corpus))
			}
		})
	}
}

// TestInvalidArgValueAgainstNode checks ERR_INVALID_ARG_VALUE's wording,
// util.inspect's quoting included, against Node's: the SocketAddress
// constructor raises it for a bad family.
func TestInvalidArgValueAgainstNode(t *testing.T) {
	if testing.Short() {
		t.Skip("runs Node")
	}
	corpus := messageCorpus(4000, 12)
	const script = `
const net = require('net');
const out = [];
for (const l of require('fs').readFileSync(0, 'utf8').split('\n')) {
  if (l === '') continue;
  let r = 'ok';
  try { new net.SocketAddress({ family: JSON.parse(l) }); } catch (e) { r = e.code + ': ' + e.message; }
  out.push(JSON.stringify(r));
}
process.stdout.write(out.join('\n') + '\n');
`
	for _, node := range []struct {
		name string
		path func(testing.TB) string
	}{{"node20", nodetest.Node20}, {"current", nodetest.Current}} {
		t.Run(node.name, func(t *testing.T) {
			answers := nodeAnswers(t, node.path(t), script, corpus)
			var bad []string
			for i, s := range corpus {
				if l := strings.ToLower(s); l == "ipv4" || l == "ipv6" {
					continue
				}
				if got := invalidArgValue("options.family", s, "is invalid").Error(); got != answers[i] {
					bad = append(bad, fmt.Sprintf("%q:\n  nodenet %q\n  node    %q", s, got, answers[i]))
				}
			}
			reportDiffs(t, bad)
		})
	}
}

// nodeAnswers runs script over corpus (one JSON line each) and returns its
// answers, one JSON string per line.
func nodeAnswers(t *testing.T, node, script string, corpus []string) []string {
	t.Helper()
	out := nodetest.Run(t, node, script, jsonLines(t, corpus), 2*time.Minute)
	lines := strings.Split(strings.TrimSuffix(string(out), "\n"), "\n")
	if len(lines) != len(corpus) {
		t.Fatalf("node answered %d lines for %d inputs", len(lines), len(corpus))
	}
	answers := make([]string, len(lines))
	for i, l := range lines {
		if err := json.Unmarshal([]byte(l), &answers[i]); err != nil {
			t.Fatalf("line %d: %v", i, err)
		}
	}
	return answers
}

// messageCorpus generates port-like and quoting-heavy strings: numbers in
// and out of range, signs, quotes of every kind, control characters,
// surrogate pairs around the cut points and long multi-line strings.
func messageCorpus(n int, seed uint64) []string {
	r := rand.New(rand.NewPCG(seed, 0x9017))
	pick := func(l ...string) string { return l[r.IntN(len(l))] }
	pieces := []string{"0", "1", "8", "80", "x", "'", `"`, "`", "${", "$", "{", "\\", "\n", "\r", "\t", "\x00", "\x1b",
		"\x7f", "\u0085", "\u009f", "\u00a0", "é", "😀", "中", " ", "-", "+", ".", "e", "0x", "a", "Z", "%", "/"}
	out := make([]string, 0, n)
	for len(out) < n {
		var s string
		switch r.IntN(8) {
		case 0:
			s = strconv.Itoa(r.IntN(200000) - 1000)
		case 1:
			s = strings.Repeat("0", r.IntN(4)) + strconv.Itoa(r.IntN(70000))
		case 2:
			s = pick("-", "") + strings.Repeat(pick("9", "1", "0"), 1+r.IntN(30))
		case 3:
			s = pick("0x50", "1e3", "80x", " 80", "80 ", "+80", "1.5", "", " ", "-0", "0b1", "0o7", "Infinity", "NaN")
		default:
			k := r.IntN(40)
			if r.IntN(10) == 0 {
				k = 100 + r.IntN(200)
			}
			var b strings.Builder
			for b.Len() < k {
				b.WriteString(pieces[r.IntN(len(pieces))])
			}
			s = b.String()
		}
		out = append(out, s)
	}
	out = append(out, strings.Repeat("ab\n", 60), strings.Repeat("'\"`", 50), strings.Repeat("x", 10050), strings.Repeat("a\n", 5001))
	return out
}

func FuzzParsePort(f *testing.F) {
	for _, s := range []string{"0", "80", "65535", "65536", "-1", "0x50", "1e3", "80x", "", " 1", "007", "99999999999999999999", "it's"} {
		f.Add(s)
	}
	decimal := regexp.MustCompile(`^[0-9]+$`)
	f.Fuzz(func(t *testing.T, s string) {
		port, err := parsePort(s, "Port")
		if err != nil {
			var ne *Error
			if !errors.As(err, &ne) || ne.Code != "ERR_SOCKET_BAD_PORT" || !strings.HasPrefix(ne.Message, "Port should be >= 0 and < 65536. Received type ") {
				t.Fatalf("parsePort(%q): bad error %v", s, err)
			}
			if decimal.MatchString(s) {
				if v, perr := strconv.ParseUint(s, 10, 64); perr == nil && v <= 65535 {
					t.Fatalf("parsePort(%q) refused a port in range", s)
				}
			}
			return
		}
		if !decimal.MatchString(s) || port < 0 || port > 65535 {
			t.Fatalf("parsePort(%q) = %d: accepted", s, port)
		}
		if v, _ := strconv.ParseUint(strings.TrimLeft(s, "0")+"0", 10, 64); int(v/10) != port {
			t.Fatalf("parsePort(%q) = %d, want %d", s, port, v/10)
		}
		if again, err := parsePort(strconv.Itoa(port), "Port"); err != nil || again != port {
			t.Fatalf("round trip of %d: %d, %v", port, again, err)
		}
	})
}

func FuzzSplitHostPort(f *testing.F) {
	for _, s := range []string{"127.0.0.1:8124", "[::1]:80", "[fe80::1%eth0]:1", ":0", "a:b:c", "[::1", "[::1]", "::1:80", "h:", "[x]:1"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		host, port, err := splitHostPort(s, "Port")
		if err != nil {
			var ne *Error
			if !errors.As(err, &ne) || (ne.Code != "ERR_SOCKET_BAD_PORT" && ne.Code != "ERR_INVALID_ARG_VALUE") || !ne.Usage {
				t.Fatalf("splitHostPort(%q): bad error %#v", s, err)
			}
			return
		}
		if port < 0 || port > 65535 {
			t.Fatalf("splitHostPort(%q): port %d", s, port)
		}
		if strings.Contains(host, ":") && !(IsIPv6(host) && strings.HasPrefix(s, "[")) {
			t.Fatalf("splitHostPort(%q): host %q has a colon but was not a bracketed IPv6 address", s, host)
		}
		// Joining the parts again gives an address that splits the same.
		joined := net.JoinHostPort(host, strconv.Itoa(port))
		h2, p2, err := splitHostPort(joined, "Port")
		if err != nil || h2 != host || p2 != port {
			t.Fatalf("splitHostPort(%q) = %q, %d; its join %q splits to %q, %d, %v", s, host, port, joined, h2, p2, err)
		}
		// The endpoint form of one argument agrees, unless the whole input
		// is itself an IP address (which ParseEndpointArgs takes as a host).
		if IsIP(s) == 0 {
			eh, ep, has, err := ParseEndpointArgs([]string{s})
			if err != nil || eh != host || ep != port || !has {
				t.Fatalf("ParseEndpointArgs(%q) = %q, %d, %v, %v; SplitHostPort gave %q, %d", s, eh, ep, has, err, host, port)
			}
		}
	})
}

func BenchmarkParsePort(b *testing.B) {
	for b.Loop() {
		parsePort("8124", "Port")
	}
}

func FuzzParseEndpointArgs(f *testing.F) {
	for _, a := range [][2]string{{"8124", "localhost"}, {"localhost", "8124"}, {"8124", "8125"}, {"70000", "1"}, {"::1", "22"}, {"[::1]", "0"}, {"a", "b"}, {"localhost", "80x"}} {
		f.Add(a[0], a[1])
	}
	f.Fuzz(func(t *testing.T, a, b string) {
		host, port, hasPort, err := ParseEndpointArgs([]string{a, b})
		_, errA := parsePort(a, "Port")
		pb, errB := parsePort(b, "Port")
		if err != nil {
			var ne *Error
			if !errors.As(err, &ne) || ne.Code != "ERR_SOCKET_BAD_PORT" || !ne.Usage {
				t.Fatalf("ParseEndpointArgs(%q, %q): bad error %#v", a, b, err)
			}
			if errA == nil || errB == nil && !isNumber(a) {
				t.Fatalf("ParseEndpointArgs(%q, %q) refused a reading with a valid port: %v", a, b, err)
			}
			return
		}
		if !hasPort || port < 0 || port > 65535 {
			t.Fatalf("ParseEndpointArgs(%q, %q) = %q, %d, %v", a, b, host, port, hasPort)
		}
		// PORT HOST whenever the first is a port; otherwise HOST PORT.
		want := b
		if errA != nil {
			if errB != nil || port != pb {
				t.Fatalf("ParseEndpointArgs(%q, %q) = %q, %d: neither reading", a, b, host, port)
			}
			want = a
		}
		if h, ok := bracketedIPv6(want); ok {
			want = h
		}
		if host != want {
			t.Fatalf("ParseEndpointArgs(%q, %q): host %q, want %q", a, b, host, want)
		}
	})
}

// TestTypeOfServiceRange checks SetTypeOfService's range error, worded
// by the one Node helper: the expected messages are Node v26.10.0's for
// socket.setTypeOfService(v), digit groups beyond 2**32 included.
func TestTypeOfServiceRange(t *testing.T) {
	for tos, want := range map[int]string{
		256:     `ERR_OUT_OF_RANGE: The value of "tos" is out of range. It must be >= 0 && <= 255. Received 256`,
		-1:      `ERR_OUT_OF_RANGE: The value of "tos" is out of range. It must be >= 0 && <= 255. Received -1`,
		1 << 33: `ERR_OUT_OF_RANGE: The value of "tos" is out of range. It must be >= 0 && <= 255. Received 8_589_934_592`,
	} {
		err := (&Socket{}).SetTypeOfService(tos)
		if err == nil || err.Error() != want {
			t.Errorf("SetTypeOfService(%d) = %v, want %s", tos, err, want)
		}
	}
}
