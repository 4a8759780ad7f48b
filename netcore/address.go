package netcore

import (
	"strconv"
	"strings"

	"github.com/nodenet/nodenet/internal/nodeerr"
)

// This file holds the address forms of the command line (SPEC.md,
// "Addresses"): PORT, HOST:PORT, [V6]:PORT and the positional endpoint
// arguments PORT [HOST] and HOST PORT.

// parsePort parses a port given on the command line: a decimal integer
// from 0 to 65535, written with ASCII digits only. Leading zeros are
// allowed ("08" is 8, as Node reads it); a sign, spaces, hex ("0x50"),
// exponents ("1e3"), fractions and anything out of range are refused,
// where Node's own validatePort would accept some of them.
//
// name is the argument's name as Node words it: "Port" for net.connect,
// "options.port" for server.listen. The error is a usage *Error with
// Node's code ERR_SOCKET_BAD_PORT and message: "Port should be >= 0 and <
// 65536. Received type number (70000)." (see badPortError).
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

// badPortError is Node's ERR_SOCKET_BAD_PORT for the port text s, as
// Node words it for the value a JavaScript caller would most likely have
// passed: a number when s is a decimal integer, possibly negative
// ("70000", "-1"), and otherwise the string itself.
func badPortError(name, s string) *Error {
	var v any = s
	if isNumber(s) {
		// Number(s): ±Infinity beyond float64's range, as in JavaScript.
		v, _ = strconv.ParseFloat(s, 64)
	}
	e := nodeerr.SocketBadPort(name, v)
	e.Usage = true
	return e
}

// invalidArgValue is Node's ERR_INVALID_ARG_VALUE: "The argument 'NAME'
// REASON. Received VALUE", VALUE as util.inspect shows it.
func invalidArgValue(name, value, reason string) *Error {
	e := nodeerr.InvalidArgValue(name, value, reason)
	e.Usage = true
	return e
}

// splitHostPort splits "HOST:PORT" or "[V6]:PORT" into its host and port.
// The port is required and must satisfy parsePort. A host that holds a
// colon must be an IPv6 address (with an optional zone id) in brackets,
// which are removed; an IPv6 address without brackets has no port
// ("::1:80" is refused rather than guessed at). The host may be empty
// (":8124"), meaning the command's default host; any other host is
// returned as given, for the resolver to judge.
//
// A malformed address is a *Error with code ERR_INVALID_ARG_VALUE; a bad
// port is ERR_SOCKET_BAD_PORT.
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
//	[HOST, PORT]       telnet's and nc's order, see below
//	[HOST:PORT]        one argument, see below
//	[[V6]:PORT]        one argument, see below
//
// Two arguments are PORT HOST, as in Node, unless the first is not a valid
// port and the second is: then they are HOST PORT ("localhost 8124",
// ssh's ProxyCommand "nodenet connect %h %p"). A host name never reads as
// a port, and a first argument written as a decimal number is always the
// port, so "8124 8125" is port 8124 of host 8125 and "70000 8124" is a bad
// port, not host 70000. When neither argument is a valid port, the error
// is about the second if it looks like a port and the first does not
// (starts with a digit or a sign, holds no '.' or ':': "localhost 80x"),
// and about the first otherwise.
//
// A single argument is a host without a port when it is an IP address by
// Node's rules ("::1", "fe80::1%eth0", "127.0.0.1") or an IPv6 address in
// brackets ("[::1]"): an unbracketed IPv6 address is never split at its
// last colon, so "::1:80" is the address ::1:80. Any other single argument
// with a colon is HOST:PORT, split at its last colon; a host with a colon
// must be an IPv6 address in brackets ("[fe80::1%eth0]:22"), and an empty
// host (":8124") is the command's default. A single argument without a
// colon is a PORT, so "localhost" alone is refused as a port, as are
// "80x", "-1" and "0x50". A host is returned as given, for the resolver
// to judge, except that brackets around an IPv6 address are removed.
//
// Errors are usage *Error: ERR_SOCKET_BAD_PORT for a port, worded for
// net.connect ("Port should be >= 0 ..."), ERR_INVALID_ARG_VALUE for
// anything else. hasPort reports whether a port was given.
func ParseEndpointArgs(args []string) (host string, port int, hasPort bool, err error) {
	return parseEndpointArgs(args, "Port")
}

// ParseListenEndpointArgs is ParseEndpointArgs for a server: a bad port is
// worded as server.listen words it ("options.port should be >= 0 ..."),
// and port 0 asks the system for one.
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
		first, second := args[0], args[1]
		port, err = parsePort(first, name)
		if err == nil {
			host = second // PORT HOST
		} else if p, err2 := parsePort(second, name); err2 == nil && !isNumber(first) {
			host, port, err = first, p, nil // HOST PORT
		} else if !looksLikePort(first) && looksLikePort(second) {
			err = err2
		}
		if err != nil {
			return "", 0, false, err
		}
		if h, ok := bracketedIPv6(host); ok {
			host = h
		}
		return host, port, true, nil
	}
	return "", 0, false, &Error{
		Code:    "ERR_INVALID_ARG_VALUE",
		Message: "too many arguments (" + strconv.Itoa(len(args)) + "): want PORT [HOST], HOST PORT, HOST:PORT or [IPv6]:PORT",
		Usage:   true,
	}
}

// isNumber reports whether s is written as a decimal integer, possibly
// negative: a port or a bad one, never a host.
func isNumber(s string) bool {
	d := strings.TrimPrefix(s, "-")
	return d != "" && strings.Trim(d, "0123456789") == ""
}

// looksLikePort reports whether s, which is not a valid port, was more
// likely meant as one than as a host: it starts with a digit or a sign and
// is not an IP address or a dotted name ("80x", "-1", "0x50", "1e3", but
// not "127.0.0.1", "::1" or "1.example").
func looksLikePort(s string) bool {
	return s != "" && (s[0] >= '0' && s[0] <= '9' || s[0] == '-' || s[0] == '+') && !strings.ContainsAny(s, ".:")
}

// bracketedIPv6 returns the address inside "[V6]".
func bracketedIPv6(s string) (string, bool) {
	if len(s) >= 2 && s[0] == '[' && s[len(s)-1] == ']' && IsIPv6(s[1:len(s)-1]) {
		return s[1 : len(s)-1], true
	}
	return "", false
}
