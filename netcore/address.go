package netcore

import (
	"math"
	"strconv"
	"strings"
	"unicode/utf16"
)

// This file holds the address forms of the command line (SPEC.md,
// "Addresses"): PORT, HOST:PORT, [V6]:PORT and the positional endpoint
// arguments, plus Node's SocketAddress.parse.

// ParsePort parses a port given on the command line: a decimal integer from
// 0 to 65535, written with ASCII digits only. Leading zeros are allowed
// ("08" is 8, as Node reads it); a sign, spaces, hex ("0x50"), exponents
// ("1e3"), fractions and anything out of range are refused, where Node's
// own validatePort would accept some of them.
//
// The error is a *Error with Node's code ERR_SOCKET_BAD_PORT and Node's
// message for connect's port: "Port should be >= 0 and < 65536. Received
// type number (70000)." The Received part is Node's, for the value a
// JavaScript caller would most likely have passed: a number when s is a
// decimal integer, possibly negative ("70000", "-1"), and otherwise the
// string itself ("80x" is received as type string ('80x')).
func ParsePort(s string) (int, error) { return parsePort(s, "Port") }

// parsePort is ParsePort with the argument's name as Node words it:
// "Port" for net.connect, "options.port" for server.listen.
func parsePort(s, name string) (int, error) {
	if s == "" {
		return 0, badPortError(name, s)
	}
	port := 0
	for i := 0; i < len(s); i++ {
		d := uint(s[i]) - '0'
		if d > 9 {
			return 0, badPortError(name, s)
		}
		if port = port*10 + int(d); port > 65535 {
			port = 65536 // saturate: "0000080" is still 80, a long number still too big
		}
	}
	if port > 65535 {
		return 0, badPortError(name, s)
	}
	return port, nil
}

// badPortError is Node's ERR_SOCKET_BAD_PORT for the port text s.
func badPortError(name, s string) *Error {
	return &Error{
		Code:    "ERR_SOCKET_BAD_PORT",
		Message: name + " should be >= 0 and < 65536. Received " + receivedType(s) + ".",
		Usage:   true,
	}
}

// receivedType words s as Node's determineSpecificType (lib/internal/
// errors.js) words the value it is given: "type number (70000)" when s is a
// decimal integer, which a JavaScript caller would pass as a number, and
// "type string ('80x')" otherwise.
func receivedType(s string) string {
	digits := strings.TrimPrefix(s, "-")
	if digits != "" && strings.Trim(digits, "0123456789") == "" {
		return "type number (" + jsNumber(s) + ")"
	}
	// Node shortens a string of more than 28 UTF-16 code units to its
	// first 25 and "...", then quotes it with single quotes, or with
	// JSON.stringify when it holds a single quote.
	u := utf16.Encode([]rune(s))
	if len(u) > 28 {
		u = append(u[:25:25], '.', '.', '.')
	}
	for _, c := range u {
		if c == '\'' {
			return "type string (" + jsonStringify(u) + ")"
		}
	}
	return "type string ('" + string(utf16.Decode(u)) + "')"
}

// jsNumber formats the decimal integer s as JavaScript prints Number(s):
// "-0" for minus zero, the shortest round-trip digits, and exponent form
// from 1e21 on.
func jsNumber(s string) string {
	f, _ := strconv.ParseFloat(s, 64) // ±Inf on overflow, like Number()
	switch {
	case math.IsInf(f, 1):
		return "Infinity"
	case math.IsInf(f, -1):
		return "-Infinity"
	case f == 0 && strings.HasPrefix(s, "-"):
		return "-0"
	case math.Abs(f) < 1e21:
		return strconv.FormatFloat(f, 'f', -1, 64)
	}
	return strconv.FormatFloat(f, 'e', -1, 64) // "1e+21", as JavaScript
}

// jsonStringify is JSON.stringify of a JavaScript string given as UTF-16
// code units: quotes, backslashes, control characters and lone surrogates
// are escaped, everything else is kept.
func jsonStringify(u []uint16) string {
	var b strings.Builder
	b.WriteByte('"')
	for i := 0; i < len(u); i++ {
		c := u[i]
		switch {
		case c == '"':
			b.WriteString(`\"`)
		case c == '\\':
			b.WriteString(`\\`)
		case c == '\b':
			b.WriteString(`\b`)
		case c == '\f':
			b.WriteString(`\f`)
		case c == '\n':
			b.WriteString(`\n`)
		case c == '\r':
			b.WriteString(`\r`)
		case c == '\t':
			b.WriteString(`\t`)
		case c < 0x20:
			b.WriteString(`\u00`)
			b.WriteString(hex2(byte(c)))
		case utf16.IsSurrogate(rune(c)):
			if c < 0xdc00 && i+1 < len(u) && u[i+1] >= 0xdc00 && u[i+1] <= 0xdfff {
				b.WriteRune(utf16.DecodeRune(rune(c), rune(u[i+1])))
				i++
				continue
			}
			b.WriteString(`\u` + strconv.FormatUint(uint64(c), 16))
		default:
			b.WriteRune(rune(c))
		}
	}
	b.WriteByte('"')
	return b.String()
}

func hex2(c byte) string {
	const digits = "0123456789abcdef"
	return string([]byte{digits[c>>4], digits[c&15]})
}

// invalidArgValue is Node's ERR_INVALID_ARG_VALUE: "The argument 'NAME'
// REASON. Received VALUE", VALUE as util.inspect shows it.
func invalidArgValue(name, value, reason string) *Error {
	kind := "argument"
	if strings.Contains(name, ".") {
		kind = "property"
	}
	return &Error{
		Code:    "ERR_INVALID_ARG_VALUE",
		Message: "The " + kind + " '" + name + "' " + reason + ". Received " + inspectArg(value),
		Usage:   true,
	}
}

// inspectArg is util.inspect(s) as ERR_INVALID_ARG_VALUE uses it: strings
// of over 10000 code units are cut there with "... N more characters",
// strings of over 76 are shown one quoted piece per line joined by
// " +\n  ", and the whole is cut to 128 code units and "...".
func inspectArg(s string) string {
	u := utf16.Encode([]rune(s))
	trailer := ""
	if len(u) > 10000 {
		rest := len(u) - 10000
		u = u[:10000]
		trailer = "... " + strconv.Itoa(rest) + " more character"
		if rest > 1 {
			trailer += "s"
		}
	}
	var out []uint16
	if len(u) > 16 && len(u) > 80-4 { // kMinLineLength; breakLength 80 - 4
		start := 0
		for i := 0; i <= len(u); i++ {
			if i == len(u) || u[i] == '\n' {
				end := i
				if i < len(u) {
					end++
				}
				if end == start { // no empty piece after a final newline
					break
				}
				if start > 0 {
					out = append(out, ' ', '+', '\n', ' ', ' ')
				}
				out = append(out, strEscape(u[start:end])...)
				start = end
			}
		}
	} else {
		out = strEscape(u)
	}
	out = append(out, utf16.Encode([]rune(trailer))...)
	if len(out) > 128 {
		out = append(out[:128:128], '.', '.', '.')
	}
	return string(utf16.Decode(out))
}

// strEscape quotes a string as util.inspect does (lib/internal/util/
// inspect.js, strEscape): single quotes, or double quotes when it holds a
// single quote, or backquotes when it holds both (and neither a backquote
// nor "${"); control characters, C1 controls, the backslash, the quote in
// use and lone surrogates are escaped.
func strEscape(u []uint16) []uint16 {
	has := func(c uint16) bool {
		for _, x := range u {
			if x == c {
				return true
			}
		}
		return false
	}
	quote := uint16('\'')
	if has('\'') {
		if !has('"') {
			quote = '"'
		} else if !has('`') && !strings.Contains(string(utf16.Decode(u)), "${") {
			quote = '`'
		}
	}
	out := make([]uint16, 0, len(u)+2)
	out = append(out, quote)
	for i := 0; i < len(u); i++ {
		c := u[i]
		switch {
		case c == '\'' && quote == '\'':
			out = append(out, '\\', '\'')
		case c == '\\':
			out = append(out, '\\', '\\')
		case c == '\b':
			out = append(out, '\\', 'b')
		case c == '\t':
			out = append(out, '\\', 't')
		case c == '\n':
			out = append(out, '\\', 'n')
		case c == '\f':
			out = append(out, '\\', 'f')
		case c == '\r':
			out = append(out, '\\', 'r')
		case c < 0x20 || (c >= 0x7f && c < 0xa0):
			const digits = "0123456789ABCDEF"
			out = append(out, '\\', 'x', uint16(digits[c>>4]), uint16(digits[c&15]))
		case utf16.IsSurrogate(rune(c)):
			if c < 0xdc00 && i+1 < len(u) && u[i+1] >= 0xdc00 && u[i+1] <= 0xdfff {
				out = append(out, c, u[i+1])
				i++
				continue
			}
			for _, r := range `\u` + strconv.FormatUint(uint64(c), 16) {
				out = append(out, uint16(r))
			}
		default:
			out = append(out, c)
		}
	}
	return append(out, quote)
}

// SplitHostPort splits "HOST:PORT" or "[V6]:PORT" into its host and port.
// The port is required and must satisfy ParsePort. A host that holds a
// colon must be an IPv6 address (with an optional zone id) in brackets,
// which are removed; an IPv6 address without brackets has no port
// ("::1:80" is refused rather than guessed at). The host may be empty
// (":8124"), meaning the command's default host; any other host is
// returned as given, for the resolver to judge.
//
// A malformed address is a *Error with code ERR_INVALID_ARG_VALUE; a bad
// port is ERR_SOCKET_BAD_PORT.
func SplitHostPort(s string) (host string, port int, err error) { return splitHostPort(s, "Port") }

func splitHostPort(s, name string) (host string, port int, err error) {
	var rest string
	if strings.HasPrefix(s, "[") {
		end := strings.IndexByte(s, ']')
		if end < 0 {
			return "", 0, invalidArgValue("address", s, "has an unclosed '['")
		}
		host, rest = s[1:end], s[end+1:]
		if !IsIPv6(host) {
			return "", 0, invalidArgValue("address", s, "must hold an IPv6 address in brackets")
		}
		if rest == "" {
			return "", 0, invalidArgValue("address", s, "must end with :PORT")
		}
		if rest[0] != ':' {
			return "", 0, invalidArgValue("address", s, "must be HOST:PORT or [IPv6]:PORT")
		}
		rest = rest[1:]
	} else {
		i := strings.LastIndexByte(s, ':')
		if i < 0 {
			return "", 0, invalidArgValue("address", s, "must end with :PORT")
		}
		host, rest = s[:i], s[i+1:]
		if strings.IndexByte(host, ':') >= 0 {
			return "", 0, invalidArgValue("address", s, "must put an IPv6 address in brackets: [IPv6]:PORT")
		}
		if strings.ContainsAny(host, "[]") {
			return "", 0, invalidArgValue("address", s, "must be HOST:PORT or [IPv6]:PORT")
		}
	}
	port, err = parsePort(rest, name)
	if err != nil {
		return "", 0, err
	}
	return host, port, nil
}

// ParseEndpointArgs reads the positional forms of an endpoint (SPEC.md,
// "Addresses"):
//
//	[]                 no host, no port: the command's defaults
//	[PORT]             a port: "8124"
//	[PORT, HOST]       Node's (port, host) order; HOST may be "[V6]"
//	[HOST:PORT]        one argument, see SplitHostPort
//	[[V6]:PORT]        one argument, see SplitHostPort
//
// A single argument is a host without a port when it is an IP address by
// Node's rules ("::1", "fe80::1%eth0", "127.0.0.1") or an IPv6 address in
// brackets ("[::1]"): an unbracketed IPv6 address is never split at its
// last colon, so "::1:80" is the address ::1:80. Any other single argument
// with a colon is HOST:PORT, and one without a colon is a PORT, so
// "localhost" alone is refused as a port, as are "80x", "-1" and "0x50".
// A host given after the port is returned as given, except that brackets
// around an IPv6 address are removed.
//
// Errors are *Error: ERR_SOCKET_BAD_PORT for a port, ERR_INVALID_ARG_VALUE
// for anything else. hasPort reports whether a port was given; port 0 is a
// port ("listen 0" asks the OS for one).
func ParseEndpointArgs(args []string) (host string, port int, hasPort bool, err error) {
	return parseEndpointArgs(args, "Port")
}

// ParseListenEndpointArgs is ParseEndpointArgs for a server: a bad port is
// worded as server.listen words it ("options.port should be >= 0 ...").
func ParseListenEndpointArgs(args []string) (host string, port int, hasPort bool, err error) {
	return parseEndpointArgs(args, "options.port")
}

func parseEndpointArgs(args []string, name string) (host string, port int, hasPort bool, err error) {
	switch len(args) {
	case 0:
		return "", 0, false, nil
	case 1:
		a := args[0]
		if h, ok := bracketedIPv6(a); ok {
			return h, 0, false, nil
		}
		if IsIP(a) != 0 {
			return a, 0, false, nil
		}
		if strings.IndexByte(a, ':') >= 0 || strings.HasPrefix(a, "[") {
			host, port, err = splitHostPort(a, name)
			if err != nil {
				return "", 0, false, err
			}
			return host, port, true, nil
		}
		port, err = parsePort(a, name)
		if err != nil {
			return "", 0, false, err
		}
		return "", port, true, nil
	case 2:
		port, err = parsePort(args[0], name)
		if err != nil {
			return "", 0, false, err
		}
		host = args[1]
		if h, ok := bracketedIPv6(host); ok {
			host = h
		}
		return host, port, true, nil
	}
	return "", 0, false, &Error{
		Code:    "ERR_INVALID_ARG_VALUE",
		Message: "too many arguments (" + strconv.Itoa(len(args)) + "): want PORT [HOST], HOST:PORT or [IPv6]:PORT",
		Usage:   true,
	}
}

// bracketedIPv6 returns the address inside "[V6]".
func bracketedIPv6(s string) (string, bool) {
	if len(s) >= 2 && s[0] == '[' && s[len(s)-1] == ']' && IsIPv6(s[1:len(s)-1]) {
		return s[1 : len(s)-1], true
	}
	return "", false
}

// SocketAddress is Node's net.SocketAddress: an IP address, a port and,
// for IPv6, a flow label. Family is "ipv4" or "ipv6", as Node spells it.
type SocketAddress struct {
	Address   string
	Port      int
	Family    string
	FlowLabel uint32
}

// ParseSocketAddress is Node's net.SocketAddress.parse (v26, lib/internal/
// socketaddress.js): it reads s as the authority of the URL "http://" + s,
// by the WHATWG URL rules, and keeps the host when it is an IPv4 or a
// bracketed IPv6 address. It reports false where Node returns undefined.
//
// Node's behaviour is kept, surprises included:
//
//   - The URL rules apply: "0x7f.1" and "2130706433" are 127.0.0.1,
//     "1.2.3.4." is 1.2.3.4, "%31.2.3.4" is 1.2.3.4, a user info
//     ("user@1.2.3.4:5") and a path, query or fragment after the port are
//     ignored, and tabs and newlines anywhere are dropped.
//   - Port 80 is the http default, which the URL drops: "1.2.3.4:80"
//     parses with Port 0, as in Node.
//   - A missing port is 0; a port over 65535, a hostname ("localhost:80"),
//     an unbracketed IPv6 address and a zone id ("[fe80::1%eth0]:80") are
//     refused.
//   - Address is printed as Node prints it: dotted decimal, or the
//     compressed IPv6 form with IPv4-mapped and IPv4-compatible addresses
//     ending in dotted decimal ("::ffff:1.2.3.4").
//   - FlowLabel is always 0.
//
// One difference: Node maps non-ASCII hosts by UTS #46 before reading them
// (so fullwidth digits are digits there); ParseSocketAddress refuses any
// host that is not ASCII after percent-decoding.
func ParseSocketAddress(s string) (SocketAddress, bool) {
	// The URL parser removes every ASCII tab and newline, and strips C0
	// controls and spaces from the end (the start is "http://").
	if strings.ContainsAny(s, "\t\n\r") {
		s = strings.Map(func(r rune) rune {
			if r == '\t' || r == '\n' || r == '\r' {
				return -1
			}
			return r
		}, s)
	}
	s = strings.TrimRight(s, "\x00\x01\x02\x03\x04\x05\x06\x07\x08\x09\x0a\x0b\x0c\x0d\x0e\x0f\x10\x11\x12\x13\x14\x15\x16\x17\x18\x19\x1a\x1b\x1c\x1d\x1e\x1f ")
	// "special authority ignore slashes": more slashes after "//" are
	// skipped; the authority ends at a slash, backslash, "?" or "#".
	s = strings.TrimLeft(s, `/\`)
	if i := strings.IndexAny(s, `/\?#`); i >= 0 {
		s = s[:i]
	}
	if at := strings.LastIndexByte(s, '@'); at >= 0 {
		s = s[at+1:]
		if s == "" {
			return SocketAddress{}, false
		}
	}
	host, portText := s, ""
	inBrackets := false
	for i := 0; i < len(s); i++ {
		switch s[i] {
		case '[':
			inBrackets = true
		case ']':
			inBrackets = false
		case ':':
			if !inBrackets {
				host, portText = s[:i], s[i+1:]
				i = len(s)
			}
		}
	}
	if host == "" {
		return SocketAddress{}, false
	}
	port := 0
	for i := 0; i < len(portText); i++ {
		d := uint(portText[i]) - '0'
		if d > 9 {
			return SocketAddress{}, false
		}
		if port = port*10 + int(d); port > 65535 {
			return SocketAddress{}, false
		}
	}
	if port == 80 {
		port = 0 // the scheme's default port is no port
	}
	if host[0] == '[' {
		if host[len(host)-1] != ']' {
			return SocketAddress{}, false
		}
		a, ok := urlParseIPv6(host[1 : len(host)-1])
		if !ok {
			return SocketAddress{}, false
		}
		return SocketAddress{Address: formatIPv6(a), Port: port, Family: "ipv6"}, true
	}
	a, ok := urlParseIPv4Host(host)
	if !ok {
		return SocketAddress{}, false
	}
	return SocketAddress{
		Address: strconv.Itoa(int(a>>24)) + "." + strconv.Itoa(int(a>>16&0xff)) + "." +
			strconv.Itoa(int(a>>8&0xff)) + "." + strconv.Itoa(int(a&0xff)),
		Port:   port,
		Family: "ipv4",
	}, true
}

// urlParseIPv4Host reads a non-bracketed URL host that must turn out to be
// an IPv4 address: percent-decoded, lower-cased, and read by the URL
// standard's IPv4 parser when it "ends in a number". Anything else would be
// a domain, which SocketAddress refuses.
func urlParseIPv4Host(host string) (uint32, bool) {
	b := make([]byte, 0, len(host))
	for i := 0; i < len(host); i++ {
		c := host[i]
		if c == '%' && i+2 < len(host) && isHexDigit(host[i+1]) && isHexDigit(host[i+2]) {
			c = hexValue[host[i+1]]<<4 | hexValue[host[i+2]]
			i += 2
		}
		if c >= 0x80 {
			return 0, false // see ParseSocketAddress: no UTS #46 mapping
		}
		if 'A' <= c && c <= 'Z' {
			c += 'a' - 'A'
		}
		b = append(b, c)
	}
	parts := strings.Split(string(b), ".")
	if parts[len(parts)-1] == "" && len(parts) > 1 {
		parts = parts[:len(parts)-1]
	}
	// "Ends in a number": otherwise the host is a domain.
	last := parts[len(parts)-1]
	if last == "" {
		return 0, false
	}
	if strings.Trim(last, "0123456789") != "" {
		if _, ok := urlIPv4Number(last); !ok {
			return 0, false
		}
	}
	if len(parts) > 4 {
		return 0, false
	}
	var nums [4]uint64
	for i, p := range parts {
		n, ok := urlIPv4Number(p)
		if !ok {
			return 0, false
		}
		if i < len(parts)-1 && n > 255 {
			return 0, false
		}
		nums[i] = n
	}
	lastNum := nums[len(parts)-1]
	if lastNum >= 1<<(8*(5-len(parts))) {
		return 0, false
	}
	a := lastNum
	for i := 0; i < len(parts)-1; i++ {
		a += nums[i] << (8 * (3 - i))
	}
	return uint32(a), true
}

// urlIPv4Number is the URL standard's IPv4 number parser: decimal, "0x"
// hex, or "0" octal. Values saturate at 2^40, beyond any valid part.
func urlIPv4Number(p string) (uint64, bool) {
	if p == "" {
		return 0, false
	}
	radix := uint64(10)
	switch {
	case len(p) >= 2 && p[0] == '0' && (p[1] == 'x' || p[1] == 'X'):
		p, radix = p[2:], 16
	case len(p) >= 2 && p[0] == '0':
		p, radix = p[1:], 8
	}
	var n uint64
	for i := 0; i < len(p); i++ {
		d := uint64(hexValue[p[i]])
		if d >= radix {
			return 0, false
		}
		if n = n*radix + d; n > 1<<40 {
			n = 1 << 40
		}
	}
	return n, true
}

// urlParseIPv6 is the URL standard's IPv6 parser (the text between the
// brackets). It is stricter than inet_pton in one way, no leading zeros in
// an embedded IPv4 octet, and takes no zone id.
func urlParseIPv6(s string) ([8]uint16, bool) {
	var a [8]uint16
	piece, compress, i := 0, -1, 0
	at := func(i int) int { // the byte at i, or -1 at the end
		if i < len(s) {
			return int(s[i])
		}
		return -1
	}
	if at(0) == ':' {
		if at(1) != ':' {
			return a, false
		}
		i = 2
		piece++
		compress = piece
	}
	for at(i) != -1 {
		if piece == 8 {
			return a, false
		}
		if at(i) == ':' {
			if compress != -1 {
				return a, false
			}
			i++
			piece++
			compress = piece
			continue
		}
		value, length := 0, 0
		for length < 4 && at(i) != -1 && isHexDigit(s[i]) {
			value = value*16 + int(hexValue[s[i]])
			i++
			length++
		}
		if at(i) == '.' {
			if length == 0 {
				return a, false
			}
			i -= length
			if piece > 6 {
				return a, false
			}
			seen := 0
			for at(i) != -1 {
				v4 := -1
				if seen > 0 {
					if at(i) == '.' && seen < 4 {
						i++
					} else {
						return a, false
					}
				}
				if c := at(i); c < '0' || c > '9' {
					return a, false
				}
				for c := at(i); c >= '0' && c <= '9'; c = at(i) {
					n := c - '0'
					switch v4 {
					case -1:
						v4 = n
					case 0:
						return a, false
					default:
						v4 = v4*10 + n
					}
					if v4 > 255 {
						return a, false
					}
					i++
				}
				a[piece] = a[piece]<<8 | uint16(v4)
				seen++
				if seen == 2 || seen == 4 {
					piece++
				}
			}
			if seen != 4 {
				return a, false
			}
			break
		} else if at(i) == ':' {
			i++
			if at(i) == -1 {
				return a, false
			}
		} else if at(i) != -1 {
			return a, false
		}
		a[piece] = uint16(value)
		piece++
	}
	if compress != -1 {
		swaps := piece - compress
		for p := 7; p != 0 && swaps > 0; p, swaps = p-1, swaps-1 {
			a[p], a[compress+swaps-1] = a[compress+swaps-1], a[p]
		}
	} else if piece != 8 {
		return a, false
	}
	return a, true
}

// formatIPv6 prints an IPv6 address as Node does (libuv's inet_ntop6):
// lower-case hex, the first longest run of two or more zero groups as
// "::", and a dotted-decimal tail for IPv4-mapped addresses
// (::ffff:a.b.c.d) and for IPv4-compatible ones whose seventh group is not
// zero (::1.2.3.4, but ::2 rather than ::0.0.0.2). libuv also tests a run
// of seven zeros, but at group 6 such a run has already been written as
// "::", so that case never prints and is left out here.
func formatIPv6(a [8]uint16) string {
	best, bestLen, cur, curLen := -1, 0, -1, 0
	for i, w := range a {
		if w == 0 {
			if cur == -1 {
				cur, curLen = i, 0
			}
			if curLen++; curLen > bestLen {
				best, bestLen = cur, curLen
			}
		} else {
			cur = -1
		}
	}
	if bestLen < 2 {
		best = -1
	}
	b := make([]byte, 0, 46)
	for i := 0; i < 8; i++ {
		if best != -1 && i >= best && i < best+bestLen {
			if i == best {
				b = append(b, ':')
			}
			continue
		}
		if i != 0 {
			b = append(b, ':')
		}
		if i == 6 && best == 0 && (bestLen == 6 || (bestLen == 5 && a[5] == 0xffff)) {
			b = strconv.AppendUint(b, uint64(a[6]>>8), 10)
			b = append(b, '.')
			b = strconv.AppendUint(b, uint64(a[6]&0xff), 10)
			b = append(b, '.')
			b = strconv.AppendUint(b, uint64(a[7]>>8), 10)
			b = append(b, '.')
			b = strconv.AppendUint(b, uint64(a[7]&0xff), 10)
			return string(b)
		}
		b = strconv.AppendUint(b, uint64(a[i]), 16)
	}
	if best != -1 && best+bestLen == 8 {
		b = append(b, ':')
	}
	return string(b)
}
